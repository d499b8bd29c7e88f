"""Simulated circuits for the capture panel: pure, causal, deterministic renders of numpy arrays.

Each render maps an input ``x`` (1-D, full scale +-1) at ``sample_rate_hz`` to the output at the
same instants, starts at rest, maps silence to exact zeros and has no latency of its own
(:mod:`.gear` adds each gear's latency). Every filter is a ``scipy.signal`` IIR filter
(``lfilter``/``sosfilt``) designed with the bilinear transform for the given rate, and every
nonlinearity is applied sample by sample, so 30 s at 48 kHz render in well under a second.
Envelopes are one-pole averages ``e[n] = a e[n-1] + (1 - a) r[n]``, ``a = exp(-1 / (tau fs))``,
of a rectified signal ``r`` (an ``lfilter``, no Python loop).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = [
    "cab_output",
    "envelope",
    "fuzz_output",
    "peaking_biquad",
    "sag_output",
    "tonestack_output",
    "tube_output",
]

Signal = NDArray[np.float64]


def envelope(r: Signal, tau_s: float, sample_rate_hz: int) -> Signal:
    """One-pole average of ``r`` with time constant ``tau_s``: ``e[n] = a e[n-1] + (1-a) r[n]``."""
    a = math.exp(-1.0 / (tau_s * sample_rate_hz))
    return np.asarray(signal.lfilter([1.0 - a], [1.0, -a], r), dtype=np.float64)


def _butter(x: Signal, order: int, corner_hz: float, kind: str, sample_rate_hz: int) -> Signal:
    sos = signal.butter(order, corner_hz, btype=kind, output="sos", fs=sample_rate_hz)
    return np.asarray(signal.sosfilt(sos, x), dtype=np.float64)


def peaking_biquad(center_hz: float, gain_db: float, q: float, sample_rate_hz: int) -> Signal:
    """Second-order peaking section (RBJ audio-EQ cookbook) as one ``sos`` row.

    ``H(s) = (s^2 + s (A / Q) + 1) / (s^2 + s / (A Q) + 1)`` (``s`` normalised to the centre,
    ``A = 10^(gain_db / 40)``), bilinear with the centre pre-warped: ``gain_db`` at
    ``center_hz``, 0 dB far from it, bandwidth ``center_hz / Q``.
    """
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * center_hz / sample_rate_hz
    alpha = math.sin(w0) / (2.0 * q)
    cos = math.cos(w0)
    b = np.array([1.0 + alpha * amp, -2.0 * cos, 1.0 - alpha * amp])
    a = np.array([1.0 + alpha / amp, -2.0 * cos, 1.0 - alpha / amp])
    return np.concatenate([b / a[0], a / a[0]])


def tube_output(x: Signal, sample_rate_hz: int, *, bias_depth: float = 1.0) -> Signal:
    """Asymmetric triode-like stage whose bias follows the level (grid-current bias shift).

    ``u = g HP20(x)`` (``g`` = 4, input coupling high-pass at 20 Hz); the grid conducts once
    the signal exceeds the bias (``u > 0.5``) and charges the coupling capacitor, so the
    operating point slides negative with the level: ``e = LP_40ms(max(u - 0.5, 0))``,
    ``v = u - k e`` (``k = bias_depth``); quiet signals leave it alone. The stage
    saturates harder on the grid-current side than towards cut-off:
    ``f(v) = tanh(v)`` for ``v >= 0``, ``2 tanh(v / 2)`` below, and the output coupling
    capacitor removes the DC: ``y = 0.5 HP10(f(v))``. The shifted bias changes the asymmetry,
    and so the even harmonics and the output's low-frequency level, with the recent level.
    """
    u = 4.0 * _butter(x, 1, 20.0, "highpass", sample_rate_hz)
    v = u - bias_depth * envelope(np.maximum(u - 0.5, 0.0), 0.040, sample_rate_hz)
    w = np.where(v >= 0.0, np.tanh(v), 2.0 * np.tanh(0.5 * v))
    return 0.5 * _butter(w, 1, 10.0, "highpass", sample_rate_hz)


def fuzz_output(x: Signal, sample_rate_hz: int) -> Signal:
    """Transistor-fuzz-like: bass cut, high gain, asymmetric hard clipping, a dark tone filter.

    ``u = 40 HP120(x)`` (first-order input coupling at 120 Hz, 32 dB of gain),
    ``c = clip(u, -1, 0.6)`` (the transistor saturating on one side earlier than on the other),
    ``y = 0.6 HP20(LP2k5(c))`` (second-order Butterworth tone low-pass at 2.5 kHz, output
    coupling at 20 Hz against the DC of the asymmetric clipping).
    """
    u = 40.0 * _butter(x, 1, 120.0, "highpass", sample_rate_hz)
    c = np.clip(u, -1.0, 0.6)
    toned = _butter(c, 2, min(2500.0, 0.45 * sample_rate_hz), "lowpass", sample_rate_hz)
    return 0.6 * _butter(toned, 1, 20.0, "highpass", sample_rate_hz)


def sag_output(x: Signal, sample_rate_hz: int) -> Signal:
    """Power-amp sag: gain pulled down by a slow envelope of the level, into a soft clipper.

    The supply capacitor recharges fast and drains slowly, read here as the larger of two
    one-pole averages of ``|x|``: ``env = max(LP_5ms(|x|), LP_100ms(|x|))`` (attack about 5 ms,
    release about 100 ms once the slow one has charged). The gain is
    ``g = 1 / (1 + 3 env)`` and the stage saturates: ``y = 0.8 tanh(3 g x)``. Loud playing is
    compressed and keeps being compressed for a while after it stops.
    """
    r = np.abs(x)
    env = np.maximum(envelope(r, 0.005, sample_rate_hz), envelope(r, 0.100, sample_rate_hz))
    return 0.8 * np.tanh(3.0 * x / (1.0 + 3.0 * env))


def tonestack_output(x: Signal, sample_rate_hz: int) -> Signal:
    """A mild clipper into a resonant mid-scooped tone stack.

    ``c = tanh(1.5 x) / tanh(1.5)`` (mild, symmetric), then a cascade of biquads:
    Butterworth high-pass at 60 Hz (second order), a peaking cut of -12 dB at 400 Hz with
    ``Q = 0.7`` (the Fender/Marshall mid scoop) and a resonant presence peak of +9 dB at 3 kHz
    with ``Q = 6`` (rings for about ``Q / (pi f) = 0.6`` ms), ``y = 0.4 TS(c)``. The resonance
    and the scoop's phase give a long, frequency-dependent group delay.
    """
    c = np.tanh(1.5 * x) / math.tanh(1.5)
    rate = sample_rate_hz
    sos = np.vstack([
        signal.butter(2, 60.0, btype="highpass", output="sos", fs=rate),
        peaking_biquad(400.0, -12.0, 0.7, rate)[None, :],
        peaking_biquad(min(3000.0, 0.4 * rate), 9.0, 6.0, rate)[None, :],
    ])
    return 0.4 * np.asarray(signal.sosfilt(sos, c), dtype=np.float64)


def cab_output(x: Signal, sample_rate_hz: int) -> Signal:
    """A linear cabinet-like response (the only linear gear: an IR capture's kind of target).

    Cascade: Butterworth high-pass at 70 Hz (second order), the enclosure's low resonance
    (+6 dB at 110 Hz, ``Q = 2``), a cone resonance (+5 dB at 1.8 kHz, ``Q = 3``), a break-up
    notch (-8 dB at 3.4 kHz, ``Q = 4``) and a fourth-order Butterworth low-pass at 5 kHz;
    ``y = 0.4 H(x)``.
    """
    rate = sample_rate_hz
    top = min(5000.0, 0.4 * rate)
    sos = np.vstack([
        signal.butter(2, 70.0, btype="highpass", output="sos", fs=rate),
        peaking_biquad(110.0, 6.0, 2.0, rate)[None, :],
        peaking_biquad(1800.0, 5.0, 3.0, rate)[None, :],
        peaking_biquad(min(3400.0, 0.35 * rate), -8.0, 4.0, rate)[None, :],
        signal.butter(4, top, btype="lowpass", output="sos", fs=rate),
    ])
    return 0.4 * np.asarray(signal.sosfilt(sos, x), dtype=np.float64)
