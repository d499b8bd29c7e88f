"""The vashrink model file: round trips, versioning and refusals with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vashrink.errors import ModelFormatError
from vashrink.formats.load import load_model
from vashrink.model.architecture import Architecture
from vashrink.model.file import FORMAT_VERSION, read_model_file, write_model_file
from vashrink.model.mlp import build_mlp
from vashrink.model.spec import spec_of


def _written(tmp_path: Path) -> Path:
    spec = spec_of(build_mlp(Architecture(2, 3, "relu")))
    return write_model_file(tmp_path / "m.vashrink.json", spec, dtype="float64",
                            provenance={"target": "x", "eps": 1e-3})


def test_round_trip_keeps_weights_exactly_and_records_provenance(tmp_path: Path) -> None:
    model = build_mlp(Architecture(2, 3, "relu"))
    path = write_model_file(tmp_path / "m.vashrink.json", spec_of(model),
                            provenance={"target": "x"})
    back = read_model_file(path)
    for a, b in zip(spec_of(model).dense, back.spec.dense, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert a.activation == b.activation
    assert back.architecture == Architecture(2, 3, "relu")
    assert back.provenance["target"] == "x" and "vashrink_version" in back.provenance
    assert json.loads(path.read_text())["format_version"] == 1  # an MLP: what older versions read


def test_the_loader_recognises_the_model_file_by_content(tmp_path: Path) -> None:
    path = _written(tmp_path)
    renamed = path.with_name("plain.json")
    renamed.write_text(path.read_text())
    loaded = load_model(renamed)
    assert loaded.dtype == "float64" and loaded.architecture == Architecture(2, 3, "relu")


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda d: d.update(format_version=FORMAT_VERSION + 1), "newer than this vashrink"),
    (lambda d: d.update(dtype="float16"), "dtype"),
    (lambda d: d["layers"][0].update(activation="swish"), r"layers\[0\]: activation"),
    (lambda d: d["layers"][1].update(bias=[0.0]), r"layers\[1\]: bias has 1 entries"),
    (lambda d: d["layers"][0].update(weight=[[float("nan")]] * 3), "NaN"),
    (lambda d: d["layers"][2].update(weight=[[0.0, 0.0]]), r"layers\[2\]: takes 2 inputs, gets 3"),
    (lambda d: d.update(layers=[]), "non-empty list"),
])
def test_bad_fields_are_named(tmp_path: Path, mutate: object, match: str) -> None:
    path = _written(tmp_path)
    doc = json.loads(path.read_text())
    mutate(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match=match):
        read_model_file(path)


def test_old_vashrink_runs_stay_readable(tmp_path: Path) -> None:
    import torch

    model = build_mlp(Architecture(1, 4))
    path = tmp_path / "4x8.pt"
    torch.save({"architecture": {"depth": 1, "width": 4, "activation": "tanh"},
                "state_dict": model.state_dict()}, path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.spec.dense[0].weight,
                               model[0].weight.detach().double().numpy())


def test_non_finite_provenance_is_written_as_null(tmp_path: Path) -> None:
    spec = spec_of(build_mlp(Architecture(1, 2)))
    path = write_model_file(tmp_path / "m.vashrink.json", spec,
                            provenance={"val_loss": float("nan"), "curve": [1.0, float("inf")]})
    back = read_model_file(path)
    assert back.provenance["val_loss"] is None and back.provenance["curve"] == [1.0, None]
