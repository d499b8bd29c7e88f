"""The candidate band: which (depth, width) MLPs are worth training for a target of N pieces.

The talk trains a 50 x 50 grid of architectures; the band keeps the few that can make N linear
pieces at about the talk's parameter count 1.3 N, with depth no larger than Arora's bound.
The rule is in :func:`candidate_band`; the counts themselves come from :mod:`vashrink.bound.pieces`.
"""

from __future__ import annotations

import math

from ..errors import InputError
from ..model.architecture import ACTIVATIONS, Architecture

__all__ = [
    "BAND_MAX_SIZE",
    "BAND_PARAMS_FACTOR",
    "PARAMS_PER_PIECE",
    "arora_depth",
    "candidate_band",
    "check_activation",
    "region_capacity",
    "within_params_factor",
]

#: The talk's factor from linear pieces (regions) to parameters ("overlap, finite data").
PARAMS_PER_PIECE = 1.3
#: The band keeps architectures whose parameter count is within this factor of the estimate.
BAND_PARAMS_FACTOR = 2.0
#: At most this many candidates: 10 % of the talk's 50 x 50 grid search.
BAND_MAX_SIZE = 250


def check_activation(activation: str) -> str:
    """Validate a hidden activation name against the model's ``ACTIVATIONS``."""
    if activation not in ACTIVATIONS:
        msg = f"unknown activation {activation!r}: use one of {', '.join(ACTIVATIONS)}"
        raise InputError(msg)
    return activation


def region_capacity(depth: int, width: int) -> int:
    """Upper bound prod(n_l + 1) = (width + 1)^depth on the linear pieces of a 1-D ReLU net.

    One hidden layer of p ReLUs makes at most p + 1 pieces; each further layer can multiply
    the count by at most (n_l + 1) (Montufar et al. 2014, Pascanu et al. 2014, 1-D input).
    """
    return int((width + 1) ** depth)


def arora_depth(pieces: int) -> int:
    """Arora et al. (2018): any 1-D function of N linear pieces is a ReLU net of depth
    ceil(log2(N + 1)) + 1, so deeper nets add no expressiveness, only serial latency."""
    if pieces < 1:
        msg = f"pieces must be at least 1, got {pieces}"
        raise InputError(msg)
    return int(pieces).bit_length() + 1  # bit_length(N) == ceil(log2(N + 1)) for N >= 1


def within_params_factor(
    arch: Architecture, params_estimate: float, params_factor: float = BAND_PARAMS_FACTOR
) -> bool:
    """Rule 1 of the band: P / factor <= n_params <= P * factor (compared in log ratio)."""
    return _log_distance(arch, params_estimate) <= math.log(params_factor)


def _log_distance(arch: Architecture, params_estimate: float) -> float:
    return abs(math.log(arch.n_params / params_estimate))


def candidate_band(
    pieces: int,
    *,
    activation: str = "tanh",
    params_estimate: float | None = None,
    max_depth: int = 50,
    max_width: int = 50,
    params_factor: float = BAND_PARAMS_FACTOR,
    max_size: int = BAND_MAX_SIZE,
) -> tuple[Architecture, ...]:
    """The (depth, width) architectures worth training for a target needing ``pieces`` pieces.

    Rule (P = ``params_estimate``, default 1.3 N): keep depth D <= ``max_depth``, width
    W <= ``max_width`` (the talk's 50 x 50 grid) with

    1. capacity: P / ``params_factor`` <= n_params(D, W) <= P * ``params_factor``
       (:func:`within_params_factor`);
    2. regions: (W + 1)^D >= N, so a ReLU net of that shape could have N pieces at all
       (for one hidden layer: W + 1 >= N; :func:`region_capacity`);
    3. depth: D <= ceil(log2(N + 1)) + 1 (Arora's depth suffices for N pieces;
       :func:`arora_depth`).

    If more than ``max_size`` qualify, those with n_params closest to P (in log ratio) stay; if
    none do, the ones closest to P that pass 2 and 3 are returned (then none of the band passes
    :func:`within_params_factor`). Ordered cheapest first: by MACs per sample, then depth, then
    width. Rules 2-3 are exact for ReLU and a guide for smooth activations (a tanh unit bends at
    least as much as a ReLU).
    """
    check_activation(activation)
    if not (params_factor > 1.0 and max_size >= 1 and max_depth >= 1 and max_width >= 1):
        msg = "band needs params_factor > 1 and max_size, max_depth, max_width >= 1"
        raise InputError(msg)
    target = PARAMS_PER_PIECE * pieces if params_estimate is None else float(params_estimate)
    depth_cap = min(max_depth, arora_depth(pieces))
    scored: list[tuple[float, Architecture]] = []
    for depth in range(1, depth_cap + 1):
        for width in range(1, max_width + 1):
            if region_capacity(depth, width) < pieces:
                continue
            arch = Architecture(depth, width, activation)
            scored.append((_log_distance(arch, target), arch))
    limit = math.log(params_factor)
    chosen = [item for item in scored if item[0] <= limit]
    if not chosen and scored:
        nearest = min(dist for dist, _ in scored)
        chosen = [item for item in scored if item[0] <= nearest + limit]
    chosen.sort(key=lambda item: item[0])
    archs = [arch for _, arch in chosen[:max_size]]
    archs.sort(key=lambda arch: (arch.macs_per_sample, arch.depth, arch.width))
    return tuple(archs)
