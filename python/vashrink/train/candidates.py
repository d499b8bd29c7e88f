"""Train many candidate MLPs at once, each exactly as if it were trained alone.

Candidates of one depth and activation share a batch (:class:`.batched.BatchedGroup`):
widths are zero-padded, parameters stacked, and one ``baddbmm`` per layer runs every candidate.
Each candidate keeps its own seeded initialisation (:func:`~vashrink.train.batched.candidate_seed`),
its own Adam moments, its own best-validation snapshot and its own early stopping, so its result
does not depend on its neighbours (equal up to float32 summation order).

Quality: Adam with a cosine-decayed learning rate (short linear warm-up) on normalised data,
a depth-stable initialisation, and an optional guarded float64 L-BFGS polish per candidate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError, TrainingError
from ..model.architecture import Architecture
from ..model.layers import DenseLayer
from ..model.mlp import build_mlp
from ..target.samples import as_target
from .batched import Layer, group_bytes, padded_width
from .config import LOSSES, SCHEDULES, TrainConfig
from .data import TrainData, prepare_data
from .fit import fit_candidates, lm_suits
from .loop import Finished, run_group
from .progress import TrainProgress
from .result import TrainedModel

__all__ = ["LOSSES", "SCHEDULES", "TrainConfig", "TrainedModel", "TrainingInterrupted",
           "estimate_memory_bytes", "train_candidates"]

class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train_candidates`; ``results`` holds the candidates that finished."""

    def __init__(self, results: list[TrainedModel]) -> None:
        super().__init__(f"training interrupted: {len(results)} candidates finished")
        self.results = results


def estimate_memory_bytes(arch: Architecture, n_models: int = 1, n_samples: int = 1000) -> int:
    """Bytes a batch of ``n_models`` candidates like ``arch`` needs for ``n_samples`` per step."""
    return group_bytes(n_models, arch.depth, arch.width, n_samples, arch.activation == "prelu")


def _check_candidates(architectures: Sequence[Any]) -> list[Architecture]:
    archs = list(architectures)
    if not archs:
        msg = "no candidates to train: give at least one architecture, e.g. 6x44"
        raise InputError(msg)
    out: list[Architecture] = []
    for a in archs:
        arch = Architecture.parse(a) if isinstance(a, str) else a
        if not isinstance(arch, Architecture):
            msg = f"candidate {a!r} is not an Architecture or 'DEPTHxWIDTH' text"
            raise InputError(msg)
        if arch in out:
            msg = f"candidate {arch} is listed twice; list each architecture once"
            raise InputError(msg)
        out.append(arch)
    return out


def _step_cost(arch: Architecture, width: int) -> float:
    """Cost of one sample of one step at a padded ``width``, in multiply-accumulates: forward
    and backward products plus about 40 MAC-equivalents of element-wise work per unit."""
    return 3.0 * (2 * width + (arch.depth - 1) * width * width) + 40.0 * arch.depth * width



#: Fixed cost of one batched step, per layer, in MAC-equivalents (about 60 us of operator
#: overhead at 20 GMAC/s, measured on the 2-core development machine).
_STEP_OVERHEAD_PER_LAYER = 1.2e6


def _plan_groups(archs: list[Architecture], n_samples: int,
                 budget_bytes: float) -> list[list[Architecture]]:
    """Batches: same depth and activation; a narrower candidate joins the current batch while
    the padding it costs is below the per-step overhead a separate batch would add; batches are
    split to fit the memory budget."""
    keyed: dict[tuple[int, str], list[Architecture]] = {}
    for arch in archs:
        keyed.setdefault((arch.depth, arch.activation), []).append(arch)
    groups: list[list[Architecture]] = []
    for key in sorted(keyed):
        members = sorted(keyed[key], key=lambda a: -a.width)
        current: list[Architecture] = []
        for arch in members:
            if current:
                pad = padded_width(current[0].width)
                own = padded_width(arch.width)
                waste = (_step_cost(arch, pad) - _step_cost(arch, own)) * n_samples
                overhead = _STEP_OVERHEAD_PER_LAYER * (arch.depth + 1)
                grown = group_bytes(len(current) + 1, arch.depth, pad, n_samples,
                                    arch.activation == "prelu")
                if waste > overhead or grown > budget_bytes:
                    groups.append(current)
                    current = []
            if not current:
                need = estimate_memory_bytes(arch, 1, n_samples)
                if need > budget_bytes:
                    msg = (f"candidate {arch} needs about {need / 2**20:,.0f} MiB to train on "
                           f"{n_samples} samples per step, above the limit of "
                           f"{budget_bytes / 2**20:,.0f} MiB: choose a smaller architecture, "
                           "a smaller batch_size, or raise max_memory_mb")
                    raise TrainingError(msg)
            current.append(arch)
        groups.append(current)
    return groups


def _to_sequential(arch: Architecture, layers: list[Layer], data: TrainData,
                   dtype: torch.dtype) -> nn.Sequential:
    """The shared model form with the input/target normalisation folded into the weights:
    ``W0' = W0 / s_x``, ``b0' = b0 - W0 c_x / s_x``, ``Wout' = s_y Wout``,
    ``bout' = s_y bout + m_y``."""
    seq = build_mlp(arch, torch.float64)
    linears = [mod for mod in seq if isinstance(mod, nn.Linear)]
    prelus = [mod for mod in seq if isinstance(mod, nn.PReLU)]
    with torch.no_grad():
        for k, (weight, bias, slopes) in enumerate(layers):
            w, b = weight.clone(), bias.clone()
            if k == 0:
                b = b - w[:, 0] * (data.x_center / data.x_half)
                w = w / data.x_half
            if k == len(layers) - 1:
                w = w * data.y_std
                b = b * data.y_std + data.y_mean
            linears[k].weight.copy_(w)
            linears[k].bias.copy_(b)
            if slopes is not None:
                prelus[k].weight.copy_(slopes)
    return seq.to(dtype).eval()


def _model_loss(seq: nn.Sequential, x: np.ndarray, y: np.ndarray, kind: str) -> float:
    if x.size == 0:
        return math.nan
    dtype = next(seq.parameters()).dtype
    with torch.no_grad():
        out = seq(torch.from_numpy(x).to(dtype).view(-1, 1)).double().view(-1).numpy()
    err = float(np.sum((out - y) ** 2))
    return err / max(float(np.sum(y**2)), 1e-300) if kind == "esr" else err / x.size


def _polish(arch: Architecture, layers: list[Layer], data: TrainData, kind: str, steps: int,
            seed: int) -> nn.Sequential | None:
    """Full-batch float64 L-BFGS (strong Wolfe) from the Adam result, in raw units; ``None`` when
    it fails, goes non-finite, or does not lower both training and validation loss."""
    seq = _to_sequential(arch, layers, data, torch.float64)
    x = torch.from_numpy(data.x_train).view(-1, 1)
    y = torch.from_numpy(data.y_train).view(-1, 1)
    denom = float((y**2).sum()) if kind == "esr" else float(y.numel())
    before = (_model_loss(seq, data.x_train, data.y_train, kind),
              _model_loss(seq, data.x_val, data.y_val, kind))
    torch.manual_seed(seed)
    opt = torch.optim.LBFGS(seq.parameters(), lr=1.0, max_iter=steps, history_size=50,
                            tolerance_grad=1e-14, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value: torch.Tensor = ((seq(x) - y) ** 2).sum() / denom
        value.backward()  # type: ignore[no-untyped-call]
        return value

    try:
        with np.errstate(all="ignore"):
            opt.step(closure)  # type: ignore[no-untyped-call]
    except (RuntimeError, OverflowError, ValueError):
        return None
    after = (_model_loss(seq, data.x_train, data.y_train, kind),
             _model_loss(seq, data.x_val, data.y_val, kind))
    if not math.isfinite(after[0]) or after[0] >= before[0]:
        return None
    if data.x_val.size and not after[1] < before[1]:
        return None
    return seq.eval()


def _result(done: Finished, data: TrainData, grid: tuple[np.ndarray, np.ndarray],
            config: TrainConfig) -> TrainedModel:
    arch = done.architecture
    polished_seq = (_polish(arch, done.layers, data, config.loss, config.polish_steps, config.seed)
                    if config.polish_steps else None)
    if polished_seq is not None:
        model = polished_seq.to(torch.float32).eval()
    else:
        model = _to_sequential(arch, done.layers, data, torch.float32)
    for p in model.parameters():
        p.requires_grad_(False)
    x_grid, y_grid = grid
    with torch.no_grad():
        out = model(torch.from_numpy(x_grid).float().view(-1, 1)).double().view(-1).numpy()
    err = out - y_grid
    return TrainedModel(
        architecture=arch, model=model,
        train_loss=_model_loss(model, data.x_train, data.y_train, config.loss),
        val_loss=(_model_loss(model, data.x_val, data.y_val, config.loss)
                  if data.x_val.size else None),
        mse=float(np.mean(err**2)) if np.isfinite(err).all() else math.inf,
        max_abs_error=float(np.max(np.abs(err))) if np.isfinite(err).all() else math.inf,
        loss_curve=done.loss_curve, val_curve=done.val_curve, curve_epochs=done.curve_epochs,
        n_params=arch.n_params, epochs=done.epochs, seconds=done.seconds, status=done.status,
        polished=polished_seq is not None,
    )


def train_candidates(
    target: Any,
    a: float | None,
    b: float | None,
    architectures: Sequence[Architecture | str],
    config: TrainConfig | None = None,
    *,
    progress: bool = True,
    on_result: Callable[[TrainedModel], None] | None = None,
    warm: Mapping[Architecture, Sequence[DenseLayer]] | None = None,
    target_max_error: float | None = None,
) -> list[TrainedModel]:
    """Train every candidate on ``target`` over ``[a, b]``; results in the order given.

    Args:
        target: anything :func:`~vashrink.target.samples.as_target` accepts (expression, callable,
            ``(x, y)`` arrays, ``.npy``/``.csv`` path). ``a``/``b`` may be ``None`` for samples.
        architectures: :class:`Architecture` objects or ``"DEPTHxWIDTH"`` strings.
        config: the recipe; with ``optimizer="auto"`` small candidates train by
            Levenberg-Marquardt (:mod:`.fit`), larger ones by batched Adam.
        on_result: called with each :class:`TrainedModel` as soon as it is finished.
        warm: trained smaller nets LM candidates may grow from (one extra start each).
        target_max_error: LM stops a candidate once its max abs error reaches this.

    Raises:
        InputError: no candidates, duplicates, a bad range, NaN/Inf in the data.
        TrainingError: a candidate would not fit in ``config.max_memory_mb``.
        TrainingInterrupted: on Ctrl-C, carrying the candidates that finished.
    """
    config = config or TrainConfig()
    archs = _check_candidates(architectures)
    tgt = as_target(target)
    data = prepare_data(tgt, a, b, samples=config.samples, val_fraction=config.val_fraction,
                        seed=config.seed)
    lm = [arch for arch in archs if lm_suits(arch, config)]
    results: dict[Architecture, TrainedModel] = {}

    def record(res: TrainedModel) -> None:
        results[res.architecture] = res
        if on_result is not None:
            on_result(res)

    if lm:
        with TrainProgress(float(len(lm)), len(lm), enabled=progress) as lm_bar:

            def record_lm(res: TrainedModel) -> None:
                lm_bar.advance(1.0)
                lm_bar.candidate_done(res.max_abs_error)
                record(res)

            try:
                fit_candidates(tgt, data.a, data.b, lm, config, warm=warm,
                               target_max_error=target_max_error, on_result=record_lm)
            except KeyboardInterrupt:
                raise TrainingInterrupted([results[x] for x in archs if x in results]) from None
    adam = [arch for arch in archs if arch not in results]
    if not adam:
        return [results[x] for x in archs]
    n_step = min(config.batch_size or data.x_train.size, data.x_train.size)
    groups = _plan_groups(adam, n_step, config.max_memory_mb * 2**20)
    x_grid = np.linspace(data.a, data.b, config.grid_samples)
    grid = (x_grid, tgt.evaluate(x_grid))
    total = float(sum(arch.macs_per_sample for arch in adam)) * config.epochs
    threads_before = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    with TrainProgress(total, len(adam), enabled=progress) as bar:

        def finished(done: Finished) -> None:
            res = _result(done, data, grid, config)
            results[res.architecture] = res
            bar.candidate_done(res.val_loss if res.val_loss is not None else res.train_loss)
            if on_result is not None:
                on_result(res)

        try:
            for members in groups:
                run_group(members, data, epochs=config.epochs, lr_at=config.lr_at, loss=config.loss,
                          batch_size=config.batch_size, input_noise=config.input_noise,
                          target_noise=config.target_noise, patience=config.patience,
                          min_delta=config.min_delta,
                          eval_every=config.eval_every, seed=config.seed,
                          on_finished=finished, on_work=bar.advance)
        except KeyboardInterrupt:
            raise TrainingInterrupted([results[a] for a in archs if a in results]) from None
        finally:
            torch.set_num_threads(threads_before)
    return [results[a] for a in archs]
