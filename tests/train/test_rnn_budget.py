"""The default recurrent budget scales with the shape (more updates for small shapes, the same
modelled work), an explicit ``max_updates`` is the same for every shape, and the scaled budget
is what the trainer runs, deterministically."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rnn_synthetic import synthetic_recording

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.train import RecurrentTrainConfig, train_recurrent
from vashrink.train.rnn_budget import REFERENCE_HIDDEN, shape_updates, update_cost, update_scale

A = RecurrentArchitecture.parse


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_small_shapes_get_more_updates_than_hidden_16(cell: str) -> None:
    cfg = RecurrentTrainConfig()
    assert cfg.max_updates is None  # the default scales
    budgets = [cfg.updates_for(A(f"{cell}-{h}")) for h in (2, 4, 8, 12, 16, 24, 32)]
    assert budgets == sorted(budgets, reverse=True)
    assert budgets[4] == cfg.base_updates  # hidden 16: the reference
    assert budgets[1] >= 2.5 * cfg.base_updates  # hidden 4: several times more
    assert budgets[2] > budgets[3] > cfg.base_updates  # 8 and 12 in between
    assert budgets[5] == budgets[6] == cfg.base_updates  # larger shapes never get fewer
    assert max(budgets) <= cfg.max_update_scale * cfg.base_updates
    # a second layer costs work: 2x8 gets fewer updates than 8, never fewer than the base
    assert cfg.base_updates <= cfg.updates_for(A(f"{cell}-2x8")) < cfg.updates_for(A(f"{cell}-8"))


def test_scale_is_the_modelled_work_of_the_reference_over_the_shape() -> None:
    for label in ("gru-4", "lstm-8", "lstm-12", "gru-2x4"):
        arch = A(label)
        ref = RecurrentArchitecture(arch.cell, REFERENCE_HIDDEN)
        ratio = update_cost(ref) / update_cost(arch)
        assert update_scale(arch, 100.0) == pytest.approx(ratio)
        # the modelled work of the scaled budget equals that of the reference's budget
        assert shape_updates(arch, 8000, 100.0) * update_cost(arch) == pytest.approx(
            8000 * update_cost(ref), rel=1e-3)
    assert update_scale(A("lstm-1"), 2.0) == 2.0  # capped
    assert update_scale(A("lstm-64"), 4.0) == 1.0  # floored


def test_explicit_max_updates_is_honoured_for_every_shape() -> None:
    cfg = RecurrentTrainConfig(max_updates=1234)
    for label in ("gru-2", "gru-4", "lstm-4", "lstm-16", "lstm-2x8", "gru-64"):
        assert cfg.updates_for(A(label)) == 1234
        assert cfg.budget_updates(10**6, A(label)) == 1234
    flat = RecurrentTrainConfig(max_update_scale=1.0, base_updates=500)
    assert {flat.updates_for(A(t)) for t in ("gru-4", "lstm-4", "lstm-16")} == {500}


def test_base_updates_scales_every_shape() -> None:
    """The panel's reference multiplies the base (``--budget-x``): every shape gets that many
    times its default updates."""
    one = RecurrentTrainConfig()
    five = RecurrentTrainConfig(base_updates=5 * one.base_updates)
    for label in ("gru-4", "lstm-4", "lstm-8", "gru-16", "lstm-2x8"):
        assert five.updates_for(A(label)) == pytest.approx(5 * one.updates_for(A(label)), abs=3)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("max_updates", 0, "max_updates must be >= 1"),
    ("base_updates", 0, "base_updates must be >= 1"),
    ("max_update_scale", 0.5, "max_update_scale must be finite and >= 1"),
    ("max_update_scale", math.inf, "max_update_scale must be finite and >= 1"),
])
def test_bad_budget_fields(field: str, value: float, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RecurrentTrainConfig(**{field: value})


SMALL = dict(segment_samples=2048, warmup_samples=100, tbptt_samples=1948, batch_size=64,
             patience=None, starts=1, val_window_samples=2048, val_burn_in_samples=256)


def test_trainer_runs_each_shape_its_scaled_budget_deterministically() -> None:
    """One update per epoch here, so a candidate's epochs are its budget of updates: LSTM-4
    trains more of them than LSTM-16, and the same seed gives the same weights."""
    rec = synthetic_recording(3.0, 16_000, validation_s=1.0)
    cfg = RecurrentTrainConfig(base_updates=3, **SMALL)
    archs = [A("lstm-4"), A("lstm-16")]
    first = train_recurrent(rec, archs, cfg)
    assert cfg.updates_per_epoch(15) == 1
    assert [r.epochs for r in first] == [cfg.updates_for(a) for a in archs]
    assert first[0].epochs > first[1].epochs == 3
    assert all(r.stop_reason == "budget" for r in first)
    again = train_recurrent(rec, archs[:1], cfg)
    for a, b in zip(first[0].spec.rnn, again[0].spec.rnn, strict=True):
        np.testing.assert_array_equal(a.weight_hh, b.weight_hh)
    fixed = train_recurrent(rec, archs, RecurrentTrainConfig(max_updates=2, **SMALL))
    assert [r.epochs for r in fixed] == [2, 2]
