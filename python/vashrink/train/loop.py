"""The epoch loop for one batch of candidates: Adam steps, validation, snapshots, stopping."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..model.architecture import Architecture
from .batched import BatchedGroup, Layer
from .data import TrainData

__all__ = ["Finished", "run_group"]


@dataclass(frozen=True)
class Finished:
    """A candidate leaving its batch: best snapshot (normalised units) and its history."""

    architecture: Architecture
    layers: list[Layer]
    curve_epochs: tuple[int, ...]
    loss_curve: tuple[float, ...]
    val_curve: tuple[float, ...]
    epochs: int
    status: str
    seconds: float


class _Losses:
    """Loss of normalised predictions in original units: MSE or ESR."""

    def __init__(self, kind: str, data: TrainData) -> None:
        self.kind = kind
        self.var = data.y_std**2

    def scale(self, y_raw: torch.Tensor) -> float:
        """Factor turning ``sum(e_norm^2)`` into the loss on these samples."""
        if self.kind == "esr":
            return self.var / max(float(y_raw.square().sum()), 1e-300)
        return self.var / y_raw.numel()


def run_group(
    archs: Sequence[Architecture],
    data: TrainData,
    *,
    epochs: int,
    lr_at: Callable[[int, int, int], float],
    loss: str,
    batch_size: int | None,
    input_noise: float,
    target_noise: float,
    patience: int | None,
    min_delta: float,
    eval_every: int | None,
    seed: int,
    on_finished: Callable[[Finished], None],
    on_work: Callable[[float], None],
) -> None:
    """Train ``archs`` together; call ``on_finished`` for each as it stops, in stop order.

    ``on_work`` receives progress in candidate-epochs weighted by multiply-accumulates per sample.

    Every candidate sees the same sample order and noise (one generator seeded with ``seed``
    per batch), so its trajectory does not depend on the batch it is in.
    """
    start = time.perf_counter()
    f64 = torch.float64
    y_raw = torch.from_numpy(data.y_train)
    x_tr = torch.from_numpy(data.norm_x(data.x_train)).to(torch.float32)
    y_tr = torch.from_numpy(data.norm_y(data.y_train)).to(torch.float32)
    x_val = torch.from_numpy(data.norm_x(data.x_val)).to(torch.float32)
    y_val = torch.from_numpy(data.norm_y(data.y_val)).to(torch.float32)
    losses = _Losses(loss, data)
    train_scale = losses.scale(y_raw)
    val_scale = losses.scale(torch.from_numpy(data.y_val)) if data.x_val.size else 0.0
    n = x_tr.numel()
    bs = n if batch_size is None else min(batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = epochs * steps_per_epoch
    every = eval_every or max(1, epochs // 200)
    gen = torch.Generator().manual_seed(int(seed))

    group = BatchedGroup(archs, seed, bs)
    m = len(group.archs)
    best_theta = group.theta.clone()
    best_metric = torch.full((m,), math.inf, dtype=f64)
    since_best = torch.zeros(m, dtype=torch.int64)
    alive = list(range(m))  # original index of each row still training
    curves: list[list[tuple[int, float, float]]] = [[] for _ in range(m)]
    cost = [a.macs_per_sample for a in group.archs]
    total_cost = float(sum(cost))

    def finish(rows: list[int], epoch: int, status: list[str]) -> None:
        nonlocal best_theta, best_metric, since_best, alive
        elapsed = time.perf_counter() - start
        for row, why in zip(rows, status, strict=True):
            orig = alive[row]
            on_work((epochs - epoch) * cost[orig])
            hist = curves[orig]
            on_finished(Finished(
                architecture=group.archs[row],
                layers=group.export(row, best_theta),
                curve_epochs=tuple(h[0] for h in hist),
                loss_curve=tuple(h[1] for h in hist),
                val_curve=tuple(h[2] for h in hist if not math.isnan(h[2])),
                epochs=epoch,
                status=why,
                seconds=elapsed * cost[orig] / total_cost,
            ))
        keep = [r for r in range(len(alive)) if r not in set(rows)]
        if keep:
            index = torch.tensor(keep, dtype=torch.int64)
            group.keep(index)
            best_theta = best_theta.index_select(0, index)
            best_metric = best_metric.index_select(0, index)
            since_best = since_best.index_select(0, index)
        alive = [alive[r] for r in keep]

    def check(epoch: int, train_loss: torch.Tensor) -> None:
        """Record the losses after ``epoch``; snapshot improvements; stop finished rows."""
        nonlocal best_theta, best_metric, since_best
        done = every if epoch % every == 0 else epoch % every
        on_work(done * sum(cost[orig] for orig in alive))
        val_loss = _loss(group, x_val, y_val, val_scale) if x_val.numel() else None
        metric = val_loss if val_loss is not None else train_loss
        for row, orig in enumerate(alive):
            curves[orig].append((epoch, float(train_loss[row]),
                                 math.nan if val_loss is None else float(val_loss[row])))
        finite = torch.isfinite(metric)
        improved = finite & (metric < best_metric)
        progressed = finite & (metric < best_metric * (1.0 - min_delta))
        best_theta[improved] = group.theta[improved]
        best_metric = torch.where(improved, metric, best_metric)
        since_best = torch.where(progressed, 0, since_best + every)
        stop_rows: list[int] = []
        why: list[str] = []
        for row in range(len(alive)):
            if not bool(finite[row]):
                stop_rows.append(row)
                why.append("diverged")
            elif patience is not None and int(since_best[row]) >= patience and epoch < epochs:
                stop_rows.append(row)
                why.append("early_stopped")
        if epoch == epochs:
            rest = [r for r in range(len(alive)) if r not in stop_rows]
            stop_rows += rest
            why += ["completed"] * len(rest)
        if stop_rows:
            finish(stop_rows, epoch, why)

    # Full batch without noise: the next step's forward sees exactly the weights and data an
    # evaluation would, so its training loss is reused and the check waits for it (the
    # snapshot is taken before that step's update). Saves one forward pass per check.
    reuse = bs == n and input_noise == 0 and target_noise == 0
    pending: int | None = None
    step = 0
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen) if bs < n else None
        for first in range(0, n, bs):
            idx = order[first:first + bs] if order is not None else None
            xb = x_tr if idx is None else x_tr[idx]
            yb = y_tr if idx is None else y_tr[idx]
            scale = train_scale if idx is None else losses.scale(y_raw[idx])
            if input_noise > 0:
                xb = xb + torch.randn(xb.shape, generator=gen) * (input_noise / data.x_half)
            if target_noise > 0:
                yb = yb + torch.randn(yb.shape, generator=gen) * (target_noise / data.y_std)
            step_loss = group.loss_and_grad(xb, yb, scale)
            if pending is not None:
                check(pending, step_loss)
                pending = None
                if not alive:
                    return
            step += 1
            group.adam_step(lr_at(step - 1, total_steps, group.depth), step)
        if epoch % every and epoch != epochs:
            continue
        if reuse and epoch != epochs:
            pending = epoch
            continue
        check(epoch, _loss(group, x_tr, y_tr, train_scale))
        if not alive:
            break


def _loss(group: BatchedGroup, x: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
    out = group.forward(x)
    return (out - y.view(1, -1)).double().square().sum(1).mul_(scale)
