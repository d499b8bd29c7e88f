"""Measurements on a recorded input/output pair: latency between them and level notes.

The latency is the lag ``d`` maximising ``|r[d]|`` with ``r[d] = sum_n y[n + d] x[n]``
(cross-correlation of output ``y`` against input ``x``, computed by FFT), so ``y[n] ≈ g x[n - d]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from ..errors import InputError

__all__ = [
    "CLIP_LEVEL",
    "Latency",
    "dbfs",
    "estimate_latency",
    "level_notes",
]

CLIP_LEVEL = 0.999
"""Samples with ``|x| >= CLIP_LEVEL`` (of full scale 1.0) count as clipped."""

CLIP_NOTE_FRACTION = 1e-3
DC_NOTE_LEVEL = 1e-3
CORRELATION_WINDOW_S = 10.0
WIDE_SEARCH_FACTOR = 10
WIDE_SEARCH_MIN_S = 0.5
OUTSIDE_PEAK_MARGIN = 1.5


@dataclass(frozen=True)
class Latency:
    """Delay of the output behind the input, in samples (negative: output is early)."""

    samples: int
    sample_rate_hz: int
    inverted: bool

    @property
    def ms(self) -> float:
        """The delay in milliseconds: ``1000 * samples / sample_rate_hz``."""
        return 1000.0 * self.samples / self.sample_rate_hz


def dbfs(value: float) -> float:
    """Level in dB relative to full scale, ``20 log10(value)``; ``-inf`` for zero."""
    return 20.0 * math.log10(value) if value > 0 else -math.inf


def estimate_latency(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    sample_rate_hz: int,
    max_latency_s: float,
) -> Latency:
    """Find the lag of ``y`` behind ``x`` within ``±max_latency_s`` from the first ~10 s.

    A peak at the edge of the allowed lags, or a clearly stronger one (1.5x) at lags up to
    ``max(10 · max_lag, 0.5 s)``, means the true delay is larger than allowed: it is refused.
    """
    if not (math.isfinite(max_latency_s) and max_latency_s >= 0):
        msg = f"max_latency_s must be a finite number >= 0, got {max_latency_s}"
        raise InputError(msg)
    n = min(x.size, int(CORRELATION_WINDOW_S * sample_rate_hz))
    max_lag = min(round(max_latency_s * sample_rate_hz), n - 1)
    if max_lag <= 0:
        return Latency(0, sample_rate_hz, inverted=False)
    xs, ys = x[:n] - x[:n].mean(), y[:n] - y[:n].mean()
    r = signal.correlate(ys, xs, mode="full", method="fft")
    strength = np.abs(r)
    lags = np.abs(signal.correlation_lags(n, n, mode="full"))
    wide = min(n - 1, max(WIDE_SEARCH_FACTOR * max_lag, round(WIDE_SEARCH_MIN_S * sample_rate_hz)))
    inside = lags <= max_lag
    outside = ~inside & (lags <= wide)
    best = int(np.argmax(np.where(inside, strength, -1.0)))
    if np.any(outside):
        far = int(np.argmax(np.where(outside, strength, -1.0)))
        if strength[far] > OUTSIDE_PEAK_MARGIN * strength[best]:
            best = far
    lag = best - (n - 1)
    if abs(lag) >= max_lag:
        raise InputError(_too_late(lag, max_lag, sample_rate_hz))
    return Latency(lag, sample_rate_hz, inverted=bool(r[best] < 0))


def _too_late(lag: int, max_lag: int, sample_rate_hz: int) -> str:
    which = "lags" if lag > 0 else "leads"
    measured = max(abs(lag), max_lag)
    return (
        f"output {which} input by at least {measured} samples "
        f"({1000.0 * measured / sample_rate_hz:.1f} ms), more than max_latency_s allows; "
        "trim the files to line them up or raise max_latency_s"
    )


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
