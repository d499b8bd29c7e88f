"""Measurement noise in sampled targets: estimate it, and smooth before differentiating.

Differentiating noisy samples amplifies the noise by 1/h (f') and 1/h^2 (f''): a soft clipper
with L = 3 sampled with sigma = 1e-3 gives L in the tens of thousands. So for samples we first
estimate sigma from third differences (for smooth f on a fine grid, Delta^3 y is almost pure
noise with variance 20 sigma^2: coefficients 1, -3, 3, -1; a median absolute deviation keeps
kinks and outliers from inflating it), and when it is above float64 rounding we differentiate a
smoothed curve instead of the samples.

Evenly spaced samples get *local quartic least squares* (Savitzky-Golay) over a window of W
points; at the ends the quartic fitted to the first or last W points is differentiated there,
so the ends are estimated from as many points as the inside (a smoothing spline's free ends
made M = 184 out of a true 6.9 for tanh(3x) with sigma = 1e-3). W is the smallest window whose
f'' noise *at the ends* (the worst place: ``sigma * ||end coefficients||``, exact for white
noise) is at most :data:`D2_NOISE_FRACTION` / 4 of the M it measures, so four standard
deviations of noise move M by at most that fraction; a wider window would only add bias.
Unevenly spaced samples keep a quintic smoothing spline with residual ``N sigma^2`` (FITPACK's
condition, scipy's ``UnivariateSpline``).
"""

from __future__ import annotations

import math
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


#: The f'' noise (4 standard deviations, at the ends) allowed, as a fraction of M.
D2_NOISE_FRACTION = 0.1
_ORDER = 4


@dataclass(frozen=True)
class Smoothed:
    """Samples after smoothing: values and derivatives on the sample points, and how.

    ``window``: points per local fit (0 for the smoothing spline); ``method`` names it.
    """

    y: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    sigma: float
    window: int = 0
    method: str = "a smoothing spline"


def _end_gain(window: int, dx: float, deriv: int) -> float:
    """``||c||``: the derivative at the first point of a quartic least-squares fit to
    ``window`` points is ``c . y``; its noise is ``sigma ||c||``."""
    t = np.arange(window, dtype=np.float64) * dx
    coeffs = np.linalg.pinv(np.vander(t, _ORDER + 1, increasing=True))
    return float(math.factorial(deriv) * np.linalg.norm(coeffs[deriv]))


def _local_fit(y: np.ndarray, dx: float, sigma: float) -> Smoothed:
    from scipy.signal import savgol_filter

    window, cap = 2 * _ORDER + 3, max(2 * _ORDER + 3, (y.size // 4) | 1)
    while True:
        d2 = savgol_filter(y, window, _ORDER, deriv=2, delta=dx, mode="interp")
        noise = 4 * sigma * _end_gain(window, dx, 2)
        if noise <= D2_NOISE_FRACTION * float(np.max(np.abs(d2))) or window >= cap:
            break
        window = min(cap, int(window * 1.25) | 1)
    return Smoothed(
        savgol_filter(y, window, _ORDER, mode="interp"),
        savgol_filter(y, window, _ORDER, deriv=1, delta=dx, mode="interp"),
        d2,
        sigma,
        window,
        f"local quartic least squares over {window} points (ends fitted like the inside)",
    )


def smooth_samples(x: np.ndarray, y: np.ndarray, sigma: float) -> Smoothed:
    """Smoothed ``(x, y)`` and its derivatives at x: local quartic fits for evenly spaced x,
    else a smoothing spline with residual ``N sigma^2``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    steps = np.diff(x)
    if y.size >= 2 * _ORDER + 3 and float(np.ptp(steps)) <= 1e-6 * float(np.mean(steps)):
        return _local_fit(y, float(np.mean(steps)), sigma)
    from scipy.interpolate import UnivariateSpline

    spline = UnivariateSpline(x, y, k=5, s=x.size * sigma**2)
    return Smoothed(
        np.asarray(spline(x)),
        np.asarray(spline.derivative(1)(x)),
        np.asarray(spline.derivative(2)(x)),
        sigma,
    )
