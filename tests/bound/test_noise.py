"""Noisy samples: the noise is estimated and smoothed away before differentiating."""

from __future__ import annotations

import numpy as np
import pytest

from vashrink.bound.bounds import compute_bounds
from vashrink.bound.noise import estimate_noise


def _soft_clipper(sigma: float, n: int = 4801, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-1, 1, n)
    return x, np.tanh(3 * x) + np.random.default_rng(seed).normal(0, sigma, n)


@pytest.mark.parametrize("sigma", [1e-4, 1e-3, 1e-2])
def test_noise_level_is_estimated_within_15_percent(sigma: float) -> None:
    _, y = _soft_clipper(sigma)
    assert estimate_noise(y) == pytest.approx(sigma, rel=0.15)


def test_noisy_soft_clipper_gets_its_true_lipschitz_constant() -> None:
    # true L = 3 at x = 0, max|f''| = 9 * 4 / (3 sqrt 3) = 6.93; raw differences give L ~ 3e4
    b = compute_bounds(_soft_clipper(1e-3), -1, 1, 1e-2)
    assert b.lipschitz == pytest.approx(3.0, rel=0.05)
    assert b.max_second_derivative == pytest.approx(6.93, rel=0.25)
    assert b.noise_sigma == pytest.approx(1e-3, rel=0.15)
    assert any("smoothed samples" in n for n in b.notes)
    assert min(a.n_params for a in b.band) < 100


def test_eps_below_the_noise_floor_is_reported() -> None:
    b = compute_bounds(_soft_clipper(1e-3), -1, 1, 1e-4)
    assert any("below the noise floor" in n for n in b.notes)


def test_clean_samples_are_not_smoothed() -> None:
    x = np.linspace(-1, 1, 2001)
    b = compute_bounds((x, np.tanh(3 * x)), -1, 1, 1e-3)
    assert b.noise_sigma < 1e-8
    assert "smoothing" not in b.derivatives
    assert b.lipschitz == pytest.approx(3.0, rel=1e-4)


CURVES = {  # f, true max |f'| and max |f''| on [-1, 1] (x**3's are at the ends)
    "tanh(3x)": (lambda x: np.tanh(3 * x), 3.0, 6.928),
    "sin(3x)": (lambda x: np.sin(3 * x), 3.0, 9.0),
    "x**3": (lambda x: x**3, 3.0, 6.0),
    "sin(10x)": (lambda x: np.sin(10 * x), 10.0, 100.0),
}


@pytest.mark.parametrize("name", sorted(CURVES))
@pytest.mark.parametrize("sigma", [1e-4, 1e-3, 1e-2])
def test_derivatives_are_as_trustworthy_at_the_ends_as_inside(name: str, sigma: float) -> None:
    """4,001 noisy samples: L within 5 % and M within 20 % of the truth, for several seeds (a
    smoothing spline's free ends gave M = 184 for tanh(3x), true 6.9, 'at x = -1')."""
    f, lipschitz, m2 = CURVES[name]
    x = np.linspace(-1, 1, 4001)
    for seed in range(3):
        y = f(x) + np.random.default_rng(seed).normal(0, sigma, x.size)
        b = compute_bounds((x, y), -1, 1, 1e-1)
        assert b.lipschitz == pytest.approx(lipschitz, rel=0.05), seed
        assert b.max_second_derivative == pytest.approx(m2, rel=0.2), seed
