"""The optional RTNeural backend: RTNeural's own parser and run-time Model<float> on our exports.

Needs the extension built with ``RTNEURAL_DIR`` (third_party/README.md); otherwise these tests
skip with that reason, and only the "unavailable" behaviour is checked. Tolerances: float32
RTNeural against a float64 torch reference, 2e-5 absolute for MLPs on [-1, 1] (float32 rounding
through up to 8 layers; a transposed square kernel is off by ~0.1) and 5e-5 for 256 recurrent
steps.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from vashrink.errors import EngineError, InputError, ModelFormatError
from vashrink.formats import (
    RecurrentModel,
    check_rtneural,
    load_rtneural,
    read_snapshot,
    snapshot_path,
    to_rtneural,
)
from vashrink.formats.cpp import cpp_header
from vashrink.formats.reference import reference_forward
from vashrink.formats.runners import check_rtneural_file, compiled_runner, rtneural_runner
from vashrink.model.architecture import Architecture
from vashrink.model.mlp import build_mlp
from vashrink.runtime import rtneural_backend as rtneural
from vashrink.runtime.compiled import rtneural_flags

needs_rtneural = pytest.mark.skipif(not rtneural.available(), reason=rtneural.why_unavailable())

MLP_ATOL = 2e-5
RNN_ATOL = 5e-5


def _seed_mlp(arch: Architecture, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    model = build_mlp(arch)
    for module in model:
        if isinstance(module, nn.PReLU):
            with torch.no_grad():
                module.weight.uniform_(0.05, 0.5)
    return model.eval()


def _mlp_reference(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    net = copy.deepcopy(model).double()
    with torch.no_grad():
        out: np.ndarray = net(torch.tensor(x[:, None], dtype=torch.float64))[:, 0].numpy()
    return out


def _rnn_reference(model: RecurrentModel, x: np.ndarray) -> np.ndarray:
    net = copy.deepcopy(model).double()
    with torch.no_grad():
        out: np.ndarray = net(torch.tensor(x[None, :, None], dtype=torch.float64))[0, :, 0].numpy()
    return out


def _recurrent(kind: str, hidden: int, seed: int) -> RecurrentModel:
    torch.manual_seed(seed)
    rnn: nn.GRU | nn.LSTM = (nn.GRU if kind == "gru" else nn.LSTM)(1, hidden, batch_first=True)
    head = nn.Sequential(nn.Linear(hidden, 8), nn.Tanh(), nn.Linear(8, 1))
    return RecurrentModel(rnn, head).eval()


def _doc(n_hidden: int = 3) -> dict[str, Any]:
    """A small valid document written by hand, for mutating."""
    rng = np.random.default_rng(1)
    return {
        "in_shape": [None, 1],
        "layers": [
            {
                "type": "dense",
                "activation": "tanh",
                "shape": [None, n_hidden],
                "weights": [
                    rng.normal(size=(1, n_hidden)).tolist(),
                    rng.normal(size=n_hidden).tolist(),
                ],
            },
            {
                "type": "dense",
                "activation": "",
                "shape": [None, 1],
                "weights": [rng.normal(size=(n_hidden, 1)).tolist(), [0.1]],
            },
        ],
    }


def test_without_rtneural_loading_says_how_to_build() -> None:
    if rtneural.available():
        pytest.skip("this build wraps RTNeural")
    assert "RTNEURAL_DIR" in rtneural.why_unavailable()
    assert rtneural.backend_name() == ""
    with pytest.raises(EngineError, match="RTNEURAL_DIR"):
        rtneural.RTNeuralModel.from_json(json.dumps(_doc()))


@needs_rtneural
def test_available_build_reports_its_backend() -> None:
    assert rtneural.why_unavailable() == ""
    assert rtneural.backend_name() in ("eigen", "xsimd", "stl")


@needs_rtneural
@pytest.mark.parametrize(
    ("depth", "width", "activation"),
    [
        (1, 4, "tanh"),
        (2, 8, "tanh"),
        (3, 16, "tanh"),
        (6, 44, "tanh"),
        (8, 24, "tanh"),
        (3, 13, "relu"),
        (2, 7, "sigmoid"),
        (3, 9, "elu"),
        (2, 6, "softmax"),
        (3, 10, "prelu"),
        (2, 5, "none"),
    ],
)
def test_mlp_export_runs_in_rtneural_like_torch(
    tmp_path: Path, depth: int, width: int, activation: str
) -> None:
    model = _seed_mlp(Architecture(depth, width, activation), seed=depth * 100 + width)
    path = to_rtneural(model, tmp_path / "mlp.json")
    rt = rtneural.RTNeuralModel.from_json(path)
    x = np.linspace(-1.0, 1.0, 513)
    expected = _mlp_reference(model, x)
    np.testing.assert_allclose(rt.process_samples(x), expected, rtol=0, atol=MLP_ATOL)
    assert rt.forward(0.25) == pytest.approx(
        float(_mlp_reference(model, np.array([0.25]))[0]), abs=MLP_ATOL
    )


@needs_rtneural
def test_square_kernel_in_torch_layout_is_caught_by_the_snapshot(tmp_path: Path) -> None:
    model = _seed_mlp(Architecture(3, 12, "tanh"), seed=5)
    path = to_rtneural(model, tmp_path / "square.json")
    doc = json.loads(path.read_text())
    kernel = np.array(doc["layers"][1]["weights"][0])
    assert kernel.shape == (12, 12)
    doc["layers"][1]["weights"][0] = kernel.T.tolist()
    path.write_text(json.dumps(doc))

    snap = read_snapshot(snapshot_path(path))
    unchecked = rtneural.RTNeuralModel.from_json(path)  # structural validation only
    assert not snap.matches(unchecked.process_samples(snap.inputs[:, 0]))
    with pytest.raises(ModelFormatError, match="snapshot"):
        rtneural.RTNeuralModel.from_json(path, check=check_rtneural_file)
    with pytest.raises(ModelFormatError, match="snapshot"):
        rtneural_runner(path)


@needs_rtneural
@pytest.mark.parametrize(("kind", "hidden"), [("gru", 8), ("gru", 16), ("lstm", 8), ("lstm", 12)])
def test_recurrent_export_runs_in_rtneural_like_torch(
    tmp_path: Path, kind: str, hidden: int
) -> None:
    model = _recurrent(kind, hidden, seed=hidden)
    path = to_rtneural(model, tmp_path / f"{kind}.json")
    rt = rtneural.RTNeuralModel.from_json(path)
    t = np.arange(256)
    x = 0.7 * np.sin(2 * np.pi * t / 37.0) + 0.2 * np.cos(2 * np.pi * t / 11.0)
    expected = _rnn_reference(model, x)
    np.testing.assert_allclose(rt.process_samples(x), expected, rtol=0, atol=RNN_ATOL)


@needs_rtneural
def test_reset_clears_recurrent_state(tmp_path: Path) -> None:
    rt = rtneural.RTNeuralModel.from_json(to_rtneural(_recurrent("gru", 8, 3), tmp_path / "g.json"))
    x = np.full(64, 0.5)
    first = rt.process_samples(x)
    carried = rt.process_samples(x)
    rt.reset()
    again = rt.process_samples(x)
    np.testing.assert_array_equal(first, again)
    assert np.max(np.abs(first - carried)) > 1e-4


@needs_rtneural
@pytest.mark.parametrize(
    "model",
    [
        pytest.param(lambda: _seed_mlp(Architecture(6, 44, "tanh"), 1), id="mlp-6x44"),
        pytest.param(lambda: _seed_mlp(Architecture(2, 8, "prelu"), 2), id="mlp-2x8-prelu"),
        pytest.param(lambda: _recurrent("gru", 12, 4), id="gru-12"),
        pytest.param(lambda: _recurrent("lstm", 10, 5), id="lstm-10"),
    ],
)
def test_rtneural_parser_reproduces_the_export_snapshot(tmp_path: Path, model: Any) -> None:
    path = to_rtneural(model(), tmp_path / "model.json")
    snap = read_snapshot(snapshot_path(path))
    rt = rtneural.RTNeuralModel.from_json(path)
    rt.reset()
    actual = rt.process_samples(snap.inputs[:, 0])
    assert snap.matches(actual), f"max |error| {snap.max_abs_error(actual):.3g}"


def _set(path: list[Any], value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return mutate


_DELETE = object()
_L0, _L1 = ["layers", 0], ["layers", 1]

BAD_DOCUMENTS = {
    "linear-activation": (_set([*_L0, "activation"], "linear"), r'activation "linear"'),
    "leaky-relu-activation": (_set([*_L0, "activation"], "leaky_relu"), r"leaky_relu"),
    "wrongly-cased-type": (_set([*_L0, "type"], "Dense"), r"layer 0 \(Dense\): unknown type"),
    "unknown-type": (_set([*_L1, "type"], "gru2"), r"unknown type"),
    "shape-missing": (_set([*_L1, "shape"], _DELETE), r'missing "shape"'),
    "shape-not-matching-weights": (
        _set([*_L0, "shape"], [None, 4]),
        r"kernel row 0 must be a list of 4",
    ),
    "torch-layout-kernel": (
        _set([*_L1, "weights", 0], [[0.1, 0.2, 0.3]]),
        r"kernel has shape \[1\]\[3\], the PyTorch",
    ),
    "short-bias": (_set([*_L0, "weights", 1], [0.0]), r"bias must be a list of 3 numbers"),
    "weights-missing": (_set([*_L0, "weights"], _DELETE), r'missing "weights"'),
    "string-weight": (_set([*_L1, "weights", 1], ["0.1"]), r"where a number was expected"),
    "float32-overflow": (_set([*_L1, "weights", 1], [1e300]), r"not a finite float32"),
    # RTNeural sizes a layer with a 4-entry shape shape[2] * shape[3]: 9 here, not 3
    "four-entry-shape": (_set([*_L0, "shape"], [None, None, 3, 3]), r"row 0 must be a list of 9"),
    "four-entry-shape-null": (_set([*_L0, "shape"], [None, None, None, 3]), r"entry 2 must be"),
    "four-entry-in-shape": (_set(["in_shape"], [None, None, 1, 2]), r"takes 2 inputs"),
    "four-entry-in-shape-null": (_set(["in_shape"], [None, None, None, 1]), r"entry 2 must be"),
    "dense-three-arrays": (
        lambda d: d["layers"][0]["weights"].append([0.0] * 3),
        r"\[kernel, bias\] or \[kernel\]",
    ),
    "batchnorm-without-epsilon": (
        lambda d: d["layers"].insert(
            1, {"type": "batchnorm", "shape": [None, 3], "weights": [[0.0] * 3, [1.0] * 3]}
        ),
        r'numeric "epsilon"',
    ),
    "batchnorm-zero-variance": (
        lambda d: d["layers"].insert(
            1,
            {"type": "batchnorm", "shape": [None, 3], "epsilon": 0, "weights": [[0.0] * 3] * 2},
        ),
        r"running_var \+ epsilon must be positive",
    ),
    "conv1d": (
        lambda d: d["layers"].insert(1, {"type": "conv1d", "shape": [None, 3], "weights": []}),
        r"not supported by vashrink's RTNeural wrapper",
    ),
    "absurd-size": (_set([*_L0, "shape"], [None, 10**9]), r"outside 1\.\.65536"),
    "negative-size": (_set([*_L0, "shape"], [None, -3]), r"outside"),
    "two-inputs": (_set(["in_shape"], [None, 2]), r"takes 2 inputs"),
    "no-layers": (_set(["layers"], []), r"non-empty list"),
    "in-shape-missing": (_set(["in_shape"], _DELETE), r'missing "in_shape"'),
    "activation-layer-wrong-size": (
        lambda d: d["layers"].insert(
            1, {"type": "activation", "activation": "tanh", "shape": [None, 5]}
        ),
        r"must equal its input size 3",
    ),
    "prelu-slope-count": (
        lambda d: d["layers"].insert(
            1, {"type": "prelu", "shape": [None, 3], "weights": [[[0.1, 0.2]]]}
        ),
        r"needs 1 or 3 slopes",
    ),
    "gru-bias-one-row": (
        lambda d: d["layers"].insert(
            1,
            {
                "type": "gru",
                "shape": [None, None, 3],
                "weights": [[[0.0] * 9] * 3, [[0.0] * 9] * 3, [[0.0] * 9]],
            },
        ),
        r"bias must have 2 rows",
    ),
    "two-outputs": (_set([*_L1, "shape"], [None, 2]), r"must be a list of 2"),
}


@needs_rtneural
@pytest.mark.parametrize("case", sorted(BAD_DOCUMENTS))
def test_bad_document_is_refused_before_rtneural_sees_it(case: str) -> None:
    mutate, message = BAD_DOCUMENTS[case]
    doc = _doc()
    mutate(doc)
    with pytest.raises(ModelFormatError, match=message):
        rtneural.RTNeuralModel.from_json(json.dumps(doc))


@needs_rtneural
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"in_shape": [null, 1], "layers": [{"type": "dense", "weights": [[[NaN]], [0]]}]}',
            "not valid JSON",
        ),
        (json.dumps(_doc())[:-7], "not valid JSON"),
        ("{" + '"a": [' * 5000 + "1" + "]" * 5000 + "}", "nested deeper"),
        ('{"in_shape": [null, 1], "layers": "dense"}', "non-empty list"),
        ("{}", 'missing "in_shape"'),
    ],
    ids=["nan-literal", "truncated", "deeply-nested", "layers-not-a-list", "empty-object"],
)
def test_malformed_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        rtneural.RTNeuralModel.from_json(text)


@needs_rtneural
def test_bad_file_is_refused_by_the_checker_with_its_finding(tmp_path: Path) -> None:
    doc = _doc()
    doc["layers"][0]["activation"] = "linear"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match=r"bad\.json: .*linear.*vashrink check"):
        rtneural.RTNeuralModel.from_json(path, check=check_rtneural_file)


@needs_rtneural
def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read RTNeural model"):
        rtneural.RTNeuralModel.from_json(tmp_path / "absent.json")


_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "tanh", "linear", "dense", "gru", "lstm", "prelu", "activation", "Dense", "batchnorm"]
    ),
)


@needs_rtneural
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_documents_never_crash_the_loader(data: st.DataObject) -> None:
    doc: Any = _doc(n_hidden=data.draw(st.integers(1, 4)))
    for _ in range(data.draw(st.integers(1, 4))):
        node = doc
        while isinstance(node, dict | list) and node and data.draw(st.booleans()):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            child = node[data.draw(st.sampled_from(keys))]
            if not isinstance(child, dict | list):
                break
            node = child
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            action = data.draw(st.sampled_from(["delete", "replace"]))
            if action == "delete":
                del node[key]
            else:
                node[key] = data.draw(st.one_of(_JSON_LEAVES, st.lists(_JSON_LEAVES, max_size=4)))
        elif isinstance(node, list) and node:
            index = data.draw(st.integers(0, len(node) - 1))
            node[index] = data.draw(st.one_of(_JSON_LEAVES, st.lists(_JSON_LEAVES, max_size=4)))
    text = json.dumps(doc)
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    try:
        rt = rtneural.RTNeuralModel.from_json(text)
    except ModelFormatError:
        return
    out = rt.process_samples(np.linspace(-1.0, 1.0, 16))
    assert out.shape == (16,)


@needs_rtneural
def test_timing_loops_return_seconds_per_repeat(tmp_path: Path) -> None:
    rt = rtneural.RTNeuralModel.from_json(
        to_rtneural(_seed_mlp(Architecture(2, 8), 9), tmp_path / "t.json")
    )
    buffer = np.random.default_rng(0).uniform(-1, 1, 4800).astype(np.float32)
    samples = rt.time_samples(buffer, repeats=3, warmup=1)
    blocks = rt.time_blocks(buffer, block_size=64, repeats=4, warmup=0)
    assert len(samples) == 3 and len(blocks) == 4
    assert all(0.0 < s < 10.0 for s in samples + blocks)
    with pytest.raises(InputError, match="repeats"):
        rt.time_samples(buffer, repeats=0, warmup=1)
    with pytest.raises(InputError, match="block_size"):
        rt.time_blocks(buffer, block_size=0, repeats=1, warmup=0)
    with pytest.raises(InputError, match="1-D"):
        rt.time_samples(buffer.reshape(2, -1), repeats=1, warmup=0)
    with pytest.raises(InputError, match="array of numbers"):
        rt.process_samples(["one", "two"])


@needs_rtneural
def test_rtneural_matches_vashrink_engine_on_the_same_weights(tmp_path: Path) -> None:
    engine = pytest.importorskip("vashrink.runtime.engine", reason="the engine is not built yet")
    model = _seed_mlp(Architecture(6, 44, "tanh"), 11)
    rt = rtneural.RTNeuralModel.from_json(to_rtneural(model, tmp_path / "m.json"))
    ours = engine.Mlp.from_torch(model, dtype="float32")
    x = np.linspace(-1.0, 1.0, 1001)
    np.testing.assert_allclose(
        rt.process_samples(x), ours.process_samples(x), rtol=0, atol=2 * MLP_ATOL
    )


# --- what `vashrink check` accepts, the wrapper loads, and RTNeural computes as the reference ---


def _write(path: Path, doc: dict[str, Any], bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(doc).encode())
    return path


def _no_bias(doc: dict[str, Any]) -> None:
    del doc["layers"][1]["weights"][1]


def _batchnorm(affine: bool) -> Any:
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(0.5, 2, 3), rng.normal(size=3), rng.normal(size=3)]
    arrays.append(rng.uniform(0.2, 2, 3))
    layer = {
        "type": "batchnorm",
        "shape": [None, 3],
        "epsilon": 1e-3,
        "weights": [a.tolist() for a in (arrays if affine else arrays[2:])],
    }
    return lambda d: d["layers"].insert(1, layer)


ACCEPTED = {
    "dense-without-bias": _no_bias,
    "four-entry-shape": _set([*_L0, "shape"], [None, None, 1, 3]),  # 1 x 3 = 3 units
    "four-entry-in-shape": _set(["in_shape"], [None, None, 1, 1]),
    "batchnorm-affine": _batchnorm(True),
    "batchnorm-not-affine": _batchnorm(False),
    "activation-layer": lambda d: d["layers"].insert(
        1, {"type": "activation", "activation": "relu", "shape": [None, 3], "weights": []}
    ),
    "utf8-bom": lambda d: None,
}


@needs_rtneural
@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_what_check_accepts_rtneural_loads_and_computes_like_the_reference(
    tmp_path: Path, case: str
) -> None:
    doc = _doc()
    ACCEPTED[case](doc)
    path = _write(tmp_path / "m.json", doc, bom=case == "utf8-bom")
    assert check_rtneural(path).status == "valid", check_rtneural(path).lines()
    rt = rtneural_runner(path)  # vashrink check, then RTNeural's parser
    x = np.linspace(-1.0, 1.0, 65)
    expected = reference_forward(load_rtneural(path), x[:, None])[:, 0]
    np.testing.assert_allclose(rt.process_samples(x), expected, rtol=0, atol=MLP_ATOL)


@needs_rtneural
def test_rtneurals_own_bias_less_dense_model_loads_in_the_wrapper() -> None:
    root = Path(os.environ.get("RTNEURAL_DIR", "/nonexistent"))
    path = root / "models" / "dense.json"
    if not path.is_file():
        pytest.skip("set RTNEURAL_DIR to the RTNeural checkout to load its models/dense.json")
    doc = json.loads(path.read_text())
    assert any(len(layer["weights"]) == 1 for layer in doc["layers"] if layer["type"] == "dense")
    assert check_rtneural(path).valid
    rt = rtneural_runner(path)
    x = np.loadtxt(root / "test_data" / "dense_x_python.csv")
    y = np.loadtxt(root / "test_data" / "dense_y_python.csv")
    np.testing.assert_allclose(rt.process_samples(x), y, rtol=0, atol=1e-6)


@needs_rtneural
def test_time_backend_rtneural_gives_rtneural_the_users_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vashrink.cli import main

    doc = _doc()  # made unlike anything vashrink would export for this model:
    _no_bias(doc)
    doc["layers"][0]["activation"] = ""
    tanh = {"type": "activation", "activation": "tanh", "shape": [None, 3], "weights": []}
    doc["layers"].insert(1, tanh)
    path = _write(tmp_path / "user.json", doc)
    given: list[Any] = []
    real = rtneural.RTNeuralModel.from_json.__func__  # type: ignore[attr-defined]

    def spy(cls: Any, path_or_text: Any, **kwargs: Any) -> Any:
        given.append(path_or_text)
        return real(cls, path_or_text, **kwargs)

    monkeypatch.setattr(rtneural.RTNeuralModel, "from_json", classmethod(spy))
    args = ["time", str(path), "--backend", "rtneural", "--mode", "sample", "--repeats", "1"]
    assert main([*args, "--buffer-samples", "256", "--json"]) == 0
    assert given == [path]
    timings = json.loads(capsys.readouterr().out)["timings"]
    assert timings[0]["backend"].startswith("rtneural-")


# --- generated RTNeural headers: known RTNeural limits are refused with the reason ---

RTNEURAL_ROOT = Path(os.environ.get("RTNEURAL_DIR") or "/nonexistent")
needs_rtneural_dir = pytest.mark.skipif(
    not (RTNEURAL_ROOT / "RTNeural" / "RTNeural.h").is_file() or shutil.which("g++") is None,
    reason="set RTNEURAL_DIR to an RTNeural checkout (and have g++) to compile RTNeural headers",
)


def _xsimd_or_skip() -> None:
    try:
        rtneural_flags("xsimd")
    except EngineError as exc:
        pytest.skip(str(exc))


def _softmax_mlp(width: int) -> nn.Sequential:
    torch.manual_seed(width)
    return nn.Sequential(nn.Linear(1, width), nn.Softmax(dim=-1), nn.Linear(width, 1)).eval()


def test_hints_name_rtneurals_known_limits_in_generated_headers() -> None:
    dense_1x1 = cpp_header(nn.Sequential(nn.Linear(1, 1)), runtime="rtneural")
    assert "DenseT<T, 1, 1>" in rtneural.compile_failure_hint(dense_1x1, xsimd=True)
    assert rtneural.compile_failure_hint(dense_1x1, xsimd=False) == ""
    softmax = cpp_header(_softmax_mlp(6), runtime="rtneural")
    assert "width 6" in rtneural.self_test_failure_hint(softmax, xsimd=True)
    assert "SoftmaxActivationT" not in rtneural.self_test_failure_hint(softmax, xsimd=False)


@needs_rtneural_dir
def test_compiled_rtneural_softmax_failing_its_self_test_is_refused_with_the_reason() -> None:
    _xsimd_or_skip()
    model = _softmax_mlp(6)  # not a multiple of any SIMD batch
    with pytest.raises(EngineError, match=r"self_test.*SoftmaxActivationT \(width 6\).*'stl'"):
        compiled_runner(model, runtime="rtneural", rtneural_backend="xsimd")
    assert compiled_runner(model, runtime="rtneural", rtneural_backend="stl").self_test_passed


@needs_rtneural_dir
def test_compiled_rtneural_dense_1x1_on_xsimd_says_why_it_does_not_compile() -> None:
    _xsimd_or_skip()
    model = nn.Sequential(nn.Linear(1, 1))
    with pytest.raises(EngineError, match=r"cannot compile DenseT<T, 1, 1>.*'eigen' or 'stl'"):
        compiled_runner(model, runtime="rtneural", rtneural_backend="xsimd")
    assert compiled_runner(model, runtime="rtneural", rtneural_backend="stl").self_test_passed
