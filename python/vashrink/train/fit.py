"""Small candidates by Levenberg-Marquardt: the trainer behind ``shrink`` for tiny nets.

:func:`fit_candidates` trains each architecture with :func:`.levenberg.fit_mlps` (float64, full
batch, several starts batched, minimax refinement toward the max abs error eps bounds,
optionally warm-started from a smaller trained net; ReLU nets start from the greedy
piecewise-linear fit of the target, one unit per knot) and returns the same
:class:`~.result.TrainedModel` as the batched Adam trainer, with a float64 torch model: the
weights are kept in float64 so a model can be checked (and shipped) in either precision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..model.architecture import Architecture
from ..model.layers import DenseLayer
from ..model.spec import ModelSpec, spec_to_torch
from ..target.samples import Target
from .config import TrainConfig
from .levenberg import fit_mlps
from .result import TrainedModel

__all__ = ["LM_ACTIVATIONS", "fit_candidates", "lm_suits", "params_of_layers"]

#: Activations the Levenberg-Marquardt trainer differentiates analytically.
LM_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu")

Params = tuple[tuple[np.ndarray, np.ndarray], ...]


def lm_suits(arch: Architecture, config: TrainConfig) -> bool:
    """Whether ``arch`` trains by LM under ``config`` (``optimizer`` and ``lm_max_params``)."""
    if config.optimizer == "adam" or arch.activation not in LM_ACTIVATIONS:
        return False
    return config.optimizer == "lm" or arch.n_params <= config.lm_max_params


def params_of_layers(layers: Sequence[DenseLayer]) -> Params:
    """Dense layers as the LM trainer's ``((W, b), ...)`` (raw units, torch layout)."""
    return tuple((np.asarray(layer.weight), np.asarray(layer.bias)) for layer in layers)


def _sequential(params: Params, activation: str) -> torch.nn.Sequential:
    last = len(params) - 1
    dense = tuple(
        DenseLayer(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64),
                   "none" if i == last else activation)
        for i, (w, b) in enumerate(params)
    )
    model = spec_to_torch(ModelSpec((), dense), torch.float64)
    assert isinstance(model, torch.nn.Sequential)
    return model


def fit_candidates(
    target: Target,
    a: float,
    b: float,
    architectures: Sequence[Architecture],
    config: TrainConfig,
    *,
    warm: Mapping[Architecture, Sequence[DenseLayer]] | None = None,
    target_max_error: float | None = None,
    on_result: Callable[[TrainedModel], None] | None = None,
) -> list[TrainedModel]:
    """Train ``architectures`` on ``target`` over ``[a, b]`` by LM, one result per candidate.

    Args:
        warm: trained nets to grow candidates from (any with the same activation and no more
            depth or width than a candidate is used as one extra start).
        target_max_error: stop a candidate once its training max abs error reaches this.
        on_result: called with each result as soon as it is finished.
    """
    x, y = target.sample(a, b, config.samples)
    grid_x, grid_y = target.sample(a, b, config.grid_samples)
    results: list[TrainedModel] = []
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        for arch in architectures:
            seeds = {
                (w.depth, w.width): params_of_layers(layers)
                for w, layers in (warm or {}).items()
                if w.activation == arch.activation
            }
            started = time.perf_counter()
            (fit,) = fit_mlps(
                x, y, [(arch.depth, arch.width)], arch.activation,
                starts=config.starts, max_iters=config.lm_iterations, seed=config.seed,
                init="pieces" if arch.activation == "relu" else "spread",
                minimax=config.minimax, minimax_stages=config.minimax_stages,
                minimax_iters_per_stage=config.minimax_iterations, warm=seeds or None,
                target_max_error=target_max_error, x_range=(a, b),
                check_x=grid_x, check_y=grid_y, deadline_s=config.lm_seconds,
            )
            result = _trained(arch, fit, time.perf_counter() - started, grid_x, grid_y)
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        torch.set_num_threads(threads)
    return results


def _trained(
    arch: Architecture, fit: Any, seconds: float, grid_x: np.ndarray, grid_y: np.ndarray
) -> TrainedModel:
    model = _sequential(fit.weights, arch.activation).eval()
    with torch.no_grad():
        out = model(torch.from_numpy(grid_x[:, None])).numpy()[:, 0]
    err = out - grid_y
    return TrainedModel(
        architecture=arch,
        model=model,
        train_loss=float(fit.mse),
        val_loss=None,
        mse=float(np.mean(err * err)),
        max_abs_error=float(np.max(np.abs(err))),
        loss_curve=(),
        val_curve=(),
        curve_epochs=(),
        n_params=arch.n_params,
        epochs=int(fit.iterations),
        seconds=seconds,
        status=f"lm: {fit.stop_reason}",
        optimizer="lm",
        starts=len(fit.start_max_errors),
    )
