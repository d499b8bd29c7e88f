"""The simulated pedal: its ODE solver against a float64 reference, memory, nonlinearity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from vashrink.errors import InputError
from vashrink.target.pedal import (
    PedalParams,
    pedal_output,
    pedal_recording,
    solve_clipper,
    upsample_linear,
)

RATE = 48_000


def _reference(x: np.ndarray, params: PedalParams, oversample: int) -> np.ndarray:
    """The clipper ODE by LSODA (rtol 1e-9; Radau at 1e-10 agrees to 1e-9), one call per input
    sample because the held input bends there, at the oversampled times."""
    a = 1.0 / (params.r_ohm * params.c_farad)
    b = 2.0 * params.is_amp / params.c_farad
    c = 1.0 / params.n_vt_volt
    t = np.arange(-1, x.size) / RATE
    u = params.drive_gain * np.concatenate([[0.0], x])
    v, out = 0.0, []
    for i in range(x.size):
        slope = (u[i + 1] - u[i]) * RATE

        def rate(tt: float, vv: np.ndarray, i: int = i, slope: float = slope) -> np.ndarray:
            return a * (u[i] + slope * (tt - t[i]) - vv) - b * np.sinh(c * vv)

        def jac(tt: float, vv: np.ndarray) -> np.ndarray:
            return np.array([[-a - b * c * np.cosh(c * vv[0])]])

        times = np.minimum(t[i] + np.arange(1, oversample + 1) / (oversample * RATE), t[i + 1])
        sol = solve_ivp(rate, (t[i], t[i + 1]), [v], method="LSODA", rtol=1e-9, atol=1e-11,
                        jac=jac, t_eval=times)
        assert sol.success
        out.append(sol.y[0])
        v = float(sol.y[0, -1])
    return np.concatenate(out)


def _errors(x: np.ndarray, oversample: int) -> tuple[float, float]:
    params = PedalParams(drive_gain=10.0, oversample=oversample)
    v = solve_clipper(params.drive_gain * upsample_linear(x, oversample),
                      1.0 / (oversample * RATE), params)
    e = v - _reference(x, params, oversample)
    return float(np.max(np.abs(e))), float(np.sqrt(np.mean(e * e)))


def test_solver_matches_the_reference_on_a_clipped_tone() -> None:
    # 2 ms of a 1 kHz tone at -1 dBFS, 20 dB of drive: clipped hard at +-0.65 V
    x = 0.9 * np.sin(2 * np.pi * 1000 * np.arange(96) / RATE)
    max8, rms8 = _errors(x, 8)
    assert max8 < 5e-3 and rms8 < 5e-4  # measured 3.2e-3 and 2.6e-4 (0.5 % of the clip level)
    _, rms16 = _errors(x, 16)
    assert rms16 < 0.35 * rms8  # second order: measured 0.26x


def test_solver_matches_the_reference_on_full_band_noise() -> None:
    # the worst case: white noise jumps several volts per sample; trapezoidal rule at 8x
    x = np.clip(0.5 * np.random.default_rng(1).standard_normal(96), -1, 1)
    max8, rms8 = _errors(x, 8)
    assert max8 < 0.05 and rms8 < 7e-3  # measured 0.033 and 4.5e-3


@pytest.mark.parametrize("drive", [10.0, 40.0])
def test_chunks_solved_in_parallel_equal_one_sequential_pass(drive: float) -> None:
    x = np.random.default_rng(3).uniform(-0.9, 0.9, 700)
    params = PedalParams(drive_gain=drive)
    u = params.drive_gain * upsample_linear(x, 8)
    step = 1.0 / (8 * RATE)
    chunked = solve_clipper(u, step, params, chunk_samples=2048)
    sequential = solve_clipper(u, step, params, chunk_samples=u.size)
    np.testing.assert_allclose(chunked, sequential, rtol=0, atol=1e-12)


def test_output_has_memory_a_step_takes_time_to_settle() -> None:
    x = np.zeros(200)
    x[50:] = 0.002  # small: the diodes stay off, the stage is linear
    y = pedal_output(x, RATE)
    assert np.all(y[:50] == 0.0)
    final = y[-1]
    assert y[50] < 0.5 * final  # the output lags the input step
    settle = int(np.argmax(y >= 0.9 * final)) - 50
    assert 2 <= settle <= 20  # RC 22 us and tone 39 us: a few samples at 48 kHz


def test_output_depends_on_the_past_at_equal_input() -> None:
    t = np.arange(RATE // 50) / RATE
    x = 0.5 * np.sin(2 * np.pi * 2000 * t)
    y = pedal_output(x, RATE)
    rising = (np.abs(x) < 0.02) & (np.gradient(x) > 0)
    falling = (np.abs(x) < 0.02) & (np.gradient(x) < 0)
    steady = slice(RATE // 200, None)
    assert np.mean(y[steady][rising[steady]]) < -0.05 < 0.05 < np.mean(y[steady][falling[steady]])


def test_output_is_nonlinear_and_clips() -> None:
    x = 0.3 * np.sin(2 * np.pi * 200 * np.arange(RATE // 20) / RATE)
    y1, y2 = pedal_output(x, RATE), pedal_output(2 * x, RATE)
    assert np.max(np.abs(y2 - 2 * y1)) > 0.3 * np.max(np.abs(y1))  # no superposition
    assert 0.55 < np.max(np.abs(y2)) < 0.7  # silicon diodes: about 0.6 V whatever the drive
    small = pedal_output(1e-3 * x, RATE)
    np.testing.assert_allclose(pedal_output(2e-3 * x, RATE), 2 * small, atol=1e-6)


def test_pedal_recording_is_deterministic_and_keeps_its_filters_delay() -> None:
    rec = pedal_recording(seconds=5.0, sample_rate_hz=16_000, validation_s=2.0)
    again = pedal_recording(seconds=5.0, sample_rate_hz=16_000, validation_s=2.0)
    np.testing.assert_array_equal(rec.output, again.output)
    assert rec.input.size == 5 * 16_000 and rec.validation_samples == 2 * 16_000
    assert "diode-clipper" in rec.name
    assert rec.latency_samples == 0  # no latency: the filters' group delay is the model's
    other = pedal_recording(seconds=5.0, sample_rate_hz=16_000, validation_s=2.0, seed=1)
    assert not np.array_equal(rec.output, other.output)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PedalParams(r_ohm=-1.0), "fix r_ohm"),
        (lambda: PedalParams(drive_gain=float("nan")), "fix drive_gain"),
        (lambda: PedalParams(oversample=0), "oversample must be"),
        (lambda: pedal_output(np.zeros((2, 10)), RATE), "1-D array"),
        (lambda: pedal_output([0.1, float("inf")], RATE), "finite"),
        (lambda: pedal_output(np.zeros(10), 1000), "sample_rate_hz must be"),
        (lambda: solve_clipper(np.zeros(10), 0.0), "step_s"),
        (lambda: pedal_recording(seconds=2.0), "seconds must be at least 5"),
    ],
)
def test_bad_parameters_are_refused(make: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()  # type: ignore[operator]
