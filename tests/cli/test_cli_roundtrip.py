"""The commands chain: train -> time -> export (json, onnx, h) -> check -> time model.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from vashrink.cli import main
from vashrink.formats.snapshot import read_snapshot
from vashrink.model.file import SUFFIX, read_model_file
from vashrink.runtime.engine import Mlp


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_train_time_export_check_time_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", "--target", "tanh(2*x)", "--range", "-1", "1", "--arch", "2x4",
                 "--epochs", "30", "--samples", "64", "--no-progress", "--out", str(run),
                 "--json"]) == 0
    row = _json(capsys)["results"][0]  # type: ignore[index]
    model_file = run / row["model_path"]
    assert model_file.name == f"2x4-tanh{SUFFIX}"
    stored = read_model_file(model_file)
    assert stored.architecture is not None and stored.architecture.label == "2x4"
    assert stored.provenance["target"] == "tanh(2*x)"
    assert stored.provenance["recipe"]["epochs"] == 30
    assert stored.provenance["vashrink_version"]

    assert main(["time", str(model_file), "--mode", "sample", "--repeats", "1",
                 "--buffer-samples", "480", "--json"]) == 0
    assert _json(capsys)["timings"][0]["ns_per_sample"] > 0  # type: ignore[index]

    outputs = {}
    for suffix in (".json", ".onnx", ".h"):
        target = tmp_path / f"shaper{suffix}"
        assert main(["export", str(model_file), "--to", str(target), "--json"]) == 0
        assert _json(capsys)["path"] == str(target)
        outputs[suffix] = target

    engine = Mlp.from_layers(stored.spec.dense)
    snap = read_snapshot(outputs[".json"].with_suffix(".snapshot.json"))
    x = np.asarray(snap.inputs, dtype=np.float32).reshape(-1)
    np.testing.assert_allclose(engine.process_samples(x), np.asarray(snap.outputs).reshape(-1),
                               atol=1e-5)
    session = ort.InferenceSession(str(outputs[".onnx"]), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    onnx_y = session.run(None, {name: x.reshape(-1, 1)})[0].reshape(-1)
    np.testing.assert_allclose(onnx_y, engine.process_samples(x), atol=1e-5)
    assert "self_test" in outputs[".h"].read_text()

    assert main(["check", str(outputs[".json"])]) == 0
    capsys.readouterr()
    assert main(["time", str(outputs[".json"]), "--mode", "sample", "--repeats", "1",
                 "--buffer-samples", "480", "--json"]) == 0
    assert _json(capsys)["timings"][0]["backend"] == "vashrink"  # type: ignore[index]


def test_export_to_a_model_file_keeps_weights_and_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = tmp_path / "a.json"
    assert main(["export", str(_trained(tmp_path, capsys)), "--to", str(rt)]) == 0
    again = tmp_path / f"again{SUFFIX}"
    assert main(["export", str(rt), "--to", str(again)]) == 0
    back = read_model_file(again)
    assert back.provenance["source_kind"] == "rtneural json"
    original = read_model_file(_trained(tmp_path, capsys))
    for a, b in zip(original.spec.dense, back.spec.dense, strict=True):
        np.testing.assert_allclose(a.weight, b.weight, rtol=1e-7)


def _trained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run = tmp_path / "t"
    path = run / "models" / f"1x3-tanh{SUFFIX}"
    if not path.is_file():
        assert main(["train", "--target", "x", "--range", "-1", "1", "--arch", "1x3",
                     "--epochs", "5", "--samples", "32", "--no-progress", "--out",
                     str(run)]) == 0
        capsys.readouterr()
    return path


def test_check_of_a_missing_file_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1


def test_export_keeps_a_float64_model_in_float64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vashrink.model.file import write_model_file
    from vashrink.model.layers import DenseLayer
    from vashrink.model.spec import ModelSpec

    spec = ModelSpec((), (DenseLayer(np.array([[2.0000000001]]), np.array([0.0]), "tanh"),
                            DenseLayer(np.array([[1.0]]), np.array([0.0]), "none")))
    src = write_model_file(tmp_path / f"m{SUFFIX}", spec, dtype="float64")
    assert main(["export", str(src), "--to", str(tmp_path / "m.json")]) == 0
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["layers"][0]["weights"][0] == [[2.0000000001]]
    assert main(["export", str(src), "--to", str(tmp_path / "m.h")]) == 0
    assert "double" in (tmp_path / "m.h").read_text()
