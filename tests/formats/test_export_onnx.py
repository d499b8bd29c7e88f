"""ONNX export: onnxruntime reproduces torch for MLPs, GRU and LSTM models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from vashrink import ModelFormatError
from vashrink.cli import main
from vashrink.formats import (
    RecurrentModel,
    make_snapshot,
    read_snapshot,
    run_onnx,
    snapshot_path,
    to_onnx,
)

# onnxruntime computes in float32; outputs here are O(1).
TOL32 = 2e-5


def _mlp(act: nn.Module, width: int, depth: int, n_in: int = 1, n_out: int = 1) -> nn.Sequential:
    torch.manual_seed(depth * 100 + width)
    mods: list[nn.Module] = [nn.Linear(n_in, width), act]
    for _ in range(depth - 1):
        mods += [
            nn.Linear(width, width),
            type(act)() if not isinstance(act, nn.PReLU) else nn.PReLU(width),
        ]
    mods.append(nn.Linear(width, n_out))
    with torch.no_grad():  # slopes other than torch's initial 0.25, so ignoring them shows
        for m in mods:
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(-0.5, 0.5)
    return nn.Sequential(*mods).eval()


@pytest.mark.parametrize(
    "model",
    [
        _mlp(nn.Tanh(), 8, 1),
        _mlp(nn.Tanh(), 44, 6),
        _mlp(nn.ReLU(), 16, 3, n_in=3, n_out=2),
        _mlp(nn.Sigmoid(), 12, 2),
        _mlp(nn.ELU(), 10, 2),
        _mlp(nn.PReLU(20), 20, 3),
        nn.Sequential(nn.Linear(2, 6), nn.Softmax(dim=-1), nn.Linear(6, 3)).eval(),
    ],
    ids=[
        "1x8-tanh",
        "6x44-tanh",
        "3x16-relu-3in2out",
        "2x12-sigmoid",
        "2x10-elu",
        "3x20-prelu",
        "softmax",
    ],
)
def test_onnxruntime_matches_torch_for_mlps(tmp_path: Path, model: nn.Sequential) -> None:
    path = to_onnx(model, tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    snap = read_snapshot(snapshot_path(path))
    out = run_onnx(path, snap.inputs)
    np.testing.assert_allclose(out, snap.outputs, rtol=0, atol=TOL32)
    assert snap.matches(out)
    x = np.random.default_rng(3).uniform(-3, 3, (100, snap.inputs.shape[1]))
    with torch.no_grad():
        ref = model(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(run_onnx(path, x), ref, rtol=0, atol=TOL32)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_onnxruntime_matches_torch_for_recurrent_models(
    tmp_path: Path, kind: str, batch_first: bool
) -> None:
    torch.manual_seed(5)
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(2, 12, batch_first=batch_first)
    model = RecurrentModel(rnn, nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 1))).eval()
    path = to_onnx(model, tmp_path / "r.onnx")
    snap = make_snapshot(model)
    out = run_onnx(path, snap.inputs, recurrent=True)
    np.testing.assert_allclose(out, snap.outputs, rtol=0, atol=TOL32)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert kind.upper() in ops


def test_onnx_batch_dimension_is_dynamic(tmp_path: Path) -> None:
    model = _mlp(nn.Tanh(), 4, 2)
    path = to_onnx(model, tmp_path / "m.onnx", snapshot=False)
    assert not snapshot_path(path).exists()
    for n in (1, 7, 1000):
        assert run_onnx(path, np.zeros((n, 1))).shape == (n, 1)


def test_onnx_export_refuses_models_it_cannot_represent(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="Dropout"):
        to_onnx(nn.Sequential(nn.Linear(1, 2), nn.Dropout(), nn.Linear(2, 1)), tmp_path / "m.onnx")


def test_export_cli_to_onnx(tmp_path: Path) -> None:
    model = _mlp(nn.Tanh(), 6, 2)
    torch.save(model, tmp_path / "m.pt")
    assert main(["export", str(tmp_path / "m.pt"), "--to", str(tmp_path / "m.onnx")]) == 0
    snap = read_snapshot(tmp_path / "m.snapshot.json")
    assert snap.matches(run_onnx(tmp_path / "m.onnx", snap.inputs))


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_stateful_onnx_streams_blocks_like_one_long_sequence(tmp_path: Path, kind: str) -> None:
    import onnxruntime as ort

    torch.manual_seed(6)
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(1, 10, batch_first=True)
    model = RecurrentModel(rnn, nn.Sequential(nn.Linear(10, 1))).eval()
    path = to_onnx(model, tmp_path / "s.onnx", stateful=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == (["x", "h0"] if kind == "gru" else ["x", "h0", "c0"])
    x = np.sin(np.linspace(0, 30, 300, dtype=np.float32))[None, :, None]
    state = {n: np.zeros((1, 1, 10), np.float32) for n in names[1:]}
    blocks = []
    for start in range(0, 300, 64):  # a plugin's 64-sample blocks, state carried across calls
        y, *new_state = session.run(None, {"x": x[:, start : start + 64], **state})
        blocks.append(y)
        state = dict(zip(names[1:], new_state, strict=True))
    with torch.no_grad():
        whole = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), whole, rtol=0, atol=TOL32)
    snap = read_snapshot(snapshot_path(path))
    assert snap.matches(run_onnx(path, snap.inputs, recurrent=True))


def test_stateful_is_refused_for_mlps(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="no state"):
        to_onnx(_mlp(nn.Tanh(), 4, 1), tmp_path / "m.onnx", stateful=True)
