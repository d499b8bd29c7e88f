"""A recording cut for recurrent training: training rows and parallel validation windows.

Training rows are consecutive, non-overlapping ``segment_samples`` pieces of the training part
(:func:`vashrink.target.recording.segments`), float32. The validation part is covered by windows
run side by side for the per-epoch check: window 0 starts at the first sample (zero state, as
the stream does) and is scored whole; window ``i >= 1`` starts ``burn_in`` samples before the
samples it scores, so its state has settled. The scored samples tile the validation part once,
so with one window (or an infinite burn-in) the check equals the streamed validation ESR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..target.esr import pre_emphasis
from ..target.recording import Recording, segments
from .rnn_config import RecurrentTrainConfig

__all__ = ["RecurrentData", "prepare_recurrent_data"]


@dataclass(frozen=True, eq=False)
class RecurrentData:
    """Training rows ``[rows, segment]`` and validation windows ``[windows, burn_in + window]``
    (float32, with a 0/1 ``val_mask`` of the scored samples), plus the validation part itself
    (float64) and the sums its ESR and DC need."""

    x_rows: torch.Tensor
    y_rows: torch.Tensor
    x_windows: torch.Tensor
    y_windows: torch.Tensor
    val_mask: torch.Tensor
    x_val: np.ndarray
    y_val: np.ndarray
    val_signal: float
    val_mean: float
    val_power: float


def _windows(x: np.ndarray, y: np.ndarray, window: int,
             burn: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = x.size
    length = burn + window
    if n <= length:
        return x[None, :].copy(), y[None, :].copy(), np.ones((1, n))
    rows = 1 + math.ceil((n - length) / window)
    xw, yw, mask = np.zeros((rows, length)), np.zeros((rows, length)), np.zeros((rows, length))
    xw[0], yw[0], mask[0] = x[:length], y[:length], 1.0
    for i in range(1, rows):
        start = i * window
        piece = slice(start, min(start + length, n))
        size = piece.stop - piece.start
        xw[i, :size], yw[i, :size] = x[piece], y[piece]
        mask[i, burn:size] = 1.0
    return xw, yw, mask


def prepare_recurrent_data(recording: Recording, config: RecurrentTrainConfig) -> RecurrentData:
    """Cut ``recording`` for :func:`~vashrink.train.rnn_fit.train_recurrent`.

    Raises:
        InputError: the training part is shorter than one segment, or the validation part is
            silent or missing.
    """
    x_train = np.asarray(recording.train_input, dtype=np.float64)
    y_train = np.asarray(recording.train_output, dtype=np.float64)
    rate = recording.sample_rate_hz
    if x_train.size < config.segment_samples:
        msg = (f"the recording's training part has {x_train.size} samples "
               f"({x_train.size / rate:.2f} s), fewer than one segment of "
               f"{config.segment_samples}: record longer, shorten the validation part or lower "
               "segment_samples")
        raise InputError(msg)
    x_val = np.asarray(recording.validation_input, dtype=np.float64)
    y_val = np.asarray(recording.validation_output, dtype=np.float64)
    signal = float(np.sum(pre_emphasis(y_val, config.pre_emphasis) ** 2)) if y_val.size else 0.0
    if not signal > 0:
        msg = ("the recording's validation part is empty or silent, so no validation ESR exists: "
               "keep a few seconds of played audio at the end (validation_s)")
        raise InputError(msg)
    xr, yr = segments(x_train, y_train, config.segment_samples)
    xw, yw, mask = _windows(x_val, y_val, config.val_window_samples, config.val_burn_in_samples)

    def f32(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return RecurrentData(
        x_rows=f32(xr), y_rows=f32(yr), x_windows=f32(xw), y_windows=f32(yw), val_mask=f32(mask),
        x_val=x_val, y_val=y_val, val_signal=signal, val_mean=float(np.mean(y_val)),
        val_power=float(np.mean(y_val * y_val)),
    )
