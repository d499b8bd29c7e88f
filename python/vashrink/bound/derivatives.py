"""Measured derivatives of a target: exact (float64 autograd) for expressions, finite
differences (Richardson-extrapolated) for callables, second differences for samples; maxima
refined with a bounded Brent search, jumps located by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from ..errors import InputError
from ..target.samples import Target, as_target, check_range
from .noise import NOISE_SIGNIFICANT, estimate_noise, smooth_samples

__all__ = ["DerivativeProfile", "measure_derivatives", "slope_function"]

MAX_SAMPLES = 10_000_000

_Array = np.ndarray
_Fn = Callable[[_Array], _Array]


@dataclass(frozen=True)
class DerivativeProfile:
    """f, f' and f'' on the grid of ``[a, b]``, and how the derivatives were obtained.

    ``method`` names it (torch float64 autograd for expressions, finite differences for
    callables and samples, local fits or a smoothing spline for noisy samples); ``exact`` is
    True for autograd; ``noise_sigma`` is the noise estimated in samples (0 for functions).
    Where f'' does not exist (kinks), autograd reports the one-sided value and finite
    differences a spike: use :func:`compute_bounds` to find out whether it does.

    Shape:
        x, y, d1, d2: ``(n,)`` float64, ``x`` strictly increasing.
    """

    x: _Array
    y: _Array
    d1: _Array
    d2: _Array
    method: str
    exact: bool
    noise_sigma: float = 0.0


@dataclass(frozen=True)
class _Profile:
    """The grid profile plus (when f can be evaluated anywhere) f' and f'' as functions."""

    grid: DerivativeProfile
    d1_fn: _Fn | None
    d2_fn: _Fn | None
    kink_fn: _Fn | None
    kink_iterations: int


def _autograd(fn: Callable[[torch.Tensor], torch.Tensor], x: _Array) -> tuple[_Array, _Array]:
    t = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    y = fn(t)
    zeros = np.zeros_like(np.asarray(x, dtype=np.float64))
    if not y.requires_grad:
        return zeros, zeros.copy()
    (g,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    d1 = g.detach().numpy(force=True).copy()
    if not g.requires_grad:
        return d1, zeros
    (h,) = torch.autograd.grad(g.sum(), t, allow_unused=True)
    return d1, (zeros if h is None else h.detach().numpy(force=True).copy())


def _stencil(f: _Fn, x: _Array, h: float, a: float, b: float, order: int) -> _Array:
    """Second-order finite differences: central inside, one-sided within reach of a or b."""
    out = np.empty_like(x)
    central = (x - h >= a) & (x + h <= b)
    forward = ~central & (x - h < a)
    c, fw, bw = x[central], x[forward], x[~central & ~forward]
    if order == 1:
        out[central] = (f(c + h) - f(c - h)) / (2 * h)
        out[forward] = (-3 * f(fw) + 4 * f(fw + h) - f(fw + 2 * h)) / (2 * h)
        out[~central & ~forward] = (3 * f(bw) - 4 * f(bw - h) + f(bw - 2 * h)) / (2 * h)
    else:
        out[central] = (f(c + h) - 2 * f(c) + f(c - h)) / h**2
        out[forward] = (2 * f(fw) - 5 * f(fw + h) + 4 * f(fw + 2 * h) - f(fw + 3 * h)) / h**2
        out[~central & ~forward] = (
            2 * f(bw) - 5 * f(bw - h) + 4 * f(bw - 2 * h) - f(bw - 3 * h)
        ) / h**2
    return out


def _richardson(f: _Fn, x: _Array, h: float, a: float, b: float, order: int) -> _Array:
    """Richardson extrapolation of :func:`_stencil`: cancels the h^2 error term."""
    fine, coarse = _stencil(f, x, h / 2, a, b, order), _stencil(f, x, h, a, b, order)
    out: _Array = (4 * fine - coarse) / 3
    return out


def _profile(target: Target, a: float, b: float, samples: int) -> _Profile:
    if target.is_sampled:
        x, y = _sampled_grid(target, a, b)
        sigma = estimate_noise(y)
        scale = max(float(np.max(np.abs(y))), 1e-300)
        if sigma > NOISE_SIGNIFICANT * scale and len(x) >= 16:
            s = smooth_samples(x, y, sigma)
            grid = DerivativeProfile(
                x, s.y, s.d1, s.d2,
                f"{s.method} of the samples (noise sigma ~ {sigma:.2g} removed)",
                exact=False, noise_sigma=sigma,
            )
            return _Profile(grid, None, None, None, 0)
        d1 = np.gradient(y, x, edge_order=2)
        grid = DerivativeProfile(x, y, d1, _second_differences(x, y),
                                 "finite differences of the samples", exact=False,
                                 noise_sigma=sigma)
        return _Profile(grid, None, None, None, 0)
    x, y = target.sample(a, b, samples)
    tfn = target.torch_fn()
    if tfn is not None:
        def d1_fn(t: _Array) -> _Array:
            return _autograd(tfn, t)[0]

        def d2_fn(t: _Array) -> _Array:
            return _autograd(tfn, t)[1]

        d1, d2 = _autograd(tfn, x)
        grid = DerivativeProfile(x, y, d1, d2, "exact (torch float64 autograd)", exact=True)
        return _Profile(grid, d1_fn, d2_fn, d1_fn, 30)
    dx = (b - a) / (samples - 1)
    h1, h2 = min(dx / 2, 1e-5 * (b - a)), min(4 * dx, 1e-4 * (b - a))
    h_kink = dx / 4096

    def fd1(t: _Array) -> _Array:
        return _richardson(target.evaluate, np.asarray(t, dtype=np.float64), h1, a, b, 1)

    def fd2(t: _Array) -> _Array:
        return _richardson(target.evaluate, np.asarray(t, dtype=np.float64), h2, a, b, 2)

    def kink1(t: _Array) -> _Array:
        return _stencil(target.evaluate, np.asarray(t, dtype=np.float64), h_kink, a, b, 1)

    method = f"finite differences of f (steps {h1:.2g} for f', {h2:.2g} for f'')"
    grid = DerivativeProfile(x, y, fd1(x), fd2(x), method, exact=False)
    return _Profile(grid, fd1, fd2, kink1, 6)


def _sampled_grid(target: Target, a: float, b: float) -> tuple[_Array, _Array]:
    assert target.x is not None and target.y is not None
    lo, hi = float(target.x[0]), float(target.x[-1])
    tol = 1e-12 * max(1.0, abs(lo), abs(hi))
    if a < lo - tol or b > hi + tol:
        msg = (
            f"target {target.name!r} is sampled on [{lo:g}, {hi:g}] only; "
            "choose a range inside it"
        )
        raise InputError(msg)
    inside = (target.x >= a - tol) & (target.x <= b + tol)
    if int(inside.sum()) < 3:
        msg = f"only {int(inside.sum())} samples of {target.name!r} lie in [{a:g}, {b:g}]; need 3"
        raise InputError(msg)
    return target.x[inside], target.y[inside]


def _second_differences(x: _Array, y: _Array) -> _Array:
    slopes = np.diff(y) / np.diff(x)
    inner = 2 * np.diff(slopes) / (x[2:] - x[:-2])
    return np.concatenate([inner[:1], inner, inner[-1:]])


def _scalar(fn: _Fn) -> Callable[[float], float]:
    return lambda t: float(fn(np.array([t], dtype=np.float64))[0])


def _refine_max(fn: _Fn | None, x: _Array, values: _Array, span: float) -> tuple[float, float]:
    """max |values| on the grid, refined by bounded Brent around the best local maxima."""
    av = np.abs(values)
    i_best = int(np.argmax(av))
    best, at = float(av[i_best]), float(x[i_best])
    if fn is None or not np.isfinite(av).all():
        return best, at
    peaks = np.flatnonzero((av[1:-1] >= av[:-2]) & (av[1:-1] >= av[2:])) + 1
    peaks = np.concatenate([peaks, [0, len(x) - 1]])
    peaks = peaks[np.argsort(-av[peaks], kind="stable")][:6]
    g = _scalar(fn)
    for i in peaks.tolist():
        lo, hi = float(x[max(i - 1, 0)]), float(x[min(i + 1, len(x) - 1)])
        res = minimize_scalar(lambda t: -abs(g(t)), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-10 * span, "maxiter": 200})
        value = -float(res.fun)
        if math.isfinite(value) and value > best:
            best, at = value, float(res.x)
    return best, at


def _find_jumps(
    g: _Fn, x: _Array, gv: _Array, slope: _Array, floor: float, iterations: int
) -> _Array:
    """Where g jumps: grid steps whose change beats the slope bound, confirmed by bisection.

    A jump keeps its size however small the bracket; a smooth change shrinks with it.
    """
    change = np.abs(np.diff(gv))
    allowed = np.maximum(np.abs(slope[:-1]), np.abs(slope[1:])) * np.diff(x)
    with np.errstate(all="ignore"):
        ratio = change / (allowed + floor)
    ratio = np.where(np.isfinite(ratio), ratio, 0.0)
    change_f = np.where(np.isfinite(change), change, 0.0)
    k = min(8, len(change))
    cand = np.unique(np.concatenate([np.argsort(-change_f)[:k], np.argsort(-ratio)[:k]]))
    cand = cand[change_f[cand] > floor]
    if cand.size == 0:
        return np.empty(0)
    u, v = x[cand].copy(), x[cand + 1].copy()
    gu, gw = g(u), g(v)
    j0 = np.abs(gw - gu)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            m = 0.5 * (u + v)
            gm = g(m)
            left = np.abs(gm - gu) >= np.abs(gw - gm)
            v, gw = np.where(left, m, v), np.where(left, gm, gw)
            u, gu = np.where(left, u, m), np.where(left, gu, gm)
        j = np.abs(gw - gu)
        keep = (j > 0.25 * j0) & (j > floor)
    centres: _Array = 0.5 * (u + v)
    return np.asarray(centres[keep], dtype=np.float64)


# --- the public entry point ----------------------------------------------------------------


def _check_samples(samples: Any) -> int:
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        msg = f"samples must be a whole number, got {samples!r}"
        raise InputError(msg)
    if not 3 <= int(samples) <= MAX_SAMPLES:
        msg = f"samples must be from 3 to {MAX_SAMPLES:,}, got {samples} (48000 = 1 s at 48 kHz)"
        raise InputError(msg)
    return int(samples)


def measure_derivatives(
    target: Any, a: float, b: float, *, samples: int = 48000
) -> DerivativeProfile:
    """f, f' and f'' of ``target`` on ``samples`` evenly spaced points of ``[a, b]``.

    The same grid and derivatives :func:`compute_bounds` starts from (before refining maxima
    and looking for kinks): exact torch float64 autograd for expressions, Richardson-
    extrapolated finite differences for callables, and for sampled targets their own points
    inside ``[a, b]`` with finite differences of the samples.

    Raises:
        InputError: bad range or samples, f not finite on the range, bad sample arrays.
    """
    tgt = as_target(target)
    a, b = check_range(a, b)
    return _profile(tgt, a, b, _check_samples(samples)).grid


def slope_function(target: Any, a: float, b: float, samples: int = 48000) -> _Fn | None:
    """f' as a function on ``[a, b]``: exact (float64 autograd) for expressions, Richardson-
    extrapolated finite differences for callables (steps as :func:`measure_derivatives`
    takes them for ``samples`` points); None for sampled targets (their slope is the slope
    of each sample segment)."""
    tgt = as_target(target)
    if tgt.is_sampled:
        return None
    a, b = check_range(a, b)
    tfn = tgt.torch_fn()
    if tfn is not None:
        def exact(t: _Array) -> _Array:
            return _autograd(tfn, np.asarray(t, dtype=np.float64))[0]

        return exact
    h1 = min((b - a) / (samples - 1) / 2, 1e-5 * (b - a))

    def differences(t: _Array) -> _Array:
        return _richardson(tgt.evaluate, np.asarray(t, dtype=np.float64), h1, a, b, 1)

    return differences
