"""CoreAudioML / GuitarML SimpleRNN files: loaded as torch computes them, refused where they
do not map, checked, and exported to files RTNeural's parser runs the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recurrent_files import coreaudioml_document, coreaudioml_reference, signal
from rtneural_runtime import rtneural_forward

from vashrink import ModelFormatError
from vashrink.formats import check_rtneural, load_model, load_rtneural, to_rtneural
from vashrink.formats.snapshot import torch_forward
from vashrink.model.layers import GruLayer, LstmLayer

TOL64 = 1e-12


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "caml.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("unit", ["LSTM", "GRU"])
@pytest.mark.parametrize(("skip", "bias_fl"), [(1, True), (0, True), (1, False)])
def test_simple_rnn_loads_as_torch_computes_it(
    tmp_path: Path, unit: str, skip: int, bias_fl: bool
) -> None:
    doc, net = coreaudioml_document(unit, 8, skip=skip, bias_fl=bias_fl)
    loaded = load_model(_write(tmp_path, doc))
    assert isinstance(loaded.spec.rnn[0], GruLayer if unit == "GRU" else LstmLayer)
    assert loaded.spec.skip is bool(skip)
    assert loaded.provenance["source_kind"] == "coreaudioml json"
    assert loaded.provenance["model_data"]["hidden_size"] == 8
    x = signal(500)
    np.testing.assert_allclose(
        torch_forward(loaded.spec, x), coreaudioml_reference(net, x), rtol=0, atol=TOL64
    )


def test_a_conditioned_model_without_skip_loads(tmp_path: Path) -> None:
    doc, net = coreaudioml_document("GRU", 6, n_in=3, skip=0)
    loaded = load_model(_write(tmp_path, doc))
    x = signal(200, n_in=3)
    np.testing.assert_allclose(
        torch_forward(loaded.spec, x), coreaudioml_reference(net, x), rtol=0, atol=TOL64
    )


def _set(doc: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    part, key = where.split(".", 1)
    if value is None:
        del doc[part][key]
    else:
        doc[part][key] = value
    return doc


@pytest.mark.parametrize(
    ("where", "value", "code", "match"),
    [
        ("model_data.num_layers", 2, "caml-num-layers", "no rec.*_l1 keys"),
        ("model_data.num_layers", 9, "caml-num-layers", "1 to 8 stacked"),
        ("model_data.num_layers", 0, "caml-num-layers", "num_layers is 0"),
        ("model_data.unit_type", "RNN", "caml-unit-type", "Elman"),
        ("model_data.unit_type", "lstm", "caml-unit-type", "use LSTM or GRU"),
        ("model_data.model", "GatedConvNet", "caml-model", "SimpleRNN"),
        ("model_data.hidden_size", 6, "caml-shape", "sizes disagree"),
        ("model_data.skip", 2, "caml-skip", "skip=2"),
        ("state_dict.rec.bias_hh_l0", None, "caml-missing", "rec.bias_hh_l0"),
        ("state_dict.rec.weight_ih_l1", [[0.0]], "caml-num-layers", "num_layers=1"),
        ("state_dict.rec.weight_ih_l0_reverse", [[0.0]], "caml-unknown-key", "l0_reverse"),
        ("state_dict.extra.weight", [[0.0]], "caml-unknown-key", "extra.weight"),
        ("state_dict.lin.bias", [1e39], "non-finite", "too large for float32"),
        ("state_dict.lin.weight", [["0.1"] * 8], "non-number", "non-number"),
    ],
)
def test_what_does_not_map_is_refused_with_one_finding(
    tmp_path: Path, where: str, value: Any, code: str, match: str
) -> None:
    doc, _ = coreaudioml_document("LSTM", 8)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_set(doc, where, value)))
    report = check_rtneural(path)
    assert report.status == "invalid" and report.kind == "coreaudioml"
    assert report.errors[0].code == code, report.lines()
    with pytest.raises(ModelFormatError, match=match) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_skip_on_a_conditioned_model_is_refused(tmp_path: Path) -> None:
    doc, _ = coreaudioml_document("LSTM", 8, n_in=2, skip=1)
    with pytest.raises(ModelFormatError, match="caml-skip"):
        load_model(_write(tmp_path, doc))


@pytest.mark.parametrize("hidden", [8, 20])
def test_check_calls_a_good_file_valid_with_no_findings(tmp_path: Path, hidden: int) -> None:
    doc, _ = coreaudioml_document("GRU", hidden)
    report = check_rtneural(_write(tmp_path, doc))
    assert report.valid and not report.findings, report.lines()
    assert report.kind == "coreaudioml" and "coreaudioml file" in report.lines()[-1]


def test_check_runs_the_snapshot_beside_a_coreaudioml_file(tmp_path: Path) -> None:
    from vashrink.formats import make_snapshot, write_snapshot
    from vashrink.formats.snapshot import snapshot_path

    doc, _ = coreaudioml_document("LSTM", 8)
    path = _write(tmp_path, doc)
    snap = make_snapshot(load_model(path).spec)
    write_snapshot(snapshot_path(path), snap)
    report = check_rtneural(path)
    assert report.valid and report.snapshot_max_abs_error is not None
    assert report.snapshot_max_abs_error < 1e-12
    write_snapshot(snapshot_path(path), type(snap)(snap.inputs, snap.outputs + 0.1, True))
    assert [f.code for f in check_rtneural(path).errors] == ["snapshot-mismatch"]


def test_rtneural_loader_names_the_format_instead_of_failing_on_in_shape(tmp_path: Path) -> None:
    doc, _ = coreaudioml_document("GRU", 8)
    with pytest.raises(ModelFormatError, match="CoreAudioML"):
        load_rtneural(_write(tmp_path, doc))


def test_a_deeper_layer_in_the_first_layers_shape_is_refused(tmp_path: Path) -> None:
    """Layer 1 of torch's stack reads the hidden state: its weight_ih is [4 * 8][8], not [.][1]."""
    doc, _ = coreaudioml_document("LSTM", 8, num_layers=2)
    doc["state_dict"]["rec.weight_ih_l1"] = [[0.1]] * 32
    report = check_rtneural(_write(tmp_path, doc))
    assert [f.code for f in report.errors] == ["caml-shape"]
    assert "rec.weight_ih_l1" in report.errors[0].message and "[32, 8]" in report.errors[0].message


@pytest.mark.slow
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("unit", ["LSTM", "GRU"])
def test_exported_rtneural_json_runs_in_rtneural_like_the_simple_rnn(
    tmp_path: Path, unit: str, num_layers: int
) -> None:
    doc, net = coreaudioml_document(unit, 12, skip=1, num_layers=num_layers, seed=5)
    out = to_rtneural(load_model(_write(tmp_path, doc)).spec, tmp_path / "rt.json")
    x = signal(600)
    y = rtneural_forward(out, x) + x[:, 0]  # the in_skip is the plugin's to add
    np.testing.assert_allclose(y, coreaudioml_reference(net, x)[:, 0], rtol=0, atol=TOL64)
