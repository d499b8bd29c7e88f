"""What recurrent training hands on: one trained GRU/LSTM candidate and the errors it reached."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..model.architecture import RecurrentArchitecture
from ..model.spec import ModelSpec
from ..target.esr import ErrorReport

__all__ = ["STOP_REASONS", "RecurrentTrainingInterrupted", "TrainedRecurrent"]

#: Why a candidate stopped: validation ESR at most half the target, no better validation ESR
#: for ``patience`` checks, its opt-in time limit, its budget of updates, or a non-finite loss.
STOP_REASONS = ("target", "no_improvement", "time_limit", "budget", "diverged")


@dataclass(frozen=True)
class TrainedRecurrent:
    """One trained candidate: its best weights (by the per-epoch validation check) and errors.

    ``validation`` streams the whole validation part from a zero state through ``spec`` in
    float64 (:func:`~vashrink.train.rnn_fit.stream_errors`). ``train_esr`` is the pre-emphasised
    ESR over the training chunks of the candidate's last epoch (while its weights moved).
    ``val_curve`` is the per-epoch check (index 0: the start); ``train_esr`` is NaN when no
    epoch ran (a warm start already at the target), ``None`` in :meth:`to_dict`. ``seconds``
    is the candidate's share of its pack's training time (a pack of k candidates: wall / k);
    ``epoch_seconds`` the pack's epoch wall times divided the same way. ``pack_size`` is how
    many candidates trained side by side in one layer with it. ``start`` is which of its starts
    went on and ``start_esrs`` every start's best validation check when it was chosen (empty
    with one start; :mod:`~vashrink.train.rnn_starts`); ``seconds`` includes all starts (on the
    native trainer it is the candidate's wall time, its starts' trials side by side).
    ``rollbacks``: times it went back to its best weights after diverging (native trainer).
    """

    architecture: RecurrentArchitecture
    spec: ModelSpec = field(repr=False)
    validation: ErrorReport
    train_esr: float
    epochs: int
    seconds: float
    epoch_seconds: tuple[float, ...] = field(repr=False)
    stop_reason: str
    val_curve: tuple[float, ...] = field(repr=False)
    pack_size: int = 1
    warm: bool = False
    start: int = 0
    start_esrs: tuple[float, ...] = ()
    rollbacks: int = 0

    @property
    def seconds_per_epoch(self) -> float:
        """Median of :attr:`epoch_seconds` (0 when no epoch ran)."""
        times = sorted(self.epoch_seconds)
        return times[len(times) // 2] if times else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the weights)."""
        arch = self.architecture
        return {
            "architecture": arch.label, "cell": arch.cell, "hidden": arch.hidden,
            "skip": arch.skip, "n_params": arch.n_params, "validation": asdict(self.validation),
            "train_esr": self.train_esr if math.isfinite(self.train_esr) else None,
            "epochs": self.epochs, "seconds": self.seconds,
            "seconds_per_epoch": self.seconds_per_epoch, "stop_reason": self.stop_reason,
            "pack_size": self.pack_size, "warm": self.warm, "start": self.start,
            "start_esrs": [v if math.isfinite(v) else None for v in self.start_esrs],
            "rollbacks": self.rollbacks, "epoch_seconds": list(self.epoch_seconds),
            "val_curve": list(self.val_curve),
        }


class RecurrentTrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`~vashrink.train.rnn_fit.train_recurrent`; ``results`` holds the
    candidates that finished (in the order given)."""

    def __init__(self, results: list[TrainedRecurrent]) -> None:
        super().__init__(f"training interrupted: {len(results)} candidates finished")
        self.results = results
