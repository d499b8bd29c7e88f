"""A certified maximum of ``|model - f|`` on the whole range, not only on the check grid.

The grid is the evenly spaced check grid plus the range ends, ``x = 0`` (when inside the
range: the silence of a signal, where a diode's kink sits), the target's kinks found by the
bound stage and, for a sampled target, every sample point inside the range (so that the target,
linearly interpolated between samples, is a line on each interval of the grid).

Between two neighbouring grid points ``u < v`` the error ``e = model - f`` has
``|e'| <= Lm + Lf``, where ``Lm`` bounds the model's slope on ``[u, v]`` (interval arithmetic
through the layers: pre-activation ranges give each activation's slope range) and ``Lf`` the
target's (the bound stage's L for a function; the slope of the sample segment for samples).
Then, because ``|e(x)| <= |e(u)| + L (x - u)`` and ``|e(x)| <= |e(v)| + L (v - x)``,

    max over [u, v] of |e| <= (|e(u)| + |e(v)| + (Lm + Lf)(v - u)) / 2.

Intervals whose bound exceeds the goal (eps, or a little above the grid maximum for a model that
misses eps anyway) are split into :data:`SPLIT` parts and checked again, so the certificate is
tight where it matters, within a budget of extra points. A float32 model is bounded through its
float64 twin: ``|e32| <= |e64| + R`` with ``R`` the largest float32 rounding ``|m32 - m64|``
seen at the checked points (grid points are float32 numbers, so the engine sees exactly them).
The target's L is exact for expressions (autograd) and for samples, measured for callables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.layers import DenseLayer
from ..target.samples import Target
from .score import ErrorCheck

__all__ = [
    "SPLIT",
    "Certificate",
    "certified_check",
    "certify_error",
    "check_grid",
    "model_slope_bound",
]

#: Each interval whose bound is too loose is split into this many parts per round.
SPLIT = 8
#: Rounds of refinement, and the extra points allowed: this multiple of the initial grid, at
#: least :data:`MIN_EXTRA_POINTS` (the loosest intervals are refined first).
MAX_ROUNDS = 12
EXTRA_POINTS_FACTOR = 4
MIN_EXTRA_POINTS = 200_000
#: For a model that misses eps anyway, refinement stops once the bound is this close
#: (relative) to the grid maximum.
LOSER_SLACK = 0.05


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


def _slope_range(act: str, lo: np.ndarray, hi: np.ndarray,
                 slopes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest activation slope for pre-activations in ``[lo, hi]``."""
    near = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    far = np.maximum(np.abs(lo), np.abs(hi))
    if act == "tanh":
        return 1 - np.tanh(far) ** 2, 1 - np.tanh(near) ** 2
    if act == "sigmoid":
        def ds(z: np.ndarray) -> np.ndarray:
            s = 1 / (1 + np.exp(-z))
            out: np.ndarray = s * (1 - s)
            return out
        return ds(far), ds(near)
    if act == "elu":
        # slope e^z below 0, 1 above: increasing in z
        return np.exp(np.minimum(lo, 0)), np.exp(np.minimum(hi, 0))
    if act in ("relu", "prelu"):
        neg = np.zeros_like(lo) if slopes is None else np.broadcast_to(slopes, lo.shape)
        pos = np.ones_like(lo)
        s_lo = np.where(hi <= 0, neg, np.where(lo >= 0, pos, np.minimum(neg, pos)))
        s_hi = np.where(hi <= 0, neg, np.where(lo >= 0, pos, np.maximum(neg, pos)))
        return s_lo, s_hi
    return np.ones_like(lo), np.ones_like(lo)  # "none"


def _activate(act: str, lo: np.ndarray, hi: np.ndarray,
              slopes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Range of the activation's output for inputs in ``[lo, hi]``."""
    if act == "tanh":
        return np.tanh(lo), np.tanh(hi)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))
    if act == "elu":
        return np.where(lo > 0, lo, np.expm1(np.minimum(lo, 0))), np.where(
            hi > 0, hi, np.expm1(np.minimum(hi, 0)))
    if act in ("relu", "prelu"):
        s = np.zeros_like(lo) if slopes is None else np.broadcast_to(slopes, lo.shape)
        ends = np.stack([np.where(lo > 0, lo, s * lo), np.where(hi > 0, hi, s * hi)])
        zero = np.where((lo < 0) & (hi > 0), 0.0, ends[0])
        return np.minimum(ends.min(0), zero), np.maximum(ends.max(0), zero)
    return lo, hi


def _affine(lo: np.ndarray, hi: np.ndarray, wp: np.ndarray, wn: np.ndarray,
            b: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """``W [lo, hi] + b`` in interval arithmetic (``wp``/``wn``: W's positive/negative parts,
    transposed); one input is a broadcast, not a matrix product."""
    if lo.shape[1] == 1:
        return lo * wp + hi * wn + b, hi * wp + lo * wn + b
    return lo @ wp + hi @ wn + b, hi @ wp + lo @ wn + b


def model_slope_bound(layers: list[DenseLayer], u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """An upper bound of ``|model'(x)|`` on each ``[u_i, v_i]`` (one-input, one-output MLP).

    Interval arithmetic carries each unit's pre-activation range ``[lo, hi]`` and its slope
    range ``[dlo, dhi]`` (d pre-activation / dx) through the layers; an activation multiplies
    the slope range by its own slope range on ``[lo, hi]``. Softmax gets the crude bound
    ``|d out_i| <= 2 max_j |d z_j|`` (outputs in [0, 1]).
    """
    lo, hi = u[:, None], v[:, None]
    dlo = dhi = np.ones_like(lo)
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in layers:
            w = np.asarray(layer.weight, dtype=np.float64)
            wp, wn = np.maximum(w, 0).T, np.minimum(w, 0).T
            b = np.asarray(layer.bias, dtype=np.float64)
            lo, hi = _affine(lo, hi, wp, wn, b)
            dlo, dhi = _affine(dlo, dhi, wp, wn, 0.0)
            act = layer.activation
            if act == "softmax":
                d = 2 * np.max(np.maximum(np.abs(dlo), np.abs(dhi)), axis=1, keepdims=True)
                dlo, dhi = np.broadcast_to(-d, lo.shape), np.broadcast_to(d, lo.shape)
                lo, hi = np.zeros_like(lo), np.ones_like(hi)
                continue
            slopes = None if layer.prelu_slopes is None else np.asarray(layer.prelu_slopes)
            s_lo, s_hi = _slope_range(act, lo, hi, slopes)
            if act == "prelu":  # a slope range may be negative: all four products
                p1, p2, p3, p4 = s_lo * dlo, s_lo * dhi, s_hi * dlo, s_hi * dhi
                dlo = np.minimum(np.minimum(p1, p2), np.minimum(p3, p4))
                dhi = np.maximum(np.maximum(p1, p2), np.maximum(p3, p4))
            else:  # 0 <= s_lo <= s_hi
                dlo, dhi = (np.where(dlo >= 0, s_lo, s_hi) * dlo,
                            np.where(dhi >= 0, s_hi, s_lo) * dhi)
            lo, hi = _activate(act, lo, hi, slopes)
    out: np.ndarray = np.maximum(np.abs(dlo[:, 0]), np.abs(dhi[:, 0]))
    return np.where(np.isfinite(out), out, np.inf)


def _target_slope(target: Target, lipschitz: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if target.x is not None and target.y is not None:
        # the grid holds every sample point, so each interval lies in one sample segment
        seg = np.clip(np.searchsorted(target.x, 0.5 * (u + v)) - 1, 0, target.x.size - 2)
        slope: np.ndarray = np.abs(np.diff(target.y)[seg] / np.diff(target.x)[seg])
        return slope
    return np.full(u.shape, lipschitz)


def certify_error(
    layers: list[DenseLayer],
    run: Any,
    target: Target,
    x: np.ndarray,
    *,
    eps: float,
    lipschitz: float,
    dtype: str,
) -> Certificate:
    """Certify ``max |model - target|`` on ``[x[0], x[-1]]`` starting from the grid ``x``.

    Args:
        layers: the model's dense layers (for its slope bound).
        run: ``run(x, dtype) -> model(x)`` in the engine, ``dtype`` "float32" or "float64".
        x: sorted check points (see :func:`check_grid`).
        eps: the goal; refinement stops once every interval's bound meets it.
        lipschitz: the target's max |f'| on the range (ignored for sampled targets).
        dtype: the precision the model runs in.
    """
    y = target.evaluate(x)
    m = run(x, dtype)
    err = m - y
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
    if not math.isfinite(lipschitz) and target.x is None:
        return Certificate(math.inf, grid_max, x_at, mse, x.size, rounding)
    goal = max(eps, (1 + LOSER_SLACK) * grid_max)
    u, v, eu, ev = x[:-1], x[1:], np.abs(err[:-1]), np.abs(err[1:])
    settled, points = 0.0, x.size
    budget = max(EXTRA_POINTS_FACTOR * x.size, MIN_EXTRA_POINTS)
    for round_ in range(MAX_ROUNDS + 1):
        slope = model_slope_bound(layers, u, v) + _target_slope(target, lipschitz, u, v)
        bound = 0.5 * (eu + ev + slope * (v - u)) + rounding
        loose = bound > goal
        fits = (x.size + budget - points) // (SPLIT - 1)
        if int(loose.sum()) > fits:  # refine the loosest intervals first
            loose &= bound >= np.sort(bound)[-fits] if fits > 0 else False
        settled = max(settled, float(bound[~loose].max(initial=0.0)))
        if not loose.any() or round_ == MAX_ROUNDS:
            return Certificate(max(settled, float(bound[loose].max(initial=0.0)), grid_max),
                               grid_max, x_at, mse, points, rounding)
        u, v, eu, ev = u[loose], v[loose], eu[loose], ev[loose]
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
            goal = max(eps, (1 + LOSER_SLACK) * grid_max)
        e_in = e_run
        if dtype == "float32":
            e_in = run(inner, "float64") - y_in
            rounding = max(rounding, float(np.max(np.abs(e_in - e_run))))
        points += inner.size
        e_knots = np.concatenate(
            [eu[:, None], np.abs(e_in).reshape(-1, SPLIT - 1), ev[:, None]], axis=1)
        u, v = knots[:, :-1].reshape(-1), knots[:, 1:].reshape(-1)
        eu, ev = e_knots[:, :-1].reshape(-1), e_knots[:, 1:].reshape(-1)
        keep = v > u  # float32 rounding can merge knots of a tiny interval
        u, v, eu, ev = u[keep], v[keep], eu[keep], ev[keep]
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
    lipschitz: float,
    kinks: Any = (),
) -> ErrorCheck:
    """The engine model's certified error on ``[a, b]`` (see the module doc) as an
    :class:`~vashrink.search.score.ErrorCheck`: ``max_abs_error`` is the certified bound."""
    from ..model.mlp import dense_layers
    from ..runtime.engine import Mlp

    engines = {d: Mlp.from_torch(model, dtype=d) for d in {dtype, "float64"}}

    def run(x: np.ndarray, d: str) -> np.ndarray:
        xs = x.astype(np.float32) if d == "float32" else x
        return np.asarray(engines[d].process_samples(xs), dtype=np.float64).reshape(-1)

    x = check_grid(target, a, b, samples, kinks, dtype)
    cert = certify_error(dense_layers(model), run, target, x, eps=eps, lipschitz=lipschitz,
                         dtype=dtype)
    return ErrorCheck(cert.bound, cert.mse, cert.x_at_max, cert.points, cert.grid_max)
