"""Checks on a recorded input/output pair: level notes, DC offsets, and the warnings users of
other trainers hit (a swapped pair, a quiet or short validation part, a long latency). The
latency itself is :mod:`.latency`."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from .spans import spread_spans

Signal = NDArray[np.float64]

__all__ = [
    "CLIP_LEVEL",
    "Latency",
    "check_latency",
    "check_validation_s",
    "dbfs",
    "level_notes",
    "pair_notes",
    "subtract_offsets",
]

CLIP_LEVEL = 0.999
"""Samples with ``|x| >= CLIP_LEVEL`` (of full scale 1.0) count as clipped."""

CLIP_NOTE_FRACTION = 1e-3
DC_NOTE_LEVEL = 1e-3
DC_REMOVE_LEVEL = 1e-3
"""A mean above this (of full scale) is removed from a signal and reported."""
SWAP_CREST_RATIO = 1.25
QUIET_VALIDATION_RATIO = 10 ** (-20 / 20)
"""The validation part is called quiet 20 dB below the whole recording's RMS."""
MIN_VALIDATION_NOTE_S = 3.0
PLAUSIBLE_LATENCY_S = 0.02


def dbfs(value: float) -> float:
    """Level in dB relative to full scale, ``20 log10(value)``; ``-inf`` for zero."""
    return 20.0 * math.log10(value) if value > 0 else -math.inf


def level_notes(name: str, x: NDArray[np.float64]) -> tuple[str, ...]:
    """Plain-language notes on one signal: level, clipping and DC offset."""
    peak = float(np.max(np.abs(x)))
    rms = float(np.sqrt(np.mean(x * x)))
    notes = [f"{name}: peak {dbfs(peak):.1f} dBFS, RMS {dbfs(rms):.1f} dBFS"]
    clipped = float(np.mean(np.abs(x) >= CLIP_LEVEL))
    if clipped > CLIP_NOTE_FRACTION:
        notes.append(
            f"{name}: {100.0 * clipped:.2f} % of samples are at full scale (clipping); "
            "record with less gain if the gear itself does not clip"
        )
    dc = float(np.mean(x))
    if abs(dc) > DC_NOTE_LEVEL:
        notes.append(
            f"{name}: DC offset {dc:+.4f} of full scale; a high-pass filter may help training"
        )
    return tuple(notes)


def subtract_offsets(x: Signal, y: Signal,
              ) -> tuple[Signal, Signal, tuple[float, float], list[str]]:
    """Subtract each signal's mean when it is above the DC note level (a DC offset is the
    interface's, not the gear's: a plugin's input has none)."""
    dcs = (float(np.mean(x)), float(np.mean(y)))
    notes = []
    out = []
    for role, sig, dc in (("input", x, dcs[0]), ("output", y, dcs[1])):
        if abs(dc) > DC_REMOVE_LEVEL:
            out.append(sig - dc)
            notes.append(f"{role}: DC offset {dc:+.4f} of full scale removed (not modelled)")
        else:
            out.append(sig)
    removed = tuple(d if abs(d) > DC_REMOVE_LEVEL else 0.0 for d in dcs)
    return out[0], out[1], (removed[0], removed[1]), notes


def pair_notes(x: Signal, y: Signal, latency_samples: int | None, rate: int,
               validation_s: float) -> list[str]:
    """Warnings users of other trainers hit: a swapped pair, a quiet or short validation part."""
    notes = []
    rms_x, rms_y = float(np.sqrt(np.mean(x * x))), float(np.sqrt(np.mean(y * y)))
    crest_x = float(np.max(np.abs(x))) / max(rms_x, 1e-300)
    crest_y = float(np.max(np.abs(y))) / max(rms_y, 1e-300)
    if rms_y < rms_x and crest_y > SWAP_CREST_RATIO * crest_x:
        notes.append(
            f"warning: the output is quieter ({dbfs(rms_y):.1f} vs {dbfs(rms_x):.1f} dBFS RMS) "
            f"and less compressed (crest factor {crest_y:.1f} vs {crest_x:.1f}) than the input: "
            "are --input and --output swapped?")
    val = np.concatenate([y[a:b] for a, b in spread_spans(y.size, rate, validation_s)])
    val_rms = float(np.sqrt(np.mean(val * val)))
    if val_rms < QUIET_VALIDATION_RATIO * rms_y:
        notes.append(
            f"warning: the validation spans are {dbfs(val_rms / rms_y):.0f} dB quieter than the "
            "whole recording, so their ESR says little about the loud parts: play throughout "
            "the recording or change --validation-s")
    if validation_s < MIN_VALIDATION_NOTE_S:
        notes.append(f"warning: {validation_s:g} s of validation is short; "
                     f"{MIN_VALIDATION_NOTE_S:g} s or more gives a steadier ESR (--validation-s)")
    if latency_samples is not None and latency_samples > PLAUSIBLE_LATENCY_S * rate:
        notes.append(f"warning: a latency of {1000 * latency_samples / rate:.1f} ms is long for "
                     "an audio interface; "
                     "check that the files belong together")
    return notes


Latency = int | str
"""``"auto"`` (estimate), or a whole number of samples to remove (0: none)."""


def check_latency(latency: Latency, n: int, rate: int) -> None:
    if latency == "auto":
        return
    if isinstance(latency, bool) or not isinstance(latency, int | np.integer) or latency < 0:
        msg = (f"--latency must be auto or a whole number of samples >= 0 (the gear's delay "
               f"behind the input), got {latency!r}")
        raise InputError(msg)
    if latency >= n:
        msg = (f"--latency {latency} is longer than the recording ({n} samples, "
               f"{n / rate:.2f} s); give the delay in samples, e.g. --latency 128")
        raise InputError(msg)


def check_validation_s(validation_s: float) -> None:
    if not (math.isfinite(validation_s) and validation_s > 0):
        msg = f"validation_s must be a finite number of seconds above 0, got {validation_s}"
        raise InputError(msg)
