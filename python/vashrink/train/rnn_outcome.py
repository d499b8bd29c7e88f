"""What one recurrent candidate (or one start of it) reached while it trains, and the stop rules
both trainers share (:func:`.rnn_loop.train_pack`, :func:`.rnn_native.train_pack_native`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..model.architecture import RecurrentArchitecture
from ..model.spec import ModelSpec
from .rnn_config import RecurrentTrainConfig

__all__ = ["MemberOutcome"]


@dataclass
class MemberOutcome:
    """What one candidate of a pack reached; filled in while the pack trains."""

    architecture: RecurrentArchitecture
    best_spec: ModelSpec
    best_val: float = math.inf
    stale_checks: int = 0
    epochs: int = 0
    train_esr: float = math.nan
    seconds: float = 0.0
    stop_reason: str | None = None
    epoch_seconds: list[float] = field(default_factory=list)
    val_curve: list[float] = field(default_factory=list)
    #: Which of the candidate's starts this is (:mod:`.rnn_starts`) and, once the best start
    #: is chosen, every start's best check at the choice.
    start: int = 0
    start_vals: list[float] = field(default_factory=list)
    #: Times the candidate went back to its best weights (:meth:`should_roll_back`).
    rollbacks: int = 0

    def record_check(self, val: float, spec_of: Callable[[], ModelSpec],
                     config: RecurrentTrainConfig) -> None:
        """Add a validation check: keep the weights of every better one (``spec_of`` is called
        only then); only an improvement by ``min_delta`` resets the stale count."""
        self.val_curve.append(val)
        first = self.best_val == math.inf and math.isfinite(val)
        if val < self.best_val * (1.0 - config.min_delta) or first:
            self.best_val, self.best_spec, self.stale_checks = val, spec_of(), 0
            return
        if val < self.best_val:
            self.best_val, self.best_spec = val, spec_of()
        self.stale_checks += 1

    def should_roll_back(self, config: RecurrentTrainConfig, *, diverged: bool) -> bool:
        """Whether the last epoch diverged (or its check is not finite, or above
        ``rollback_ratio`` times the best when that is set) and a rollback is left: the trainer
        then reloads the best weights and halves the learning rate instead of stopping."""
        last = self.val_curve[-1]
        blown = diverged or not math.isfinite(last) or (
            config.rollback_ratio is not None and last > config.rollback_ratio * self.best_val)
        return blown and self.rollbacks < config.max_rollbacks and math.isfinite(self.best_val)

    def reason_to_stop(self, config: RecurrentTrainConfig, *, diverged: bool,
                       target_esr: float | None, updates: int, budget: int) -> str | None:
        """Why this candidate stops after an epoch (``None``: it goes on); one rule for both
        trainers (:func:`train_pack`, :func:`.rnn_native.train_pack_native`)."""
        if diverged:
            return "diverged"
        if target_esr is not None and self.best_val <= target_esr / 2:
            return "target"
        if (config.patience is not None and self.stale_checks >= config.patience
                and updates >= config.patience_after * budget):
            return "no_improvement"
        if config.max_seconds is not None and self.seconds >= config.max_seconds:
            return "time_limit"
        if updates >= budget:
            return "budget"
        return None
