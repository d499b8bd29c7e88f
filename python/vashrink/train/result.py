"""What training hands on: one trained candidate, its model and the errors it reached."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..model.architecture import Architecture

__all__ = ["TrainedModel"]


@dataclass(frozen=True)
class TrainedModel:
    """One trained candidate.

    ``train_loss``/``val_loss`` are the config's loss (MSE or ESR) of the float32 ``model`` on the
    training/validation samples; ``mse`` and ``max_abs_error`` compare it with the float64 target
    on ``grid_samples`` evenly spaced points of the range. ``loss_curve`` holds the training loss
    at ``curve_epochs`` (``val_curve`` the validation loss). ``seconds`` is the candidate's share
    of its batch's wall time (proportional to its multiply-accumulates), so the shares add up to
    the run time. ``status``: ``"completed"``, ``"early_stopped"`` or ``"diverged"`` (the best
    finite snapshot is kept); LM candidates give its stop reason. ``optimizer`` is ``"adam"``
    or ``"lm"`` (then ``model`` is float64 and ``epochs`` counts LM iterations); ``starts`` is
    how many initialisations were tried.
    """

    architecture: Architecture
    model: nn.Sequential = field(repr=False)
    train_loss: float
    val_loss: float | None
    mse: float
    max_abs_error: float
    loss_curve: tuple[float, ...] = field(repr=False)
    val_curve: tuple[float, ...] = field(repr=False)
    curve_epochs: tuple[int, ...] = field(repr=False)
    n_params: int
    epochs: int
    seconds: float
    status: str = "completed"
    polished: bool = False
    optimizer: str = "adam"
    starts: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the weights)."""
        arch = self.architecture
        return {
            "architecture": arch.label, "depth": arch.depth, "width": arch.width,
            "activation": arch.activation, "n_params": self.n_params,
            "train_loss": self.train_loss, "val_loss": self.val_loss, "mse": self.mse,
            "max_abs_error": self.max_abs_error, "epochs": self.epochs, "seconds": self.seconds,
            "status": self.status, "polished": self.polished, "optimizer": self.optimizer,
            "starts": self.starts,
            "curve_epochs": list(self.curve_epochs), "loss_curve": list(self.loss_curve),
            "val_curve": list(self.val_curve),
        }
