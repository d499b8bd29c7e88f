"""Synthetic recordings for the recurrent-training tests: a one-pole low-pass, then tanh.

``y = tanh(drive * lp(x))`` with ``lp[n] = (1 - a) x[n] + a lp[n-1]``: the low-pass gives the
model memory to learn (about ``1 / (1 - a)`` samples), the tanh a nonlinearity, so neither the
identity nor any linear filter matches it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from vashrink.target.pedal import pedal_recording
from vashrink.target.recording import Recording

__all__ = ["end_validated_pedal", "lowpass_tanh", "make_input", "synthetic_recording"]


def make_input(n: int, sample_rate_hz: int, seed: int = 0) -> np.ndarray:
    """Band-limited noise under a slowly varying level, plus a few tones (peak about 0.9)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    a = math.exp(-2 * math.pi * 4000.0 / sample_rate_hz)
    smooth = np.empty(n)
    acc = 0.0
    for i, v in enumerate(noise):
        acc = (1 - a) * v + a * acc
        smooth[i] = acc
    t = np.arange(n) / sample_rate_hz
    level = 0.2 + 0.8 * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)))
    tones = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (110.0, 440.0, 1250.0))
    x = level * smooth / np.std(smooth) * 0.3 + level * tones
    return 0.9 * x / np.max(np.abs(x))


def lowpass_tanh(x: np.ndarray, sample_rate_hz: int, cutoff_hz: float = 800.0,
                 drive: float = 5.0) -> np.ndarray:
    """The target gear: one-pole low-pass at ``cutoff_hz``, then ``tanh(drive * .)``."""
    a = math.exp(-2 * math.pi * cutoff_hz / sample_rate_hz)
    out = np.empty_like(x)
    acc = 0.0
    for i, v in enumerate(x):
        acc = (1 - a) * v + a * acc
        out[i] = acc
    return np.tanh(drive * out)


def synthetic_recording(seconds: float = 3.0, sample_rate_hz: int = 16_000,
                        validation_s: float = 1.0, seed: int = 0) -> Recording:
    """A :class:`Recording` of :func:`lowpass_tanh` driven by :func:`make_input`."""
    n = round(seconds * sample_rate_hz)
    x = make_input(n, sample_rate_hz, seed)
    y = lowpass_tanh(x, sample_rate_hz)
    x.setflags(write=False)
    y.setflags(write=False)
    return Recording(sample_rate_hz=sample_rate_hz, input=x, output=y,
                     validation_spans=((n - round(validation_s * sample_rate_hz), n),),
                     latency_samples=0,
                     checks=(), input_path=Path("synthetic-in.wav"),
                     output_path=Path("synthetic-out.wav"))


def end_validated_pedal(seconds: float = 5.0, sample_rate_hz: int = 16_000,
                        validation_s: float = 1.0) -> Recording:
    """The pedal example with its validation part as one span at its end: the trainer-mechanics
    tests were tuned on this split (where validation is spread is tested in tests/target)."""
    rec = pedal_recording(seconds, sample_rate_hz, validation_s=validation_s)
    n = rec.input.size
    return replace(rec, validation_spans=((n - round(validation_s * sample_rate_hz), n),))
