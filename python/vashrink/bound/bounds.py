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
  grid point it covers (all three in :mod:`vashrink.bound.pieces`).
- ``params_estimate`` = 1.3 N (the talk's regions-to-parameters fudge factor) and the ``band``
  (:func:`vashrink.bound.band.candidate_band`).

This module owns the measurement of f, f' and f'' (:func:`measure_derivatives`); the counts
and the band rule live in :mod:`vashrink.bound.pieces` and :mod:`vashrink.bound.band`.

eps bounds the *maximum absolute* error (the talk's C(f, eps)), never an MSE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.architecture import Architecture
from ..target.samples import Target, as_target, check_eps, check_range
from .band import (
    PARAMS_PER_PIECE,
    arora_depth,
    candidate_band,
    check_activation,
    within_params_factor,
)
from .derivatives import (
    DerivativeProfile,
    _check_samples,
    _find_jumps,
    _Profile,
    _profile,
    _refine_max,
    _second_differences,
    measure_derivatives,
)
from .noise import NOISE_SIGNIFICANT
from .pieces import greedy_pieces, interpolation_pieces, taylor_pieces, taylor_step

# greedy_pieces is re-exported: bench/bench_bounds.py imports it from here.
__all__ = [
    "Bounds",
    "DerivativeProfile",
    "compute_bounds",
    "greedy_pieces",
    "measure_derivatives",
]

#: Largest grid :func:`compute_bounds` accepts (about 200 s of audio at 48 kHz).

_Array = np.ndarray
_Fn = Callable[[_Array], _Array]


@dataclass(frozen=True)
class Bounds:
    """Complexity of a target on ``[a, b]`` for max abs error ``eps`` (see the module doc).

    ``max_second_derivative``, ``pieces_taylor`` and ``pieces_interpolation`` are None when f''
    does not exist (kinks, jumps); ``lipschitz`` is ``inf`` when f jumps or f' is unbounded.
    ``params_estimate`` = 1.3 x ``pieces_basis`` ("taylor", or "greedy" when there is no M).
    ``singular_points``: where f or f' jumps (empty for smooth targets and for samples).
    ``noise_sigma``: noise estimated in sampled targets (0 for functions and clean data).
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
    noise_sigma: float = 0.0

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
            sample arrays, a ``.npy``/``.csv`` path, or a :class:`~vashrink.target.samples.Target`.
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
    if not prof.grid.exact and not prof.grid.noise_sigma > NOISE_SIGNIFICANT * max_abs:
        notes.append(f"L and M come from {prof.grid.method}: typically 1e-8 relative error, more "
                     "for steep or noisy f; give an expression string for exact derivatives")
    sigma = prof.grid.noise_sigma
    if tgt.is_sampled:
        notes.append(f"sampled target: the grid is its {len(x)} points in [{a:g}, {b:g}] "
                     "(--samples is ignored)")
        notes.extend(_noise_notes(sigma, eps, max_abs))
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
        notes=tuple(notes), noise_sigma=sigma,
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


def _noise_notes(sigma: float, eps: float, max_abs: float) -> list[str]:
    """What the samples' noise means for the derivatives and for eps."""
    if sigma <= NOISE_SIGNIFICANT * max(max_abs, 1e-300):
        return []
    notes = [f"the samples carry noise of about sigma = {sigma:.2g} (from third differences); "
             "L, M and the pieces come from smoothed samples (local quartic fits, the ends "
             "fitted like the inside; a smoothing spline for uneven spacing), not from the raw "
             "samples"]
    floor = 3 * sigma
    if eps < floor:
        notes.append(
            f"eps = {eps:.3g} is below the noise floor (about 3 sigma = {floor:.2g}): no model "
            "can be checked to meet it against these samples; capture cleaner data (average "
            "repeated sweeps) or raise eps"
        )
    return notes


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
