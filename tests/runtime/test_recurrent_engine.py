"""GRU/LSTM models in the C++ engine stream the same function as a float64 torch reference.

The reference is ``spec_to_torch(spec, torch.float64)`` run on the whole sequence at once (a
zero initial state, as a plugin starts); the engine gets the same samples one ``forward`` at a
time, in chunks, with its state carried across calls. 48,000 samples of the capture test
signal's kind of input (uniform noise in [-1, 1], the worst case for the state's range).

Tolerances, absolute, scaled by the signal level ``max(1, max |y|)``:

- float64: 1e-10 (measured 6e-17 to 2.2e-16: only the order of the sums differs);
- float32: 2e-5. Derivation: each step adds to the state at most the activation error
  (<= 2.4e-7, sigmoid/tanh in vmath.h) plus the float32 rounding of a gate's sum of H + 1
  products (<= (H + 1) * 2^-24 * sum |w h| ~ 41 * 6e-8 * 1 = 2.4e-6 for H = 40, |w| <= 1/sqrt(H));
  a trained or default-initialised net is contracting in its state (the gates damp old state),
  so the error does not grow with time but settles near the per-step error divided by the
  contraction margin; the head adds its own rounding (< 1e-6). 2e-5 is about 10x the per-step
  bound for H = 40 and leaves room for a contraction margin of 0.1; measured: 2.6e-8 to 1.4e-7.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vashrink.errors import InputError, ModelFormatError
from vashrink.model.layers import DenseLayer, GruLayer, LstmLayer
from vashrink.model.recurrent import RecurrentModel
from vashrink.model.spec import ModelSpec, spec_of, spec_to_torch
from vashrink.runtime import RecurrentNet
from vashrink.runtime.timing import time_model

N = 48_000
TOL = {"float32": 2e-5, "float64": 1e-10}
HEADS = ("none", "tanh", "relu", "sigmoid", "elu", "prelu")


def make_spec(cell: str, hidden: int, skip: bool, head: str, seed: int = 0,
              in_size: int = 1, out_size: int = 1) -> ModelSpec:
    """A default-initialised torch model (seeded) with a head using activation ``head``."""
    torch.manual_seed(seed)
    rnn = (nn.GRU if cell == "gru" else nn.LSTM)(in_size, hidden, batch_first=True)
    if head == "none":
        layers: list[nn.Module] = [nn.Linear(hidden, out_size)]
    else:
        act = {"tanh": nn.Tanh(), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "elu": nn.ELU(),
               "prelu": nn.PReLU(5)}[head]
        layers = [nn.Linear(hidden, 5), act, nn.Linear(5, out_size)]
    return spec_of(RecurrentModel(rnn, nn.Sequential(*layers), skip=skip))


def reference(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """The float64 torch model on the whole sequence: [n] or [n, in] -> [n, out].

    The head runs on [n, hidden] (nn.PReLU's channels are dim 1, which in RecurrentModel's
    [batch, time, features] would be time).
    """
    model = spec_to_torch(spec, torch.float64)
    assert isinstance(model, RecurrentModel)
    xt = torch.as_tensor(x, dtype=torch.float64).reshape(1, len(x), -1)
    with torch.no_grad():
        h, _ = model.rnn(xt)
        y = model.head(h[0])
        if model.skip:
            y = y + xt[0]
        return y.numpy().reshape(len(x), -1)


def signal(n: int = N, seed: int = 1, channels: int = 1) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, channels))
    return x.reshape(-1) if channels == 1 else x


def stream(net: RecurrentNet, x: np.ndarray, chunk: int = 4_801) -> np.ndarray:
    parts = [net.process_samples(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    return np.concatenate(parts).reshape(len(x), -1)


CASES = [
    (cell, hidden, skip, HEADS[k % len(HEADS)])
    for k, (cell, hidden, skip) in enumerate(
        (c, h, s) for c in ("gru", "lstm") for h in (1, 3, 8, 13, 40) for s in (False, True)
    )
]


@pytest.mark.parametrize(("cell", "hidden", "skip", "head"), CASES)
def test_streaming_matches_float64_torch(cell: str, hidden: int, skip: bool, head: str) -> None:
    spec = make_spec(cell, hidden, skip, head, seed=hidden)
    x = signal()
    y_ref = reference(spec, x)
    scale = max(1.0, float(np.max(np.abs(y_ref))))
    for dtype in ("float32", "float64"):
        net = RecurrentNet.from_spec(spec, dtype)
        assert (net.cell, net.hidden_size, net.skip, net.dtype) == (cell, hidden, skip, dtype)
        err = float(np.max(np.abs(stream(net, x) - y_ref)))
        assert err <= TOL[dtype] * scale, (dtype, err)


def test_several_inputs_and_outputs_match_torch() -> None:
    spec = make_spec("lstm", 6, False, "tanh", in_size=3, out_size=2)
    x = signal(5_000, channels=3)
    for dtype in ("float32", "float64"):
        net = RecurrentNet.from_spec(spec, dtype)
        assert (net.in_size, net.out_size) == (3, 2)
        y = net.process_samples(x)
        assert y.shape == (5_000, 2)
        assert np.max(np.abs(y - reference(spec, x))) <= TOL[dtype]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_chunks_equal_one_call_and_forward_loop(cell: str) -> None:
    spec = make_spec(cell, 13, True, "tanh")
    x = signal(3_000)
    whole = RecurrentNet.from_spec(spec).process_samples(x)
    chunked = RecurrentNet.from_spec(spec)
    cuts = ((0, 1), (1, 700), (700, 701), (701, 3_000))
    pieces = [chunked.process_samples(x[a:b]) for a, b in cuts]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    one = RecurrentNet.from_spec(spec)
    looped = np.array([one.forward(v) for v in x[:300]], np.float32)
    np.testing.assert_array_equal(looped, whole[:300])


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_reset_restores_the_zero_state(cell: str) -> None:
    spec = make_spec(cell, 8, False, "none")
    x = signal(2_000)
    net = RecurrentNet.from_spec(spec, "float64")
    first = net.process_samples(x)
    second = net.process_samples(x)
    assert not np.array_equal(first, second)  # the state carried over
    net.reset()
    np.testing.assert_array_equal(net.process_samples(x), first)
    net.time_samples(x, repeats=2, warmup=1)  # timing leaves the net reset
    np.testing.assert_array_equal(net.process_samples(x), first)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_nan_input_poisons_the_state_until_reset(cell: str) -> None:
    spec = make_spec(cell, 13, True, "tanh")
    x = signal(500)
    clean = RecurrentNet.from_spec(spec).process_samples(x)
    net = RecurrentNet.from_spec(spec)
    x_bad = x.copy()
    x_bad[100] = np.nan
    y = net.process_samples(x_bad)
    np.testing.assert_array_equal(y[:100], clean[:100])
    assert np.isnan(y[100:]).all()  # the state is NaN from then on
    assert np.isnan(reference(spec, x_bad).reshape(-1)[100:]).all()  # as in torch
    net.reset()
    np.testing.assert_array_equal(net.process_samples(x), clean)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_infinite_input_saturates_the_gates_as_torch_does(cell: str) -> None:
    spec = make_spec(cell, 13, True, "tanh")
    x = signal(500)
    x[100], x[300] = np.inf, -np.inf
    y_ref = reference(spec, x).reshape(-1)
    for dtype in ("float32", "float64"):
        y = RecurrentNet.from_spec(spec, dtype).process_samples(x)
        assert y[100] == np.inf and y[300] == -np.inf  # the skip adds the input itself
        finite = np.isfinite(y_ref)
        np.testing.assert_array_equal(np.isfinite(y), finite)
        assert np.max(np.abs(y[finite] - y_ref[finite])) <= TOL[dtype]


def _gru(hidden: int = 4, **changes: np.ndarray) -> GruLayer:
    rng = np.random.default_rng(0)
    arrays = {
        "weight_ih": rng.uniform(-0.5, 0.5, (3 * hidden, 1)),
        "weight_hh": rng.uniform(-0.5, 0.5, (3 * hidden, hidden)),
        "bias_ih": rng.uniform(-0.5, 0.5, 3 * hidden),
        "bias_hh": rng.uniform(-0.5, 0.5, 3 * hidden),
    }
    arrays.update(changes)
    return GruLayer(**arrays)


def _head(inputs: int = 4) -> tuple[DenseLayer, ...]:
    return (DenseLayer(np.full((1, inputs), 0.1), np.zeros(1), "none"),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelSpec((), _head(1)), "no GRU/LSTM layer"),
        (ModelSpec((_gru(),), _head(5)), "layer 1 takes 5 inputs but the GRU gives 4"),
        (ModelSpec((_gru(),), ()), "at least one dense layer"),
        (ModelSpec((_gru(weight_hh=np.full((12, 4), np.nan)),), _head()), "NaN or Inf"),
        (ModelSpec((_gru(weight_hh=np.zeros((11, 4))),), _head()), "weight_hh has shape"),
        (ModelSpec((_gru(bias_hh=np.zeros(5)),), _head()), "bias has shape"),
        (ModelSpec((_gru(bias_ih=np.full(12, 1e300)),), _head()), "beyond the float32 range"),
        (
            ModelSpec((LstmLayer(np.zeros((8, 1)), np.zeros((8, 2)), np.zeros(8)),),
                      (DenseLayer(np.zeros((1, 2)), np.zeros(1), "swish"),)),
            "unknown activation 'swish'",
        ),
    ],
)
def test_bad_specs_are_refused_with_a_clear_error(spec: ModelSpec, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        RecurrentNet.from_spec(spec)


def test_bad_dtype_and_inputs_are_input_errors() -> None:
    spec = make_spec("gru", 3, False, "none")
    with pytest.raises(InputError, match="unknown dtype"):
        RecurrentNet.from_spec(spec, "float16")
    net = RecurrentNet.from_spec(spec)
    with pytest.raises(InputError, match="this model takes"):
        net.process_samples(np.zeros((4, 2)))
    with pytest.raises(InputError, match="block_size must be at least 1"):
        net.time_blocks(np.zeros(8), 0, 1, 0)
    with pytest.raises(InputError, match="repeats"):
        net.time_samples(np.zeros(8), 0, 0)


def test_time_model_times_recurrent_nets_specs_and_torch_models() -> None:
    spec = make_spec("lstm", 8, True, "tanh")
    net = RecurrentNet.from_spec(spec)
    assert net.lanes in (4, 8) and repr(net) == "RecurrentNet(lstm-8+skip -> 5-1, float32)"
    for model in (net, spec, spec_to_torch(spec)):
        timings = time_model(model, block_sizes=(64,), repeats=2, buffer_samples=2_000)
        assert [(t.mode, t.block_size) for t in timings] == [("sample", 1), ("block", 64)]
        assert all(t.ns_per_sample > 0 and t.repeats == 2 for t in timings)
