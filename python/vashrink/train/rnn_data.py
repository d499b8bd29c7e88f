"""A recording cut for recurrent training: training rows and parallel validation windows.

Training rows are consecutive, non-overlapping ``segment_samples`` pieces of each training span
(:func:`vashrink.target.spans.segments`), float32; no row crosses a validation span. Each
validation span (the spans are spread over the recording) is covered by windows run side by side
for the per-epoch check: a window starts ``burn_in`` samples before the samples it scores, taken
from the audio before them (zeros before the recording's start), so its state has settled. The
scored samples tile every validation span once, so with an infinite burn-in the check equals the
streamed validation ESR (:data:`RecurrentData.val_pieces`, each span after a pre-roll of
``VALIDATION_PREROLL_S`` of the audio before it, streamed from a zero state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..target.esr import pre_emphasis
from ..target.recording import Recording
from ..target.spans import segments
from .rnn_config import RecurrentTrainConfig

__all__ = ["RecurrentData", "prepare_recurrent_data"]


@dataclass(frozen=True, eq=False)
class RecurrentData:
    """Training rows ``[rows, segment]`` and validation windows ``[windows, burn_in + window]``
    (float32, with a 0/1 ``val_mask`` of the scored samples), the validation pieces (float64
    ``(x, y, scored_from)``: each span after its pre-roll) and the pre-emphasised signal energy
    of the scored samples, the ESR's denominator."""

    x_rows: torch.Tensor
    y_rows: torch.Tensor
    x_windows: torch.Tensor
    y_windows: torch.Tensor
    val_mask: torch.Tensor
    val_pieces: tuple[tuple[np.ndarray, np.ndarray, int], ...]
    val_signal: float


VALIDATION_PREROLL_S = 0.5
"""Audio before each validation span that settles a streamed model's state (not scored)."""


def _windows(x: np.ndarray, y: np.ndarray, spans: tuple[tuple[int, int], ...], window: int,
             burn: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts = [(s, min(s + window, b)) for a, b in spans for s in range(a, b, window)]
    length = burn + window
    xw, yw, mask = (np.zeros((len(starts), length)) for _ in range(3))
    for i, (s, e) in enumerate(starts):
        first = max(0, s - burn)
        offset = burn - (s - first)
        xw[i, offset : offset + e - first] = x[first:e]
        yw[i, offset : offset + e - first] = y[first:e]
        mask[i, burn : burn + e - s] = 1.0
    return xw, yw, mask


def prepare_recurrent_data(recording: Recording, config: RecurrentTrainConfig) -> RecurrentData:
    """Cut ``recording`` for :func:`~vashrink.train.rnn_fit.train_recurrent`.

    Raises:
        InputError: the training part is shorter than one segment, or the validation part is
            silent or missing.
    """
    rate = recording.sample_rate_hz
    x_all = np.asarray(recording.input, dtype=np.float64)
    y_all = np.asarray(recording.output, dtype=np.float64)
    spans = [(a, b) for a, b in recording.train_spans if b - a >= config.segment_samples]
    if not spans:
        longest = max((b - a for a, b in recording.train_spans), default=0)
        msg = (f"the recording's longest training stretch has {longest} samples "
               f"({longest / rate:.2f} s), fewer than one segment of {config.segment_samples}: "
               "record longer, shorten the validation part or lower segment_samples")
        raise InputError(msg)
    rows = [segments(x_all[a:b], y_all[a:b], config.segment_samples) for a, b in spans]
    xr = np.concatenate([r[0] for r in rows])
    yr = np.concatenate([r[1] for r in rows])
    preroll = round(VALIDATION_PREROLL_S * rate)
    pieces = tuple(recording.validation_pieces(preroll))
    signal = sum(float(np.sum(pre_emphasis(y, config.pre_emphasis)[k:] ** 2))
                 for _, y, k in pieces)
    if not signal > 0:
        msg = ("the recording's validation part is empty or silent, so no validation ESR exists: "
               "keep a few seconds of played audio in it (--validation-s)")
        raise InputError(msg)
    xw, yw, mask = _windows(x_all, y_all, recording.validation_spans, config.val_window_samples,
                            config.val_burn_in_samples)

    def f32(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return RecurrentData(
        x_rows=f32(xr), y_rows=f32(yr), x_windows=f32(xw), y_windows=f32(yw), val_mask=f32(mask),
        val_pieces=pieces, val_signal=signal,
    )
