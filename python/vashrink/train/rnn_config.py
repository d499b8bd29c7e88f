"""How GRU/LSTM candidates are trained on a recording: one frozen, validated value (no torch).

The defaults follow what the common amp trainers do (``../shared/notes/recordings.md``): Adam on
segments of about 8,192 samples, truncated back-propagation through time (a 200-sample warm-up
whose loss is masked), loss ``0.75 ESR + 0.25 DC`` with the ESR on signals pre-emphasised by
``1 - 0.85 z^-1``. The batch (16 rows), an update every 500 samples, the budget (16,000 updates
for a 16-unit candidate, more for smaller shapes: :mod:`.rnn_budget`), the cosine to 1 % of the
peak rate, the patience (20 checks, counted from half the budget) and the two starts (each
trains half the budget, side by side on two cores; the better goes on) were chosen on the
capture panel against long reference trainings (docs/capture.md, "The recipe: an update every
500 samples" and "Two starts side by side"): the same trained samples in twice the updates took
the geometric-mean ratio to the references from 2.76 to 2.11 at the same seconds, and starts
that train to half the budget on two threads chose better (2.80 -> 2.48 on 16 pairs) in less
wall time than quarter-budget starts one after another. The panel's goal (within 1.25x of a
best-of-two-seeds reference at 5x the work, for every shape) is not met: two 5x references of
one shape differ by more than 1.25x in most pairs. See
docs/training.md for the thread count and the packing rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InputError
from ..model.architecture import RecurrentArchitecture
from .rnn_budget import shape_updates
from .schedule import cosine_lr

__all__ = ["BACKENDS", "PACKING", "RNN_SCHEDULES", "RecurrentTrainConfig"]

RNN_SCHEDULES = ("cosine", "constant")
#: ``auto``: GRUs of one pack share one wider block-diagonal GRU, LSTMs train one by one
#: (measured: packing pays for torch's GRU, not for its fused CPU LSTM); ``all`` / ``none``.
PACKING = ("auto", "all", "none")
#: ``native``: the engine's C++ forward/BPTT trainer (:mod:`.rnn_native`, float32; measured
#: 15-240x torch's epoch time for GRUs and 2-15x for LSTMs, bench/results/rnn_native.json);
#: ``torch``: the reference trainer.
BACKENDS = ("native", "torch")


@dataclass(frozen=True)
class RecurrentTrainConfig:
    """The recipe for :func:`~vashrink.train.rnn_fit.train_recurrent`.

    Args:
        segment_samples: length of one training row (warm-up included); the training part is
            cut into non-overlapping rows, shuffled every epoch.
        batch_size: rows per step (they run side by side, so a bigger batch costs little extra
            time per step on a CPU).
        warmup_samples: samples at the start of each row that only settle the state (no
            gradient, no loss).
        tbptt_samples: samples between weight updates; the state carries over (detached).
        lr: peak Adam learning rate.
        schedule: ``"cosine"`` (decay to ``lr * final_lr_fraction`` over the candidate's budget
            of updates) or ``"constant"``.
        max_grad_norm: each candidate's gradient is scaled to at most this norm before a step
            (``None``: no clipping).
        max_updates: a fixed work budget: Adam updates for every candidate (an epoch makes
            ``ceil(rows / batch_size) * ceil((segment - warmup) / tbptt)`` of them, so a longer
            recording gets fewer epochs of the same work). ``None`` (the default): the budget
            scales with the shape (:meth:`updates_for`). Work, not seconds either way: the same
            seed gives bit-identical weights on a busy and on an idle machine.
        base_updates: with ``max_updates=None``, the updates of a one-layer 16-unit candidate;
            a smaller shape gets the updates that cost the same modelled work
            (:func:`.rnn_budget.shape_updates`), at most ``max_update_scale`` times as many; a
            larger one gets ``base_updates``.
        max_update_scale: the most times ``base_updates`` a small shape gets.
        starts: initialisations tried per candidate (:mod:`.rnn_starts`): each trains for
            ``start_fraction`` of the budget of updates, then the one with the best validation
            check goes on to the end of the budget (the others are dropped); ``1``: one start.
            A warm-started candidate has one start (its warm weights).
        start_fraction: the share of ``max_updates`` each start trains before the choice.
        start_threads: threads the starts' trials run on side by side (native trainer; the
            weights are the same on any number); ``None``: one per start, up to the CPUs this
            process may use. A two-start candidate then takes about two thirds of its
            one-thread wall time on two idle cores.
        max_rollbacks, rollback_ratio: a candidate that diverged (non-finite losses or check)
            goes back to its best weights with a fresh Adam and half its learning rate, at most
            ``max_rollbacks`` times (then a divergence stops it); ``0`` never rolls back. With
            ``rollback_ratio`` set, a check above that multiple of the best rolls back too
            (``None``, the default: measured on the capture panel, 2 halved the rate on
            ordinary noise and trained worse). Native trainer only; the torch reference does not.
        max_epochs: a cap on passes over the training rows (whichever budget ends first).
        max_seconds: an opt-in safety limit on training time per candidate (its share of its
            pack's time); ``None`` (the default) keeps results independent of machine load.
        patience: validation checks without a relative improvement of ``min_delta`` before a
            candidate stops (``None``: never stop for that reason); counted only after
            ``patience_after`` of the budget, so a candidate is never ended on its first checks
            while the learning rate is still high.
        val_window_samples, val_burn_in_samples: the per-epoch validation check runs the
            validation part as parallel windows, each preceded by a burn-in that is not scored
            (exact when the part fits one window); the reported errors stream it whole.
        pre_emphasis: the coefficient ``c`` of ``1 - c z^-1`` applied before the ESR.
        dc_weight: ``w`` in the loss ``(1 - w) ESR + w DC``.
        packing: see :data:`PACKING`; ``max_pack_hidden`` caps the summed hidden size of a pack.
        backend: see :data:`BACKENDS`.
        threads: torch intra-op threads while training (``None``: leave torch's setting).
        seed: candidate initialisations and shuffling (a candidate's start depends on the seed
            and its own architecture only).
    """

    segment_samples: int = 8192
    batch_size: int = 16
    warmup_samples: int = 200
    tbptt_samples: int = 500
    lr: float = 2e-2
    schedule: str = "cosine"
    final_lr_fraction: float = 0.01
    max_grad_norm: float | None = 1.0
    max_updates: int | None = None
    base_updates: int = 16000
    max_update_scale: float = 4.0
    starts: int = 2
    start_fraction: float = 0.5
    max_rollbacks: int = 3
    rollback_ratio: float | None = None
    start_threads: int | None = None
    max_epochs: int = 1000
    max_seconds: float | None = None
    patience: int | None = 20
    patience_after: float = 0.5
    min_delta: float = 1e-3
    val_window_samples: int = 8192
    val_burn_in_samples: int = 2048
    pre_emphasis: float = 0.85
    dc_weight: float = 0.25
    packing: str = "auto"
    max_pack_hidden: int = 128
    backend: str = "native"
    threads: int | None = 1
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.segment_samples >= 2,
             f"segment_samples must be >= 2, got {self.segment_samples}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (0 <= self.warmup_samples < self.segment_samples,
             f"warmup_samples must be in 0..segment_samples-1 ({self.segment_samples - 1}), "
             f"got {self.warmup_samples}"),
            (self.tbptt_samples >= 1, f"tbptt_samples must be >= 1, got {self.tbptt_samples}"),
            (math.isfinite(self.lr) and self.lr > 0, f"lr must be finite and > 0, got {self.lr}"),
            (self.schedule in RNN_SCHEDULES,
             f"schedule must be one of {RNN_SCHEDULES}, got {self.schedule!r}"),
            (0.0 < self.final_lr_fraction <= 1.0,
             f"final_lr_fraction must be in (0, 1], got {self.final_lr_fraction}"),
            (self.max_grad_norm is None or self.max_grad_norm > 0,
             f"max_grad_norm must be > 0 (or None), got {self.max_grad_norm}"),
            (self.max_updates is None or self.max_updates >= 1,
             f"max_updates must be >= 1 (or None: scaled with the shape), got {self.max_updates}"),
            (self.base_updates >= 1, f"base_updates must be >= 1, got {self.base_updates}"),
            (math.isfinite(self.max_update_scale) and self.max_update_scale >= 1.0,
             f"max_update_scale must be finite and >= 1, got {self.max_update_scale}"),
            (self.starts >= 1, f"starts must be >= 1, got {self.starts}"),
            (0.0 < self.start_fraction <= 1.0,
             f"start_fraction must be in (0, 1], got {self.start_fraction}"),
            (self.max_rollbacks >= 0, f"max_rollbacks must be >= 0, got {self.max_rollbacks}"),
            (self.rollback_ratio is None
             or (math.isfinite(self.rollback_ratio) and self.rollback_ratio > 1.0),
             f"rollback_ratio must be finite and > 1 (or None), got {self.rollback_ratio}"),
            (self.start_threads is None or self.start_threads >= 1,
             f"start_threads must be >= 1 (or None), got {self.start_threads}"),
            (self.max_epochs >= 1, f"max_epochs must be >= 1, got {self.max_epochs}"),
            (0.0 <= self.patience_after <= 1.0,
             f"patience_after must be in [0, 1], got {self.patience_after}"),
            (self.max_seconds is None or self.max_seconds > 0,
             f"max_seconds must be > 0 (or None for no limit), got {self.max_seconds}"),
            (self.patience is None or self.patience >= 1,
             f"patience must be >= 1 (or None), got {self.patience}"),
            (0.0 <= self.min_delta < 1.0, f"min_delta must be in [0, 1), got {self.min_delta}"),
            (self.val_window_samples >= 1,
             f"val_window_samples must be >= 1, got {self.val_window_samples}"),
            (self.val_burn_in_samples >= 0,
             f"val_burn_in_samples must be >= 0, got {self.val_burn_in_samples}"),
            (0.0 <= self.pre_emphasis < 1.0,
             f"pre_emphasis must be in [0, 1), got {self.pre_emphasis}"),
            (0.0 <= self.dc_weight <= 1.0, f"dc_weight must be in [0, 1], got {self.dc_weight}"),
            (self.packing in PACKING, f"packing must be one of {PACKING}, got {self.packing!r}"),
            (self.backend in BACKENDS,
             f"backend must be one of {BACKENDS}, got {self.backend!r}"),
            (self.max_pack_hidden >= 1,
             f"max_pack_hidden must be >= 1, got {self.max_pack_hidden}"),
            (self.threads is None or self.threads >= 1,
             f"threads must be >= 1 (or None), got {self.threads}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)

    def updates_per_epoch(self, rows: int) -> int:
        """Adam updates one epoch over ``rows`` training rows makes."""
        chunks = math.ceil((self.segment_samples - self.warmup_samples) / self.tbptt_samples)
        return math.ceil(rows / self.batch_size) * chunks

    def updates_for(self, arch: RecurrentArchitecture) -> int:
        """The update budget of ``arch``: ``max_updates`` when set, else ``base_updates`` scaled
        with the shape (:func:`.rnn_budget.shape_updates`)."""
        if self.max_updates is not None:
            return self.max_updates
        return shape_updates(arch, self.base_updates, self.max_update_scale)

    def budget_updates(self, rows: int, arch: RecurrentArchitecture) -> int:
        """Updates ``arch`` trains for at most: :meth:`updates_for` or ``max_epochs`` epochs."""
        return min(self.updates_for(arch), self.max_epochs * self.updates_per_epoch(rows))

    def lr_at(self, progress: float) -> float:
        """Learning rate at ``progress`` in [0, 1] of the candidate's budget."""
        if self.schedule == "constant":
            return self.lr
        return cosine_lr(self.lr, self.final_lr_fraction, progress)

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (the run's fingerprint)."""
        return asdict(self)
