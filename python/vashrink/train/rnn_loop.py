"""The training loop of one pack of recurrent candidates: truncated BPTT with Adam.

Each step takes ``batch_size`` training rows, settles their state over the first
``warmup_samples`` (no gradient, no loss), then walks the rest in chunks of ``tbptt_samples``:
forward from the carried state, loss, backward, Adam step, detach. After every epoch the
validation windows are run once (no gradient) and each candidate keeps its best weights; a
candidate stops on reaching half the target ESR, after ``patience`` checks without a better
one (counted from ``patience_after`` of its budget on), or at its budget of updates (or the
opt-in wall-clock limit).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..model.architecture import RecurrentArchitecture
from ..model.spec import ModelSpec
from .rnn_config import RecurrentTrainConfig
from .rnn_data import RecurrentData
from .rnn_loss import column_losses, masked_errors
from .rnn_pack import PackedRecurrent

__all__ = ["MemberOutcome", "train_pack"]

#: Consecutive non-finite steps (skipped) after which a pack stops as diverged.
_MAX_BAD_STEPS = 3

#: Float32 values of activations one validation chunk may hold (about 256 MiB).
_VAL_CHUNK_VALUES = 64e6

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


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


def _detach(state: State) -> State:
    if state is None:
        return None
    if isinstance(state, tuple):
        return (state[0].detach(), state[1].detach())
    return state.detach()


def validation_check(pack: PackedRecurrent, data: RecurrentData, config: RecurrentTrainConfig,
                     ) -> np.ndarray:
    """The pre-emphasised validation ESR ``[K]`` of every candidate on the validation windows
    (see :mod:`.rnn_data`); non-finite values become ``inf``."""
    k = len(pack.members)
    err = torch.zeros(k, dtype=torch.float64)
    length = data.x_windows.shape[1]
    rows = max(1, int(_VAL_CHUNK_VALUES // (length * pack.total_hidden * (pack.gates + 2))))
    with torch.no_grad():
        for start in range(0, data.x_windows.shape[0], rows):
            piece = slice(start, start + rows)
            y_hat, _ = pack(data.x_windows[piece])
            e, _, _ = masked_errors(data.y_windows[piece], y_hat, data.val_mask[piece],
                                    coefficient=config.pre_emphasis)
            err += e.double()
    out = err.numpy() / data.val_signal
    return np.where(np.isfinite(out), out, np.inf)


def _epoch(pack: PackedRecurrent, opt: torch.optim.Optimizer, data: RecurrentData,
           config: RecurrentTrainConfig, active: torch.Tensor, order: np.ndarray,
           lr_of: Callable[[], float], on_update: Callable[[], None]) -> tuple[np.ndarray, bool]:
    """One pass over the training rows; returns each candidate's training ESR and whether the
    pack diverged (too many consecutive non-finite losses)."""
    k = len(pack.members)
    err_sum, sig_sum = np.zeros(k), np.zeros(k)
    warm, step, seg = config.warmup_samples, config.tbptt_samples, config.segment_samples
    bad = 0
    for first in range(0, order.size, config.batch_size):
        idx = torch.from_numpy(order[first : first + config.batch_size])
        xb, yb = data.x_rows[idx], data.y_rows[idx]
        state: State = None
        prev_y = torch.zeros(xb.shape[0])
        prev_hat = torch.zeros(xb.shape[0], k)
        if warm:
            with torch.no_grad():
                y_warm, state = pack(xb[:, :warm])
            prev_y, prev_hat = yb[:, warm - 1], y_warm[:, -1, :]
        for begin in range(warm, seg, step):
            end = min(begin + step, seg)
            for group in opt.param_groups:
                group["lr"] = lr_of()
            y_hat, state = pack(xb[:, begin:end], state)
            losses, err, sig = column_losses(yb[:, begin:end], y_hat,
                                             coefficient=config.pre_emphasis,
                                             dc_weight=config.dc_weight,
                                             previous=(prev_y, prev_hat))
            total = (losses * active).sum()
            state = _detach(state)
            prev_y, prev_hat = yb[:, end - 1], y_hat[:, -1, :].detach()
            if not torch.isfinite(total):
                bad += 1
                if bad >= _MAX_BAD_STEPS:
                    return err_sum / np.maximum(sig_sum, 1e-300), True
                state = None
                continue
            bad = 0
            opt.zero_grad(set_to_none=True)
            total.backward()  # type: ignore[no-untyped-call]
            if config.max_grad_norm is not None:
                pack.clip_member_grads(config.max_grad_norm)
            opt.step()
            on_update()
            err_sum += err.detach().double().numpy()
            sig_sum += sig.detach().double().numpy()
    return err_sum / np.maximum(sig_sum, 1e-300), False


def train_pack(
    members: Sequence[RecurrentArchitecture],
    starts: Sequence[ModelSpec],
    data: RecurrentData,
    config: RecurrentTrainConfig,
    *,
    target_esr: float | None = None,
    on_epoch: Callable[[int], None] | None = None,
    on_done: Callable[[MemberOutcome], None] | None = None,
) -> list[MemberOutcome]:
    """Train ``members`` (one cell) side by side from ``starts``; ``on_epoch`` gets the number of
    candidates an epoch trained, ``on_done`` each candidate as it stops."""
    pack = PackedRecurrent(members, starts)
    outcomes = [MemberOutcome(m, s) for m, s in zip(members, starts, strict=True)]
    opt = torch.optim.Adam(pack.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    budget = config.budget_updates(int(data.x_rows.shape[0]))
    updates = 0
    clock = time.perf_counter()

    def count_update() -> None:
        nonlocal updates
        updates += 1

    def finish(m: MemberOutcome, reason: str) -> None:
        m.stop_reason = reason
        if on_done is not None:
            on_done(m)

    def check() -> None:
        vals = validation_check(pack, data, config)
        for j, m in enumerate(outcomes):
            if m.stop_reason is None:
                m.record_check(float(vals[j]), lambda j=j: pack.member_spec(j), config)

    check()
    for m in outcomes:
        if target_esr is not None and m.best_val <= target_esr / 2:
            finish(m, "target")
    while any(m.stop_reason is None for m in outcomes):
        clock = time.perf_counter()
        active_list = [m.stop_reason is None for m in outcomes]
        active = torch.tensor(active_list, dtype=torch.float32)
        order = rng.permutation(data.x_rows.shape[0])
        train_esr, diverged = _epoch(pack, opt, data, config, active, order,
                                   lambda: config.lr_at(updates / budget), count_update)
        check()
        spent = time.perf_counter() - clock
        n_active = int(sum(active_list))
        for j, m in enumerate(outcomes):
            if not active_list[j]:
                continue
            m.epochs += 1
            m.train_esr = float(train_esr[j])
            m.epoch_seconds.append(spent / n_active)
            m.seconds += spent / n_active
        if on_epoch is not None:
            on_epoch(n_active)
        for m in outcomes:
            if m.stop_reason is None:
                reason = m.reason_to_stop(config, diverged=diverged, target_esr=target_esr,
                                          updates=updates, budget=budget)
                if reason is not None:
                    finish(m, reason)
    return outcomes
