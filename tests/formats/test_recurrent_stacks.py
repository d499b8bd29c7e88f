"""Stacked recurrent layers (2-layer GRU, 2-layer LSTM, GRU 8 -> LSTM 16) through every format:
RTNeural JSON (export, reference, import, check, RTNeural's own parser), ONNX (stateless and
streamed with state), AIDA-X and CoreAudioML files, and the runners."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from recurrent_files import (
    aidax_document,
    aidax_reference,
    coreaudioml_document,
    coreaudioml_reference,
    signal,
    stacked_model,
)
from rtneural_runtime import rtneural_forward
from torch import nn

from vashrink import ModelFormatError
from vashrink.formats import (
    RecurrentModel,
    check_rtneural,
    from_rtneural,
    load_model,
    load_rtneural,
    onnx_model,
    reference_forward,
    run_onnx,
    to_onnx,
    to_rtneural,
)
from vashrink.formats.snapshot import torch_forward
from vashrink.model.layers import GruLayer, LstmLayer
from vashrink.model.recurrent import StackedRnn

TOL64 = 1e-10  # float64 runs of the same weights: summation order only
TOL32 = 2e-5  # onnxruntime computes in float32; outputs here are O(1)

STACKS = {
    "gru-2x8": (("gru", "gru"), (8, 8)),
    "lstm-2x8": (("lstm", "lstm"), (8, 8)),
    "gru8-lstm16": (("gru", "lstm"), (8, 16)),
}


def _model(name: str, skip: bool = False, seed: int = 3) -> RecurrentModel:
    kinds, hiddens = STACKS[name]
    return stacked_model(kinds, hiddens, skip=skip, deep_head=True, seed=seed)


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", STACKS)
def test_rtneural_json_writes_every_layer_and_runs_like_torch(
    tmp_path: Path, name: str, skip: bool
) -> None:
    kinds, hiddens = STACKS[name]
    model = _model(name, skip)
    path = to_rtneural(model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    assert doc["in_shape"] == [None, None, 1] and doc.get("in_skip") == (1 if skip else None)
    for k, (kind, h) in enumerate(zip(kinds, hiddens, strict=True)):
        layer = doc["layers"][k]
        w, u, _ = layer["weights"]
        gates = 3 if kind == "gru" else 4
        assert (layer["type"], layer["shape"]) == (kind, [None, None, h])
        assert np.shape(w) == ((1, *hiddens)[k], gates * h) and np.shape(u) == (h, gates * h)
    x = signal(400)
    np.testing.assert_allclose(
        reference_forward(load_rtneural(path), x), torch_forward(model, x), rtol=0, atol=TOL64
    )
    report = check_rtneural(path)  # the snapshot beside it runs, and proves the gate order
    assert report.valid, report.lines()
    # in_skip is AIDA-X's key, and AIDA-X's plugin runs one recurrent layer
    assert [f.code for f in report.warnings] == (["aidax-stacked"] if skip else [])


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", STACKS)
def test_rtneural_json_imports_back_as_the_same_stack(
    tmp_path: Path, name: str, skip: bool
) -> None:
    kinds, hiddens = STACKS[name]
    model = _model(name, skip)
    path = to_rtneural(model, tmp_path / "m.json")
    spec = load_model(path).spec
    cells = [GruLayer if kind == "gru" else LstmLayer for kind in kinds]
    assert [type(layer) for layer in spec.rnn] == cells and spec.skip is skip
    assert [layer.hidden_size for layer in spec.rnn] == list(hiddens)
    x = signal(400)
    np.testing.assert_allclose(torch_forward(spec, x), torch_forward(model, x), rtol=0, atol=TOL64)
    back = from_rtneural(path)
    assert isinstance(back, RecurrentModel)
    uniform = len(set(kinds)) == 1
    assert isinstance(back.rnn, nn.GRU | nn.LSTM if uniform else StackedRnn)


@pytest.mark.parametrize("name", STACKS)
def test_gates_of_the_second_layer_in_torch_order_are_caught_by_the_snapshot(
    tmp_path: Path, name: str
) -> None:
    """Shapes cannot show gate order in any layer: one warning per layer, then the snapshot."""
    kinds, hiddens = STACKS[name]
    path = to_rtneural(_model(name), tmp_path / "m.json")
    doc = json.loads(path.read_text())
    h = hiddens[1]
    swap = np.r_[h : 2 * h, 0:h, 2 * h : (3 if kinds[1] == "gru" else 4) * h]  # z <-> r, i <-> f
    w, u, b = (np.array(a) for a in doc["layers"][1]["weights"])
    doc["layers"][1]["weights"] = [w[:, swap].tolist(), u[:, swap].tolist(),
                                   b[..., swap].tolist()]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    report = check_rtneural(bad)  # no snapshot beside it
    assert [(f.code, f.layer) for f in report.warnings] == [("gate-order", 0), ("gate-order", 1)]
    report = check_rtneural(bad, snapshot=tmp_path / "m.snapshot.json")
    assert [f.code for f in report.errors] == ["snapshot-mismatch"]


@pytest.mark.slow
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", STACKS)
def test_rtneurals_own_parser_runs_the_stacked_export_like_torch(
    tmp_path: Path, name: str, skip: bool
) -> None:
    """RTNeural's ``Model<double>`` chains the layers as we do (the skip is the caller's)."""
    model = _model(name, skip, seed=7)
    path = to_rtneural(model, tmp_path / "m.json")
    x = signal(600)
    y = rtneural_forward(path, x) + (x[:, 0] if skip else 0.0)
    np.testing.assert_allclose(y, torch_forward(model, x)[:, 0], rtol=0, atol=1e-12)


def _state_names(name: str) -> list[str]:
    kinds, _ = STACKS[name]
    names = []
    for k, kind in enumerate(kinds):
        suffix = f"_l{k}" if k else ""
        names += [f"h0{suffix}"] + ([f"c0{suffix}"] if kind == "lstm" else [])
    return names


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", STACKS)
def test_onnx_runs_one_node_per_layer_like_torch(tmp_path: Path, name: str, skip: bool) -> None:
    kinds, _ = STACKS[name]
    model = _model(name, skip)
    path = to_onnx(model, tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(str(path)).graph.node if n.op_type in ("GRU", "LSTM")]
    assert ops == [kind.upper() for kind in kinds]
    x = signal(500)
    np.testing.assert_allclose(run_onnx(path, x, recurrent=True), torch_forward(model, x),
                               rtol=0, atol=TOL32)


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", STACKS)
def test_stateful_onnx_streams_every_layers_state_like_one_sequence(
    tmp_path: Path, name: str, skip: bool
) -> None:
    import onnxruntime as ort

    model = _model(name, skip)
    path = to_onnx(model, tmp_path / "s.onnx", stateful=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    states_in = [i.name for i in session.get_inputs()][1:]
    states_out = [o.name for o in session.get_outputs()][1:]
    assert states_in == _state_names(name)
    assert states_out == [s.replace("0", "n", 1) for s in states_in]
    x = signal(3000).astype(np.float32)
    state = {
        i.name: np.zeros((1, 1, int(i.shape[-1])), np.float32) for i in session.get_inputs()[1:]
    }
    blocks = []
    for start in range(0, 3000, 256):  # a plugin's blocks (the last one short), state carried
        y, *new_state = session.run(None, {"x": x[None, start : start + 256], **state})
        blocks.append(y[0])
        state = dict(zip(states_in, new_state, strict=True))
    np.testing.assert_allclose(np.concatenate(blocks), torch_forward(model, x), rtol=0,
                               atol=TOL32)
    assert len(run_onnx(path, x[:100], recurrent=True)) == 100


def test_a_one_layer_stateful_onnx_keeps_its_state_names() -> None:
    proto = onnx_model(stacked_model(("lstm",), (8,)), stateful=True)
    assert [i.name for i in proto.graph.input] == ["x", "h0", "c0"]
    assert [o.name for o in proto.graph.output] == ["y", "hn", "cn"]


@pytest.mark.parametrize("unit", ["LSTM", "GRU"])
@pytest.mark.parametrize("skip", [1, 0])
def test_a_multi_layer_simple_rnn_loads_as_torch_computes_it(
    tmp_path: Path, unit: str, skip: int
) -> None:
    doc, net = coreaudioml_document(unit, 8, skip=skip, num_layers=3)
    path = tmp_path / "caml.json"
    path.write_text(json.dumps(doc))
    spec = load_model(path).spec
    assert len(spec.rnn) == 3 and spec.skip is bool(skip)
    x = signal(400)
    np.testing.assert_allclose(torch_forward(spec, x), coreaudioml_reference(net, x), rtol=0,
                               atol=TOL64)
    assert check_rtneural(path).valid


@pytest.mark.parametrize("name", ["lstm-2x8", "gru8-lstm16"])
def test_a_stacked_aidax_file_loads_but_warns_that_aidax_cannot_run_it(
    tmp_path: Path, name: str
) -> None:
    net = _model(name, seed=4)
    doc = aidax_document(net, in_skip=1, in_gain=6.0, out_gain=-6.0, batch=True)
    path = tmp_path / "amp.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert report.status == "valid" and report.batch_max_abs_error is not None
    codes = [f.code for f in report.warnings]
    assert codes == ["aidax-stacked"], report.lines()
    assert "runs one gru or lstm layer" in report.warnings[0].message
    x = signal(500)
    expected = aidax_reference(net, x, skip=True, in_db=6.0, out_db=-6.0)
    np.testing.assert_allclose(torch_forward(load_model(path).spec, x), expected, rtol=0,
                               atol=TOL64)


def test_runners_run_a_stack_like_torch() -> None:
    """Needs the engine's stacked ``RecurrentNet`` (skips until the engine runs stacks)."""
    from vashrink.errors import EngineError
    from vashrink.formats import runner_for, spec_of

    spec = spec_of(_model("gru8-lstm16", skip=True))
    try:
        runner = runner_for(spec, "vashrink", dtype="float64")
    except EngineError as exc:
        pytest.skip(str(exc))
    except ModelFormatError as exc:
        if "the engine runs one" in str(exc):
            pytest.skip("the engine does not run stacked GRU/LSTM layers yet")
        raise
    x = signal(500)
    out = np.asarray(runner.process_samples(x[:, 0]), dtype=np.float64).reshape(-1)
    np.testing.assert_allclose(out, torch_forward(spec, x)[:, 0], rtol=0, atol=TOL64)


def test_the_rtneural_runner_is_checked_against_the_engine_on_a_stack() -> None:
    from vashrink.formats import runner_for, spec_of
    from vashrink.runtime import rtneural_backend

    if not rtneural_backend.available():
        pytest.skip(rtneural_backend.why_unavailable())
    spec = spec_of(_model("gru8-lstm16", skip=True))
    runner = runner_for(spec, "rtneural")  # raises when RTNeural computes another function
    assert runner is not None


def test_the_cli_exports_and_checks_a_saved_stack(tmp_path: Path) -> None:
    import torch

    from vashrink.cli import main
    from vashrink.formats import read_snapshot

    model = _model("gru8-lstm16", skip=True)
    torch.save(model, tmp_path / "amp.pt")
    assert main(["export", str(tmp_path / "amp.pt"), "--to", str(tmp_path / "amp.json")]) == 0
    assert main(["check", str(tmp_path / "amp.json")]) == 0
    out = tmp_path / "amp.onnx"
    assert main(["export", str(tmp_path / "amp.pt"), "--to", str(out), "--stateful"]) == 0
    snap = read_snapshot(tmp_path / "amp.snapshot.json")
    assert snap.matches(run_onnx(out, snap.inputs, recurrent=True))
