"""``vashrink check``: each RTNeural trap is one line naming the layer and the fix; no crashes."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from vashrink import Architecture, ModelFormatError, build_mlp
from vashrink.cli import main
from vashrink.formats import (
    RecurrentModel,
    check_rtneural,
    from_rtneural,
    from_state_dict_json,
    make_snapshot,
    read_snapshot,
    rtneural_document,
    to_rtneural,
)
from vashrink.formats.validate import parse_document

Doc = dict[str, Any]


def _dense_doc() -> Doc:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1))
    return rtneural_document(model)


def _rnn_doc(kind: str) -> Doc:
    torch.manual_seed(0)
    rnn = nn.GRU(1, 3) if kind == "gru" else nn.LSTM(1, 3)
    return rtneural_document(RecurrentModel(rnn, nn.Sequential(nn.Linear(3, 1))))


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _transpose_kernel(layer: int) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        kernel = doc["layers"][layer]["weights"][0]
        doc["layers"][layer]["weights"][0] = np.array(kernel).T.tolist()

    return mutate


# (name, base doc, mutation, expected code, expected layer, words the fix must contain)
TRAPS: list[tuple[str, Callable[[], Doc], Callable[[Doc], None], str, int | None, str]] = [
    ("cased type", _dense_doc, _set(("layers", 1, "type"), "Dense"), "type-case", 1, "'dense'"),
    (
        "unknown type",
        _dense_doc,
        _set(("layers", 2, "type"), "denze"),
        "type-unknown",
        2,
        "silently skips",
    ),
    (
        "linear",
        _dense_doc,
        _set(("layers", 2, "activation"), "linear"),
        "activation-linear",
        2,
        '""',
    ),
    (
        "leaky_relu",
        _dense_doc,
        _set(("layers", 0, "activation"), "leaky_relu"),
        "activation-leaky-relu",
        0,
        "prelu",
    ),
    (
        "cased activation",
        _dense_doc,
        _set(("layers", 0, "activation"), "Tanh"),
        "activation-case",
        0,
        "'tanh'",
    ),
    (
        "unknown activation",
        _dense_doc,
        _set(("layers", 1, "activation"), "swish"),
        "activation-unknown",
        1,
        "one of",
    ),
    ("torch layout", _dense_doc, _transpose_kernel(1), "kernel-torch-layout", 1, "transpose"),
    ("torch layout first", _dense_doc, _transpose_kernel(0), "kernel-torch-layout", 0, "transpose"),
    ("shape missing", _dense_doc, _delete(("layers", 1, "shape")), "shape-missing", 1, '"shape"'),
    (
        "shape mismatch",
        _dense_doc,
        _set(("layers", 1, "shape"), [None, 5]),
        "weights-shape",
        1,
        '"shape"',
    ),
    (
        "shape not a list",
        _dense_doc,
        _set(("layers", 1, "shape"), 4),
        "shape-invalid",
        1,
        "[null, UNITS]",
    ),
    ("weights missing", _dense_doc, _delete(("layers", 2, "weights")), "weights-missing", 2, "add"),
    (
        "bias short",
        _dense_doc,
        _set(("layers", 2, "weights", 1), []),
        "weights-shape",
        2,
        "one entry per unit",
    ),
    (
        "huge number",
        _dense_doc,
        _set(("layers", 0, "weights", 1, 3), "HUGE"),
        "non-finite",
        0,
        "NaN or Inf",
    ),
    (
        "beyond float32",  # finite in float64, Inf in RTNeural's float32
        _dense_doc,
        _set(("layers", 0, "weights", 1, 3), 1e39),
        "non-finite",
        0,
        "float32",
    ),
    (
        "string weight",
        _dense_doc,
        _set(("layers", 0, "weights", 0, 0, 2), "0.5"),
        "non-number",
        0,
        "plain numbers",
    ),
    (
        "bool weight",
        _dense_doc,
        _set(("layers", 0, "weights", 1, 0), True),
        "non-number",
        0,
        "plain numbers",
    ),
    (
        "wrong in_shape",
        _dense_doc,
        _set(("in_shape",), [None, 3]),
        "in-shape-mismatch",
        None,
        "[null, 1]",
    ),
    ("in_shape missing", _dense_doc, _delete(("in_shape",)), "in-shape-missing", None, "in_shape"),
    ("layers missing", _dense_doc, _delete(("layers",)), "layers-missing", None, "layers"),
    ("type missing", _dense_doc, _delete(("layers", 0, "type")), "type-missing", 0, '"type"'),
    (
        "absurd width",
        _dense_doc,
        _set(("layers", 0, "shape"), [None, 10**9]),
        "size-absurd",
        0,
        "fix the shape",
    ),
    (
        "absurd in_shape",
        _dense_doc,
        _set(("in_shape",), [None, 10**9]),
        "size-absurd",
        None,
        "in_shape",
    ),
    (
        "gru bias flat",
        lambda: _rnn_doc("gru"),
        _set(("layers", 0, "weights", 2), [0.0] * 9),
        "gru-bias",
        0,
        "[2][9]",
    ),
    (
        "lstm bias rows",
        lambda: _rnn_doc("lstm"),
        _set(("layers", 0, "weights", 2), [[0.0] * 12] * 2),
        "lstm-bias",
        0,
        "sum",
    ),
    (
        "gru torch layout",
        lambda: _rnn_doc("gru"),
        _transpose_kernel(0),
        "kernel-torch-layout",
        0,
        "transpose",
    ),
]


@pytest.mark.parametrize(
    ("name", "base", "mutate", "code", "layer", "fix"), TRAPS, ids=[t[0] for t in TRAPS]
)
def test_each_trap_is_one_line_naming_layer_and_fix(
    tmp_path: Path,
    name: str,
    base: Callable[[], Doc],
    mutate: Callable[[Doc], None],
    code: str,
    layer: int | None,
    fix: str,
) -> None:
    doc = base()
    mutate(doc)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc).replace('"HUGE"', "1e999"))  # overflows to inf when parsed
    report = check_rtneural(path)
    assert not report.valid
    hits = [f for f in report.errors if f.code == code]
    assert hits, [f.line() for f in report.findings]
    assert hits[0].layer == layer
    line = hits[0].line()
    assert "\n" not in line and fix in line
    assert line.startswith(f"error: layer {layer}:" if layer is not None else "error: ")
    with pytest.raises(ModelFormatError):
        from_rtneural(path)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            '{"in_shape": [null, 1], "layers": [{"type": "dense", "weights": [[[NaN]], [0]]',
            "nan-literal",
        ),
        (
            '{"in_shape": [null, 1], "layers": [{"type": "dense", "weights": [[[Infinity]], [0]]}]}'
            "",
            "nan-literal",
        ),
        ("", "not-json"),
        ("not json at all", "not-json"),
        ("[" * 100_000, "not-json"),
        ("[1, 2, 3]", "not-object"),
        ("null", "not-object"),
    ],
)
def test_undecodable_files_are_named_not_crashed_on(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(text)
    report = check_rtneural(path)
    assert [f.code for f in report.errors] == [code]


def test_truncated_and_binary_files_are_reported(tmp_path: Path) -> None:
    text = json.dumps(_dense_doc())
    (tmp_path / "t.json").write_text(text[: len(text) // 2])
    (tmp_path / "b.json").write_bytes(bytes(range(256)))
    for name in ("t.json", "b.json"):
        report = check_rtneural(tmp_path / name)
        assert [f.code for f in report.errors] == ["not-json"]
    assert "truncated" in check_rtneural(tmp_path / "t.json").errors[0].message
    assert check_rtneural(tmp_path / "missing.json").errors[0].code == "file-unreadable"


def test_an_absurd_declared_size_allocates_nothing() -> None:
    doc = _dense_doc()
    doc["layers"][1]["shape"] = [None, 10**9]
    doc["layers"][2]["shape"] = [None, 60_000]  # 60000 x 10^9 would be 240 PB
    tracemalloc.start()
    model, findings = parse_document(doc)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert model is None and any(f.code == "size-absurd" for f in findings)
    assert peak_bytes < 5_000_000


def test_square_kernel_warns_without_snapshot_and_is_verified_with_one(tmp_path: Path) -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))
    path = to_rtneural(model, tmp_path / "sq.json", snapshot=False)
    report = check_rtneural(path)
    assert report.valid and [f.code for f in report.warnings] == ["kernel-square"]
    assert report.warnings[0].layer == 1 and "snapshot" in report.warnings[0].message

    to_rtneural(model, path)  # now with sq.snapshot.json beside it
    report = check_rtneural(path)
    assert report.valid and not report.warnings
    assert report.snapshot_max_abs_error is not None and report.snapshot_max_abs_error < 1e-9

    doc = json.loads(path.read_text())
    doc["layers"][1]["weights"][0] = np.array(doc["layers"][1]["weights"][0]).T.tolist()
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert not report.valid and [f.code for f in report.errors] == ["snapshot-mismatch"]
    assert "PyTorch layout" in report.errors[0].message


def test_recurrent_gate_order_is_verified_by_the_snapshot(tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = RecurrentModel(nn.GRU(1, 4), nn.Sequential(nn.Linear(4, 1)))
    path = to_rtneural(model, tmp_path / "g.json")
    assert check_rtneural(path).valid and not check_rtneural(path).warnings
    doc = json.loads(path.read_text())
    w = np.array(doc["layers"][0]["weights"][0])
    doc["layers"][0]["weights"][0] = np.concatenate(
        [w[:, 4:8], w[:, :4], w[:, 8:]], axis=1
    ).tolist()  # torch r,z order
    path.write_text(json.dumps(doc))
    assert [f.code for f in check_rtneural(path).errors] == ["snapshot-mismatch"]


def test_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    path = to_rtneural(
        nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 4), nn.Linear(4, 1)),
        tmp_path / "m.json",
    )
    assert main(["check", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["check", str(path), "--snapshot", str(tmp_path / "nope.json")]) == 2
    capsys.readouterr()
    doc = json.loads(path.read_text())
    doc["layers"][0]["activation"] = "linear"
    path.write_text(json.dumps(doc))
    assert main(["check", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False
    assert data["findings"][0] == {
        "severity": "error",
        "code": "activation-linear",
        "layer": 0,
        "message": data["findings"][0]["message"],
    }
    plain = to_rtneural(
        nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 3), nn.Linear(3, 1)),
        tmp_path / "w.json",
        snapshot=False,
    )
    assert main(["check", str(plain)]) == 0
    assert main(["check", str(plain), "--strict"]) == 1


# --- fuzzing: no input may crash the checker or the loader --------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _engine_mlp() -> Any:
    try:
        from vashrink.runtime.engine import Mlp
        from vashrink.runtime.native import engine

        engine()
    except Exception:  # engine not built: the checker and importer are still fuzzed
        return None
    return Mlp


_ENGINE = _engine_mlp()
_BASES = [_dense_doc(), _rnn_doc("gru"), _rnn_doc("lstm")]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _assert_consistent(path: Path) -> None:
    report = check_rtneural(path)  # must not raise
    assert all("\n" not in f.line() for f in report.findings)
    try:
        model = from_rtneural(path)
    except ModelFormatError:
        return
    assert report.valid, "the loader accepted a file the checker refuses"
    assert isinstance(model, nn.Module)
    if isinstance(model, nn.Sequential) and _ENGINE is not None:  # the engine loads it too
        mlp = _ENGINE.from_torch(model, dtype="float32")
        if model[0].in_features == 1 and model[-1].out_features == 1:
            assert np.isfinite(mlp.forward(0.5))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_structural_mutations_never_crash(tmp_path: Path, data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(_BASES)))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(_paths(doc)))
        value = data.draw(json_values)
        if not where:
            doc = value
            continue
        _set(where, value)(doc)
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(doc))
    _assert_consistent(path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_byte_mutations_never_crash(tmp_path: Path, data: st.DataObject) -> None:
    raw = bytearray(json.dumps(data.draw(st.sampled_from(_BASES))).encode())
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[pos : pos + data.draw(st.integers(1, 40))]
        else:
            raw[pos:pos] = data.draw(
                st.sampled_from([b"NaN", b"-1e999", b"[", b"]", b"{", b'"', b"9" * 30, b","])
            )
        if not raw:
            raw = bytearray(b"{")
    path = tmp_path / "fuzz.json"
    path.write_bytes(bytes(raw))
    _assert_consistent(path)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("dense", "valid", None),  # bias-less dense layers and stand-alone activations
        ("gru", "valid", None),
        ("lstm_1d", "valid", None),
        ("bad_lstm", "invalid", "weights-shape"),  # RTNeural's own deliberately broken file
        ("gru_torch", "invalid", "state-dict-json"),
        ("conv", "unverified", None),  # conv1d; its batchnorm layers are verified
        ("conv2d", "unverified", None),  # 4-entry in_shape and shapes
        ("full_model", "unverified", None),
    ],
)
def test_rtneurals_own_model_files(name: str, status: str, code: str | None) -> None:
    root = os.environ.get("RTNEURAL_DIR")
    path = Path(root or "/nonexistent") / "models" / f"{name}.json"
    if not path.is_file():
        pytest.skip("set RTNEURAL_DIR to an RTNeural checkout to check its model files")
    report = check_rtneural(path)
    assert report.status == status, report.lines()
    if code is not None:
        assert report.errors[0].code == code


def _reader_bases() -> tuple[dict[str, Any], dict[str, Any]]:
    model = build_mlp(Architecture(1, 3))
    return {k: v.tolist() for k, v in model.state_dict().items()}, make_snapshot(model).to_dict()


_READER_BASES = _reader_bases()


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=json_values,
    key=st.sampled_from(["0.weight", "0.bias", "2.weight", "2.bias", "inputs", "outputs"]),
)
def test_fuzz_state_dict_and_snapshot_readers_raise_only_model_format_errors(
    tmp_path: Path, value: Any, key: str
) -> None:
    state, snap = copy.deepcopy(_READER_BASES)
    (state if "." in key else snap)[key] = value
    for name, doc in (("sd.json", state), ("s.snapshot.json", snap)):
        (tmp_path / name).write_text(json.dumps(doc))
    with contextlib.suppress(ModelFormatError):
        from_state_dict_json(tmp_path / "sd.json", Architecture(1, 3))
    with contextlib.suppress(ModelFormatError):
        read_snapshot(tmp_path / "s.snapshot.json")


# --- sizes as RTNeural reads them, unverified layer types, gate order, encodings ---------------


def _exported(tmp_path: Path, shape: list[Any] | None = None, in_shape: Any = None) -> Path:
    """A 1-4-1 export with its snapshot, then layer 0's shape or the in_shape rewritten."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    path = to_rtneural(model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    if shape is not None:
        doc["layers"][0]["shape"] = shape
    if in_shape is not None:
        doc["in_shape"] = in_shape
    path.write_text(json.dumps(doc))
    return path


def test_a_four_entry_shape_is_sized_as_rtneural_sizes_it(tmp_path: Path) -> None:
    # RTNeural: shape[2] * shape[3] = 16 units, so it reads a 4-unit bias past its end
    report = check_rtneural(_exported(tmp_path, shape=[None, None, 4, 4]))
    assert report.status == "invalid" and report.snapshot is not None
    assert report.warnings[0].code == "shape-4d" and "16 units" in report.warnings[0].message
    assert {(f.code, f.layer) for f in report.errors} >= {("weights-shape", 0)}
    assert "[1][16]" in report.errors[0].message
    # 2 x 2 = 4 units: RTNeural loads it as intended, and the snapshot matches
    report = check_rtneural(_exported(tmp_path, shape=[None, None, 2, 2]))
    assert report.valid and [f.code for f in report.warnings] == ["shape-4d"]
    report = check_rtneural(_exported(tmp_path, shape=[None, None, None, 4]))
    assert [(f.code, f.layer) for f in report.errors] == [("shape-invalid", 0)]
    assert "throws" in report.errors[0].message


@pytest.mark.parametrize(
    ("in_shape", "code"),
    [
        ([None, None, 1, 1], None),  # 1 x 1: one input, as RTNeural reads it
        ([None, 7, 1, 1], None),  # entry 1 is never read
        ([None, None, None, 1], "in-shape-invalid"),  # RTNeural throws on null
        ([None, None, 1, 2], "in-shape-mismatch"),  # 2 inputs, the kernel has 1 row
        ([None, None, 0, 1], "in-shape-invalid"),
    ],
)
def test_a_four_entry_in_shape_is_read_as_rtneural_reads_it(
    tmp_path: Path, in_shape: list[Any], code: str | None
) -> None:
    report = check_rtneural(_exported(tmp_path, in_shape=in_shape))
    assert [f.code for f in report.errors] == ([code] if code else [])
    if code is None:
        assert report.valid and report.snapshot_max_abs_error is not None
    if code == "in-shape-mismatch":
        assert "in_shape[2] x in_shape[3]" in report.errors[0].message


def test_a_four_entry_in_shape_still_verifies_layer_0(tmp_path: Path) -> None:
    path = _exported(tmp_path, in_shape=[None, None, 1, 1])
    doc = json.loads(path.read_text())
    doc["layers"][0]["weights"][1] = [0.1]  # RTNeural would read 3 floats past this bias
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert [(f.code, f.layer) for f in report.errors] == [("weights-shape", 0)]


def _conv_doc() -> Doc:
    doc = _dense_doc()
    conv = {
        "type": "conv1d",
        "activation": "",
        "shape": [None, None, 8],
        "kernel_size": [2],
        "dilation": [1],
        "weights": [[[[0.1] * 8] * 8] * 2, [0.0] * 8],
    }
    doc["layers"].insert(1, conv)
    return doc


def test_unverified_layer_types_are_their_own_outcome_not_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(_conv_doc()))
    report = check_rtneural(path)
    assert report.status == "unverified" and not report.valid and not report.errors
    assert [(f.code, f.layer) for f in report.unverified] == [("type-unverified", 1)]
    assert "UNVERIFIED" in report.lines()[-1] and "valid (" not in report.lines()[-1]
    assert main(["check", str(path)]) == 3
    assert "UNVERIFIED" in capsys.readouterr().out
    assert main(["check", str(path), "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "unverified" and data["valid"] is False
    # a snapshot cannot be run through layers vashrink does not run
    snapshot = make_snapshot(build_mlp(Architecture(1, 4))).to_dict()
    (tmp_path / "conv.snapshot.json").write_text(json.dumps(snapshot))
    assert "snapshot-not-run" in [f.code for f in check_rtneural(path).warnings]
    with pytest.raises(ModelFormatError, match=r"layer 1: conv1d layers are not supported for"):
        from_rtneural(path)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (_delete(("layers", 1, "kernel_size")), "field-missing"),
        (_set(("layers", 1, "dilation"), [None]), "field-invalid"),
        (_set(("layers", 1, "groups"), "two"), "field-invalid"),
        (_set(("layers", 1, "weights"), [[]]), "weights-count"),
    ],
)
def test_what_rtneural_throws_on_in_an_unverified_layer_is_an_error(
    tmp_path: Path, mutate: Callable[[Doc], None], code: str
) -> None:
    doc = _conv_doc()
    mutate(doc)
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert report.status == "invalid" and [(f.code, f.layer) for f in report.errors] == [(code, 1)]
    assert main(["check", str(path)]) == 1


def _batchnorm_doc(affine: bool = True, **extra: Any) -> Doc:
    rng = np.random.default_rng(5)
    stats = [rng.uniform(0.5, 2, 8), rng.normal(size=8), rng.normal(size=8), rng.uniform(0.1, 2, 8)]
    layer = {
        "type": "batchnorm",
        "shape": [None, 8],
        "weights": [s.tolist() for s in (stats if affine else stats[2:])],
        **extra,
    }
    doc = _dense_doc()
    doc["layers"].insert(1, layer)
    return doc


def test_batchnorm_without_epsilon_is_an_error_rtneural_throws_on(tmp_path: Path) -> None:
    path = tmp_path / "bn.json"
    path.write_text(json.dumps(_batchnorm_doc()))
    report = check_rtneural(path)
    assert [(f.code, f.layer) for f in report.errors] == [("batchnorm-epsilon", 1)]
    assert main(["check", str(path)]) == 1


def _f64(values: Any) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_is_verified_and_computed_as_torch_does(tmp_path: Path, affine: bool) -> None:
    doc = _batchnorm_doc(affine, epsilon=1e-3)
    path = tmp_path / "bn.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert report.valid, report.lines()
    layers = doc["layers"]
    bn = nn.BatchNorm1d(8, eps=1e-3, affine=affine).double().eval()
    with torch.no_grad():
        if affine:
            bn.weight.copy_(_f64(layers[1]["weights"][0]))
            bn.bias.copy_(_f64(layers[1]["weights"][1]))
        bn.running_mean.copy_(_f64(layers[1]["weights"][-2]))
        bn.running_var.copy_(_f64(layers[1]["weights"][-1]))
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None]
    linear = [nn.Linear(1, 8), nn.Linear(8, 4), nn.Linear(4, 1)]
    for lin, entry in zip(linear, [layers[0], layers[2], layers[3]], strict=True):
        lin.double()
        with torch.no_grad():
            lin.weight.copy_(_f64(entry["weights"][0]).T)
            lin.bias.copy_(_f64(entry["weights"][1]))
    net = nn.Sequential(linear[0], nn.Tanh(), bn, linear[1], nn.ReLU(), linear[2])
    with torch.no_grad():
        expected = net(x).numpy()
    from vashrink.formats.reference import reference_forward
    from vashrink.formats.rtneural_json import load_rtneural

    actual = reference_forward(load_rtneural(path), x.numpy())
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12)
    imported = from_rtneural(path).double()  # folded into an identity layer; float32 weights
    with torch.no_grad():
        np.testing.assert_allclose(imported(x).numpy(), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_one_unit_recurrent_gate_order_warns_and_the_snapshot_catches_a_swap(
    tmp_path: Path, kind: str
) -> None:
    torch.manual_seed(6)
    rnn = nn.GRU(1, 1) if kind == "gru" else nn.LSTM(1, 1)
    path = to_rtneural(RecurrentModel(rnn, nn.Sequential(nn.Linear(1, 1))), tmp_path / "r.json")
    assert check_rtneural(path).valid and not check_rtneural(path).warnings  # snapshot matches
    snap = tmp_path / "r.snapshot.json"
    snap.rename(tmp_path / "kept.json")
    report = check_rtneural(path)
    assert report.valid and [(f.code, f.layer) for f in report.warnings] == [("gate-order", 0)]
    doc = json.loads(path.read_text())
    w, u, b = doc["layers"][0]["weights"]
    swap = [1, 0, 2] if kind == "gru" else [1, 0, 2, 3]  # z <-> r, or i <-> f: the shapes stay
    doc["layers"][0]["weights"] = [
        [[row[k] for k in swap] for row in w],
        [[row[k] for k in swap] for row in u],
        [[row[k] for k in swap] for row in b] if kind == "gru" else [b[k] for k in swap],
    ]
    path.write_text(json.dumps(doc))
    assert [f.code for f in check_rtneural(path).warnings] == ["gate-order"]
    report = check_rtneural(path, tmp_path / "kept.json")
    assert [f.code for f in report.errors] == ["snapshot-mismatch"]


def test_a_utf8_byte_order_mark_is_accepted_as_rtneural_accepts_it(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_dense_doc()).encode())
    assert check_rtneural(path).valid
    assert isinstance(from_rtneural(path), nn.Sequential)
    path.write_bytes(json.dumps(_dense_doc()).encode("utf-16"))
    (finding,) = check_rtneural(path).errors
    assert finding.code == "not-json" and "UTF-16" in finding.message


def test_a_conv2d_import_names_the_layer_type_and_what_is_supported(tmp_path: Path) -> None:
    conv2d = {
        "type": "conv2d",
        "activation": "",
        "shape": [None, 4, 3, 1],
        "kernel_size_time": 1,
        "kernel_size_feature": 1,
        "dilation": 1,
        "strides": 1,
        "num_filters_in": 1,
        "num_features_in": 3,
        "num_filters_out": 1,
        "padding": "valid",
        "weights": [[[[[1.0]]]], [0.0]],
    }
    dense = {"type": "dense", "activation": "", "shape": [None, 1], "weights": [[[1.0]] * 3, [0.0]]}
    path = tmp_path / "c2.json"
    path.write_text(json.dumps({"in_shape": [None, 4, 3, 1], "layers": [conv2d, dense]}))
    assert check_rtneural(path).status == "unverified"
    with pytest.raises(ModelFormatError) as info:
        from_rtneural(path)
    message = str(info.value)
    assert "layer 0: conv2d layers are not supported for import" in message
    assert "vashrink imports dense" in message and "invalid model" not in message


def test_activations_rtneural_never_reads_only_warn(tmp_path: Path) -> None:
    doc = _dense_doc()
    prelu = {"type": "prelu", "activation": "linear", "shape": [None, 8], "weights": [[[0.2]]]}
    doc["layers"].insert(1, prelu)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert not report.errors
    assert ("activation-ignored", 1) in [(f.code, f.layer) for f in report.warnings]


def _aidax_and_coreaudioml_bases() -> list[Any]:
    from recurrent_files import aidax_document, coreaudioml_document, recurrent_model

    net = recurrent_model("gru", 4)
    aidax = aidax_document(net, in_skip=1, in_gain=2.0, out_gain=-2.0, metadata={"name": "a"},
                           batch=True, batch_n=16)
    return [aidax, coreaudioml_document("LSTM", 4)[0], coreaudioml_document("GRU", 3, skip=0)[0]]


_OTHER_BASES = _aidax_and_coreaudioml_bases()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_aidax_and_coreaudioml_files_never_crash_the_checker_or_loader(
    tmp_path: Path, data: st.DataObject
) -> None:
    """What load_model accepts, check calls valid; neither raises anything but its own error."""
    from vashrink.formats import load_model

    doc = copy.deepcopy(data.draw(st.sampled_from(_OTHER_BASES)))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(_paths(doc)))
        if not where:
            continue
        _set(where, data.draw(json_values))(doc)
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert all("\n" not in f.line() for f in report.findings)
    try:
        load_model(path)
    except ModelFormatError:
        return
    assert report.valid, report.lines()
