"""Measurement noise in sampled targets: estimate it, and smooth before differentiating.

Differentiating noisy samples amplifies the noise by 1/h (f') and 1/h^2 (f''): a soft clipper
with L = 3 sampled with sigma = 1e-3 gives L in the tens of thousands. So for samples we first
estimate sigma from third differences (for smooth f on a fine grid, Delta^3 y is almost pure
noise with variance 20 sigma^2: coefficients 1, -3, 3, -1; a median absolute deviation keeps
kinks and outliers from inflating it), and when it is above float64 rounding we fit a quintic
smoothing spline whose residual matches the noise (FITPACK's condition
``sum (y - s(x))^2 <= N sigma^2``, scipy's ``UnivariateSpline``; quintic, so f'' is smooth)
and differentiate the spline instead of the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NOISE_SIGNIFICANT", "Smoothed", "estimate_noise", "smooth_samples"]

#: sigma / max|y| above which samples count as noisy (float64 rounding of measured data is
#: about 1e-16 relative; printed CSV values with 9 digits give about 1e-9).
NOISE_SIGNIFICANT = 1e-7
_MAD_TO_SIGMA = 1.4826


def estimate_noise(y: np.ndarray) -> float:
    """Standard deviation of additive white noise in ``y`` (evenly spaced samples)."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 8:
        return 0.0
    d3 = np.diff(y, n=3)
    mad = float(np.median(np.abs(d3 - np.median(d3))))
    return _MAD_TO_SIGMA * mad / float(np.sqrt(20.0))


@dataclass(frozen=True)
class Smoothed:
    """Samples after smoothing: values and derivatives on the sample points."""

    y: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    sigma: float


def smooth_samples(x: np.ndarray, y: np.ndarray, sigma: float) -> Smoothed:
    """A smoothing spline of ``(x, y)`` with residual ``N sigma^2``, and its derivatives at x."""
    from scipy.interpolate import UnivariateSpline

    x = np.asarray(x, dtype=np.float64)
    spline = UnivariateSpline(x, np.asarray(y, np.float64), k=5, s=x.size * sigma**2)
    return Smoothed(
        np.asarray(spline(x)),
        np.asarray(spline.derivative(1)(x)),
        np.asarray(spline.derivative(2)(x)),
        sigma,
    )
