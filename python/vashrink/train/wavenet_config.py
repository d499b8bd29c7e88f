"""How WaveNet candidates are trained on a recording (no torch), and what training hands on.

Convolutions train in parallel over time, so a row is long and no state is carried: each row
is ``row_samples`` scored samples preceded by the ``receptive_field - 1`` samples of audio they
depend on (context only) and one more (the sample before, for the pre-emphasis). The loss is
the recurrent trainer's (``(1 - w) ESR + w DC``, ESR pre-emphasised by ``1 - c z^-1``), the
budget is work (Adam updates), validation is checked once an epoch on the recording's spread
validation spans, and each candidate keeps its best check's weights. The defaults were chosen
on the capture panel's diode and fuzz (docs/capture.md, "The WaveNet family").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError
from ..model.wavenet import WaveNetSpec
from ..model.wavenet_shape import WaveNetShape
from ..target.esr import ErrorReport
from .schedule import cosine_lr

__all__ = ["TrainedWaveNet", "WaveNetTrainConfig"]


@dataclass(frozen=True)
class WaveNetTrainConfig:
    """The recipe for :func:`~vashrink.train.wavenet_fit.train_wavenet`.

    Args:
        row_samples: scored samples per training row (each row also holds its receptive
            field's context); rows never cross a validation span.
        batch_size: rows per Adam update.
        lr: peak Adam learning rate; ``final_lr_fraction``: the cosine decay's end, as a share
            of it, over the candidate's budget of updates.
        max_grad_norm: the gradient is scaled to at most this norm (``None``: no clipping).
        max_updates: the work budget in Adam updates; ``max_epochs`` caps passes over the rows.
        max_seconds: opt-in safety limit per candidate (``None``: results independent of load).
        patience, patience_after, min_delta: stop after ``patience`` epoch checks without a
            relative improvement of ``min_delta``, counted once ``patience_after`` of the
            budget is spent.
        pre_emphasis, dc_weight: the loss (as :class:`~vashrink.train.RecurrentTrainConfig`).
        threads: torch intra-op threads while training; ``seed``: initialisation and shuffling.
    """

    row_samples: int = 2048
    batch_size: int = 8
    lr: float = 1e-2
    final_lr_fraction: float = 0.05
    max_grad_norm: float | None = 1.0
    max_updates: int = 1500
    max_epochs: int = 1000
    max_seconds: float | None = None
    patience: int | None = 10
    patience_after: float = 0.5
    min_delta: float = 1e-3
    pre_emphasis: float = 0.85
    dc_weight: float = 0.25
    threads: int | None = 1
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.row_samples >= 1, f"row_samples must be >= 1, got {self.row_samples}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (math.isfinite(self.lr) and self.lr > 0, f"lr must be finite and > 0, got {self.lr}"),
            (0.0 < self.final_lr_fraction <= 1.0,
             f"final_lr_fraction must be in (0, 1], got {self.final_lr_fraction}"),
            (self.max_grad_norm is None or self.max_grad_norm > 0,
             f"max_grad_norm must be > 0 (or None), got {self.max_grad_norm}"),
            (self.max_updates >= 1, f"max_updates must be >= 1, got {self.max_updates}"),
            (self.max_epochs >= 1, f"max_epochs must be >= 1, got {self.max_epochs}"),
            (self.max_seconds is None or self.max_seconds > 0,
             f"max_seconds must be > 0 (or None for no limit), got {self.max_seconds}"),
            (self.patience is None or self.patience >= 1,
             f"patience must be >= 1 (or None), got {self.patience}"),
            (0.0 <= self.patience_after <= 1.0,
             f"patience_after must be in [0, 1], got {self.patience_after}"),
            (0.0 <= self.min_delta < 1.0, f"min_delta must be in [0, 1), got {self.min_delta}"),
            (0.0 <= self.pre_emphasis < 1.0,
             f"pre_emphasis must be in [0, 1), got {self.pre_emphasis}"),
            (0.0 <= self.dc_weight <= 1.0, f"dc_weight must be in [0, 1], got {self.dc_weight}"),
            (self.threads is None or self.threads >= 1,
             f"threads must be >= 1 (or None), got {self.threads}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)

    def lr_at(self, progress: float) -> float:
        """Cosine decay from ``lr`` to ``lr * final_lr_fraction`` over ``progress`` in [0, 1]."""
        return cosine_lr(self.lr, self.final_lr_fraction, progress)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainedWaveNet:
    """One trained WaveNet candidate, as :class:`~vashrink.train.TrainedRecurrent` for GRU/LSTM.

    ``validation`` runs each validation piece through ``spec`` with the float64 reference
    from a zero history (as a reset engine) and scores it after its pre-roll; ``val_curve`` is
    the per-epoch check (float32 torch); ``seconds`` the wall time of the training.
    """

    architecture: WaveNetShape
    spec: WaveNetSpec = field(repr=False)
    validation: ErrorReport
    train_esr: float
    epochs: int
    updates: int
    seconds: float
    epoch_seconds: tuple[float, ...] = field(repr=False)
    stop_reason: str
    val_curve: tuple[float, ...] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the weights)."""
        shape = self.architecture
        return {
            "architecture": shape.label, "cell": shape.cell, "channels": shape.channels,
            "depth": shape.depth, "n_params": shape.n_params,
            "validation": asdict(self.validation),
            "train_esr": self.train_esr if math.isfinite(self.train_esr) else None,
            "epochs": self.epochs, "updates": self.updates, "seconds": self.seconds,
            "stop_reason": self.stop_reason, "val_curve": list(self.val_curve),
        }
