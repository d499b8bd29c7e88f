"""`vashrink check`, `time` and `export` on AIDA-X and CoreAudioML files (built here, tiny)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from vashrink.cli import main
from vashrink.formats import RecurrentModel, load_model, read_snapshot, rtneural_document
from vashrink.formats.snapshot import torch_forward


def _net(kind: str, hidden: int = 8, seed: int = 0) -> RecurrentModel:
    torch.manual_seed(seed)
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(1, hidden, batch_first=True)
    return RecurrentModel(rnn, nn.Sequential(nn.Linear(hidden, 1))).eval()


def _aidax(tmp_path: Path, kind: str = "gru", **extra: Any) -> Path:
    """An AIDA-X file: in_skip 1, +3/-3 dB, metadata, and its 2,048-sample reference batch."""
    net = _net(kind, 12)
    x = 0.5 * np.sin(np.arange(2048) * 0.03)[:, None]
    y = torch_forward(net, x) + x  # the trainer's output: with the skip, without the gains
    doc = {**rtneural_document(net), "in_skip": 1, "in_gain": 3.0, "out_gain": -3.0,
           "metadata": {"name": "Tiny Amp", "samplerate": 48000},
           "input_batch": x[:, 0].tolist(), "output_batch": y[:, 0].tolist(), **extra}
    path = tmp_path / "aidax.json"
    path.write_text(json.dumps(doc))
    return path


def _caml(tmp_path: Path, unit: str = "LSTM", **model_data: Any) -> Path:
    """A CoreAudioML SimpleRNN file (rec.* / lin.* state dict, skip 1)."""
    torch.manual_seed(2)
    rec, lin = getattr(nn, unit)(1, 8), nn.Linear(8, 1)
    state = {f"rec.{k}": v.tolist() for k, v in rec.state_dict().items()}
    state |= {f"lin.{k}": v.tolist() for k, v in lin.state_dict().items()}
    data = {"model": "SimpleRNN", "input_size": 1, "skip": 1, "output_size": 1,
            "unit_type": unit, "num_layers": 1, "hidden_size": 8, "bias_fl": True, **model_data}
    path = tmp_path / "caml.json"
    path.write_text(json.dumps({"model_data": data, "state_dict": state}))
    return path


def test_check_aidax_file_reports_its_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _aidax(tmp_path)
    assert main(["check", str(path)]) == 0
    assert "output_batch matches (max |error|" in capsys.readouterr().out
    assert main(["check", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "aida-x" and report["batch_max_abs_error"] < 1e-12


def test_check_aidax_file_with_a_bad_key_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(_aidax(tmp_path, in_skip=True))]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any("[aidax-in-skip]" in line and "write 1 or 0" in line for line in lines)


def test_check_coreaudioml_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_caml(tmp_path))]) == 0
    assert "valid (coreaudioml file" in capsys.readouterr().out
    assert main(["check", str(_caml(tmp_path, num_layers=2))]) == 1
    out = capsys.readouterr().out
    assert "[caml-num-layers]" in out and "INVALID" in out


@pytest.mark.parametrize("which", ["aidax", "caml"])
def test_time_accepts_both_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    path = _aidax(tmp_path) if which == "aidax" else _caml(tmp_path)
    args = ["time", str(path), "--repeats", "1", "--warmup", "1", "--buffer-samples", "2000",
            "--block-size", "64", "--json"]
    assert main(args) == 0
    timings = json.loads(capsys.readouterr().out)["timings"]
    assert [t["mode"] for t in timings] == ["sample", "block"]
    assert all(t["ns_per_sample"] > 0 for t in timings)


def test_time_refuses_a_compiled_recurrent_model_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["time", str(_caml(tmp_path)), "--compiled", "--repeats", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--compiled" in err and "\n" not in err


@pytest.mark.parametrize("unit", ["LSTM", "GRU"])
def test_export_coreaudioml_to_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unit: str
) -> None:
    src = _caml(tmp_path, unit)
    expected = load_model(src)
    for name in ("amp.json", "amp.onnx", "amp.vashrink.json"):
        assert main(["export", str(src), "--to", str(tmp_path / name)]) == 0
    out = capsys.readouterr().out
    assert "plain RTNeural plugin must add it" in out
    doc = json.loads((tmp_path / "amp.json").read_text())
    assert doc["in_skip"] == 1 and doc["layers"][0]["type"] == unit.lower()
    assert main(["check", str(tmp_path / "amp.json")]) == 0  # runs amp.snapshot.json
    back = load_model(tmp_path / "amp.vashrink.json")
    assert back.spec.skip and back.provenance["source_kind"] == "coreaudioml json"
    snap = read_snapshot(tmp_path / "amp.snapshot.json")
    np.testing.assert_allclose(torch_forward(back.spec, snap.inputs),
                               torch_forward(expected.spec, snap.inputs), rtol=0, atol=1e-12)


def test_export_aidax_to_a_model_file_keeps_metadata_and_folds_gains(tmp_path: Path) -> None:
    src = _aidax(tmp_path, "lstm")
    assert main(["export", str(src), "--to", str(tmp_path / "m.vashrink.json")]) == 0
    back = load_model(tmp_path / "m.vashrink.json")
    assert back.provenance["metadata"]["name"] == "Tiny Amp"
    assert back.provenance["aidax"]["gains_folded_into_weights"] is True
    assert back.spec.skip
    assert main(["export", str(src), "--to", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["in_skip"] == 1 and "in_gain" not in again  # the gains live in the weights now


def test_export_refuses_unfoldable_gains_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _aidax(tmp_path, out_gain=-6.0)  # with in_skip: 3 - 6 dB on the skipped input
    assert main(["export", str(src), "--to", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "in_gain + out_gain 0 dB" in err and "\n" not in err


def test_time_takes_a_recurrent_architecture_with_random_weights(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["time", "lstm-8+skip", "--repeats", "1", "--buffer-samples", "1000", "--mode",
            "sample"]
    assert main(args) == 0
    assert "lstm-8 (1 in) -> dense 1 + input skip" in capsys.readouterr().out
