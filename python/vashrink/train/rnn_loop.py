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

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..errors import InputError
from ..model.architecture import RecurrentArchitecture
from ..model.spec import ModelSpec
from .rnn_config import RecurrentTrainConfig
from .rnn_data import RecurrentData
from .rnn_loss import column_losses, masked_errors
from .rnn_outcome import MemberOutcome
from .rnn_pack import PackedRecurrent
from .rnn_starts import choose_start, merge_starts, start_lists, trial_updates

__all__ = ["MemberOutcome", "train_pack"]

#: Consecutive non-finite steps (skipped) after which a pack stops as diverged.
_MAX_BAD_STEPS = 3

#: Float32 values of activations one validation chunk may hold (about 256 MiB).
_VAL_CHUNK_VALUES = 64e6

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


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
    starts: Sequence[ModelSpec | Sequence[ModelSpec]],
    data: RecurrentData,
    config: RecurrentTrainConfig,
    *,
    target_esr: float | None = None,
    on_epoch: Callable[[int], None] | None = None,
    on_done: Callable[[MemberOutcome], None] | None = None,
) -> list[MemberOutcome]:
    """Train ``members`` (one cell) side by side from ``starts``; ``on_epoch`` gets the number of
    starts an epoch trained, ``on_done`` each candidate as it stops.

    A member's start may be a list of starts (:mod:`.rnn_starts`): they train side by side in
    the pack (sharing its shuffles) until the trial ends, then the best goes on alone."""
    lists = start_lists(starts)
    if len(lists) != len(members) or not all(lists):
        msg = f"{len(members)} candidates but {len(lists)} starts: give at least one start each"
        raise InputError(msg)
    owner = [k for k, specs in enumerate(lists) for _ in specs]
    pack = PackedRecurrent([members[k] for k in owner], [s for specs in lists for s in specs])
    outcomes = [MemberOutcome(members[k], s, start=i)
                for k, specs in enumerate(lists) for i, s in enumerate(specs)]
    groups = [[j for j, k in enumerate(owner) if k == g] for g in range(len(members))]
    chosen: list[int | None] = [None if len(specs) > 1 else 0 for specs in lists]
    results: list[MemberOutcome | None] = [None] * len(members)
    opt = torch.optim.Adam(pack.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    budgets = {config.budget_updates(int(data.x_rows.shape[0]), a) for a in members}
    if len(budgets) != 1:
        msg = (f"the members of a pack share one budget of updates; got {sorted(budgets)} for "
               f"{', '.join(map(str, members))} (plan them with rnn_fit.plan_packs)")
        raise InputError(msg)
    budget = budgets.pop()
    trial = trial_updates(config, budget)
    updates = 0
    clock = time.perf_counter()

    def count_update() -> None:
        nonlocal updates
        updates += 1

    def settle() -> None:
        """Choose the start of members whose trial is over; report members that stopped."""
        for g, js in enumerate(groups):
            runs = [outcomes[j] for j in js]
            if chosen[g] is None:
                if not (updates >= trial or all(m.stop_reason for m in runs)
                        or any(m.stop_reason == "target" for m in runs)):
                    continue
                chosen[g] = pick = choose_start(runs)
                for i, m in enumerate(runs):
                    if i != pick and m.stop_reason is None:
                        m.stop_reason = "dropped"
                merge_starts(runs, pick)
            winner = runs[chosen[g] or 0]
            if winner.stop_reason is not None and results[g] is None:
                results[g] = winner
                if on_done is not None:
                    on_done(winner)

    def check() -> None:
        vals = validation_check(pack, data, config)
        for j, m in enumerate(outcomes):
            if m.stop_reason is None:
                m.record_check(float(vals[j]), lambda j=j: pack.member_spec(j), config)

    check()
    for m in outcomes:
        if target_esr is not None and m.best_val <= target_esr / 2:
            m.stop_reason = "target"
    settle()
    while any(r is None for r in results):
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
                m.stop_reason = m.reason_to_stop(config, diverged=diverged,
                                                 target_esr=target_esr, updates=updates,
                                                 budget=budget)
        settle()
    return [r for r in results if r is not None]
