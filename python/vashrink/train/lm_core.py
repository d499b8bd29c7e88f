"""Batched Levenberg-Marquardt on (optionally weighted) residuals of a stack of MLPs.

Each iteration solves, per candidate, ``(J^T J + lam D) step = -J^T r`` with Marquardt's
scaling ``D = diag(J^T J)`` (a running maximum, as in MINPACK, floored at 1e-12 of its largest
entry so unused parameters stay put) and accepts the step when the sum of squares drops.
Damping follows Nielsen (1999): on acceptance ``lam *= max(1/3, 1 - (2 rho - 1)^3)``, on
rejection ``lam *= nu, nu *= 2``, where ``rho`` is actual over predicted reduction of the
linear model. When ``P > N`` the same step is computed in sample space,
``step = -D^{-1/2} Js^T (Js Js^T + lam I)^{-1} r`` with ``Js = J D^{-1/2}`` (an ``N x N``
Cholesky instead of ``P x P``). The Jacobian of a rejected candidate is reused; finished
candidates drop out of the batch. All candidates are stepped in lockstep with batched
``torch.linalg.cholesky_ex``/``cholesky_solve``, which factor each matrix independently, so a
candidate's trajectory does not depend on what else is in the batch (matrix-vector products
are multiply-and-sum for the same reason: batched GEMV rounds differently by batch size).

The iterate with the lowest *unweighted max abs* residual is kept for every candidate, since
the caller's goal is a max error, not the sum of squares being minimised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from .lm_network import Layout, forward, jacobian

__all__ = ["LMConfig", "LMOutcome", "levenberg_marquardt"]


@dataclass(frozen=True)
class LMConfig:
    """Stopping and damping settings.

    ``target``: once any candidate's max abs residual is at most this, the whole batch stops
    (the caller keeps the best one anyway). ``deadline``: a ``time.perf_counter()`` value.
    ``dual``: solve in sample space; ``None`` chooses it when ``P > N``.
    """

    max_iters: int = 300
    lam0: float = 1e-3
    lam_max: float = 1e10
    stall_window: int = 20
    stall_rtol: float = 1e-6
    target: float | None = None
    deadline: float | None = None
    dual: bool | None = None


@dataclass(frozen=True)
class LMOutcome:
    """Per candidate: best-by-max-error and final parameters, damping, iterations, stop reason."""

    best_theta: torch.Tensor
    best_max: torch.Tensor
    theta: torch.Tensor
    lam: torch.Tensor
    iterations: torch.Tensor
    reasons: tuple[str, ...]


def _stop(
    config: LMConfig,
    k: int,
    sse_history: list[torch.Tensor],
    sse: torch.Tensor,
    lam: torch.Tensor,
    best_max: torch.Tensor,
) -> list[tuple[torch.Tensor, str]]:
    """Boolean masks ``[S]`` of candidates that must stop now, with their reasons."""
    masks = [(lam > config.lam_max, "lambda")]
    if config.target is not None:
        masks.append(((best_max <= config.target).any().expand_as(lam), "target"))
    if k >= config.stall_window:
        old = sse_history[k - config.stall_window]
        masks.append((sse >= old * (1.0 - config.stall_rtol), "stall"))
    if k >= config.max_iters:
        masks.append((torch.ones_like(lam, dtype=torch.bool), "max_iters"))
    return masks


def levenberg_marquardt(
    layout: Layout,
    activation: str,
    u: torch.Tensor,
    t: torch.Tensor,
    theta0: torch.Tensor,
    config: LMConfig,
    *,
    weights: torch.Tensor | None = None,
    lam: torch.Tensor | None = None,
) -> LMOutcome:
    """Minimise ``sum_n weights[s, n] (net_s(u_n) - t_n)^2`` for every candidate ``s``.

    Args:
        layout: the shape shared by the batch.
        activation: hidden activation name.
        u: inputs ``[N]``; t: targets ``[N]`` (float64).
        theta0: starting parameters ``[S, P]``.
        config: stopping rules.
        weights: optional non-negative sample weights ``[S, N]``.
        lam: optional starting damping ``[S]`` (continues an earlier run).
    """
    s_count, p_count = theta0.shape
    n_count = u.shape[0]
    dual = p_count > n_count if config.dual is None else config.dual
    root_w = None if weights is None else weights.sqrt()
    theta = theta0.clone()
    lam = torch.full((s_count,), config.lam0, dtype=theta.dtype) if lam is None else lam.clone()
    nu = torch.full((s_count,), 2.0, dtype=theta.dtype)
    scale = torch.zeros(s_count, p_count, dtype=theta.dtype)
    sse = torch.zeros(s_count, dtype=theta.dtype)
    system = torch.zeros(
        s_count, *((n_count, n_count) if dual else (p_count, p_count)), dtype=theta.dtype
    )
    rhs = torch.zeros(s_count, *((n_count,) if dual else (p_count,)), dtype=theta.dtype)
    scaled_jac = torch.zeros(s_count, n_count, p_count, dtype=theta.dtype) if dual else None
    metric = torch.ones(s_count, p_count, dtype=theta.dtype)

    best_theta = theta.clone()
    best_max = forward(layout, activation, theta, u)[0].sub(t).abs().amax(1)
    if config.max_iters <= 0:
        zeros = torch.zeros(s_count, dtype=torch.long)
        return LMOutcome(best_theta, best_max, theta, lam, zeros, ("max_iters",) * s_count)
    active = torch.ones(s_count, dtype=torch.bool)
    stale = torch.ones(s_count, dtype=torch.bool)
    iterations = torch.zeros(s_count, dtype=torch.long)
    reasons = [""] * s_count
    sse_history: list[torch.Tensor] = []
    k = 0
    while bool(active.any()):
        redo = torch.nonzero(active & stale)[:, 0]
        if len(redo):
            out, jac = jacobian(layout, activation, theta[redo], u)
            res = out - t
            if root_w is not None:
                res, jac = res * root_w[redo], jac * root_w[redo][..., None]
            sse[redo] = (res * res).sum(1)
            gram = None if dual else jac.mT @ jac
            col_sq = (jac * jac).sum(1) if gram is None else torch.diagonal(gram, dim1=1, dim2=2)
            col = torch.maximum(scale[redo], col_sq)
            scale[redo] = col
            col = torch.maximum(col, col.amax(1, keepdim=True) * 1e-12 + 1e-300)
            if gram is None:
                root = col.sqrt()
                metric[redo] = root
                js = jac / root[:, None, :]
                scaled_jac[redo] = js  # type: ignore[index]
                system[redo] = js @ js.mT
                rhs[redo] = res
            else:
                metric[redo] = col
                system[redo] = gram
                rhs[redo] = (jac.mT * res[:, None, :]).sum(2)
            stale[redo] = False
        sse_history.append(sse.clone())
        for mask, why in _stop(config, k, sse_history, sse, lam, best_max):
            for index in torch.nonzero(mask & active)[:, 0].tolist():
                reasons[index] = why
            active &= ~mask
        if config.deadline is not None and time.perf_counter() > config.deadline:
            for index in torch.nonzero(active)[:, 0].tolist():
                reasons[index] = "deadline"
            active[:] = False
        idx = torch.nonzero(active)[:, 0]
        if not len(idx):
            break
        lam_i = lam[idx]
        if dual:
            eye = torch.eye(n_count, dtype=theta.dtype)
            factor, info = torch.linalg.cholesky_ex(system[idx] + lam_i[:, None, None] * eye)
            y = torch.cholesky_solve(rhs[idx][..., None], factor)
            step_s = -(scaled_jac[idx].mT * y.mT).sum(2)  # type: ignore[index]
            step = step_s / metric[idx]
            predicted = sse[idx] - lam_i**2 * (y[..., 0] ** 2).sum(1)
        else:
            d = metric[idx]
            factor, info = torch.linalg.cholesky_ex(
                system[idx] + torch.diag_embed(lam_i[:, None] * d)
            )
            step = torch.cholesky_solve(-rhs[idx][..., None], factor)[..., 0]
            predicted = -(step * rhs[idx]).sum(1) + lam_i * (step * step * d).sum(1)
        ok = (info == 0) & torch.isfinite(step).all(1)
        step = torch.where(ok[:, None], step, 0.0)
        trial = theta[idx] + step
        res_new = forward(layout, activation, trial, u)[0] - t
        max_new = res_new.abs().amax(1)
        if root_w is not None:
            res_new = res_new * root_w[idx]
        sse_new = (res_new * res_new).sum(1)
        actual = sse[idx] - sse_new
        accept = ok & torch.isfinite(sse_new) & (actual > 0)
        rho = actual / torch.where(predicted > 0, predicted, 1.0)
        shrink = torch.clamp(1.0 - (2.0 * rho - 1.0) ** 3, min=1.0 / 3.0)
        lam[idx] = torch.where(accept, lam_i * shrink, lam_i * nu[idx])
        nu[idx] = torch.where(accept, 2.0, nu[idx] * 2.0)
        won = idx[accept]
        theta[won] = trial[accept]
        stale[won] = True
        better = accept & (max_new < best_max[idx])
        best_theta[idx[better]] = trial[better]
        best_max[idx[better]] = max_new[better]
        iterations[idx] += 1
        k += 1
    return LMOutcome(best_theta, best_max, theta, lam, iterations, tuple(reasons))
