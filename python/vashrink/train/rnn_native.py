"""The native (C++) GRU/LSTM trainer's loop: :func:`train_pack_native`, the loop of
:func:`.rnn_loop.train_pack` without torch, on :class:`.rnn_native_net.NativeRecurrent`.

:func:`train_pack_native` trains the candidates of a pack one after another with the same
recipe and stop rules as the torch loop (a candidate's starts side by side on threads); its
budget is the candidate's :meth:`~.rnn_config.RecurrentTrainConfig.updates_for` (the
learning-rate schedule runs over it) and ``patience``, ``max_seconds`` (opt-in) is only a
wall-clock cap per candidate.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.architecture import RecurrentArchitecture
from ..model.spec import ModelSpec
from .rnn_config import RecurrentTrainConfig
from .rnn_data import RecurrentData
from .rnn_loop import _MAX_BAD_STEPS
from .rnn_native_net import (
    DTYPES,
    ChunkResult,
    NativeRecurrent,
    flat_params,
    native_validation_esr,
    spec_from_flat,
)
from .rnn_outcome import MemberOutcome
from .rnn_starts import choose_start, merge_starts, start_lists, start_seed, trial_updates

__all__ = ["ChunkResult", "NativeRecurrent", "flat_params", "native_validation_esr",
           "spec_from_flat", "start_threads", "train_pack_native"]


def _epoch(net: NativeRecurrent, x_rows: np.ndarray, y_rows: np.ndarray,
           config: RecurrentTrainConfig, order: np.ndarray,
           lr_of: Callable[[], float], on_update: Callable[[], None]) -> tuple[float, bool]:
    """One pass over the training rows (as :func:`.rnn_loop._epoch`): the training ESR and
    whether the candidate diverged (too many consecutive non-finite losses)."""
    err_sum = sig_sum = 0.0
    warm, step, seg = config.warmup_samples, config.tbptt_samples, config.segment_samples
    bad = 0
    for first in range(0, order.size, config.batch_size):
        idx = order[first : first + config.batch_size]
        xb, yb = x_rows[idx], y_rows[idx]
        net.reset_state(idx.size)
        prev_y = prev_hat = np.zeros(idx.size)
        if warm:
            y_warm = net.forward(xb[:, :warm])
            prev_y, prev_hat = yb[:, warm - 1], y_warm[:, -1]
        for begin in range(warm, seg, step):
            end = min(begin + step, seg)
            res = net.loss_and_grad(xb[:, begin:end], yb[:, begin:end],
                                    coefficient=config.pre_emphasis, dc_weight=config.dc_weight,
                                    previous=(prev_y, prev_hat))
            prev_y, prev_hat = yb[:, end - 1], res.y_hat[:, -1]
            if not math.isfinite(res.loss):
                bad += 1
                if bad >= _MAX_BAD_STEPS:
                    return err_sum / max(sig_sum, 1e-300), True
                net.reset_state(idx.size)
                continue
            bad = 0
            net.adam_step(lr_of(), config.max_grad_norm)
            on_update()
            err_sum += res.err
            sig_sum += res.sig
    return err_sum / max(sig_sum, 1e-300), False


@dataclass
class _Run:
    """One start of a candidate in training: its outcome, model, shuffles and updates so far."""

    m: MemberOutcome
    net: NativeRecurrent
    rng: np.random.Generator
    dtype: str
    updates: int = 0
    lr_scale: float = 1.0


def _net(spec: ModelSpec, data: RecurrentData, config: RecurrentTrainConfig,
         dtype: str) -> NativeRecurrent:
    return NativeRecurrent(spec, max_batch=min(config.batch_size, int(data.x_rows.shape[0])),
                           max_steps=min(config.tbptt_samples,
                                         config.segment_samples - config.warmup_samples),
                           dtype=dtype)


def _new_run(arch: RecurrentArchitecture, start: ModelSpec, index: int, data: RecurrentData,
             config: RecurrentTrainConfig, dtype: str) -> _Run:
    net = _net(start, data, config, dtype)
    run = _Run(MemberOutcome(arch, start, start=index), net,
               np.random.default_rng(start_seed(config.seed, index)), dtype)
    run.m.record_check(native_validation_esr(net, data, config), net.to_spec, config)
    return run


def _advance(run: _Run, rows: tuple[np.ndarray, np.ndarray], data: RecurrentData,
             config: RecurrentTrainConfig, target_esr: float | None, until: int,
             on_epoch: Callable[[int], None] | None, cancel: threading.Event) -> None:
    """Train ``run`` epoch by epoch until it stops, has made ``until`` updates or ``cancel``
    is set (checked between epochs; the caller then drops the run)."""
    m = run.m
    budget = config.budget_updates(int(data.x_rows.shape[0]), m.architecture)
    if target_esr is not None and m.best_val <= target_esr / 2:
        m.stop_reason = "target"

    def count_update() -> None:
        run.updates += 1

    while m.stop_reason is None and run.updates < until and not cancel.is_set():
        clock = time.perf_counter()
        order = run.rng.permutation(rows[0].shape[0])
        train_esr, diverged = _epoch(
            run.net, rows[0], rows[1], config, order,
            lambda: run.lr_scale * config.lr_at(run.updates / budget), count_update)
        m.record_check(native_validation_esr(run.net, data, config), run.net.to_spec, config)
        if m.should_roll_back(config, diverged=diverged):
            m.rollbacks += 1
            run.lr_scale *= 0.5
            run.net = _net(m.best_spec, data, config, run.dtype)
            diverged = False
        spent = time.perf_counter() - clock
        m.epochs += 1
        m.train_esr = float(train_esr)
        m.epoch_seconds.append(spent)
        m.seconds += spent
        if on_epoch is not None:
            on_epoch(1)
        m.stop_reason = m.reason_to_stop(config, diverged=diverged, target_esr=target_esr,
                                         updates=run.updates, budget=budget)


def start_threads(config: RecurrentTrainConfig, starts: int) -> int:
    """Threads the starts' trials run on: ``config.start_threads``, or one per start up to the
    CPUs this process may use; never more than the starts."""
    if config.start_threads is not None:
        return min(config.start_threads, starts)
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every CPU counts
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, min(starts, cpus))


def _trials(arch: RecurrentArchitecture, starts: Sequence[ModelSpec], data: RecurrentData,
            config: RecurrentTrainConfig, target_esr: float | None,
            on_epoch: Callable[[int], None] | None, dtype: str,
            rows: tuple[np.ndarray, np.ndarray], until: int) -> list[_Run]:
    """Each start trains its trial (its own net, shuffles and Adam, so the weights do not
    depend on how many run at once): side by side on :func:`start_threads` threads (the engine
    releases the GIL while it trains), or one after another, stopping early when one reaches
    the target; either way the runs up to the first at the target are returned, so the choice
    and every start's check are the same on any number of threads. Ctrl-C stops every trial
    after its epoch in progress; trials not begun never start."""
    cancel = threading.Event()

    def trial(index: int) -> _Run:
        run = _new_run(arch, starts[index], index, data, config, dtype)
        _advance(run, rows, data, config, target_esr, until, on_epoch, cancel)
        return run

    def up_to_target(runs: list[_Run]) -> list[_Run]:
        hit = next((i for i, r in enumerate(runs) if r.m.stop_reason == "target"), None)
        return runs if hit is None else runs[: hit + 1]

    workers = start_threads(config, len(starts))
    if workers == 1:
        runs: list[_Run] = []
        for index in range(len(starts)):
            runs.append(trial(index))
            if runs[-1].m.stop_reason == "target":
                break
        return runs
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vashrink-start")
    try:
        futures = [pool.submit(trial, i) for i in range(len(starts))]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() is not None for f in done):
            cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
        return up_to_target([f.result() for f in futures])
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=cancel.is_set())


def _train_member(arch: RecurrentArchitecture, starts: Sequence[ModelSpec], data: RecurrentData,
                  config: RecurrentTrainConfig, target_esr: float | None,
                  on_epoch: Callable[[int], None] | None, dtype: str) -> MemberOutcome:
    """One candidate; with several starts each trains the trial (:func:`_trials`), then the
    chosen one goes on (:mod:`.rnn_starts`). The outcome's ``seconds`` is the candidate's
    wall time."""
    clock = time.perf_counter()
    budget = config.budget_updates(int(data.x_rows.shape[0]), arch)
    rows = tuple(np.ascontiguousarray(t.numpy(), dtype=DTYPES[dtype])
                 for t in (data.x_rows, data.y_rows))
    assert len(rows) == 2
    until = budget if len(starts) == 1 else trial_updates(config, budget)
    runs = _trials(arch, starts, data, config, target_esr, on_epoch, dtype, rows, until)
    if len(starts) == 1:
        winner = runs[0].m
    else:
        pick = choose_start([r.m for r in runs])
        winner = merge_starts([r.m for r in runs], pick)
        winner.seconds = time.perf_counter() - clock  # the trials' wall time, for max_seconds
        _advance(runs[pick], rows, data, config, target_esr, budget, on_epoch,
                 threading.Event())
    winner.seconds = time.perf_counter() - clock
    return winner


def train_pack_native(
    members: Sequence[RecurrentArchitecture],
    starts: Sequence[ModelSpec | Sequence[ModelSpec]],
    data: RecurrentData,
    config: RecurrentTrainConfig,
    *,
    target_esr: float | None = None,
    on_epoch: Callable[[int], None] | None = None,
    on_done: Callable[[MemberOutcome], None] | None = None,
    dtype: str = "float32",
) -> list[MemberOutcome]:
    """:func:`.rnn_loop.train_pack` on the native trainer: each candidate trains alone, one
    after another (so ``on_epoch`` always gets 1), with the same shuffles (a fresh generator
    from ``config.seed`` each), warm-up, TBPTT chunks, Adam, clip, validation checks and stop
    reasons; ``dtype`` ``"float64"`` trains in double precision. A member's start may be a list
    of starts (:mod:`.rnn_starts`): each trains the trial with its own shuffles (seeded by
    :func:`.rnn_starts.start_seed`), side by side on :func:`start_threads` threads (``on_epoch``
    may then be called from those threads), then the best goes on."""
    lists = start_lists(starts)
    if len(lists) != len(members) or not all(lists):
        msg = f"{len(members)} candidates but {len(lists)} starts: give at least one start each"
        raise InputError(msg)
    outcomes: list[MemberOutcome] = []
    for arch, specs in zip(members, lists, strict=True):
        m = _train_member(arch, specs, data, config, target_esr, on_epoch, dtype)
        outcomes.append(m)
        if on_done is not None:
            on_done(m)
    return outcomes
