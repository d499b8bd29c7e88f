"""Fit tiny 1-in/1-out MLPs to a curve ``y = f(x)`` by Levenberg-Marquardt, for a max abs error.

:func:`fit_mlps` trains every requested ``(depth, width)`` shape in float64 on the full batch:
several starts per shape (batched, see :mod:`.lm_core`), a least-squares LM phase, then a
minimax refinement (:mod:`.minimax`), keeping the start whose max abs error on the training
points is lowest, taking the worse of the float64 and the float32 evaluation (huge weights
that cancel are fine in float64 but not in the plugin). Internally ``x`` is mapped from
``[a, b]`` to ``[-1, 1]`` and ``y`` to zero mean and unit standard deviation; the returned
weights have both affine maps folded into the first and last layers, so they run on raw ``x``
and produce raw ``y``. Each result is also
checked the way a plugin runs it: weights and inputs cast to float32, evaluated in float32.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import starts as inits
from .kinks import merge_gap_kinks
from .lm_core import LMConfig, levenberg_marquardt
from .lm_network import ACTIVATIONS, Layout, Params, forward, net_numpy
from .minimax import refine_minimax

__all__ = ["FitResult", "Scaling", "fit_mlps"]

INITS = ("spread", "random", "pieces")


@dataclass(frozen=True)
class FitResult:
    """One trained shape. Errors are max abs / mean squared, in the units of ``y``.

    ``max_abs_error``/``mse`` are on the training points with the float64 model;
    ``max_abs_error_f32``/``mse_f32`` on the check grid with weights and inputs in float32.
    ``best_start`` is the winning start (``-1`` = the warm start); ``start_max_errors`` the
    training max error every start reached, in start order, warm last.
    """

    depth: int
    width: int
    activation: str
    weights: Params
    max_abs_error: float
    mse: float
    max_abs_error_f32: float
    mse_f32: float
    lsq_max_abs_error: float
    iterations: int
    wall_time_s: float
    best_start: int
    start_max_errors: tuple[float, ...]
    stop_reason: str

    @property
    def params(self) -> int:
        """Number of trainable parameters."""
        return Layout(self.depth, self.width).size

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample, ``width + (depth - 1) width^2 + width``."""
        return Layout(self.depth, self.width).macs


@dataclass(frozen=True)
class Scaling:
    """``u = (x - x_mid) / x_half`` and ``t = (y - y_mean) / y_scale``, folded into the net's
    ends."""

    x_mid: float
    x_half: float
    y_mean: float
    y_scale: float

    def to_raw(self, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> Params:
        """Weights of the normalised net -> weights of the same function on raw ``x`` and ``y``."""
        out = [(w.copy(), b.copy()) for w, b in layers]
        w1, b1 = out[0]
        out[0] = (w1 / self.x_half, b1 - w1[:, 0] * self.x_mid / self.x_half)
        w_o, b_o = out[-1]
        out[-1] = (w_o * self.y_scale, b_o * self.y_scale + self.y_mean)
        return tuple(out)

    def to_unit(self, params: Params) -> list[tuple[np.ndarray, np.ndarray]]:
        """Inverse of :meth:`to_raw`."""
        out = [
            (np.asarray(w, dtype=np.float64).copy(), np.asarray(b, dtype=np.float64).copy())
            for w, b in params
        ]
        w1, b1 = out[0]
        out[0] = (w1 * self.x_half, b1 + w1[:, 0] * self.x_mid)
        w_o, b_o = out[-1]
        out[-1] = (w_o / self.y_scale, (b_o - self.y_mean) / self.y_scale)
        return out


def _start_layers(
    layout: Layout,
    activation: str,
    init: str,
    k: int,
    rng: np.random.Generator,
    u_sorted: np.ndarray,
    t_sorted: np.ndarray,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Layers of start ``k`` and whether the output layer should still be solved."""
    if init == "pieces" and k == 0:
        knots, _ = inits.pieces_for_width(u_sorted, t_sorted, layout.width)
        return inits.pieces_layers(u_sorted, t_sorted, knots, layout.depth, layout.width), False
    if init == "random":
        return inits.random_layers(layout.depth, layout.width, rng), True
    return inits.spread_layers(
        layout.depth, layout.width, activation, None if k == 0 else rng
    ), True


def _with_output_solved(
    layout: Layout,
    activation: str,
    layers: list[tuple[np.ndarray, np.ndarray]],
    u: torch.Tensor,
    t: torch.Tensor,
) -> list[tuple[np.ndarray, np.ndarray]]:
    theta = layout.from_params(tuple(layers))[None]
    hidden = forward(layout, activation, theta, u, keep=True)[1][-1][0].numpy()
    return [*layers[:-1], inits.solve_output_layer(hidden, t.numpy())]


def _warm_layers(
    layout: Layout,
    activation: str,
    warm: Mapping[tuple[int, int], Params],
    scaling: Scaling,
    u: torch.Tensor,
    t: torch.Tensor,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The eligible warm source (``depth, width <=`` the target's) with the lowest max error,
    grown."""

    def max_error(layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
        return float(np.abs(net_numpy(tuple(layers), activation, u.numpy()) - t.numpy()).max())

    eligible = [
        scaling.to_unit(p) for (d, w), p in warm.items() if d <= layout.depth and w <= layout.width
    ]
    if not eligible:
        return None
    best = min(eligible, key=max_error)
    return inits.grow_layers(best, layout.depth, layout.width, activation, rng, max_error)


def _scores(
    layout: Layout,
    activation: str,
    thetas: torch.Tensor,
    scaling: Scaling,
    x: np.ndarray,
    y: np.ndarray,
) -> list[float]:
    """Per candidate, the worse of its float64 and float32 max abs errors on the training points."""
    scores = []
    for theta in thetas:
        raw = scaling.to_raw(layout.to_params(theta))
        scores.append(
            max(
                float(np.abs(net_numpy(raw, activation, x, dtype) - y).max())
                for dtype in (np.float64, np.float32)
            )
        )
    return scores


def _result(
    layout: Layout,
    activation: str,
    theta: torch.Tensor,
    scaling: Scaling,
    x: np.ndarray,
    y: np.ndarray,
    check_x: np.ndarray,
    check_y: np.ndarray,
    **extra: object,
) -> FitResult:
    raw = scaling.to_raw(layout.to_params(theta))
    err64 = net_numpy(raw, activation, x) - y
    err32 = net_numpy(raw, activation, check_x, np.float32) - check_y
    return FitResult(
        depth=layout.depth,
        width=layout.width,
        activation=activation,
        weights=raw,
        max_abs_error=float(np.abs(err64).max()),
        mse=float(np.mean(err64**2)),
        max_abs_error_f32=float(np.abs(err32).max()),
        mse_f32=float(np.mean(err32**2)),
        **extra,  # type: ignore[arg-type]
    )


def fit_mlps(
    x: np.ndarray,
    y: np.ndarray,
    shapes: Sequence[tuple[int, int]],
    activation: str,
    *,
    starts: int = 4,
    max_iters: int = 300,
    seed: int = 0,
    minimax: bool = True,
    init: str = "spread",
    warm: Mapping[tuple[int, int], Params] | None = None,
    target_max_error: float | None = None,
    x_range: tuple[float, float] | None = None,
    check_x: np.ndarray | None = None,
    check_y: np.ndarray | None = None,
    minimax_method: str = "lawson",
    minimax_stages: int = 16,
    minimax_iters_per_stage: int = 15,
    stall_rtol: float = 1e-6,
    deadline_s: float | None = None,
) -> list[FitResult]:
    """Train each ``(depth, width)`` in ``shapes`` on ``(x, y)``; one :class:`FitResult` per shape.

    Args:
        x, y: training samples ``[N]`` (the full batch, float64).
        shapes: ``(depth, width)`` pairs, trained in order.
        activation: ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"elu"``.
        starts: fresh starts per shape, batched; start ``k`` is seeded by ``(seed, depth,
            width, k)`` alone, so start 0 is the same whatever ``starts`` is.
        max_iters: LM iterations of the least-squares phase.
        minimax: run the reweighting refinement after least squares.
        init: ``"spread"`` (transitions spread over the range; start 0 unjittered),
            ``"random"`` (PyTorch default) or ``"pieces"`` (ReLU only: start 0 is the greedy
            piecewise-linear interpolant with ``width`` pieces, the rest spread).
        warm: trained nets by shape (raw-unit weights, e.g. earlier ``FitResult.weights``); the
            best one with ``depth, width`` no larger than a target shape is grown into it and
            trained as an extra start.
        target_max_error: stop a candidate once its training max abs error is at most this.
        x_range: ``(a, b)`` for the normalisation; default ``(min x, max x)``.
        check_x, check_y: dense grid for the float32 check; default the training points.
        stall_rtol: stop when the sum of squares fell by less than this fraction in 20 iterations.
        deadline_s: wall-clock budget for the whole call; when it runs out the current shape
            stops with its best iterate and later shapes get their initialisation only.
    """
    if activation not in ACTIVATIONS:
        msg = f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}"
        raise ValueError(msg)
    if init not in INITS or (init == "pieces" and activation != "relu"):
        msg = (
            f"init must be one of {INITS} ('pieces' only with relu), got {init!r} for {activation}"
        )
        raise ValueError(msg)
    t_start = time.perf_counter()
    deadline = None if deadline_s is None else t_start + deadline_s
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    a, b = (float(x[0]), float(x[-1])) if x_range is None else x_range
    y_std = float(y.std())
    scaling = Scaling((a + b) / 2.0, (b - a) / 2.0, float(y.mean()), y_std if y_std > 0 else 1.0)
    if check_x is None:
        check_x, check_y = x, y
    elif check_y is None:
        msg = "check_x needs check_y (the target at check_x)"
        raise ValueError(msg)
    u = torch.as_tensor((x - scaling.x_mid) / scaling.x_half)
    t = torch.as_tensor((y - scaling.y_mean) / scaling.y_scale)
    target = None if target_max_error is None else target_max_error / scaling.y_scale
    results = []
    for depth, width in shapes:
        shape_start = time.perf_counter()
        layout = Layout(depth, width)
        starts_layers = []
        for k in range(starts):
            rng = np.random.default_rng([seed, depth, width, k])
            layers, solve = _start_layers(layout, activation, init, k, rng, u.numpy(), t.numpy())
            starts_layers.append(
                _with_output_solved(layout, activation, layers, u, t) if solve else layers
            )
        if warm:
            rng = np.random.default_rng([seed, depth, width, 1 << 20])
            grown = _warm_layers(layout, activation, warm, scaling, u, t, rng)
            if grown is not None:
                starts_layers.append(grown)
        if not starts_layers:
            msg = f"nothing to train for {depth}x{width}: starts=0 and no warm net fits inside it"
            raise ValueError(msg)
        theta0 = torch.stack([layout.from_params(tuple(layers)) for layers in starts_layers])
        late = deadline is not None and time.perf_counter() > deadline
        config = LMConfig(
            max_iters=0 if late else max_iters,
            stall_rtol=stall_rtol,
            target=target,
            deadline=deadline,
        )
        lsq = levenberg_marquardt(layout, activation, u, t, theta0, config)
        outcome = lsq
        reached = target is not None and bool((lsq.best_max <= target).any())
        if minimax and not late and not reached:
            outcome = refine_minimax(
                layout,
                activation,
                u,
                t,
                lsq,
                config,
                method=minimax_method,
                stages=minimax_stages,
                iters_per_stage=minimax_iters_per_stage,
            )
        best_theta = outcome.best_theta
        if activation == "relu" and depth == 1:
            best_theta = torch.stack(
                [
                    layout.from_params(
                        tuple(merge_gap_kinks(list(layout.to_params(th)), u.numpy(), t.numpy()))
                    )
                    for th in best_theta
                ]
            )
        win = int(np.argmin(_scores(layout, activation, best_theta, scaling, x, y)))
        warm_used = len(starts_layers) > starts
        results.append(
            _result(
                layout,
                activation,
                best_theta[win],
                scaling,
                x,
                y,
                check_x,
                check_y,
                lsq_max_abs_error=float(lsq.best_max[win]) * scaling.y_scale,
                iterations=int(outcome.iterations[win]),
                wall_time_s=time.perf_counter() - shape_start,
                best_start=-1 if warm_used and win == starts else win,
                start_max_errors=tuple(float(e) * scaling.y_scale for e in outcome.best_max),
                stop_reason="deadline" if late else lsq.reasons[win],
            )
        )
    return results
