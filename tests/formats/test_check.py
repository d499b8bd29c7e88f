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
    ("name", "valid", "code"),
    [
        ("dense", True, None),
        ("gru", True, None),
        ("lstm_1d", True, None),
        ("bad_lstm", False, "weights-shape"),  # RTNeural's own deliberately broken file
        ("gru_torch", False, "state-dict-json"),
    ],
)
def test_rtneurals_own_model_files(name: str, valid: bool, code: str | None) -> None:
    root = os.environ.get("RTNEURAL_DIR")
    path = Path(root or "/nonexistent") / "models" / f"{name}.json"
    if not path.is_file():
        pytest.skip("set RTNEURAL_DIR to an RTNeural checkout to check its model files")
    report = check_rtneural(path)
    assert report.valid is valid
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
