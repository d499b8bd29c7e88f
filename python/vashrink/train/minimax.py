"""Push a least-squares fit toward the minimax (smallest max abs error) fit by reweighting.

Two iteratively reweighted least-squares schemes, each a sequence of short weighted
Levenberg-Marquardt runs that continue from one another:

- ``"pnorm"``: minimise ``sum |r|^p`` for ``p = 4, 8, 16, ...`` by IRLS with weights
  ``w = (|r| / max|r|)^(p - 2)`` (normalised to mean 1), recomputed before every stage; as
  ``p -> inf`` the p-norm minimiser tends to the minimax one (Polya's algorithm).
- ``"lawson"``: Lawson's (1961) multiplicative update ``w <- w |r| / sum(w |r|)``, which for a
  linear model converges to the weights of the minimax (Chebyshev) solution.

The LM core keeps the iterate with the lowest unweighted max abs error, so the result is never
worse than the least-squares fit it starts from.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .lm_core import LMConfig, LMOutcome, levenberg_marquardt
from .lm_network import Layout, forward

__all__ = ["refine_minimax"]

_WEIGHT_FLOOR = 1e-12


def _normalised(w: torch.Tensor) -> torch.Tensor:
    w = torch.clamp(w, min=_WEIGHT_FLOOR)
    return w / w.mean(1, keepdim=True)


def refine_minimax(
    layout: Layout,
    activation: str,
    u: torch.Tensor,
    t: torch.Tensor,
    start: LMOutcome,
    config: LMConfig,
    *,
    method: str = "lawson",
    stages: int = 16,
    iters_per_stage: int = 15,
) -> LMOutcome:
    """Weighted LM stages from ``start.theta``; returns the best-by-max-error iterate seen.

    ``start`` is the least-squares outcome (its ``best_theta``/``best_max`` seed the result).
    Stage ``i`` of ``"pnorm"`` uses ``p = 2^(i + 2)``.
    """
    if method not in ("pnorm", "lawson"):
        msg = f"unknown minimax method {method!r}; use 'pnorm' or 'lawson'"
        raise ValueError(msg)
    theta, lam = start.theta.clone(), torch.clamp(start.lam, max=1e-2)
    best_theta, best_max = start.best_theta.clone(), start.best_max.clone()
    iterations = start.iterations.clone()
    weights = torch.ones(theta.shape[0], u.shape[0], dtype=theta.dtype)
    stage_config = replace(
        config, max_iters=iters_per_stage, stall_window=max(3, iters_per_stage // 3)
    )
    reasons = start.reasons
    for stage in range(stages):
        res = (forward(layout, activation, theta, u)[0] - t).abs()
        rel = res / res.amax(1, keepdim=True)
        weights = _normalised(
            rel ** (2.0 ** (stage + 2) - 2.0) if method == "pnorm" else weights * rel
        )
        run = levenberg_marquardt(
            layout,
            activation,
            u,
            t,
            theta,
            stage_config,
            weights=weights,
            lam=torch.clamp(lam, max=1e-2),
        )
        theta, lam = run.theta, run.lam
        iterations += run.iterations
        better = run.best_max < best_max
        best_theta[better] = run.best_theta[better]
        best_max = torch.minimum(best_max, run.best_max)
        reasons = tuple(
            "deadline" if why == "deadline" else old
            for why, old in zip(run.reasons, reasons, strict=True)
        )
        if "deadline" in run.reasons:
            break
        if config.target is not None and bool((best_max <= config.target).any()):
            break
    return LMOutcome(best_theta, best_max, theta, lam, iterations, reasons)
