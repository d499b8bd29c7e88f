"""Packed candidates compute exactly what each would alone, and stay independent in training."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import torch

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.spec import ModelSpec, spec_to_torch
from vashrink.train.rnn_config import RecurrentTrainConfig
from vashrink.train.rnn_fit import plan_packs
from vashrink.train.rnn_pack import PackedRecurrent, embed_spec, initial_spec


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread, as training uses: two threads on busy shared cores stall."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


ARCHS = [RecurrentArchitecture.parse(t) for t in ("gru-3", "gru-5+skip", "gru-8")]


def _alone(spec: ModelSpec, x: torch.Tensor) -> torch.Tensor:
    model = spec_to_torch(spec, torch.float64)
    with torch.no_grad():
        out: torch.Tensor = model(x.double().unsqueeze(-1))[..., 0]
    return out


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_each_column_is_its_candidate_alone(cell: str, layers: int) -> None:
    archs = [RecurrentArchitecture(cell, a.hidden, a.skip, layers) for a in ARCHS]
    starts = [initial_spec(a, seed=1) for a in archs]
    pack = PackedRecurrent(archs, starts).double()
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 300)))
    with torch.no_grad():
        out, _ = pack(x)
    for k, spec in enumerate(starts):
        own = pack.member_spec(k)
        assert len(own.rnn) == layers
        np.testing.assert_allclose(out[..., k].numpy(), _alone(own, x).numpy(), atol=1e-12)
        np.testing.assert_allclose(own.dense[0].weight, spec.dense[0].weight, rtol=1e-6)
        for got, start in zip(own.rnn, spec.rnn, strict=True):
            np.testing.assert_allclose(got.weight_ih, start.weight_ih, rtol=1e-6)
            np.testing.assert_allclose(got.weight_hh, start.weight_hh, rtol=1e-6)


@pytest.mark.parametrize("layers", [1, 2])
def test_links_between_candidates_stay_zero_under_adam(layers: int) -> None:
    archs = [RecurrentArchitecture(a.cell, a.hidden, a.skip, layers) for a in ARCHS]
    pack = PackedRecurrent(archs, [initial_spec(a, 0) for a in archs])
    opt = torch.optim.Adam(pack.parameters(), lr=1e-2)
    x = torch.randn(4, 40)
    for _ in range(3):
        y, _ = pack(x)
        opt.zero_grad()
        (y**2).sum().backward()
        pack.clip_member_grads(0.5)
        opt.step()
    square = [pack.rnn.weight_hh_l0]
    for layer in range(1, layers):
        square += [getattr(pack.rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh")]
    for weight in square:
        assert weight.detach()[pack.hh_mask == 0].abs().max() == 0
        assert weight.detach()[pack.hh_mask == 1].abs().max() > 0
    off_head = pack.head.weight.detach()[pack.head_mask == 0]
    assert off_head.abs().max() == 0


def test_a_pack_holds_one_layer_count() -> None:
    archs = [RecurrentArchitecture("gru", 4), RecurrentArchitecture("gru", 4, layers=2)]
    with pytest.raises(InputError, match="layer count"):
        PackedRecurrent(archs, [initial_spec(a, 0) for a in archs])
    config = RecurrentTrainConfig(packing="all", max_updates=100)
    packs = plan_packs([*archs, RecurrentArchitecture("gru", 6, layers=2)], config)
    assert [[a.label for a in p] for p in packs] == [["gru-4"], ["gru-2x4", "gru-2x6"]]


def test_clipping_is_per_candidate() -> None:
    pack = PackedRecurrent(ARCHS, [initial_spec(a, 0) for a in ARCHS])
    y, _ = pack(torch.randn(2, 50))
    (1e3 * y[..., 0].sum() + 1e-3 * y[..., 2].sum()).backward()
    before = pack.head.weight.grad.clone()
    pack.clip_member_grads(1.0)
    after = pack.head.weight.grad
    assert torch.equal(after[2], before[2])
    assert not torch.equal(after[0], before[0])


def test_a_smaller_warm_start_grows_with_the_same_output() -> None:
    small = initial_spec(RecurrentArchitecture("lstm", 4), seed=3)
    big_arch = RecurrentArchitecture("lstm", 9)
    grown = embed_spec(small, big_arch, seed=3)
    assert len(grown.rnn) == 1 and grown.rnn[0].hidden_size == 9
    x = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, (1, 400)))
    np.testing.assert_allclose(_alone(grown, x).numpy(), _alone(small, x).numpy(), atol=1e-12)


def test_a_warm_start_of_another_cell_is_refused() -> None:
    small = initial_spec(RecurrentArchitecture("gru", 4), seed=0)
    with pytest.raises(InputError, match="warm start for lstm-8 must be a one-layer LSTM"):
        embed_spec(small, RecurrentArchitecture("lstm", 8), seed=0)


def test_starts_depend_on_the_candidate_only() -> None:
    a = initial_spec(RecurrentArchitecture("gru", 6), seed=5)
    b = initial_spec(RecurrentArchitecture("gru", 6), seed=5)
    c = initial_spec(RecurrentArchitecture("gru", 6), seed=6)
    assert np.array_equal(a.rnn[0].weight_hh, b.rnn[0].weight_hh)
    assert not np.array_equal(a.rnn[0].weight_hh, c.rnn[0].weight_hh)


def test_plan_packs_gru_together_lstm_alone() -> None:
    archs = [RecurrentArchitecture.parse(t) for t in ("lstm-8", "gru-32", "gru-4", "lstm-4")]
    fixed = RecurrentTrainConfig(max_updates=100)
    packs = plan_packs(archs, fixed)
    assert [[a.label for a in p] for p in packs] == [["gru-4", "gru-32"], ["lstm-4"], ["lstm-8"]]
    capped = plan_packs(archs, replace(fixed, max_pack_hidden=16))
    assert [len(p) for p in capped] == [1, 1, 1, 1]
    assert len(plan_packs(archs, replace(fixed, packing="all"))) == 2
    assert len(plan_packs(archs, replace(fixed, packing="none"))) == 4


def test_a_pack_shares_one_budget_of_updates() -> None:
    """With the default budget scaled by shape, GRU-4 and GRU-32 train different numbers of
    updates, so they cannot share a pack's schedule; equal budgets still pack."""
    archs = [RecurrentArchitecture.parse(t) for t in ("gru-32", "gru-4", "gru-24")]
    config = RecurrentTrainConfig(backend="torch")
    assert config.updates_for(archs[1]) > config.updates_for(archs[0])
    packs = plan_packs(archs, config)
    assert [[a.label for a in p] for p in packs] == [["gru-4"], ["gru-24", "gru-32"]]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("segment_samples", 1, "segment_samples must be >= 2"),
    ("warmup_samples", 9000, "warmup_samples must be in 0..segment_samples-1"),
    ("lr", float("nan"), "lr must be finite"),
    ("schedule", "step", "schedule must be one of"),
    ("max_seconds", 0.0, "max_seconds must be > 0"),
    ("pre_emphasis", 1.0, r"pre_emphasis must be in \[0, 1\)"),
    ("dc_weight", 2.0, r"dc_weight must be in \[0, 1\]"),
    ("packing", "some", "packing must be one of"),
    ("max_grad_norm", -1.0, "max_grad_norm must be > 0"),
])
def test_config_refuses_bad_values(field: str, value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RecurrentTrainConfig(**{field: value})  # type: ignore[arg-type]


def test_config_fingerprint_and_schedule() -> None:
    config = RecurrentTrainConfig(lr=1e-2, final_lr_fraction=0.1)
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()
    assert config.lr_at(0.0) == pytest.approx(1e-2)
    assert config.lr_at(1.0) == pytest.approx(1e-3)
    assert RecurrentTrainConfig(schedule="constant").lr_at(0.7) == RecurrentTrainConfig().lr
