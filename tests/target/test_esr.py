"""ESR, pre-emphasis, DC error and the combined error report."""

from __future__ import annotations

import numpy as np
import pytest

from vashrink.errors import InputError
from vashrink.target.esr import ErrorReport, dc_error, esr, pre_emphasis, signal_errors


def _signal() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.sin(np.linspace(0, 40, 2000)) + 0.1 * rng.standard_normal(2000)


def test_pre_emphasis_matches_hand_computation() -> None:
    y = np.array([1.0, 2.0, -1.0, 0.5])
    expected = np.array([1.0, 2.0 - 0.85 * 1.0, -1.0 - 0.85 * 2.0, 0.5 - 0.85 * -1.0])
    np.testing.assert_allclose(pre_emphasis(y), expected, rtol=1e-15)
    np.testing.assert_allclose(pre_emphasis(y, 0.5), [1.0, 1.5, -2.0, 1.0], rtol=1e-15)
    rows = pre_emphasis(np.stack([y, 2 * y]))
    np.testing.assert_allclose(rows[1], 2 * expected, rtol=1e-15)


def test_esr_of_identical_signals_is_zero() -> None:
    y = _signal()
    assert esr(y, y) == 0.0
    assert esr(y, y, pre_emphasis=None) == 0.0


def test_esr_of_silent_prediction_is_one() -> None:
    y = _signal()
    assert esr(y, np.zeros_like(y), pre_emphasis=None) == pytest.approx(1.0, rel=1e-12)
    assert esr(y, np.zeros_like(y)) == pytest.approx(1.0, rel=1e-12)


def test_esr_hand_computation() -> None:
    y, p = np.array([1.0, -1.0, 2.0]), np.array([0.5, -1.0, 1.0])
    assert esr(y, p, pre_emphasis=None) == pytest.approx((0.25 + 0 + 1) / 6)
    ey, ep = pre_emphasis(y), pre_emphasis(p)
    assert esr(y, p) == pytest.approx(float(np.sum((ey - ep) ** 2) / np.sum(ey**2)))


def test_dc_error_formula() -> None:
    y = np.array([1.0, 3.0])
    p = np.array([0.0, 2.0])
    assert dc_error(y, p) == pytest.approx(1.0 / (5.0 + 1e-5))
    assert dc_error(y, y) == 0.0


def test_signal_errors_report() -> None:
    y = _signal()
    p = 0.9 * y + 0.01
    r = signal_errors(y, p)
    assert isinstance(r, ErrorReport)
    assert r.esr == pytest.approx(esr(y, p))
    assert r.esr_plain == pytest.approx(esr(y, p, pre_emphasis=None))
    assert r.dc == pytest.approx(dc_error(y, p))
    assert r.mse == pytest.approx(float(np.mean((y - p) ** 2)))


def test_refusals() -> None:
    with pytest.raises(InputError, match="same shape"):
        esr(np.zeros(3), np.zeros(4))
    with pytest.raises(InputError, match="empty"):
        esr(np.zeros(0), np.zeros(0))
    with pytest.raises(InputError, match="silent"):
        esr(np.zeros(5), np.ones(5))
    with pytest.raises(InputError, match="finite"):
        signal_errors(np.array([1.0, np.nan]), np.zeros(2))
    with pytest.raises(InputError, match="scalar"):
        pre_emphasis(1.0)
