"""The native (C++) GRU/LSTM trainer computes what torch computes: loss, gradients (autograd,
float64), forward, Adam; and its training loop keeps the torch loop's contract."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import torch
from rnn_synthetic import end_validated_pedal

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.layers import DenseLayer
from vashrink.model.recurrent import RecurrentModel
from vashrink.model.spec import ModelSpec, random_spec, spec_to_torch
from vashrink.train.rnn_config import RecurrentTrainConfig
from vashrink.train.rnn_data import prepare_recurrent_data
from vashrink.train.rnn_loop import train_pack
from vashrink.train.rnn_loss import column_losses
from vashrink.train.rnn_native import NativeRecurrent, train_pack_native
from vashrink.train.rnn_pack import initial_spec

COEF, DC_W = 0.85, 0.25


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _torch_reference(spec: ModelSpec, x: np.ndarray, y: np.ndarray, h0: np.ndarray | None,
                     c0: np.ndarray | None, previous: tuple[np.ndarray, np.ndarray] | None,
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray,
                                np.ndarray, torch.Tensor]:
    """Loss, err, sig, flat gradient, y_hat and final h of ``spec`` in float64 torch."""
    model = spec_to_torch(spec, torch.float64)
    assert isinstance(model, RecurrentModel)
    xt = torch.from_numpy(x)
    state = None
    if h0 is not None:
        state = torch.from_numpy(h0) if c0 is None else (torch.from_numpy(h0),
                                                          torch.from_numpy(c0))
    out, new_state = model.rnn(xt.unsqueeze(-1), state)
    y_hat = model.head(out)[..., 0] + (xt if spec.skip else 0.0)
    prev = None if previous is None else (torch.from_numpy(previous[0]),
                                          torch.from_numpy(previous[1])[:, None])
    loss, err, sig = column_losses(torch.from_numpy(y), y_hat[..., None], coefficient=COEF,
                                   dc_weight=DC_W, previous=prev)
    loss.sum().backward()
    grad = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    h_end = new_state[0] if isinstance(new_state, tuple) else new_state
    return loss.detach(), err.detach(), sig.detach(), grad, y_hat.detach().numpy(), h_end.detach()


def _case(seed: int) -> dict:
    """A random shape: cell, hidden 1..9, 1-2 layers, skip, odd batches, state and previous;
    tiles of 1, 2, 4 registers; chunks stored whole or recomputed in segments of 1, 4, 7."""
    rng = np.random.default_rng(seed)
    cell = ("gru", "lstm")[seed % 2]
    hidden, layers = int(rng.integers(1, 10)), 1 + (seed // 2) % 2
    batch = int(rng.choice([1, 2, 3, 5, 7, 9, 13, 17]))
    steps = int(rng.integers(1, 30))
    spec = random_spec(RecurrentArchitecture(cell, hidden, bool(seed % 3 == 0), layers), seed)
    x = rng.uniform(-1, 1, (batch, steps))
    y = np.tanh(2 * x) + 0.1 * rng.standard_normal((batch, steps))
    with_state = seed % 4 >= 2
    h0 = rng.uniform(-0.6, 0.6, (layers, batch, hidden)) if with_state else None
    c0 = rng.uniform(-0.6, 0.6, (layers, batch, hidden)) if with_state and cell == "lstm" else None
    prev = (rng.uniform(-1, 1, batch), rng.uniform(-1, 1, batch)) if seed % 5 else None
    return {"spec": spec, "x": x, "y": y, "h0": h0, "c0": c0, "previous": prev,
            "tile_regs": (0, 1, 2, 4)[seed % 4], "max_batch": batch + seed % 3,
            "segment_steps": (0, 1, 4, 7, 0)[seed % 5]}


def _native(case: dict, dtype: str = "float64") -> NativeRecurrent:
    net = NativeRecurrent(case["spec"], max_batch=case["max_batch"],
                          max_steps=case["x"].shape[1] + 2, dtype=dtype,
                          tile_regs=case["tile_regs"], segment_steps=case["segment_steps"])
    if case["h0"] is None:
        net.reset_state(case["x"].shape[0])
    else:
        net.set_state(case["h0"], case["c0"])
    return net


@pytest.mark.parametrize("seed", range(24))
def test_gradient_equals_torch_autograd_in_float64(seed: int) -> None:
    case = _case(seed)
    net = _native(case)
    res = net.loss_and_grad(case["x"], case["y"], coefficient=COEF, dc_weight=DC_W,
                            previous=case["previous"])
    loss, err, sig, grad, y_hat, h_end = _torch_reference(
        case["spec"], case["x"], case["y"], case["h0"], case["c0"], case["previous"])
    assert np.linalg.norm(net.grad() - grad) <= 1e-9 * np.linalg.norm(grad)
    assert res.loss == pytest.approx(float(loss), rel=1e-12)
    assert res.err == pytest.approx(float(err), rel=1e-12)
    assert res.sig == pytest.approx(float(sig), rel=1e-12)
    np.testing.assert_allclose(res.y_hat, y_hat, rtol=0, atol=1e-13)
    np.testing.assert_allclose(net.state()[0], h_end.numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("seed", [1, 6, 11])
def test_float32_gradient_within_1e_3_of_float64(seed: int) -> None:
    case = _case(seed)
    net = _native(case, "float32")
    net.loss_and_grad(case["x"], case["y"], coefficient=COEF, dc_weight=DC_W,
                      previous=case["previous"])
    *_, grad, _, _ = _torch_reference(case["spec"], case["x"], case["y"], case["h0"],
                                      case["c0"], case["previous"])
    assert np.linalg.norm(net.grad() - grad) <= 1e-3 * np.linalg.norm(grad)


@pytest.mark.parametrize("label", ["gru-5", "lstm-3+skip", "gru-2x4+skip", "lstm-2x6"])
def test_forward_equals_the_exported_torch_model_and_carries_state(label: str) -> None:
    spec = random_spec(RecurrentArchitecture.parse(label), seed=3)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 400))
    with torch.no_grad():
        ref = spec_to_torch(spec, torch.float64)(torch.from_numpy(x)[..., None])[..., 0].numpy()
    net = NativeRecurrent(spec, max_batch=3, max_steps=10)
    net.reset_state(3)
    whole = net.forward(x)
    np.testing.assert_allclose(whole, ref, rtol=0, atol=1e-12)
    net.reset_state(3)
    halves = np.concatenate([net.forward(x[:, :151]), net.forward(x[:, 151:])], axis=1)
    np.testing.assert_array_equal(halves, whole)


def test_to_spec_round_trips_the_weights() -> None:
    for label in ("gru-2x3+skip", "lstm-4"):
        spec = random_spec(RecurrentArchitecture.parse(label), seed=5)
        back = NativeRecurrent(spec).to_spec()
        assert back.skip == spec.skip and len(back.rnn) == len(spec.rnn)
        for a, b in zip(back.rnn, spec.rnn, strict=True):
            np.testing.assert_array_equal(a.weight_ih, b.weight_ih)
            np.testing.assert_array_equal(a.weight_hh, b.weight_hh)
        np.testing.assert_array_equal(back.dense[0].weight, spec.dense[0].weight)


@pytest.mark.parametrize("max_norm", [None, 0.05])
def test_adam_steps_equal_torch_adam(max_norm: float | None) -> None:
    case = _case(7)
    spec, x, y = case["spec"], case["x"], case["y"]
    net = NativeRecurrent(spec, max_batch=x.shape[0], max_steps=x.shape[1])
    model = spec_to_torch(spec, torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(4):
        net.reset_state(x.shape[0])
        net.loss_and_grad(x, y, coefficient=COEF, dc_weight=DC_W)
        net.adam_step(0.01, max_norm)
        opt.zero_grad()
        out, _ = model.rnn(torch.from_numpy(x).unsqueeze(-1))
        y_hat = model.head(out)[..., 0] + (torch.from_numpy(x) if spec.skip else 0.0)
        loss, _, _ = column_losses(torch.from_numpy(y), y_hat[..., None], coefficient=COEF,
                                   dc_weight=DC_W)
        loss.sum().backward()
        if max_norm is not None:
            grads = [p.grad for p in model.parameters()]
            total = torch.sqrt(sum((g**2).sum() for g in grads))
            for g in grads:
                g.mul_((max_norm / (total + 1e-12)).clamp(max=1.0))
        opt.step()
    flat = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    np.testing.assert_allclose(net.params(), flat, rtol=0, atol=1e-12)


def test_bad_inputs_raise_input_error() -> None:
    spec = random_spec(RecurrentArchitecture.parse("lstm-4"), seed=0)
    net = NativeRecurrent(spec, max_batch=4, max_steps=50)
    with pytest.raises(InputError, match="no state"):
        net.forward(np.zeros((2, 10)))
    with pytest.raises(InputError, match="max_batch"):
        net.reset_state(5)
    net.reset_state(2)
    with pytest.raises(InputError, match=r"shape \(batch=2"):
        net.forward(np.zeros((3, 10)))
    with pytest.raises(InputError, match="y must have the shape of x"):
        net.loss_and_grad(np.zeros((2, 10)), np.zeros((2, 9)), coefficient=COEF, dc_weight=DC_W)
    with pytest.raises(InputError, match="max_steps"):
        net.loss_and_grad(np.zeros((2, 51)), np.zeros((2, 51)), coefficient=COEF,
                          dc_weight=DC_W)
    with pytest.raises(InputError, match="previous samples"):
        net.loss_and_grad(np.zeros((2, 5)), np.zeros((2, 5)), coefficient=COEF,
                          dc_weight=DC_W, previous=(np.zeros(3), np.zeros(3)))
    with pytest.raises(InputError, match="needs c"):
        net.set_state(np.zeros((1, 2, 4)))
    with pytest.raises(InputError, match="state must have shape"):
        net.set_state(np.zeros((1, 2, 5)), np.zeros((1, 2, 5)))
    with pytest.raises(InputError, match="params must have shape"):
        net.set_params(np.zeros(3))
    with pytest.raises(InputError, match="Dense"):
        NativeRecurrent(replace(spec, dense=(*spec.dense, DenseLayer(np.ones((1, 1)),
                                                                     np.zeros(1), "none"))))
    with pytest.raises(InputError, match="dtype"):
        NativeRecurrent(spec, dtype="float16")
    with pytest.raises(InputError, match="max_batch and max_steps"):
        NativeRecurrent(spec, max_batch=0)


_SMALL = RecurrentTrainConfig(segment_samples=2048, batch_size=8, warmup_samples=100,
                              tbptt_samples=500, max_epochs=10, max_seconds=None, patience=None,
                              val_window_samples=4096, val_burn_in_samples=512)


@pytest.fixture(scope="module")
def small_data():  # type: ignore[no-untyped-def]
    return prepare_recurrent_data(end_validated_pedal(), _SMALL)


def test_train_pack_native_lowers_validation_esr_and_repeats_bit_for_bit(small_data) -> None:  # type: ignore[no-untyped-def]
    archs = [RecurrentArchitecture.parse(t) for t in ("gru-6+skip", "lstm-2x4")]
    starts = [initial_spec(a, 0) for a in archs]
    done: list[str] = []
    epochs: list[int] = []
    runs = [train_pack_native(archs, starts, small_data, _SMALL, on_epoch=epochs.append,
                              on_done=lambda m: done.append(m.architecture.label))
            for _ in range(2)]
    assert done == [a.label for a in archs] * 2 and epochs == [1] * 40
    for first, second in zip(*runs, strict=True):
        assert first.stop_reason == "budget" and first.epochs == 10
        assert len(first.val_curve) == 11 and first.best_val < 0.5 * first.val_curve[0]
        assert first.val_curve == second.val_curve and first.train_esr == second.train_esr
        for a, b in zip(first.best_spec.rnn, second.best_spec.rnn, strict=True):
            np.testing.assert_array_equal(a.weight_hh, b.weight_hh)


def test_native_epoch_follows_the_torch_loop(small_data) -> None:  # type: ignore[no-untyped-def]
    """One epoch from the same start and shuffle: the validation ESR agrees with the torch
    loop's (both float32: the sums differ in rounding only)."""
    config = replace(_SMALL, max_epochs=1)
    arch = RecurrentArchitecture.parse("lstm-5")
    (native,) = train_pack_native([arch], [initial_spec(arch, 0)], small_data, config)
    (ref,) = train_pack([arch], [initial_spec(arch, 0)], small_data, config)
    assert native.val_curve[0] == pytest.approx(ref.val_curve[0], rel=1e-5)
    assert native.val_curve[1] == pytest.approx(ref.val_curve[1], rel=1e-5)
    assert native.train_esr == pytest.approx(ref.train_esr, rel=1e-5)


def test_train_pack_native_stops_at_target_and_checks_starts(small_data) -> None:  # type: ignore[no-untyped-def]
    arch = RecurrentArchitecture.parse("gru-3")
    (m,) = train_pack_native([arch], [initial_spec(arch, 0)], small_data, _SMALL,
                             target_esr=10.0)
    assert m.stop_reason == "target" and m.epochs == 0 and len(m.val_curve) == 1
    with pytest.raises(InputError, match="one start each"):
        train_pack_native([arch], [], small_data, _SMALL)
