"""How candidates are trained: the recipe as one frozen, validated value (no torch needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError
from .schedule import cosine_lr

__all__ = ["LOSSES", "OPTIMIZERS", "SCHEDULES", "TrainConfig"]

OPTIMIZERS = ("auto", "lm", "adam")
LOSSES = ("mse", "esr")
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """How candidates are trained.

    Args:
        optimizer: ``"auto"`` (Levenberg-Marquardt for candidates of at most
            ``lm_max_params`` parameters, batched Adam beyond), ``"lm"`` or ``"adam"``.
        starts: LM initialisations per candidate (batched; the best by max abs error wins).
        lm_iterations: LM iterations of the least-squares phase.
        lm_max_params: the largest candidate ``auto`` trains by LM (a P x P solve per
            iteration: measured to stop paying beyond this, see docs/training.md).
        minimax: refine LM fits toward the smallest max abs error (eps is a max error), in
            ``minimax_stages`` reweighting stages of ``minimax_iterations`` LM steps.
        lm_seconds: an opt-in wall-clock limit on one LM candidate (its best iterate is kept);
            ``None`` (the default): the iteration budgets alone, so a result does not depend on
            machine load.
        epochs: passes over the training samples (Adam).
        lr: peak Adam learning rate (on inputs scaled to [-1, 1], targets to unit variance).
        schedule: ``"cosine"`` (linear warm-up over ``warmup_fraction`` of the steps, then cosine
            decay to ``lr * final_lr_fraction``) or ``"constant"``.
        depth_lr_exponent: candidates deeper than 8 hidden layers train at
            ``lr * (8 / depth) ** depth_lr_exponent`` (0 disables): deep tanh stacks diverge at
            the peak rate that suits shallow ones (measured: 16 x 37 fails at 1e-2, learns at
            2.5e-3; 25 x 16 needs 1e-3).
        loss: ``"mse"`` (mean squared error) or ``"esr"`` (error-to-signal ratio
            ``sum (y - y_hat)^2 / sum y^2``).
        batch_size: samples per step; ``None`` trains full batch.
        samples: training points for function targets (evenly spaced on the range).
        val_fraction: validation points as a fraction of ``samples`` (0 disables validation).
        input_noise, target_noise: std of Gaussian noise added to x / y at every step.
        patience: stop a candidate after this many epochs without a better validation loss
            (``None``: train every epoch; the best snapshot is kept either way).
        min_delta: relative improvement of the validation loss that resets ``patience``.
        eval_every: epochs between validation checks (``None``: about 200 checks per run).
        polish_steps: float64 L-BFGS iterations per candidate after Adam (0: none); a polish that
            does not lower the training loss or goes non-finite is discarded.
        grid_samples: points of the dense grid for ``mse`` and ``max_abs_error``.
        max_memory_mb: refuse to allocate a batch larger than this.
        threads: torch intra-op threads while training (``None``: leave torch's setting). One
            thread by default: batched thin matrices gain little from a second thread, and on
            shared cores OpenMP stalls cost up to 30x (measured, see docs/training.md).
        seed: makes everything reproducible.
    """

    optimizer: str = "auto"
    starts: int = 4
    lm_iterations: int = 200
    lm_max_params: int = 1500
    minimax: bool = True
    minimax_stages: int = 10
    minimax_iterations: int = 12
    lm_seconds: float | None = None
    epochs: int = 1000
    lr: float = 1e-2
    schedule: str = "cosine"
    warmup_fraction: float = 0.02
    final_lr_fraction: float = 1e-3
    depth_lr_exponent: float = 2.0
    loss: str = "mse"
    batch_size: int | None = None
    samples: int = 1000
    val_fraction: float = 0.2
    input_noise: float = 0.0
    target_noise: float = 0.0
    patience: int | None = None
    min_delta: float = 0.0
    eval_every: int | None = None
    polish_steps: int = 0
    grid_samples: int = 10_000
    max_memory_mb: float = 2048.0
    threads: int | None = 1
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.optimizer in OPTIMIZERS,
             f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"),
            (self.starts >= 1, f"starts must be >= 1, got {self.starts}"),
            (self.lm_iterations >= 1, f"lm_iterations must be >= 1, got {self.lm_iterations}"),
            (self.lm_max_params >= 1, f"lm_max_params must be >= 1, got {self.lm_max_params}"),
            (self.minimax_stages >= 1 and self.minimax_iterations >= 1,
             "minimax_stages and minimax_iterations must be >= 1"),
            (self.lm_seconds is None or self.lm_seconds > 0,
             f"lm_seconds must be > 0 (or None), got {self.lm_seconds}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (math.isfinite(self.lr) and self.lr > 0, f"lr must be finite and > 0, got {self.lr}"),
            (self.schedule in SCHEDULES,
             f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.loss in LOSSES, f"loss must be one of {LOSSES}, got {self.loss!r}"),
            (self.batch_size is None or self.batch_size >= 1,
             f"batch_size must be >= 1 (or None for full batch), got {self.batch_size}"),
            (0.0 <= self.warmup_fraction < 1.0,
             f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}"),
            (0.0 < self.final_lr_fraction <= 1.0,
             f"final_lr_fraction must be in (0, 1], got {self.final_lr_fraction}"),
            (self.input_noise >= 0 and self.target_noise >= 0, "noise levels must be >= 0"),
            (0.0 <= self.min_delta < 1.0, f"min_delta must be in [0, 1), got {self.min_delta}"),
            (self.depth_lr_exponent >= 0,
             f"depth_lr_exponent must be >= 0, got {self.depth_lr_exponent}"),
            (self.patience is None or self.patience >= 1,
             f"patience must be >= 1, got {self.patience}"),
            (self.eval_every is None or self.eval_every >= 1,
             f"eval_every must be >= 1, got {self.eval_every}"),
            (self.polish_steps >= 0, f"polish_steps must be >= 0, got {self.polish_steps}"),
            (self.grid_samples >= 2, f"grid_samples must be >= 2, got {self.grid_samples}"),
            (self.max_memory_mb > 0, f"max_memory_mb must be > 0, got {self.max_memory_mb}"),
            (self.threads is None or self.threads >= 1,
             f"threads must be >= 1, got {self.threads}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)

    def peak_lr(self, depth: int) -> float:
        """The peak learning rate of a candidate with ``depth`` hidden layers."""
        return float(self.lr * min(1.0, 8.0 / depth) ** self.depth_lr_exponent)

    def lr_at(self, step: int, total_steps: int, depth: int = 1) -> float:
        """Learning rate of (0-based) ``step`` for a candidate of ``depth`` hidden layers."""
        peak = self.peak_lr(depth)
        if self.schedule == "constant":
            return peak
        warm = int(self.warmup_fraction * total_steps)
        if step < warm:
            return peak * (step + 1) / warm
        return cosine_lr(peak, self.final_lr_fraction, (step - warm) / max(1, total_steps - warm))
