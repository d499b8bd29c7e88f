"""A test signal to play through gear while recording its output (the data for amp/pedal models).

It contains, separated by short silences: an exponential sine sweep (covers every frequency and,
through its slow rise, every level of a single tone), white-noise bursts at several levels
(dense, wideband content at known loudness) and decaying plucks (transients and decays like a
played instrument). The whole is scaled to a fixed peak, ``-1 dBFS`` by default.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from ..errors import InputError

__all__ = ["test_signal", "write_test_signal"]

MIN_SECONDS = 5.0
GAP_S = 0.25
SWEEP_LOW_HZ = 20.0
SWEEP_HIGH_HZ = 20_000.0
NOISE_LEVELS_DB = (-30.0, -18.0, -9.0, 0.0)
PLUCK_HZ = (82.41, 146.83, 329.63, 659.26)
_GAPS = 2 + len(NOISE_LEVELS_DB) + len(PLUCK_HZ)

Signal = NDArray[np.float64]


def _fade(x: Signal, sample_rate_hz: int, seconds: float) -> Signal:
    n = min(max(1, round(seconds * sample_rate_hz)), x.size // 2)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, n))
    x[:n] *= ramp
    x[x.size - n :] *= ramp[::-1]
    return x


def _sweep(sample_rate_hz: int, n: int) -> Signal:
    """Exponential sweep ``sin(2π f1 T / L (exp(t L / T) - 1))``, ``L = ln(f2 / f1)``."""
    f2 = min(SWEEP_HIGH_HZ, 0.45 * sample_rate_hz)
    duration = n / sample_rate_hz
    log_ratio = math.log(f2 / SWEEP_LOW_HZ)
    t = np.arange(n) / sample_rate_hz
    phase = 2 * math.pi * SWEEP_LOW_HZ * duration / log_ratio * np.expm1(t * log_ratio / duration)
    return _fade(np.sin(phase), sample_rate_hz, 0.05)


def _noise_burst(rng: np.random.Generator, sample_rate_hz: int, n: int, level_db: float) -> Signal:
    x = rng.standard_normal(n)
    x *= 10.0 ** (level_db / 20.0) / float(np.max(np.abs(x)))
    return _fade(x, sample_rate_hz, 0.005)


def _karplus_strong(rng: np.random.Generator, sample_rate_hz: int, n: int, hz: float) -> Signal:
    """Plucked string: ``y[i] = d (y[i-P] + y[i-P-1]) / 2`` from a noise-filled period ``P``.

    ``d = 10^(-3 / (hz · duration))`` decays the string by about 60 dB over the note.
    """
    period = max(2, round(sample_rate_hz / hz))
    decay = 10.0 ** (-3.0 / (hz * n / sample_rate_hz))
    z = np.zeros(n + 1)
    z[1 : period + 1] = rng.uniform(-1.0, 1.0, min(period, n))
    for start in range(period, n, period):
        end = min(start + period, n)
        behind = z[start + 1 - period : end + 1 - period] + z[start - period : end - period]
        z[start + 1 : end + 1] = 0.5 * decay * behind
    return _fade(z[1:], sample_rate_hz, 0.002)


def _damped_sine(sample_rate_hz: int, n: int, hz: float) -> Signal:
    """Damped tone with a second harmonic, ``e^(-t/τ)`` with ``τ = duration / 7`` (≈ -60 dB)."""
    t = np.arange(n) / sample_rate_hz
    tau = (n / sample_rate_hz) / 7.0
    x = (np.sin(2 * math.pi * hz * t) + 0.3 * np.sin(4 * math.pi * hz * t)) * np.exp(-t / tau)
    return _fade(x, sample_rate_hz, 0.002)


def test_signal(
    sample_rate_hz: int = 48_000,
    *,
    seconds: float = 30.0,
    seed: int = 0,
    peak_dbfs: float = -1.0,
) -> Signal:
    """Mono float64 test signal of exactly ``round(seconds · sample_rate_hz)`` samples.

    After fixed 0.25 s gaps, the time left goes 45 % to the sweep, 25 % to the noise bursts and
    30 % to the plucks. The same ``seed`` gives the same signal.
    """
    if not 8_000 <= sample_rate_hz <= 192_000:
        msg = f"sample_rate_hz must be in 8000..192000, got {sample_rate_hz}"
        raise InputError(msg)
    if not (math.isfinite(seconds) and seconds >= MIN_SECONDS):
        msg = f"seconds must be at least {MIN_SECONDS:g} to fit every part, got {seconds}"
        raise InputError(msg)
    if not (math.isfinite(peak_dbfs) and peak_dbfs <= 0):
        msg = f"peak_dbfs must be 0 or below (full scale), got {peak_dbfs}"
        raise InputError(msg)
    rng = np.random.default_rng(seed)
    total = round(seconds * sample_rate_hz)
    gap = np.zeros(round(GAP_S * sample_rate_hz))
    content = total - _GAPS * gap.size
    burst = round(0.25 * content / len(NOISE_LEVELS_DB))
    pluck = round(0.30 * content / len(PLUCK_HZ))
    parts: list[Signal] = [gap, _sweep(sample_rate_hz, round(0.45 * content)), gap]
    for level in NOISE_LEVELS_DB:
        parts += [_noise_burst(rng, sample_rate_hz, burst, level), gap]
    for i, hz in enumerate(PLUCK_HZ):
        if i % 2 == 0:
            parts.append(_karplus_strong(rng, sample_rate_hz, pluck, hz))
        else:
            parts.append(_damped_sine(sample_rate_hz, pluck, hz))
        parts.append(gap)
    joined = np.concatenate(parts)[:total]
    x = np.zeros(total)
    x[: joined.size] = joined
    x *= 10.0 ** (peak_dbfs / 20.0) / float(np.max(np.abs(x)))
    return x


test_signal.__test__ = False  # type: ignore[attr-defined]


def write_test_signal(
    path: str | Path,
    sample_rate_hz: int = 48_000,
    *,
    seconds: float = 30.0,
    seed: int = 0,
    peak_dbfs: float = -1.0,
) -> Path:
    """Write :func:`test_signal` as a mono 24-bit PCM WAV file and return its path."""
    out = Path(path)
    x = test_signal(sample_rate_hz, seconds=seconds, seed=seed, peak_dbfs=peak_dbfs)
    try:
        sf.write(str(out), x, sample_rate_hz, subtype="PCM_24", format="WAV")
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        msg = f"cannot write test signal to {out} ({exc}); choose a writable .wav path"
        raise InputError(msg) from None
    return out
