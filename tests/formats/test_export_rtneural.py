"""Round trips torch -> RTNeural JSON -> reference with RTNeural's semantics, importer, runtimes."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from vashrink import Architecture, ModelFormatError, build_mlp
from vashrink.cli import main
from vashrink.formats import (
    RecurrentModel,
    from_rtneural,
    load_rtneural,
    make_snapshot,
    read_snapshot,
    reference_forward,
    snapshot_path,
    to_cpp,
    to_onnx,
    to_rtneural,
)
from vashrink.formats.snapshot import torch_forward
from vashrink.formats.statedict import from_state_dict_json
from vashrink.formats.validate import parse_document

# float64 reference vs float64 torch on the same float32 weights: only summation order differs.
TOL64 = 1e-10


def _mlp(sizes: list[int], act: str, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        mods.append(nn.Linear(a, b))
        last = i == len(sizes) - 2
        if not last:
            mods.append(
                {
                    "tanh": nn.Tanh(),
                    "relu": nn.ReLU(),
                    "sigmoid": nn.Sigmoid(),
                    "elu": nn.ELU(),
                    "softmax": nn.Softmax(dim=-1),
                    "prelu": nn.PReLU(b),
                }[act]
            )
    model = nn.Sequential(*mods)
    with torch.no_grad():  # non-trivial PReLU slopes, so a wrong slope layout shows
        for m in model:
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(-0.5, 0.5)
    return model.eval()


MLPS = [
    ([1, 8, 1], "tanh"),
    (
        [1, 16, 16, 16, 1],
        "relu",
    ),  # square hidden layers: a missing transpose would go unnoticed by shape
    ([1, 44, 44, 44, 44, 44, 44, 1], "tanh"),  # the talk's 6x44
    ([3, 5, 7, 2], "sigmoid"),
    ([1, 12, 12, 1], "elu"),
    ([2, 6, 6, 3], "softmax"),
    ([1, 10, 10, 1], "prelu"),
]


@pytest.mark.parametrize(("sizes", "act"), MLPS)
def test_dense_export_matches_torch_under_rtneural_semantics(
    tmp_path: Path, sizes: list[int], act: str
) -> None:
    model = _mlp(sizes, act, seed=len(sizes))
    path = to_rtneural(model, tmp_path / "m.json")
    x = np.random.default_rng(1).uniform(-2, 2, (50, sizes[0]))
    got = reference_forward(load_rtneural(path), x)
    np.testing.assert_allclose(got, torch_forward(model, x), rtol=0, atol=TOL64)


@pytest.mark.parametrize(("sizes", "act"), MLPS)
def test_dense_import_gives_back_the_same_torch_model(
    tmp_path: Path, sizes: list[int], act: str
) -> None:
    model = _mlp(sizes, act, seed=7)
    back = from_rtneural(to_rtneural(model, tmp_path / "m.json"))
    assert isinstance(back, nn.Sequential)
    assert [type(m) for m in back] == [type(m) for m in model]
    x = torch.rand(40, sizes[0]) * 4 - 2
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)


def test_untransposed_square_kernel_would_change_outputs(tmp_path: Path) -> None:
    """The reference really reads [in][out]: writing torch's [out][in] on a square "
    "layer is caught."""
    model = _mlp([1, 16, 16, 1], "tanh", seed=3)
    path = to_rtneural(model, tmp_path / "m.json")
    doc = json.loads(path.read_text())
    assert doc["layers"][1]["weights"][0] == model[2].weight.detach().double().T.tolist()
    doc["layers"][1]["weights"][0] = model[2].weight.detach().double().tolist()  # the classic bug
    bad, _ = parse_document(doc)
    assert bad is not None  # shapes alone cannot tell
    x = np.linspace(-1, 1, 50)[:, None]
    assert np.max(np.abs(reference_forward(bad, x) - torch_forward(model, x))) > 1e-3


def test_file_is_strict_json_with_explicit_activations(tmp_path: Path) -> None:
    model = _mlp([1, 8, 8, 1], "prelu", seed=0)
    text = to_rtneural(model, tmp_path / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text and "linear" not in text
    doc = json.loads(text)
    assert doc["in_shape"] == [None, 1]
    kinds = [(layer["type"], layer.get("activation")) for layer in doc["layers"]]
    assert kinds == [("dense", ""), ("prelu", None), ("dense", ""), ("prelu", None), ("dense", "")]
    assert all(layer["shape"][-1] == 8 for layer in doc["layers"][:4])
    assert np.allclose(doc["layers"][1]["weights"][0][0], model[1].weight.detach().numpy())


def test_nan_weights_are_refused_not_written(tmp_path: Path) -> None:
    model = _mlp([1, 4, 1], "tanh", seed=0)
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(ModelFormatError, match="NaN"):
        to_rtneural(model, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Sequential(nn.Linear(1, 4), nn.LayerNorm(4), nn.Linear(4, 1)), "LayerNorm"),
        (nn.Sequential(nn.Linear(1, 4), nn.ELU(alpha=0.5), nn.Linear(4, 1)), "alpha"),
        (nn.GRU(1, 4), "RecurrentModel"),
    ],
)
def test_unsupported_models_are_refused_with_a_fix(
    tmp_path: Path, model: nn.Module, match: str
) -> None:
    with pytest.raises(ModelFormatError, match=match):
        to_rtneural(model, tmp_path / "m.json")


@pytest.mark.parametrize(
    ("rnn", "match"),
    [
        (nn.GRU(1, 4, num_layers=9), "num_layers"),
        (nn.GRU(1, 4, num_layers=2, dropout=0.1), "dropout"),
        (nn.LSTM(1, 4, bidirectional=True), "bidirectional"),
        (nn.LSTM(1, 4, proj_size=2), "proj_size"),
    ],
)
def test_recurrent_layers_rtneural_cannot_run_are_refused(rnn: nn.Module, match: str) -> None:
    with pytest.raises(ModelFormatError, match=match):
        RecurrentModel(rnn, nn.Sequential(nn.Linear(4, 1)))  # type: ignore[arg-type]


def _recurrent(kind: str, batch_first: bool, hidden: int = 8, n_in: int = 1) -> RecurrentModel:
    torch.manual_seed(11)
    cls = nn.GRU if kind == "gru" else nn.LSTM
    rnn = cls(n_in, hidden, batch_first=batch_first)
    head = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    return RecurrentModel(rnn, head).eval()


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_recurrent_export_matches_torch_under_rtneural_semantics(
    tmp_path: Path, kind: str, batch_first: bool
) -> None:
    model = _recurrent(kind, batch_first)
    rt = load_rtneural(to_rtneural(model, tmp_path / "r.json"))
    assert [layer.kind for layer in rt.layers] == [kind, "dense", "dense"]
    x = 0.8 * np.sin(np.linspace(0, 20, 300))[:, None]
    np.testing.assert_allclose(
        reference_forward(rt, x), torch_forward(model, x), rtol=0, atol=TOL64
    )


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_recurrent_import_gives_back_the_same_outputs(tmp_path: Path, kind: str) -> None:
    model = _recurrent(kind, batch_first=False, hidden=6, n_in=2)
    back = from_rtneural(to_rtneural(model, tmp_path / "r.json"))
    assert isinstance(back, RecurrentModel)
    assert type(back.rnn) is type(model.rnn)
    x = torch.rand(3, 50, 2)
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=1e-6, atol=1e-6)


def test_gru_gates_are_reordered_and_both_bias_rows_kept(tmp_path: Path) -> None:
    model = _recurrent("gru", batch_first=True, hidden=4)
    doc = json.loads(to_rtneural(model, tmp_path / "r.json").read_text())
    w, u, b = doc["layers"][0]["weights"]
    h = 4
    w_ih = model.rnn.weight_ih_l0.detach().double().numpy()  # torch rows r, z, n
    np.testing.assert_array_equal(np.array(w)[:, :h], w_ih[h : 2 * h].T)  # RTNeural z first
    np.testing.assert_array_equal(np.array(w)[:, h : 2 * h], w_ih[:h].T)  # then r
    assert np.array(u).shape == (h, 3 * h) and np.array(b).shape == (2, 3 * h)
    np.testing.assert_array_equal(
        np.array(b)[1, 2 * h :], model.rnn.bias_hh_l0.detach().double().numpy()[2 * h :]
    )


def test_lstm_bias_is_the_sum_of_both_torch_biases(tmp_path: Path) -> None:
    model = _recurrent("lstm", batch_first=True, hidden=4)
    doc = json.loads(to_rtneural(model, tmp_path / "r.json").read_text())
    b = np.array(doc["layers"][0]["weights"][2])
    rnn = model.rnn
    expected = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double().numpy()
    np.testing.assert_allclose(b, expected, rtol=0, atol=1e-7)
    assert doc["in_shape"] == [None, None, 1]


def test_snapshot_is_written_beside_the_model_and_reproduces_it(tmp_path: Path) -> None:
    model = _recurrent("gru", batch_first=True)
    path = to_rtneural(model, tmp_path / "amp.json")
    snap = read_snapshot(snapshot_path(path))
    assert snapshot_path(path).name == "amp.snapshot.json"
    assert snap.recurrent and snap.inputs.shape == (256, 1) and snap.outputs.shape == (256, 1)
    assert snap.matches(reference_forward(load_rtneural(path), snap.inputs))
    assert not snap.matches(snap.outputs + 10 * snap.atol)
    assert not (tmp_path / "x.snapshot.json").exists()
    to_rtneural(model, tmp_path / "x.json", snapshot=False)
    assert not (tmp_path / "x.snapshot.json").exists()


@pytest.mark.parametrize("write", [to_rtneural, to_onnx, to_cpp], ids=["json", "onnx", "cpp"])
def test_unwritable_model_or_snapshot_path_is_a_clear_error(tmp_path: Path, write: Any) -> None:
    model = _mlp([1, 4, 1], "tanh", seed=0)
    missing = tmp_path / "no-such-dir" / "m.out"
    with pytest.raises(ModelFormatError, match=r"cannot write .*no-such-dir.*directory exists"):
        write(model, missing)
    (tmp_path / "m.snapshot.json").mkdir()  # the model file can be written, its snapshot cannot
    with pytest.raises(ModelFormatError, match=r"cannot write .*m\.snapshot\.json"):
        write(model, tmp_path / "m.out")


def test_state_dict_json_loads_into_the_given_architecture(tmp_path: Path) -> None:
    model = build_mlp(Architecture(3, 6, "relu"))
    path = tmp_path / "sd.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in model.state_dict().items()}))
    back = from_state_dict_json(path, Architecture(3, 6, "relu"))
    x = torch.rand(20, 1)
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)
    with pytest.raises(ModelFormatError, match="does not match"):
        from_state_dict_json(path, Architecture(3, 7, "relu"))


def test_state_dict_json_with_other_names_loads_by_order_into_a_recurrent_template(
    tmp_path: Path,
) -> None:
    model = _recurrent("lstm", batch_first=True, hidden=5)
    path = tmp_path / "sd.json"
    path.write_text(json.dumps({f"net.{k}": v.tolist() for k, v in model.state_dict().items()}))
    template = _recurrent("lstm", batch_first=True, hidden=5)
    with torch.no_grad():
        for p in template.parameters():
            p.zero_()
    back = from_state_dict_json(path, template)
    x = torch.rand(2, 30, 1)
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{}", "mapping"),
        ('{"0.weight": [[NaN]]}', "NaN"),
        ("[1, 2", "not valid JSON"),
        ('{"0.weight": "x", "0.bias": [1], "2.weight": [[1]], "2.bias": [1]}', "shape"),
    ],
)
def test_bad_state_dict_json_gives_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "sd.json"
    path.write_text(text)
    with pytest.raises(ModelFormatError, match=match):
        from_state_dict_json(path, Architecture(1, 1))


@pytest.mark.parametrize(("sizes", "act"), [([1, 16, 16, 1], "tanh"), ([1, 8, 8, 8, 1], "prelu")])
def test_engine_runs_the_imported_file_like_torch(
    tmp_path: Path, sizes: list[int], act: str
) -> None:
    from vashrink.errors import EngineError
    from vashrink.runtime.engine import Mlp
    from vashrink.runtime.native import engine as native

    try:
        native()
    except EngineError as exc:
        pytest.skip(str(exc))
    model = _mlp(sizes, act, seed=5)
    path = to_rtneural(model, tmp_path / "m.json")
    snap = read_snapshot(snapshot_path(path))
    mlp = Mlp.from_torch(from_rtneural(path), dtype="float32")
    out = mlp.process_samples(snap.inputs[:, 0].astype(np.float32))
    assert snap.matches(np.asarray(out, dtype=np.float64)), snap.max_abs_error(out)


@pytest.mark.parametrize("kind", ["dense", "gru", "lstm"])
def test_rtneurals_own_parser_reproduces_the_snapshot(tmp_path: Path, kind: str) -> None:
    from vashrink.runtime import rtneural_backend as rtneural

    if not rtneural.available():
        pytest.skip(f"RTNeural backend unavailable: {rtneural.why_unavailable()}")
    model = _mlp([1, 16, 16, 1], "tanh", seed=2) if kind == "dense" else _recurrent(kind, True)
    path = to_rtneural(model, tmp_path / "m.json")
    snap = read_snapshot(snapshot_path(path))
    rt = rtneural.RTNeuralModel.from_json(path)
    rt.reset()
    out = rt.process_samples(snap.inputs[:, 0])
    assert snap.matches(np.asarray(out, dtype=np.float64)), snap.max_abs_error(out)


def test_export_cli_writes_json_and_snapshot_from_a_saved_torch_model(tmp_path: Path) -> None:
    model = _recurrent("gru", batch_first=True, hidden=4)
    torch.save(model, tmp_path / "amp.pt")
    assert main(["export", str(tmp_path / "amp.pt"), "--to", str(tmp_path / "amp.json")]) == 0
    assert (
        make_snapshot(model).max_abs_error(read_snapshot(tmp_path / "amp.snapshot.json").outputs)
        == 0.0
    )
    assert main(["check", str(tmp_path / "amp.json")]) == 0


def test_export_cli_turns_a_state_dict_file_into_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.save(build_mlp(Architecture(1, 3)).state_dict(), tmp_path / "sd.pt")
    assert main(["export", str(tmp_path / "sd.pt"), "--to", str(tmp_path / "m.json")]) == 2
    assert "--architecture" in capsys.readouterr().err
    args = [
        "export",
        str(tmp_path / "sd.pt"),
        "--to",
        str(tmp_path / "m.json"),
        "--architecture",
        "1x3",
    ]
    assert main(args) == 0
    assert main(["export", str(tmp_path / "sd.pt"), "--to", str(tmp_path / "m.txt")]) == 2


def _rtneural_data(name: str) -> tuple[Path, np.ndarray, np.ndarray]:
    root = Path(os.environ.get("RTNEURAL_DIR", "/nonexistent"))
    model = root / "models" / f"{name}.json"
    if not model.is_file():
        pytest.skip("set RTNEURAL_DIR to an RTNeural checkout to compare with its Keras test data")
    x = np.loadtxt(root / "test_data" / f"{name}_x_python.csv")
    y = np.loadtxt(root / "test_data" / f"{name}_y_python.csv")
    return model, x, y


@pytest.mark.parametrize("name", ["dense", "gru", "gru_1d", "lstm", "lstm_1d"])
def test_reference_reproduces_rtneurals_own_keras_test_data(name: str) -> None:
    """Independent of our exporter: RTNeural's Keras-made files and outputs (float32 Keras)."""
    path, x, y = _rtneural_data(name)
    model = load_rtneural(path)
    out = reference_forward(model, x.reshape(-1, model.in_size))
    np.testing.assert_allclose(out.reshape(-1), y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["dense", "gru_1d", "lstm_1d"])
def test_importer_reproduces_rtneurals_own_keras_test_data(name: str) -> None:
    path, x, y = _rtneural_data(name)
    model = from_rtneural(path)
    t = torch.tensor(x, dtype=torch.float32)
    with torch.no_grad():
        out = model(t[None, :, None])[0] if isinstance(model, RecurrentModel) else model(t[:, None])
    np.testing.assert_allclose(out.numpy().reshape(-1), y, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "match"), [("gru", "gru here"), ("conv", "conv1d"), ("gru_torch", "state_dict")]
)
def test_importer_refuses_what_it_cannot_represent_instead_of_skipping(
    name: str, match: str
) -> None:
    path, _, _ = _rtneural_data(name)
    with pytest.raises(ModelFormatError, match=match):
        from_rtneural(path)
