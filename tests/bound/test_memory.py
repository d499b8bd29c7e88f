"""The memory bound: memory length, static curve and starting hidden size of gear with memory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from vashrink.bound.memory import MemoryBound, memory_bound
from vashrink.errors import InputError
from vashrink.target.capture_signal import test_signal
from vashrink.target.pedal import pedal_recording
from vashrink.target.recording import recording_from_arrays

RATE = 8_000


def _white(seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    return 0.4 * np.random.default_rng(seed).standard_normal(round(seconds * RATE))


@pytest.mark.parametrize(
    "taps", [[1.0, 0.8, -0.5, 0.3, 0.25], [0.6, 0.0, 0.0, 0.4, 0.0, 0.0, -0.5]]
)
def test_memory_of_a_known_fir_is_found_within_one_sample(taps: list[float]) -> None:
    x = _white()
    y = signal.lfilter(taps, [1.0], x) + 1e-3 * np.random.default_rng(1).standard_normal(x.size)
    b = memory_bound(recording_from_arrays(x, y, RATE, validation_s=2.0, latency=0),
                     esr_target=0.01)
    assert abs(b.memory_samples - (len(taps) - 1)) <= 1
    assert b.memory_ms == pytest.approx(1000 * b.memory_samples / RATE)
    assert min(b.linear_errors) < 1e-4 and not b.memory_saturated
    assert 1 <= b.states <= len(taps) - 1


def test_memoryless_tanh_has_no_memory_and_its_curve_is_recovered() -> None:
    x = _white(seed=2)
    b = memory_bound(recording_from_arrays(x, np.tanh(2 * x), RATE, validation_s=2.0),
                     esr_target=0.01)
    assert b.memory_samples <= 1 and b.states == 0
    cx, cy = np.array(b.curve_x), np.array(b.curve_y)
    inner = np.abs(cx) < 1.0
    np.testing.assert_allclose(cy[inner], np.tanh(2 * cx[inner]), atol=2e-3)
    assert b.suggested_hidden[0] <= b.suggested_hidden[1] <= 8


def test_static_curve_of_a_filter_then_clipper_is_its_steady_state() -> None:
    # Wiener system: a one-pole low-pass (unit DC gain, 3 ms) into tanh(2 u)
    x = test_signal(RATE, seconds=8.0)
    pole = np.exp(-1.0 / (0.0003 * RATE))
    y = np.tanh(2 * signal.lfilter([1 - pole], [1, -pole], x))
    b = memory_bound(recording_from_arrays(x, y, RATE, validation_s=2.0, latency=0),
                     esr_target=0.01)
    assert b.memory_samples >= 2 and b.curve_method.startswith("slow parts")
    cx, cy = np.array(b.curve_x), np.array(b.curve_y)
    np.testing.assert_allclose(cy, np.tanh(2 * cx), atol=0.03)
    assert b.curve_samples > 1000


def test_pedal_memory_bound_is_sensible() -> None:
    rec = pedal_recording(seconds=8.0, validation_s=3.0)
    b = memory_bound(rec, esr_target=0.01)
    assert isinstance(b, MemoryBound)
    # RC 22 us, tone 39 us, anti-alias filter: a fraction of a millisecond
    assert 3 <= b.memory_samples <= 30 and not b.memory_saturated
    assert b.nonlinear_errors[b.memory_samples] < 0.6 * b.nonlinear_errors[0]
    assert min(b.nonlinear_errors) < min(b.linear_errors)  # the clipping is visible
    cy = np.array(b.curve_y)
    assert b.curve_method.startswith("slow parts")
    assert 0.5 < np.max(cy) < 0.7 and -0.7 < np.min(cy) < -0.5  # the diodes' knee
    assert np.all(np.diff(cy) > -0.02)  # the steady-state curve rises
    assert 2 <= b.curve_pieces <= 8 and b.states >= 1
    lo, hi = b.suggested_hidden
    assert 2 <= lo <= hi <= 16
    assert b.curve_eps == pytest.approx(np.sqrt(0.01 * np.mean(rec.output**2)))
    text = b.summary()
    assert f"{lo}-{hi}" in text and "past samples" in text
    data = json.loads(json.dumps(b.to_dict()))
    assert data["suggested_hidden"] == [lo, hi] and data["curve_bounds"]["pieces_greedy"] > 0


def test_long_memory_is_reported_as_a_lower_bound() -> None:
    x = _white(seed=4)
    y = signal.lfilter([1.0], [1.0, -0.97], x)
    b = memory_bound(recording_from_arrays(x, y, RATE, validation_s=2.0, latency=0),
                     esr_target=1e-3, max_lag=8)
    assert b.memory_saturated and b.memory_samples == 8 and b.states == 1
    assert any("lower bound" in n for n in b.notes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"esr_target": 0.0}, "esr_target must be between 0 and 1"),
        ({"esr_target": 1.5}, "esr_target must be between 0 and 1"),
        ({"esr_target": float("nan")}, "esr_target must be between 0 and 1"),
        ({"esr_target": "low"}, "esr_target must be a number"),
        ({"esr_target": 0.01, "max_lag": 0}, "max_lag must be a whole number"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    x = _white(4.0)
    rec = recording_from_arrays(x, x, RATE, validation_s=1.0)
    with pytest.raises(InputError, match=message):
        memory_bound(rec, **kwargs)  # type: ignore[arg-type]


def test_not_a_recording_is_refused() -> None:
    with pytest.raises(InputError, match=r"needs a Recording.*recording_from_arrays"):
        memory_bound((np.zeros(10), np.zeros(10)), esr_target=0.01)  # type: ignore[arg-type]
