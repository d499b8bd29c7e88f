"""Simulated panel gear: deterministic, the stated latency, time-invariant, bounded, nonlinear."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import solve_toeplitz

from vashrink.errors import InputError
from vashrink.target.capture_signal import test_signal
from vashrink.target.gear import GEAR, gear_names, gear_recording, get_gear, to_recording
from vashrink.target.gear_circuits import tube_output
from vashrink.target.recording import Recording

RATE = 48_000
NONLINEAR = [name for name, g in GEAR.items() if not g.linear]


def _mixed(seconds_per_part: float = 0.11) -> np.ndarray:
    """Noise bursts and decaying 220 Hz tones at four levels (quiet to full scale); x[0] != 0."""
    rng = np.random.default_rng(1)
    n = round(seconds_per_part * RATE)
    t = np.arange(n) / RATE
    parts = []
    for amp in (0.03, 0.2, 0.6, 1.0):
        parts += [amp * rng.uniform(-1.0, 1.0, n), amp * np.sin(2e3 * t) * np.exp(-t / 0.05)]
    x = np.concatenate(parts)
    x[0] = 0.5
    return x


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each gear's render of :func:`_mixed`, a full-scale 100 Hz square and full-scale noise."""
    rng = np.random.default_rng(2)
    square = np.sign(np.sin(2 * np.pi * 100.0 * np.arange(RATE // 20) / RATE))
    x = np.concatenate([_mixed(), square, rng.uniform(-1.0, 1.0, RATE // 20)])
    return {name: (x, g.render(x, RATE)) for name, g in GEAR.items()}


def _fir_esr(x: np.ndarray, y: np.ndarray, taps: int) -> float:
    """ESR of the least-squares causal FIR predictor of ``y`` from ``x`` (normal equations,
    correlations by FFT, Toeplitz solve)."""
    n = x.size
    fx, fy = np.fft.rfft(x, 2 * n), np.fft.rfft(y, 2 * n)
    rxx = np.fft.irfft(fx * np.conj(fx))[:taps]
    rxy = np.fft.irfft(fy * np.conj(fx))[:taps]
    pred = np.convolve(x, solve_toeplitz(rxx, rxy))[:n]
    return float(np.sum((y - pred) ** 2) / np.sum(y**2))


def test_panel_has_five_nonlinear_gear_with_distinct_latencies() -> None:
    assert len(NONLINEAR) >= 5
    latencies = [g.latency_samples for g in GEAR.values()]
    assert len(set(latencies)) == len(latencies)
    assert gear_names() == list(GEAR)
    assert all(g.description and g.name == name for name, g in GEAR.items())


@pytest.mark.parametrize("name", list(GEAR))
def test_render_is_deterministic(name: str, rendered: dict) -> None:
    x, y = rendered[name]
    assert np.array_equal(GEAR[name].render(x.copy(), RATE), y)


@pytest.mark.parametrize("name", list(GEAR))
def test_output_starts_exactly_after_the_latency(name: str, rendered: dict) -> None:
    gear = GEAR[name]
    lag = gear.latency_samples
    y = rendered[name][1]
    if lag:
        # before the latency: the response to silence, which is silence
        assert np.array_equal(y[:lag], gear.render(np.zeros(lag), RATE))
        assert not np.any(y[:lag])
    assert y[lag] != 0.0  # x[0] != 0 reaches the output at exactly `lag`, not later


@pytest.mark.parametrize("name", list(GEAR))
def test_shifting_the_input_shifts_the_output(name: str, rendered: dict) -> None:
    x, y = rendered[name]
    k = 37
    shifted = GEAR[name].render(np.concatenate([np.zeros(k), x[:-k]]), RATE)
    assert not np.any(shifted[:k])
    # the diode solver steps chunks in parallel, so it is time-invariant to its Newton tolerance
    np.testing.assert_allclose(shifted[k:], y[:-k], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", list(GEAR))
def test_bounded_for_full_scale_input(name: str, rendered: dict) -> None:
    y = rendered[name][1]  # includes a full-scale square wave and full-scale noise
    assert np.all(np.isfinite(y))
    assert np.max(np.abs(y)) <= 1.5


@pytest.mark.parametrize("name", NONLINEAR)
def test_nonlinear_gear_beats_any_linear_fir(name: str, rendered: dict) -> None:
    x, y = rendered[name]
    lag = GEAR[name].latency_samples
    assert _fir_esr(x[: x.size - lag], y[lag:], 512) > 0.01


def test_linear_fir_measure_fits_the_linear_cab(rendered: dict) -> None:
    """The measure above can tell: a long FIR reproduces the (linear) cabinet."""
    x, y = rendered["cab"]
    lag = GEAR["cab"].latency_samples
    assert _fir_esr(x[: x.size - lag], y[lag:], 2048) < 1e-4


def test_tube_bias_moves_with_level() -> None:
    """Grid current shifts the DC operating point on loud bursts only."""
    n = RATE // 10
    tone = np.sin(2 * np.pi * 200.0 * np.arange(n) / RATE)

    def burst_mean(amp: float, depth: float) -> float:
        y = tube_output(np.concatenate([np.zeros(n), amp * tone]), RATE, bias_depth=depth)
        return float(np.mean(y[n:])) / amp

    quiet, loud = burst_mean(0.05, 1.0), burst_mean(0.9, 1.0)
    assert quiet == burst_mean(0.05, 0.0)  # below grid conduction: no shift at all
    assert loud < quiet - 0.02  # measured: -0.054 vs -0.016 per unit of amplitude
    assert loud < burst_mean(0.9, 0.0) - 0.01  # and it is the bias that moved (-0.034 without)


def test_gear_recording_pairs_the_test_signal_with_the_render() -> None:
    pair = gear_recording("sag", seconds=6.0, sample_rate_hz=RATE, seed=3)
    x = test_signal(RATE, seconds=6.0, seed=3)
    assert np.array_equal(pair.input, x)
    assert np.array_equal(pair.output, GEAR["sag"].render(x, RATE))
    assert pair.latency_samples == 64
    rec = to_recording(pair, validation_s=2.0, compensate=True)
    assert isinstance(rec, Recording)
    assert rec.sample_rate_hz == RATE
    assert "sag" in rec.name


def test_bad_gear_name_and_input_are_reported() -> None:
    with pytest.raises(InputError, match="unknown gear 'amp'; choose one of diode"):
        get_gear("amp")
    with pytest.raises(InputError, match="fuzz: x must be a non-empty 1-D array"):
        GEAR["fuzz"].render(np.array([0.0, np.nan]), RATE)
    with pytest.raises(InputError, match="sample_rate_hz must be a whole number"):
        GEAR["fuzz"].render(np.zeros(4), 48000.5)  # type: ignore[arg-type]
