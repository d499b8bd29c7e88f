"""Where a recording validates and how it is cut for training: spans spread over the recording,
and equal rows for truncated back-propagation through time."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError

__all__ = ["MIN_TRAIN_GAP_S", "MIN_TRAIN_GAP_SAMPLES", "ROW_LAYOUT", "VALIDATION_PIECE_S",
           "row_starts", "segments", "spread_spans"]

VALIDATION_PIECE_S = 0.5
"""Length of a validation span (longer only when :data:`MIN_TRAIN_GAP_S` allows fewer).
Short pieces interleave validation with training, so both hold the same material: a held-out
2.5 s of a 20 s test signal's sweep is three octaves training never plays (docs/capture.md,
"Validation pieces")."""

MIN_TRAIN_GAP_S = 1.0
"""Shortest training stretch between two validation spans (fewer, longer pieces otherwise)."""

MIN_TRAIN_GAP_SAMPLES = 16_384
"""...and never fewer samples than two default training rows (``segment_samples`` 8,192), so
a stretch at a low sample rate still holds whole rows (at 8 kHz 1 s held none)."""

ROW_LAYOUT = "cover"
"""How training rows cut a stretch (:func:`row_starts`): ``"cover"``, a last row ending at the
stretch's end; before, ``"drop"`` left the remainder out. Benches key stored trainings by it."""


def spread_spans(n: int, rate: int, validation_s: float, *,
                 piece_s: float = VALIDATION_PIECE_S) -> tuple[tuple[int, int], ...]:
    """``validation_s`` seconds of ``n`` samples as ``ceil(validation_s / piece_s)``
    equal spans centred at evenly spaced points (fewer when the training stretches between them
    would be shorter than :data:`MIN_TRAIN_GAP_S` or :data:`MIN_TRAIN_GAP_SAMPLES`), so
    validation samples all of the recording (a test signal's sweep, noise and plucks alike); the
    last span ends the recording."""
    total = round(validation_s * rate)
    pieces = max(1, math.ceil(validation_s / piece_s - 1e-9))
    gap_s = max(MIN_TRAIN_GAP_S, MIN_TRAIN_GAP_SAMPLES / rate)
    pieces = max(1, min(pieces, math.floor((n / rate - validation_s) / gap_s + 1e-9)))
    length = total // pieces
    spans = []
    for i in range(pieces):
        end = n if i == pieces - 1 else round((i + 1) * n / pieces - (n / pieces - length) / 2)
        start = end - (length if i < pieces - 1 else total - length * (pieces - 1))
        spans.append((max(start, 0), end))
    return tuple(spans)


def row_starts(span: int, length: int, step: int) -> list[int]:
    """Starts of rows of ``length`` that step by ``step`` through ``span`` samples and cover all
    of them: a remainder too short for a row gets one more row ending at the span's end
    (overlapping the one before), so no training audio is dropped (at 48 kHz with 10 s of 30
    validating, dropping it lost 15 % of the training part)."""
    if span < length:
        return []
    starts = list(range(0, span - length + 1, step))
    if starts[-1] + length < span:
        starts.append(span - length)
    return starts


def segments(
    x: NDArray[np.floating],
    y: NDArray[np.floating],
    segment_samples: int,
    *,
    warmup_samples: int = 0,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """Cut ``x`` and ``y`` into consecutive rows of ``segment_samples`` that cover them.

    The first ``warmup_samples`` of the signal are skipped (e.g. the gear settling); a remainder
    that does not fill a row gets a last row ending at the signal's end (:func:`row_starts`).
    Returns arrays of shape ``[n_segments, segment_samples]`` with
    ``n_segments = ceil((len - warmup) / segment_samples)``.
    """
    xa, ya = np.asarray(x), np.asarray(y)
    if xa.ndim != 1 or ya.ndim != 1 or xa.shape != ya.shape:
        msg = f"x and y must be 1-D arrays of equal length, got shapes {xa.shape} and {ya.shape}"
        raise InputError(msg)
    if warmup_samples < 0:
        msg = f"warmup_samples must be 0 or more, got {warmup_samples}"
        raise InputError(msg)
    usable = xa.size - warmup_samples
    if segment_samples < 1 or segment_samples > usable:
        msg = (
            f"segment_samples must be in 1..{max(usable, 0)} (the signal has {xa.size} samples, "
            f"{warmup_samples} of warm-up), got {segment_samples}"
        )
        raise InputError(msg)
    index = np.add.outer(row_starts(usable, segment_samples, segment_samples),
                         np.arange(warmup_samples, warmup_samples + segment_samples))
    return xa[index], ya[index]
