"""A certified maximum of ``|model - f|`` on the whole range, not only on the check grid.

The grid is the evenly spaced check grid plus the range ends, ``x = 0`` (when inside the
range: the silence of a signal, where a diode's kink sits), the target's kinks found by the
bound stage and, for a sampled target, every sample point inside the range (so that the target,
linearly interpolated between samples, is a line on each interval of the grid).

Between two neighbouring grid points ``u < v`` the error ``e = model - f`` has ``|e'| <= S``
on ``[u, v]``, and because ``|e(x)| <= |e(u)| + S (x - u)`` and ``|e(x)| <= |e(v)| + S (v - x)``,

    max over [u, v] of |e| <= (|e(u)| + |e(v)| + S (v - u)) / 2.

The model's slope range ``[m'lo, m'hi]`` on ``[u, v]`` comes from interval arithmetic through
its layers (:mod:`.slopes`). ``S`` is the smaller of ``max |m'| + L`` (L: the target's max |f'|
from the bound stage) and, where the target's slope is known on the interval, the largest gap
between the two slope ranges: for a sampled target f' is the sample segment's slope; for an
expression or callable with max |f''| = M, ``f'`` lies within ``(f'(u) + f'(v)) / 2 +- M (v - u)
/ 2``. The second is what certifies a model that matches its target closely (|m' - f'| small,
while ``max |m'| + L`` is about 2L).

Intervals whose bound exceeds the goal (:func:`_goal`: within 5 % of the largest error seen,
but never above eps for a model that meets eps on the points) are split into :data:`SPLIT`
parts and checked again, so the certificate is tight where it matters, within a budget of extra
points. A float32 model is bounded through its float64 twin: ``|e32| <= |e64| + R`` with ``R``
the largest float32 rounding ``|m32 - m64|`` seen at the checked points (grid points are float32
numbers, so the engine sees exactly them). The target's L, M and f' are exact for expressions
(autograd) and for samples, measured for callables (finite differences).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.layers import DenseLayer
from ..target.samples import Target
from .score import ErrorCheck
from .slopes import model_slope_range

__all__ = [
    "SPLIT",
    "Certificate",
    "TargetSlope",
    "certified_check",
    "certify_error",
    "check_grid",
]

#: Each interval whose bound is too loose is split into this many parts per round.
SPLIT = 8
#: Rounds of refinement, and the extra points allowed: this multiple of the initial grid, at
#: least :data:`MIN_EXTRA_POINTS` (the loosest intervals are refined first).
MAX_ROUNDS = 12
EXTRA_POINTS_FACTOR = 4
MIN_EXTRA_POINTS = 200_000
#: Refinement stops once the bound is this close (relative) to the largest error seen.
TIGHTNESS = 0.05


@dataclass(frozen=True)
class Certificate:
    """``bound``: a certified upper bound of ``max |model - f|`` on ``[a, b]`` (inf when the
    target's slope is unbounded: then nothing can be certified). ``grid_max`` is the largest
    error at a checked point (at ``x_at_max``), ``mse`` the mean square error on the initial
    grid, ``points`` how many points were checked, ``rounding`` the float32 allowance R."""

    bound: float
    grid_max: float
    x_at_max: float
    mse: float
    points: int
    rounding: float

    @property
    def certified(self) -> bool:
        return math.isfinite(self.bound)


def check_grid(
    target: Target, a: float, b: float, samples: int, kinks: Any = (), dtype: str = "float32"
) -> np.ndarray:
    """The sorted check points: ``samples`` evenly spaced ones (ends included), 0 when inside
    ``[a, b]``, the kinks inside it and, for a sampled target, its sample points inside it;
    rounded to float32 for a float32 model (the engine then sees exactly these inputs)."""
    parts = [np.linspace(a, b, int(samples)), np.asarray(kinks, dtype=np.float64).reshape(-1)]
    if a < 0.0 < b:
        parts.append(np.zeros(1))
    if target.x is not None:
        parts.append(target.x)
    x = np.concatenate(parts)
    x = x[(x >= a) & (x <= b)]
    if dtype == "float32":
        x = x.astype(np.float32).astype(np.float64)
        x = x[(x >= a) & (x <= b)]
        x = np.concatenate([[a, b], x]) if x.size else np.array([a, b])
    return np.unique(x)


def _segment_slope(target: Target, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The slope of the sample segment holding each interval (the grid holds every sample
    point, so each interval lies in one segment)."""
    assert target.x is not None and target.y is not None
    seg = np.clip(np.searchsorted(target.x, 0.5 * (u + v)) - 1, 0, target.x.size - 2)
    slope: np.ndarray = np.diff(target.y)[seg] / np.diff(target.x)[seg]
    return slope


@dataclass(frozen=True)
class TargetSlope:
    """What is known of the target's slope f': its max |f'| (``lipschitz``), and optionally
    ``at(x)`` (f' at points) with ``curvature`` = max |f''|, which bound f' on an interval
    ``[u, v]`` to ``(f'(u) + f'(v)) / 2 +- curvature (v - u) / 2``."""

    lipschitz: float
    at: Callable[[np.ndarray], np.ndarray] | None = None
    curvature: float | None = None

    @property
    def local(self) -> bool:
        return self.at is not None and self.curvature is not None and math.isfinite(
            self.curvature)


def _error_slope(layers: list[DenseLayer], target: Target, fs: TargetSlope, u: np.ndarray,
                 v: np.ndarray, su: np.ndarray, sv: np.ndarray) -> np.ndarray:
    """A bound of ``|model' - f'|`` on each interval: the smaller of ``|model'| + L`` and, where
    f' is known on the interval, the distance between the two slope ranges."""
    dlo, dhi = model_slope_range(layers, u, v)
    loose: np.ndarray = np.maximum(np.abs(dlo), np.abs(dhi)) + (
        np.abs(_segment_slope(target, u, v)) if target.x is not None else fs.lipschitz)
    if target.x is not None:
        flo = fhi = _segment_slope(target, u, v)
    elif fs.local:
        assert fs.curvature is not None
        mid, half = 0.5 * (su + sv), 0.5 * fs.curvature * (v - u)
        flo, fhi = mid - half, mid + half
    else:
        return loose
    with np.errstate(invalid="ignore"):
        tight = np.maximum(np.abs(dhi - flo), np.abs(fhi - dlo))
    return np.minimum(loose, np.where(np.isfinite(tight), tight, np.inf))


def _goal(eps: float, grid_max: float) -> float:
    """The bound to refine toward: within :data:`TIGHTNESS` of the grid maximum (not below 1 %
    of eps), and never above eps for a model whose grid maximum meets it."""
    goal = max((1 + TIGHTNESS) * grid_max, 0.01 * eps)
    return min(goal, eps) if grid_max <= eps else goal


def certify_error(
    layers: list[DenseLayer],
    run: Any,
    target: Target,
    x: np.ndarray,
    *,
    eps: float,
    slope: TargetSlope,
    dtype: str,
) -> Certificate:
    """Certify ``max |model - target|`` on ``[x[0], x[-1]]`` starting from the grid ``x``.

    Args:
        layers: the model's dense layers (for its slope bound).
        run: ``run(x, dtype) -> model(x)`` in the engine, ``dtype`` "float32" or "float64".
        x: sorted check points (see :func:`check_grid`).
        eps: decides the refinement goal (:func:`_goal`).
        slope: what is known of the target's slope (ignored for sampled targets).
        dtype: the precision the model runs in.
    """
    y = target.evaluate(x)
    err = run(x, dtype) - y
    if not np.isfinite(err).all():
        bad = int(np.argmax(~np.isfinite(err)))
        return Certificate(math.inf, math.inf, float(x[bad]), math.inf, x.size, 0.0)
    i = int(np.argmax(np.abs(err)))
    grid_max, x_at, mse = float(abs(err[i])), float(x[i]), float(np.mean(err * err))
    rounding = 0.0
    if dtype == "float32":
        wide = run(x, "float64") - y
        rounding = float(np.max(np.abs(wide - err)))
        err = wide
    if not math.isfinite(slope.lipschitz) and target.x is None:
        return Certificate(math.inf, grid_max, x_at, mse, x.size, rounding)
    fprime = slope.at(x) if slope.local and slope.at is not None else np.zeros_like(x)
    u, v, eu, ev = x[:-1], x[1:], np.abs(err[:-1]), np.abs(err[1:])
    su, sv = fprime[:-1], fprime[1:]
    settled, points = 0.0, x.size
    budget = max(EXTRA_POINTS_FACTOR * x.size, MIN_EXTRA_POINTS)
    for round_ in range(MAX_ROUNDS + 1):
        goal = _goal(eps, grid_max)
        bound = 0.5 * (eu + ev + _error_slope(layers, target, slope, u, v, su, sv) * (v - u))
        bound += rounding
        loose = bound > goal
        fits = (x.size + budget - points) // (SPLIT - 1)
        if int(loose.sum()) > fits:  # refine the loosest intervals first
            loose &= bound >= np.sort(bound)[-fits] if fits > 0 else False
        settled = max(settled, float(bound[~loose].max(initial=0.0)))
        if not loose.any() or round_ == MAX_ROUNDS:
            return Certificate(max(settled, float(bound[loose].max(initial=0.0)), grid_max),
                               grid_max, x_at, mse, points, rounding)
        u, v, eu, ev, su, sv = (a[loose] for a in (u, v, eu, ev, su, sv))
        knots = u[:, None] + (v - u)[:, None] * np.linspace(0, 1, SPLIT + 1)[None, :]
        if dtype == "float32":
            knots = knots.astype(np.float32).astype(np.float64)
        inner = knots[:, 1:-1].reshape(-1)
        y_in = target.evaluate(inner)
        e_run = run(inner, dtype) - y_in
        if not np.isfinite(e_run).all():
            bad = int(np.argmax(~np.isfinite(e_run)))
            return Certificate(math.inf, math.inf, float(inner[bad]), mse, points, rounding)
        j = int(np.argmax(np.abs(e_run)))
        if abs(e_run[j]) > grid_max:
            grid_max, x_at = float(abs(e_run[j])), float(inner[j])
        e_in = e_run
        if dtype == "float32":
            e_in = run(inner, "float64") - y_in
            rounding = max(rounding, float(np.max(np.abs(e_in - e_run))))
        s_in = slope.at(inner) if slope.local and slope.at is not None else np.zeros_like(inner)
        points += inner.size
        e_knots = np.concatenate(
            [eu[:, None], np.abs(e_in).reshape(-1, SPLIT - 1), ev[:, None]], axis=1)
        s_knots = np.concatenate([su[:, None], s_in.reshape(-1, SPLIT - 1), sv[:, None]], axis=1)
        u, v = knots[:, :-1].reshape(-1), knots[:, 1:].reshape(-1)
        eu, ev = e_knots[:, :-1].reshape(-1), e_knots[:, 1:].reshape(-1)
        su, sv = s_knots[:, :-1].reshape(-1), s_knots[:, 1:].reshape(-1)
        keep = v > u  # float32 rounding can merge knots of a tiny interval
        u, v, eu, ev, su, sv = (a[keep] for a in (u, v, eu, ev, su, sv))
    raise AssertionError  # pragma: no cover (the loop returns)


def certified_check(
    model: Any,
    target: Target,
    a: float,
    b: float,
    *,
    samples: int,
    dtype: str,
    eps: float,
    slope: TargetSlope,
    kinks: Any = (),
) -> ErrorCheck:
    """The engine model's certified error on ``[a, b]`` (see the module doc) as an
    :class:`~vashrink.search.score.ErrorCheck`: ``max_abs_error`` is the certified bound;
    ``kinks`` join the check grid."""
    from ..model.mlp import dense_layers
    from ..runtime.engine import Mlp

    engines = {d: Mlp.from_torch(model, dtype=d) for d in {dtype, "float64"}}

    def run(x: np.ndarray, d: str) -> np.ndarray:
        xs = x.astype(np.float32) if d == "float32" else x
        return np.asarray(engines[d].process_samples(xs), dtype=np.float64).reshape(-1)

    x = check_grid(target, a, b, samples, kinks, dtype)
    cert = certify_error(dense_layers(model), run, target, x, eps=eps, slope=slope, dtype=dtype)
    return ErrorCheck(cert.bound, cert.mse, cert.x_at_max, cert.points, cert.grid_max)
