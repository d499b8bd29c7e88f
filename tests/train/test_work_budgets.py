"""Training budgets are work, not wall seconds: the same seed gives bit-identical weights on a
busy and on an idle machine, for the recurrent trainer and for LM on curves."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from rnn_synthetic import synthetic_recording

from vashrink.model.architecture import Architecture, RecurrentArchitecture
from vashrink.train import RecurrentTrainConfig, train_recurrent
from vashrink.train.candidates import TrainConfig, train_candidates

BURN = "import time\nend = time.time() + 120\nwhile time.time() < end:\n    pass\n"


@contextmanager
def _busy(processes: int = 2) -> Iterator[None]:
    """Competing processes spinning on every core while the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(processes)]
    try:
        yield
    finally:
        for p in burners:
            p.kill()
            p.wait()


def _weights(spec: object) -> list[np.ndarray]:
    from vashrink.model.spec import ModelSpec

    assert isinstance(spec, ModelSpec)
    arrays = [np.asarray(getattr(layer, name)) for layer in spec.rnn
              for name in ("weight_ih", "weight_hh", "bias") if hasattr(layer, name)]
    return arrays + [np.asarray(a) for layer in spec.dense for a in (layer.weight, layer.bias)]


def test_default_recipes_have_no_wall_clock_limit() -> None:
    assert RecurrentTrainConfig().max_seconds is None
    assert TrainConfig().lm_seconds is None


def test_budget_is_updates_scaled_by_the_data() -> None:
    cfg = RecurrentTrainConfig(max_updates=100, segment_samples=2048, warmup_samples=48,
                               tbptt_samples=1000, batch_size=4)
    assert cfg.updates_per_epoch(10) == 3 * 2  # ceil(10 / 4) batches x 2 chunks of 1000
    lstm = RecurrentArchitecture.parse("lstm-4")
    assert cfg.budget_updates(10, lstm) == 100
    # 8 chunks of 1,000 in a row of 8,192 - 200
    assert RecurrentTrainConfig(max_updates=10**6, max_epochs=3, batch_size=4,
                                tbptt_samples=1000).budget_updates(10, lstm) == 3 * 3 * 8


@pytest.mark.slow
def test_recurrent_weights_are_bit_identical_under_load() -> None:
    rec = synthetic_recording(3.0, 16_000, validation_s=1.0)
    cfg = RecurrentTrainConfig(segment_samples=2048, warmup_samples=100, tbptt_samples=256,
                               base_updates=15, patience=None, val_window_samples=2048,
                               val_burn_in_samples=256)
    # the default, shape-scaled budget: LSTM-4 gets 4x the base
    assert cfg.updates_for(RecurrentArchitecture.parse("lstm-4")) == 60
    [idle] = train_recurrent(rec, ["lstm-4"], cfg)
    with _busy():
        [busy] = train_recurrent(rec, ["lstm-4"], cfg)
    assert idle.stop_reason == busy.stop_reason == "budget"
    assert idle.epochs == busy.epochs
    for a, b in zip(_weights(idle.spec), _weights(busy.spec), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_lm_result_is_bit_identical_under_load() -> None:
    cfg = TrainConfig(starts=2, lm_iterations=40, minimax_stages=2, minimax_iterations=5)
    [idle] = train_candidates("sin(5*x)", -1, 1, [Architecture(2, 6)], cfg, progress=False)
    with _busy():
        [busy] = train_candidates("sin(5*x)", -1, 1, [Architecture(2, 6)], cfg, progress=False)
    assert idle.max_abs_error == busy.max_abs_error
    for a, b in zip(idle.model.parameters(), busy.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_patience_waits_for_half_the_budget_then_stops() -> None:
    """A candidate is never ended for lack of improvement on its first checks (one stopped at
    ESR 1.0 after 10 epochs), only once half its updates are spent."""
    from vashrink.model.spec import random_spec
    from vashrink.train.rnn_loop import MemberOutcome

    arch = RecurrentArchitecture.parse("lstm-2")
    cfg = RecurrentTrainConfig(patience=3, patience_after=0.5)
    m = MemberOutcome(arch, random_spec(arch))
    for val in (1.0, 1.0, 1.0, 1.0, 1.0):
        m.record_check(val, lambda: m.best_spec, cfg)
    assert m.stale_checks == 4
    stop = {u: m.reason_to_stop(cfg, diverged=False, target_esr=None, updates=u, budget=100)
            for u in (10, 49, 50, 100)}
    assert stop == {10: None, 49: None, 50: "no_improvement", 100: "no_improvement"}
    m.record_check(0.5, lambda: m.best_spec, cfg)
    assert m.stale_checks == 0 and m.best_val == 0.5
    assert m.reason_to_stop(cfg, diverged=False, target_esr=None, updates=100,
                            budget=100) == "budget"
    assert m.reason_to_stop(cfg, diverged=False, target_esr=1.2, updates=1,
                            budget=100) == "target"
