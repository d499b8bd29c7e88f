"""A candidate whose check blows up goes back to its best weights at half the learning rate
(native trainer), instead of carrying the blow-up on or stopping as diverged."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from rnn_synthetic import synthetic_recording

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.spec import ModelSpec
from vashrink.train import RecurrentTrainConfig, rnn_native, train_recurrent
from vashrink.train.rnn_outcome import MemberOutcome

FAST = RecurrentTrainConfig(segment_samples=2048, batch_size=32, warmup_samples=100,
                            tbptt_samples=128, max_epochs=12, patience=None, starts=1,
                            val_window_samples=2048, val_burn_in_samples=512)


def _outcome(best: float, last: float, rollbacks: int = 0) -> MemberOutcome:
    m = MemberOutcome(RecurrentArchitecture.parse("gru-2"), ModelSpec.__new__(ModelSpec),
                      best_val=best, rollbacks=rollbacks)
    m.val_curve.append(last)
    return m


def test_the_rule() -> None:
    config = RecurrentTrainConfig()  # max_rollbacks 3, rollback_ratio None: divergence only
    assert _outcome(0.1, math.inf).should_roll_back(config, diverged=False)
    assert _outcome(0.1, math.nan).should_roll_back(config, diverged=False)
    assert _outcome(0.1, 0.1).should_roll_back(config, diverged=True)
    assert not _outcome(0.1, 5.0).should_roll_back(config, diverged=False)
    assert not _outcome(0.1, math.inf, rollbacks=3).should_roll_back(config, diverged=True)
    assert not _outcome(0.1, math.inf).should_roll_back(replace(config, max_rollbacks=0),
                                                         diverged=True)
    assert not _outcome(math.inf, math.inf).should_roll_back(config, diverged=True)
    ratio = replace(config, rollback_ratio=2.0)
    assert _outcome(0.1, 0.21).should_roll_back(ratio, diverged=False)
    assert not _outcome(0.1, 0.19).should_roll_back(ratio, diverged=False)
    with pytest.raises(InputError, match="rollback_ratio"):
        RecurrentTrainConfig(rollback_ratio=1.0)
    with pytest.raises(InputError, match="max_rollbacks"):
        RecurrentTrainConfig(max_rollbacks=-1)


def test_a_blow_up_is_rolled_back_and_training_recovers() -> None:
    """At lr 0.5 GRU-8's first epoch blows the check up to 2.9; carried on, it never gets below
    its start (measured 0.994); rolled back to its start at lr 0.25 it learns (measured
    0.0080, one rollback). The same reload runs when a candidate diverges."""
    rec = synthetic_recording(3.0, 16_000, validation_s=1.0)
    blow_up = replace(FAST, lr=0.5, rollback_ratio=2.0)
    [carried] = train_recurrent(rec, ["gru-8"], replace(blow_up, max_rollbacks=0))
    [rolled] = train_recurrent(rec, ["gru-8"], blow_up)
    assert carried.rollbacks == 0 and carried.validation.esr > 0.5
    assert rolled.rollbacks >= 1 and rolled.validation.esr < 0.02
    assert rolled.to_dict()["rollbacks"] == rolled.rollbacks


def test_a_divergence_rolls_back_and_training_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer passes an epoch's divergence to the rule: the candidate's third epoch is
    reported diverged; with rollbacks it goes on to its budget, without it stops there."""
    real = rnn_native._epoch
    calls = {"n": 0}

    def third_diverges(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        err, diverged = real(*args, **kwargs)
        return err, diverged or calls["n"] == 3

    monkeypatch.setattr(rnn_native, "_epoch", third_diverges)
    rec = synthetic_recording(3.0, 16_000, validation_s=1.0)
    [rolled] = train_recurrent(rec, ["gru-4"], FAST)
    assert rolled.rollbacks == 1 and rolled.stop_reason == "budget"
    assert rolled.epochs == FAST.max_epochs
    calls["n"] = 0
    [stopped] = train_recurrent(rec, ["gru-4"], replace(FAST, max_rollbacks=0))
    assert stopped.rollbacks == 0 and stopped.stop_reason == "diverged" and stopped.epochs == 3
