"""Several starts per recurrent candidate (``RecurrentTrainConfig.starts``): a start that goes
bad is dropped, the choice repeats bit for bit, and one start is the one-start recipe."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import pytest
import torch
from rnn_synthetic import end_validated_pedal

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.layers import LstmLayer
from vashrink.model.spec import ModelSpec
from vashrink.train import RecurrentTrainConfig, train_recurrent
from vashrink.train.rnn_data import prepare_recurrent_data
from vashrink.train.rnn_loop import train_pack
from vashrink.train.rnn_native import start_threads, train_pack_native
from vashrink.train.rnn_outcome import MemberOutcome
from vashrink.train.rnn_pack import initial_spec
from vashrink.train.rnn_starts import choose_start, start_seed, trial_updates

_CFG = RecurrentTrainConfig(segment_samples=2048, batch_size=8, warmup_samples=100,
                            tbptt_samples=500, max_epochs=6, patience=None,
                            val_window_samples=4096, val_burn_in_samples=512, starts=2,
                            start_fraction=0.3)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def recording():  # type: ignore[no-untyped-def]
    return end_validated_pedal()


@pytest.fixture(scope="module")
def data(recording):  # type: ignore[no-untyped-def]
    return prepare_recurrent_data(recording, _CFG)


def _saturated(spec: ModelSpec) -> ModelSpec:
    """A start that cannot learn: every gate saturated (weights x 200), so its gradients vanish
    and its validation ESR stays near 1."""
    rnn = tuple(LstmLayer(r.weight_ih * 200, r.weight_hh * 200, r.bias * 200)
                for r in spec.rnn if isinstance(r, LstmLayer))
    return replace(spec, rnn=rnn)


def _same(a: ModelSpec, b: ModelSpec) -> bool:
    return all(np.array_equal(x.weight_hh, y.weight_hh) for x, y in zip(a.rnn, b.rnn, strict=True))


@pytest.mark.parametrize("trainer", [train_pack_native, train_pack], ids=["native", "torch"])
def test_a_start_that_goes_bad_is_dropped(data, trainer) -> None:  # type: ignore[no-untyped-def]
    arch = RecurrentArchitecture.parse("lstm-4")
    good = initial_spec(arch, 0)
    done: list[MemberOutcome] = []
    (m,) = trainer([arch], [[_saturated(good), good]], data, _CFG, on_done=done.append)
    assert done == [m]
    assert m.start == 1 and len(m.start_vals) == 2
    assert m.start_vals[0] > 0.95 and m.start_vals[1] < m.start_vals[0] - 0.05
    # the chosen start went on to the end of the budget: all epochs are its own
    assert m.stop_reason == "budget" and m.epochs == 6 and len(m.val_curve) == 7
    assert m.best_val < m.start_vals[1] < m.start_vals[0]
    # the bad start first (index 0) or last: the good one wins either way
    (again,) = trainer([arch], [[good, _saturated(good)]], data, _CFG)
    assert again.start == 0 and again.start_vals[1] > 0.95


def test_starts_repeat_bit_for_bit_and_cost_their_trials(recording) -> None:  # type: ignore[no-untyped-def]
    archs = ["gru-3", "lstm-3"]
    one = replace(_CFG, start_threads=1)
    first = train_recurrent(recording, archs, one)
    second = train_recurrent(recording, archs, one)
    side_by_side = train_recurrent(recording, archs, replace(_CFG, start_threads=2))
    for a, b, c in zip(first, second, side_by_side, strict=True):
        assert a.start_esrs == b.start_esrs == c.start_esrs and len(a.start_esrs) == 2
        assert a.validation.esr == b.validation.esr == c.validation.esr
        assert _same(a.spec, b.spec) and _same(a.spec, c.spec)
        assert a.val_curve == b.val_curve == c.val_curve
        # one after another, the wall time holds every start: more than the chosen one's epochs
        # plus the other's trial, which is at least its first epoch
        assert a.seconds > sum(a.epoch_seconds)


def test_one_start_is_the_one_start_recipe(recording, data) -> None:  # type: ignore[no-untyped-def]
    """``starts=1`` trains exactly ``initial_spec(arch, seed)`` with the seed's shuffles, as
    before starts existed; start 0 of several is that same start."""
    arch = RecurrentArchitecture.parse("gru-4")
    cfg = replace(_CFG, starts=1, seed=3)
    assert start_seed(3, 0) == 3 and start_seed(3, 1) not in (3, 4)
    (res,) = train_recurrent(recording, [arch], cfg)
    (m,) = train_pack_native([arch], [initial_spec(arch, 3)], data, cfg)
    assert res.start == 0 and res.start_esrs == ()
    assert res.val_curve == tuple(m.val_curve) and res.epochs == m.epochs == 6
    two = replace(cfg, starts=2, start_fraction=1.0)
    (both,) = train_pack_native([arch], [[initial_spec(arch, start_seed(3, i)) for i in (0, 1)]],
                                data, two)
    # with the trial the whole budget, start 0's run is the one-start run
    assert both.start_vals[0] == m.best_val and len(both.start_vals) == 2


def test_a_start_at_the_target_ends_the_trial(data) -> None:  # type: ignore[no-untyped-def]
    """Native, one thread: the starts train one after another; one that reaches the target is
    the result and the rest never train. Side by side every trial runs, and the choice (the
    first start at the target) is the same."""
    arch = RecurrentArchitecture.parse("gru-3")
    specs = [initial_spec(arch, start_seed(0, i)) for i in range(3)]
    cfg = replace(_CFG, starts=3, start_threads=1)
    (m,) = train_pack_native([arch], [specs], data, cfg, target_esr=10.0)
    assert m.stop_reason == "target" and m.start == 0 and m.start_vals == [m.best_val]
    (p,) = train_pack_native([arch], [specs], data, replace(cfg, start_threads=2),
                             target_esr=10.0)
    assert p.stop_reason == "target" and p.start == 0 and p.start_vals == m.start_vals
    assert _same(p.best_spec, m.best_spec)


def test_ctrl_c_stops_every_trial_running_side_by_side(data) -> None:  # type: ignore[no-untyped-def]
    """A real Ctrl-C (SIGINT to the main thread, which waits for the trials) reaches the caller,
    and both trials stop after their epoch in progress instead of training their whole trial;
    an error in one trial stops the other the same way."""
    arch = RecurrentArchitecture.parse("gru-3")
    specs = [initial_spec(arch, start_seed(0, i)) for i in range(2)]
    cfg = replace(_CFG, max_epochs=400, start_fraction=1.0, start_threads=2)

    def interrupt() -> None:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]

    def fail() -> None:
        msg = "a trial failed"
        raise RuntimeError(msg)

    lock = threading.Lock()
    for action, error in ((interrupt, KeyboardInterrupt), (fail, RuntimeError)):
        calls = 0

        def on_epoch(_n: int, action: Callable[[], None] = action) -> None:
            nonlocal calls
            with lock:
                calls += 1
                if calls == 3:
                    action()

        with pytest.raises(error):
            train_pack_native([arch], [specs], data, cfg, on_epoch=on_epoch)
        # two trials of 400 epochs each; both stopped within a few epochs of the third
        assert calls < 20


def test_start_threads_are_checked_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match=r"start_threads must be >= 1"):
        RecurrentTrainConfig(start_threads=0)
    assert start_threads(RecurrentTrainConfig(start_threads=8), 2) == 2
    assert start_threads(RecurrentTrainConfig(start_threads=1), 2) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert start_threads(RecurrentTrainConfig(), 2) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {5}, raising=False)
    assert start_threads(RecurrentTrainConfig(), 2) == 1
    # where the affinity is not known (macOS), every CPU counts
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert start_threads(RecurrentTrainConfig(), 3) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert start_threads(RecurrentTrainConfig(), 3) == 1


def test_choice_rule_and_trial_length() -> None:
    arch = RecurrentArchitecture.parse("gru-2")
    spec = initial_spec(arch, 0)

    def outcome(val: float, reason: str | None) -> MemberOutcome:
        return MemberOutcome(arch, spec, best_val=val, stop_reason=reason)

    # a diverged start does not go on while another still trains, even if its best was better
    assert choose_start([outcome(0.1, "diverged"), outcome(0.2, None)]) == 1
    assert choose_start([outcome(0.3, None), outcome(0.2, None), outcome(0.2, None)]) == 1
    assert choose_start([outcome(0.3, None), outcome(0.4, "target")]) == 1
    assert choose_start([outcome(0.3, "diverged"), outcome(0.2, "diverged")]) == 1
    # a start that stopped for lack of improvement (the trial reached the patience window) is
    # done, not broken: the better one goes on even if the other still trains
    assert choose_start([outcome(0.04, None), outcome(0.02, "no_improvement")]) == 1
    assert trial_updates(RecurrentTrainConfig(start_fraction=0.1), 8000) == 800


def test_starts_are_checked_and_in_the_fingerprint() -> None:
    with pytest.raises(InputError, match="starts must be >= 1"):
        RecurrentTrainConfig(starts=0)
    with pytest.raises(InputError, match=r"start_fraction must be in \(0, 1\]"):
        RecurrentTrainConfig(start_fraction=0.0)
    fingerprint = RecurrentTrainConfig(starts=3, start_fraction=0.2).to_dict()
    assert fingerprint["starts"] == 3 and fingerprint["start_fraction"] == 0.2
