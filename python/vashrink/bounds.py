"""How hard is ``f`` to approximate on ``[a, b]`` to a max abs error ``eps``, and which MLPs fit?

:func:`compute_bounds` measures the talk's complexity features and turns them into piece counts
and a narrow band of candidate ``(depth, width)`` architectures:

- ``lipschitz`` L = max|f'| and ``max_second_derivative`` M = max|f''|: exact (torch float64
  autograd) for expressions, finite differences for callables and sampled data; the best grid
  point is refined to the true maximum with a bounded Brent search.
- ``modulus_of_continuity`` w(delta) = max |f(x_i+1) - f(x_i)| on the sample grid, delta = grid
  step: on a grid, the pairs with |x - y| <= delta are exactly the neighbours.
- ``pieces_taylor`` = ceil((b - a) / h), h = sqrt(2 eps / M) (Taylor; the talk's count),
  ``pieces_interpolation`` = ceil((b - a) sqrt(M / (8 eps))) (interpolation error <= M h^2 / 8),
  ``pieces_greedy``: the minimum number of independent line segments, each within eps of every
  grid point it covers (all three in :mod:`vashrink.pieces`).
- ``params_estimate`` = 1.3 N (the talk's regions-to-parameters fudge factor) and the ``band``
  (:func:`vashrink.band.candidate_band`).

This module owns the measurement of f, f' and f'' (:func:`measure_derivatives`); the counts
and the band rule live in :mod:`vashrink.pieces` and :mod:`vashrink.band`.

eps bounds the *maximum absolute* error (the talk's C(f, eps)), never an MSE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from .architecture import Architecture
from .band import (
    PARAMS_PER_PIECE,
    arora_depth,
    candidate_band,
    check_activation,
    within_params_factor,
)
from .errors import InputError
from .pieces import greedy_pieces, interpolation_pieces, taylor_pieces, taylor_step
from .target import Target, as_target, check_eps, check_range

# greedy_pieces is re-exported: bench/bench_bounds.py imports it from here.
__all__ = [
    "Bounds",
    "DerivativeProfile",
    "compute_bounds",
    "greedy_pieces",
    "measure_derivatives",
]

#: Largest grid :func:`compute_bounds` accepts (about 200 s of audio at 48 kHz).
MAX_SAMPLES = 10_000_000

_Array = np.ndarray
_Fn = Callable[[_Array], _Array]


@dataclass(frozen=True)
class Bounds:
    """Complexity of a target on ``[a, b]`` for max abs error ``eps`` (see the module doc).

    ``max_second_derivative``, ``pieces_taylor`` and ``pieces_interpolation`` are None when f''
    does not exist (kinks, jumps); ``lipschitz`` is ``inf`` when f jumps or f' is unbounded.
    ``params_estimate`` = 1.3 x ``pieces_basis`` ("taylor", or "greedy" when there is no M).
    ``singular_points``: where f or f' jumps (empty for smooth targets and for samples).
    """

    target: str
    a: float
    b: float
    eps: float
    samples: int
    activation: str
    derivatives: str
    lipschitz: float
    lipschitz_at: float
    max_second_derivative: float | None
    max_second_derivative_at: float | None
    modulus_of_continuity: float
    delta: float
    max_abs_value: float
    taylor_step: float | None
    pieces_taylor: int | None
    pieces_interpolation: int | None
    pieces_greedy: int
    pieces_basis: str
    singular_points: tuple[float, ...]
    params_estimate: float
    arora_depth: int
    band: tuple[Architecture, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the band as ``{depth, width, n_params, macs_per_sample}`` rows."""
        out = {k: v for k, v in self.__dict__.items() if k != "band"}
        out["notes"] = list(self.notes)
        out["singular_points"] = list(self.singular_points)
        out["band"] = [
            {
                "depth": arch.depth,
                "width": arch.width,
                "n_params": arch.n_params,
                "macs_per_sample": arch.macs_per_sample,
            }
            for arch in self.band
        ]
        return out


# --- derivatives -------------------------------------------------------------------------


@dataclass(frozen=True)
class DerivativeProfile:
    """f, f' and f'' on the grid of ``[a, b]``, and how the derivatives were obtained.

    ``method`` names it (torch float64 autograd for expressions, finite differences for
    callables and samples); ``exact`` is True for autograd. Where f'' does not exist (kinks),
    autograd reports the one-sided value and finite differences a spike: use
    :func:`compute_bounds` to find out whether it does.

    Shape:
        x, y, d1, d2: ``(n,)`` float64, ``x`` strictly increasing.
    """

    x: _Array
    y: _Array
    d1: _Array
    d2: _Array
    method: str
    exact: bool


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
        d1 = np.gradient(y, x, edge_order=2)
        grid = DerivativeProfile(x, y, d1, _second_differences(x, y),
                                 "finite differences of the samples", exact=False)
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


def _where(points: _Array) -> str:
    return ", ".join(f"{p:.6g}" for p in points[:3]) + (" ..." if points.size > 3 else "")


def compute_bounds(
    target: Any,
    a: float,
    b: float,
    eps: float,
    *,
    samples: int = 48000,
    activation: str = "tanh",
) -> Bounds:
    """Measure how hard ``target`` is to approximate on ``[a, b]`` within max abs error ``eps``.

    Args:
        target: expression string (exact derivatives), callable on numpy arrays, ``(x, y)``
            sample arrays, a ``.npy``/``.csv`` path, or a :class:`~vashrink.target.Target`.
        a, b: the input range, finite, ``a < b``.
        eps: allowed maximum absolute error (not MSE), > 0.
        samples: grid points on ``[a, b]`` (48000 = one second at 48 kHz, as in the talk);
            sampled targets use their own points inside ``[a, b]``.
        activation: hidden activation of the band's architectures.

    Raises:
        InputError: bad range, eps, samples or activation; f not finite on the range; bad
            sample arrays. ExpressionError (a subclass) for expressions outside the whitelist.
    """
    tgt = as_target(target)
    a, b = check_range(a, b)
    eps = check_eps(eps)
    samples = _check_samples(samples)
    check_activation(activation)
    prof = _profile(tgt, a, b, samples)
    x, y, span = prof.grid.x, prof.grid.y, b - a
    notes: list[str] = []
    max_abs = float(np.max(np.abs(y)))

    lipschitz, lipschitz_at, m2, m2_at, singular = _derivative_maxima(tgt, prof, span, notes)
    steps = np.diff(x)
    delta = span / (len(x) - 1) if not tgt.is_sampled else float(steps.max())
    modulus = float(np.max(np.abs(np.diff(y))))

    step: float | None = None
    pieces_taylor = pieces_interp = None
    if m2 is not None:
        step = taylor_step(m2, eps)
        pieces_taylor = taylor_pieces(a, b, m2, eps)
        pieces_interp = interpolation_pieces(a, b, m2, eps)
    pieces_greedy = len(greedy_pieces(x, y, eps))
    basis, n_pieces = ("taylor", pieces_taylor) if pieces_taylor else ("greedy", pieces_greedy)
    params = PARAMS_PER_PIECE * n_pieces
    band = candidate_band(n_pieces, activation=activation, params_estimate=params)
    relaxed = bool(band) and not any(within_params_factor(arch, params) for arch in band)

    notes.append(
        f"eps = {eps:g} bounds the maximum absolute error |f - model| on [{a:g}, {b:g}] (the "
        f"talk's C(f, eps)), not the MSE: meeting it implies MSE <= eps^2 = {eps * eps:.3g}"
    )
    notes.extend(_float32_notes(eps, max_abs))
    if not prof.grid.exact:
        notes.append(f"L and M come from {prof.grid.method}: typically 1e-8 relative error, more "
                     "for steep or noisy f; give an expression string for exact derivatives")
    if tgt.is_sampled:
        notes.append(f"sampled target: the grid is its {len(x)} points in [{a:g}, {b:g}] "
                     f"(--samples is ignored); M from second differences amplifies noise")
    if pieces_taylor is not None and pieces_greedy < pieces_taylor:
        notes.append(
            f"a greedy fit needs {pieces_greedy} pieces, {pieces_taylor / pieces_greedy:.2f}x "
            "fewer than the Taylor count: the talk's N (and so params_estimate) is a safe "
            "upper bound"
        )
    if step is not None and step < 4 * delta:
        wanted = math.ceil(4 * span / step) + 1
        notes.append(
            f"the grid under-resolves f at this eps (h = {step:.3g} < 4 grid steps): "
            f"pieces_greedy is limited by the grid; use about {wanted:,} samples"
        )
    if basis == "greedy":
        notes.append("no M, so params_estimate = 1.3 x pieces_greedy instead of the Taylor count")
    if math.isfinite(lipschitz):
        notes.append(
            f"w(delta) is measured on the grid; the continuous modulus at delta = {delta:.4g} "
            f"lies between it and L*delta = {lipschitz * delta:.4g}"
        )
    if relaxed:
        notes.append("no architecture within 50 x 50 has n_params within 2x of the estimate: "
                     "the band holds the nearest ones")
    return Bounds(
        target=tgt.name, a=a, b=b, eps=eps, samples=len(x), activation=activation,
        derivatives=prof.grid.method, lipschitz=lipschitz, lipschitz_at=lipschitz_at,
        max_second_derivative=m2, max_second_derivative_at=m2_at,
        modulus_of_continuity=modulus, delta=delta, max_abs_value=max_abs,
        taylor_step=step, pieces_taylor=pieces_taylor,
        pieces_interpolation=pieces_interp, pieces_greedy=pieces_greedy, pieces_basis=basis,
        singular_points=tuple(float(p) for p in singular),
        params_estimate=params, arora_depth=arora_depth(n_pieces), band=band,
        notes=tuple(notes),
    )


def _merge(points: _Array, step: float) -> _Array:
    """One point per cluster: neighbouring grid steps can both bracket the same jump."""
    points = np.sort(points)
    if points.size < 2:
        return points
    groups = np.split(points, np.flatnonzero(np.diff(points) > 1.5 * step) + 1)
    return np.array([float(np.mean(g)) for g in groups])


def _derivative_maxima(
    tgt: Target, prof: _Profile, span: float, notes: list[str]
) -> tuple[float, float, float | None, float | None, _Array]:
    """(L, where, M or None, where or None, jumps of f or f'); ``notes`` say why M is None."""
    grid = prof.grid
    x, y, d1, d2 = grid.x, grid.y, grid.d1, grid.d2
    tiny = np.finfo(np.float64).tiny
    scale = max(float(np.max(np.abs(y))), tiny)
    if prof.d1_fn is not None:
        jumps = _merge(_find_jumps(tgt.evaluate, x, y, d1, 1e-12 * scale, 30), span / len(x))
        if jumps.size:
            notes.append(f"f jumps at x = {_where(jumps)}: it is not continuous there, so L is "
                         "infinite and f'' does not exist (the greedy count still holds)")
            return math.inf, float(jumps[0]), None, None, jumps
    if not np.isfinite(d1).all():
        where = x[~np.isfinite(d1)]
        notes.append(f"f' is unbounded near x = {_where(where)} (f is not Lipschitz there), "
                     "so L is infinite and M does not exist; the greedy count still holds")
        return math.inf, float(where[0]), None, None, np.empty(0)
    lipschitz, lipschitz_at = _refine_max(prof.d1_fn, x, d1, span)
    if prof.kink_fn is not None:
        # below this a change in f' is rounding noise (exact) or finite-difference noise
        floor = 1e-9 * max(lipschitz, tiny) if grid.exact else 1e-4 * max(lipschitz, scale / span)
        kinks = _merge(_find_jumps(prof.kink_fn, x, d1, d2, floor, prof.kink_iterations),
                       span / len(x))
        if kinks.size:
            notes.append(f"f' jumps at x = {_where(kinks)} (a kink: clip, abs, min/max): f'' "
                         "does not exist, so M and the Taylor/interpolation counts are not "
                         "defined; pieces_greedy still is")
            return lipschitz, lipschitz_at, None, None, kinks
    elif len(x) >= 9:
        coarse = float(np.max(np.abs(_second_differences(x[::2], y[::2]))))
        fine = float(np.max(np.abs(d2)))
        if fine > 1.5 * coarse + 1e-12 * scale / span**2:
            notes.append(f"f'' is not resolved by the samples (max|f''| is {fine:.3g} on all "
                         f"points, {coarse:.3g} on every other one): a kink, a jump or noise, "
                         "so M and the Taylor/interpolation counts are not given")
            return lipschitz, lipschitz_at, None, None, np.empty(0)
    if not np.isfinite(d2).all():
        where = x[~np.isfinite(d2)]
        notes.append(f"f'' is not finite near x = {_where(where)}: M does not exist")
        return lipschitz, lipschitz_at, None, None, np.empty(0)
    m2, m2_at = _refine_max(prof.d2_fn, x, d2, span)
    return lipschitz, lipschitz_at, m2, m2_at, np.empty(0)


def _float32_notes(eps: float, max_abs: float) -> list[str]:
    spacing = float(np.spacing(np.float32(max_abs)))
    where = f"float32 values near max|f| = {max_abs:.4g} are {spacing:.3g} apart"
    if eps < spacing / 2:
        return [f"eps = {eps:g} is below float32 resolution: {where}, so rounding the output "
                "alone can exceed eps; run the model in float64"]
    if eps < 4 * spacing:
        return [f"eps = {eps:g} is at the edge of float32: {where} (rounding alone costs up "
                f"to {spacing / 2:.3g}, and every layer adds its own), so a float32 model "
                "(RTNeural's usual type) can barely meet it"]
    return []
