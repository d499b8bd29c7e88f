"""The input skip (output = net + input) through every format: RTNeural JSON (``in_skip``),
the reference, import, snapshots, check, ONNX (stateless and stateful), and RTNeural itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from recurrent_files import recurrent_model, signal
from rtneural_runtime import rtneural_forward

from vashrink import ModelFormatError
from vashrink.formats import (
    RecurrentModel,
    check_rtneural,
    from_rtneural,
    load_model,
    load_rtneural,
    make_snapshot,
    onnx_model,
    reference_forward,
    run_onnx,
    to_onnx,
    to_rtneural,
)
from vashrink.formats.snapshot import torch_forward

TOL64 = 1e-10
KINDS = ["gru", "lstm"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("skip", [True, False])
def test_json_says_in_skip_and_the_reference_adds_the_input(
    tmp_path: Path, kind: str, skip: bool
) -> None:
    model = recurrent_model(kind, 8, skip=skip, deep_head=True)
    path = to_rtneural(model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    assert doc.get("in_skip") == (1 if skip else None)
    rt = load_rtneural(path)
    assert rt.skip is skip
    x = signal(300)
    np.testing.assert_allclose(reference_forward(rt, x), torch_forward(model, x), rtol=0,
                               atol=TOL64)


@pytest.mark.parametrize("kind", KINDS)
def test_import_gives_back_a_model_with_the_skip(tmp_path: Path, kind: str) -> None:
    model = recurrent_model(kind, 6, skip=True)
    back = from_rtneural(to_rtneural(model, tmp_path / "m.json"))
    assert isinstance(back, RecurrentModel) and back.skip
    x = torch.rand(2, 80, 1) - 0.5
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=1e-6, atol=1e-6)
    assert load_model(tmp_path / "m.json").spec.skip


def test_snapshot_outputs_include_the_input() -> None:
    with_skip = recurrent_model("gru", 6, skip=True, seed=3)
    without = recurrent_model("gru", 6, skip=False, seed=3)
    a, b = make_snapshot(with_skip), make_snapshot(without)
    np.testing.assert_allclose(a.outputs - b.outputs, a.inputs, rtol=0, atol=1e-15)


def test_check_runs_the_snapshot_with_the_skip_and_catches_it_missing(tmp_path: Path) -> None:
    path = to_rtneural(recurrent_model("lstm", 8, skip=True), tmp_path / "m.json")
    assert check_rtneural(path).valid
    doc = json.loads(path.read_text())
    del doc["in_skip"]
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert [f.code for f in report.errors] == ["snapshot-mismatch"]


def test_in_skip_on_an_mlp_file_is_refused_on_import(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    path = to_rtneural(model, tmp_path / "m.json", snapshot=False)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "in_skip": 1}))
    with pytest.raises(ModelFormatError, match="recurrent models only"):
        load_model(path)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stateful", [False, True])
def test_onnx_adds_the_input_with_one_add(tmp_path: Path, kind: str, stateful: bool) -> None:
    model = recurrent_model(kind, 8, skip=True, deep_head=True)
    proto = onnx_model(model, stateful=stateful)
    adds = [n for n in proto.graph.node if n.op_type == "Add" and "x" in n.input]
    assert len(adds) == 1
    path = to_onnx(model, tmp_path / "m.onnx", stateful=stateful)
    onnx.checker.check_model(str(path))
    x = signal(300)
    np.testing.assert_allclose(run_onnx(path, x, recurrent=True), torch_forward(model, x),
                               rtol=0, atol=1e-5)


def test_stateful_onnx_with_skip_streams_blocks_like_one_sequence(tmp_path: Path) -> None:
    import onnxruntime as ort

    model = recurrent_model("lstm", 8, skip=True)
    path = to_onnx(model, tmp_path / "m.onnx", stateful=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = signal(256).astype(np.float32)
    h = np.zeros((1, 1, 8), np.float32)
    c = np.zeros((1, 1, 8), np.float32)
    outs = []
    for start in range(0, 256, 64):
        y, h, c = session.run(["y", "hn", "cn"], {"x": x[None, start : start + 64], "h0": h,
                                                   "c0": c})
        outs.append(y[0])
    np.testing.assert_allclose(np.concatenate(outs), torch_forward(model, x), rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("skip", [True, False])
def test_rtneurals_own_parser_runs_the_export_like_torch(
    tmp_path: Path, kind: str, skip: bool
) -> None:
    """RTNeural's run-time ``Model<double>``: identical to float64 torch once the input is added
    (RTNeural ignores ``in_skip``; AIDA-X and the user's plugin add it)."""
    model = recurrent_model(kind, 12, skip=skip, deep_head=True, seed=7)
    path = to_rtneural(model, tmp_path / "m.json")
    x = signal(600)
    y = rtneural_forward(path, x) + (x[:, 0] if skip else 0.0)
    np.testing.assert_allclose(y, torch_forward(model, x)[:, 0], rtol=0, atol=1e-12)
