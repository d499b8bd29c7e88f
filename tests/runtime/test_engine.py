"""The C++ engine computes the same function as a float64 torch reference, in both modes.

Stated tolerances (absolute, inputs in [-1, 1], torch default initialisation):
float32 1e-5 (activation approximations <= 2.4e-7 plus float32 rounding of the sums),
float64 1e-12.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vashrink import _engine
from vashrink.errors import InputError, ModelFormatError
from vashrink.model.architecture import ACTIVATIONS, Architecture
from vashrink.model.layers import DenseLayer
from vashrink.model.mlp import dense_layers
from vashrink.runtime.engine import Mlp, random_model
from vashrink.runtime.info import system_info

TOL = {"float32": 1e-5, "float64": 1e-12}
SHAPES = [(6, 44), (1, 1), (2, 8), (3, 9), (2, 17), (4, 64)]


def reference(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The model in float64 torch (the truth the engine is checked against)."""
    with torch.no_grad():
        m64 = model.to(torch.float64)
        out = m64(torch.as_tensor(x, dtype=torch.float64).reshape(len(x), -1))
    return out.numpy().reshape(len(x), -1)


def _grid(n: int = 997) -> np.ndarray:
    return np.linspace(-1.0, 1.0, n)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("depth", "width"), SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_equal_float64_torch_in_both_modes(
    activation: str, depth: int, width: int, dtype: str
) -> None:
    model = random_model(Architecture(depth, width, activation), seed=depth * 100 + width)
    mlp = Mlp.from_torch(model, dtype)
    x = _grid()
    ref = reference(model, x).ravel()
    assert np.max(np.abs(mlp.process_samples(x) - ref)) < TOL[dtype]
    assert np.max(np.abs(mlp.process_block(x, 64) - ref)) < TOL[dtype]


@pytest.mark.parametrize(("name", "exact"), [
    ("tanh", np.tanh),
    ("sigmoid", lambda v: 1.0 / (1.0 + np.exp(-v))),
    ("elu", lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0)))),
    ("relu", lambda v: np.maximum(v, 0)),
    ("none", lambda v: v),
])
def test_vector_activations_within_stated_error(name: str, exact: object) -> None:
    """tanh/sigmoid/elu approximations: float32 <= 2.4e-7 abs (a few ulp of 1), float64 <= 1e-15."""
    x = np.linspace(-20.0, 20.0, 200_001)
    f = exact  # type: ignore[assignment]
    x32 = x.astype(np.float32)
    err32 = np.max(np.abs(_engine.apply_activation_f32(name, x32) - f(x32.astype(np.float64))))
    err64 = np.max(np.abs(_engine.apply_activation_f64(name, x) - f(x)))
    assert err32 <= 2.4e-7
    assert err64 <= 1e-15


def test_tanh_is_odd_and_saturates_exactly() -> None:
    x = np.linspace(0.0, 30.0, 3001).astype(np.float32)
    y = _engine.apply_activation_f32("tanh", x)
    assert np.array_equal(_engine.apply_activation_f32("tanh", -x), -y)
    assert np.all(y[x >= 9.0] == np.float32(1.0))
    assert np.all(np.diff(y.astype(np.float64)) >= -1.2e-7)  # monotone up to one ulp


def test_prelu_uses_one_slope_per_unit() -> None:
    x = np.linspace(-3.0, 3.0, 61)
    y = _engine.apply_activation_f64("prelu", x, 0.25)
    assert np.allclose(y, np.where(x > 0, x, 0.25 * x), rtol=0, atol=1e-15)


def test_block_mode_does_not_depend_on_block_size() -> None:
    model = random_model(Architecture(3, 13, "tanh"), seed=3)
    mlp = Mlp.from_torch(model)
    x = np.linspace(-1.0, 1.0, 1001)
    per_sample = mlp.process_samples(x)
    for block_size in (1, 7, 64, 300, 5000):
        assert np.max(np.abs(mlp.process_block(x, block_size) - per_sample)) < 1e-6


def test_forward_is_one_sample_of_process_samples() -> None:
    mlp = Mlp.from_architecture(Architecture(2, 9, "elu"), seed=1)
    x = np.array([-0.7, 0.0, 0.31, 0.99], dtype=np.float32)
    assert [mlp.forward(float(v)) for v in x] == mlp.process_samples(x).tolist()


def test_several_inputs_and_outputs_with_softmax_head() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 10), nn.PReLU(10), nn.Linear(10, 9), nn.Sigmoid(),
                          nn.Linear(9, 4), nn.Softmax(dim=-1))
    mlp = Mlp.from_torch(model)
    x = np.random.default_rng(0).uniform(-1, 1, (333, 3))
    ref = reference(model, x)
    for out in (mlp.process_samples(x), mlp.process_block(x, 50)):
        assert out.shape == (333, 4)
        assert np.max(np.abs(out - ref)) < 1e-6
        assert np.allclose(out.sum(axis=1), 1.0, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    widths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 10_000),
)
def test_any_depth_and_width_matches_torch(widths: list[int], activation: str, seed: int) -> None:
    torch.manual_seed(seed)
    sizes = [1, *widths, 1]
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 and activation != "none":
            act = {"tanh": nn.Tanh(), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "elu": nn.ELU(),
                   "softmax": nn.Softmax(dim=-1), "prelu": nn.PReLU(sizes[i + 1])}[activation]
            layers.append(act)
    model = nn.Sequential(*layers)
    x = np.linspace(-1, 1, 101)
    ref = reference(model, x).ravel()
    mlp = Mlp.from_torch(model)
    assert np.max(np.abs(mlp.process_samples(x) - ref)) < 1e-5
    assert np.max(np.abs(mlp.process_block(x, 32) - ref)) < 1e-5


def _layers() -> list[DenseLayer]:
    return dense_layers(random_model(Architecture(2, 5, "tanh"), seed=0))


def test_mismatched_layer_sizes_are_refused() -> None:
    a, b, c = _layers()
    with pytest.raises(ModelFormatError, match="layer 2 expects 5 inputs but layer 1 gives 1"):
        Mlp.from_layers([a, c, b])


def test_bias_shape_is_checked() -> None:
    a, *_ = _layers()
    with pytest.raises(ModelFormatError, match="bias has shape"):
        Mlp.from_layers([DenseLayer(a.weight, a.bias[:3], "tanh")])


def test_non_finite_weights_are_refused() -> None:
    a, b, c = _layers()
    w = b.weight.copy()
    w[1, 2] = np.nan
    with pytest.raises(ModelFormatError, match="NaN or Inf"):
        Mlp.from_layers([a, DenseLayer(w, b.bias, "tanh"), c])


def test_weights_that_overflow_float32_are_refused() -> None:
    a, b, c = _layers()
    with pytest.raises(ModelFormatError, match="layer 1 has values beyond the float32 range"):
        Mlp.from_layers([a, DenseLayer(b.weight * 1e300, b.bias, "tanh"), c], dtype="float32")


def test_unknown_activation_is_refused() -> None:
    a, *_ = _layers()
    with pytest.raises(ModelFormatError, match="unknown activation 'gelu'"):
        Mlp.from_layers([DenseLayer(a.weight, a.bias, "gelu")])


def test_prelu_without_slopes_is_refused() -> None:
    a, *_ = _layers()
    with pytest.raises(ModelFormatError, match="PReLU needs 5 slopes"):
        Mlp.from_layers([DenseLayer(a.weight, a.bias, "prelu")])


def test_cpp_loader_validates_on_its_own() -> None:
    """The C++ load refuses bad models even when Python's checks are bypassed."""
    native = _engine.MlpF32()
    w = np.ones((4, 1), np.float32)
    b = np.zeros(4, np.float32)
    assert "expects 3 inputs but the previous layer gives 4" in native.load(
        [(w, b, "tanh", None), (np.ones((1, 3), np.float32), np.zeros(1, np.float32), "none", None)]
    )
    assert "unknown activation 'swish'" in native.load([(w, b, "swish", None)])
    w[2, 0] = np.inf
    assert "weight contains NaN or Inf" in native.load([(w, b, "tanh", None)])
    assert not native.loaded
    with pytest.raises(ValueError, match="no model is loaded"):
        native.process_samples(np.zeros(4, np.float32))


def test_unsupported_torch_modules_are_refused() -> None:
    with pytest.raises(ModelFormatError, match="GELU"):
        Mlp.from_torch(nn.Sequential(nn.Linear(1, 4), nn.GELU(), nn.Linear(4, 1)))


def test_bad_inputs_raise_input_errors() -> None:
    mlp = Mlp.from_architecture(Architecture(1, 4))
    with pytest.raises(InputError, match=r"shape \(3, 2\); this model takes \(n, 1\) or \(n,\)"):
        mlp.process_samples(np.zeros((3, 2)))
    with pytest.raises(InputError, match="block_size must be at least 1"):
        mlp.process_block(np.zeros(8), 0)
    with pytest.raises(InputError, match="array of numbers"):
        mlp.process_samples(["a", "b"])
    with pytest.raises(InputError, match="unknown dtype"):
        Mlp.from_architecture(Architecture(1, 4), dtype="float16")


def test_architecture_round_trips_and_lanes_follow_the_build() -> None:
    arch = Architecture(3, 12, "relu")
    mlp = Mlp.from_architecture(arch)
    assert mlp.architecture == arch
    info = system_info()
    assert mlp.lanes == info.float32_lanes
    assert Mlp.from_architecture(arch, dtype="float64").lanes == info.float64_lanes
    assert info.float32_lanes == (8 if info.kernels == "avx2-fma" else 4)


def test_processing_releases_the_gil() -> None:
    mlp = Mlp.from_architecture(Architecture(6, 44))
    buffer = np.zeros(48_000, np.float32)
    worker = threading.Thread(target=mlp.time_samples, args=(buffer, 4, 0))
    iterations = 0
    worker.start()
    while worker.is_alive():
        iterations += 1
    worker.join()
    assert iterations > 1000


def test_concurrent_calls_on_one_model_stay_correct() -> None:
    model = random_model(Architecture(3, 20, "tanh"), seed=2)
    mlp = Mlp.from_torch(model)
    x = np.linspace(-1, 1, 20_000)
    ref = reference(model, x).ravel()
    errors: list[float] = []

    def work() -> None:
        for _ in range(3):
            errors.append(float(np.max(np.abs(mlp.process_block(x, 128) - ref))))
            errors.append(float(np.max(np.abs(mlp.process_samples(x) - ref))))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 18
    assert max(errors) < 1e-5


@pytest.mark.slow
def test_compiled_header_model_equals_runtime_model() -> None:
    """The compile-time ModelT (through a generated header) computes what Model<T> computes."""
    from vashrink.formats.runners import compiled_runner

    model = random_model(Architecture(3, 20, "tanh"), seed=4)
    runner = compiled_runner(model)
    x = np.linspace(-1, 1, 501)
    ours = Mlp.from_torch(model).process_samples(x)
    theirs = runner.process(x.reshape(-1, 1)).ravel()
    assert np.max(np.abs(theirs - ours)) < 1e-6
