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
from vashrink.model.recurrent import RecurrentModel, StackedRnn
from vashrink.model.spec import ModelSpec, spec_of, spec_to_torch
from vashrink.runtime import RecurrentNet
from vashrink.runtime.native import engine
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


def make_stack(cells: tuple[str, ...], hiddens: tuple[int, ...], skip: bool, seed: int = 0,
               head: str = "tanh") -> ModelSpec:
    """A seeded stack of default-initialised torch layers: one multi-layer nn.GRU/nn.LSTM when
    uniform (as the trainer builds), else a StackedRnn of one-layer modules."""
    torch.manual_seed(seed)
    if len(set(cells)) == 1 and len(set(hiddens)) == 1:
        rnn: nn.Module = (nn.GRU if cells[0] == "gru" else nn.LSTM)(
            1, hiddens[0], num_layers=len(cells), batch_first=True)
    else:
        ins = (1, *hiddens[:-1])
        rnn = StackedRnn([(nn.GRU if c == "gru" else nn.LSTM)(i, h, batch_first=True)
                          for c, i, h in zip(cells, ins, hiddens, strict=True)])
    act = {"tanh": nn.Tanh(), "prelu": nn.PReLU(4)}[head]
    head_net = nn.Sequential(nn.Linear(hiddens[-1], 4), act, nn.Linear(4, 1))
    return spec_of(RecurrentModel(rnn, head_net, skip=skip))


STACKS = [
    (("gru", "gru"), (8, 8)),
    (("lstm", "lstm"), (8, 8)),
    (("gru", "lstm"), (8, 16)),
    (("lstm", "gru", "lstm"), (5, 13, 3)),
]


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize(("cells", "hiddens"), STACKS)
def test_stacks_stream_like_float64_torch(cells: tuple[str, ...], hiddens: tuple[int, ...],
                                          skip: bool) -> None:
    spec = make_stack(cells, hiddens, skip, seed=sum(hiddens), head="prelu" if skip else "tanh")
    torch_rnn = spec_to_torch(spec, torch.float64).rnn
    uniform = len(set(cells)) == 1 and len(set(hiddens)) == 1
    assert isinstance(torch_rnn, StackedRnn) != uniform  # both torch forms are covered
    x = signal()
    y_ref = reference(spec, x)
    scale = max(1.0, float(np.max(np.abs(y_ref))))
    for dtype in ("float32", "float64"):
        net = RecurrentNet.from_spec(spec, dtype)
        assert (net.n_layers, net.cells, net.hidden_sizes) == (len(cells), cells, hiddens)
        assert (net.cell, net.hidden_size, net.skip) == (cells[0], hiddens[-1], skip)
        err = float(np.max(np.abs(stream(net, x) - y_ref)))
        assert err <= TOL[dtype] * scale, (dtype, err)


def test_stack_reset_zeroes_every_layer() -> None:
    spec = make_stack(("gru", "lstm"), (8, 16), True)
    x = signal(2_000)
    net = RecurrentNet.from_spec(spec, "float64")
    assert repr(net) == "RecurrentNet(gru-8-lstm-16+skip -> 4-1, float64)"
    first = net.process_samples(x)
    net.process_samples(signal(777, seed=9))  # a reset of the last layer only would show
    net.reset()
    np.testing.assert_array_equal(net.process_samples(x), first)
    net.time_samples(x, repeats=2, warmup=1)  # timing leaves the net reset
    np.testing.assert_array_equal(net.process_samples(x), first)
    chunked = RecurrentNet.from_spec(spec, "float64")
    pieces = [chunked.process_samples(x[a:b]) for a, b in ((0, 1), (1, 999), (999, 2_000))]
    np.testing.assert_array_equal(np.concatenate(pieces), first)


def _unchecked_spec(
    rnn: tuple[GruLayer | LstmLayer, ...], dense: tuple[DenseLayer, ...]
) -> ModelSpec:
    """A ModelSpec built without its own checks (as a buggy reader might), for the engine's."""
    spec = object.__new__(ModelSpec)
    for name, value in (("rnn", rnn), ("dense", dense), ("skip", False)):
        object.__setattr__(spec, name, value)
    return spec


def _gru_on(inputs: int, hidden: int = 4) -> GruLayer:
    rng = np.random.default_rng(inputs)
    return _gru(hidden, weight_ih=rng.uniform(-0.5, 0.5, (3 * hidden, inputs)))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_unchecked_spec((_gru(), _gru_on(5)), _head()),
         r"recurrent layer 1 \(GRU\) takes 5 inputs but recurrent layer 0 \(GRU\) gives 4"),
        (_unchecked_spec((_gru(),) + (_gru_on(4),) * 8, _head()),
         "stacks 9 recurrent layers; the engine runs 1 to 8"),
        (ModelSpec((_gru(), _gru_on(4, 6)), _head()),
         r"layer 2 takes 4 inputs but the last GRU \(recurrent layer 1\) gives 6"),
        (ModelSpec((_gru(), _gru(weight_ih=np.zeros((12, 4)), weight_hh=np.full((12, 4), np.inf))),
                   _head()),
         r"recurrent layer 1 \(GRU\) contains NaN or Inf"),
        (ModelSpec((_gru(), LstmLayer(np.zeros((8, 4)), np.zeros((8, 2)), np.zeros(7))),
                   _head(2)),
         r"recurrent layer 1 \(LSTM\) bias has shape \(7,\)"),
        (ModelSpec((_gru(), _gru(weight_ih=np.zeros((12, 4)), bias_ih=np.full(12, 1e300))),
                   _head()),
         r"recurrent layer 1 \(GRU\) has values beyond the float32 range"),
    ],
)
def test_bad_stacks_are_refused_naming_the_layer(spec: ModelSpec, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        RecurrentNet.from_spec(spec)


def test_the_engine_itself_refuses_bad_stacks() -> None:
    """The C++ loader checks again what Python checked (for callers of the binding)."""
    native = engine().RecurrentF64()
    good = _gru()
    layer = ("gru", good.weight_ih, good.weight_hh, good.bias_ih, good.bias_hh)
    deeper = ("gru", np.zeros((12, 4)), good.weight_hh, good.bias_ih, good.bias_hh)
    head = [(np.full((1, 4), 0.1), np.zeros(1), "none", None)]
    assert native.load_stack([layer, deeper], head, False) == ""
    assert (native.n_recurrent, native.cells, native.hidden_sizes) == (2, ["gru", "gru"], [4, 4])
    assert native.load_stack([layer, layer], head, False) == (
        "recurrent layer 1: expects 1 inputs but recurrent layer 0 (GRU) gives 4")
    assert not native.loaded and native.n_recurrent == 0
    assert native.load_stack([layer] + [deeper] * 8, head, False) == (
        "9 recurrent layers; at most 8 are supported")
    bad = ("lstm", np.zeros((16, 4)), np.zeros((16, 4)), np.full(16, np.nan), None)
    assert native.load_stack([layer, bad], head, False) == (
        "recurrent layer 1: LSTM: bias contains NaN or Inf")
    assert native.load_stack([layer, deeper], [(np.full((1, 3), 0.1), np.zeros(1), "none", None)],
                             False).startswith("dense layer 0: expects 3 inputs but the last GRU")
