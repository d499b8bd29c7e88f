"""AIDA-X files: in_skip and the gains folded into the weights, metadata kept, the batch run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recurrent_files import (
    aidax_document,
    aidax_reference,
    recurrent_model,
    signal,
    stacked_model,
)
from rtneural_runtime import rtneural_forward
from torch import nn

from vashrink import ModelFormatError
from vashrink.formats import check_rtneural, load_model
from vashrink.formats.snapshot import torch_forward

# float64 reference vs float64 torch on the same weights: summation order and the dB -> gain
# scaling rounding differ only.
TOL64 = 1e-10


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "amp.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize(
    ("skip", "in_db", "out_db"), [(1, 0.0, 0.0), (1, 6.0, -6.0), (0, 3.0, -4.5), (0, -12.0, 0.0)]
)
def test_loaded_file_computes_what_aidax_plays(
    tmp_path: Path, kind: str, skip: int, in_db: float, out_db: float
) -> None:
    """``out_gain * (net(in_gain * x) [+ in_gain * x])``, folded into weights and skip."""
    net = recurrent_model(kind, 8, seed=4)
    doc = aidax_document(net, in_skip=skip, in_gain=in_db, out_gain=out_db)
    loaded = load_model(_write(tmp_path, doc))
    assert loaded.spec.skip is bool(skip)
    x = signal(500)
    expected = aidax_reference(net, x, skip=bool(skip), in_db=in_db, out_db=out_db)
    np.testing.assert_allclose(torch_forward(loaded.spec, x), expected, rtol=0, atol=TOL64)
    aidax = loaded.provenance["aidax"]
    assert (aidax["in_gain_db"], aidax["out_gain_db"], aidax["in_skip"]) == (in_db, out_db, skip)
    assert aidax["gains_folded_into_weights"] is (in_db != 0.0 or out_db != 0.0)


def test_input_gain_of_a_conditioned_model_scales_only_the_audio_input(tmp_path: Path) -> None:
    net = recurrent_model("lstm", 8, n_in=2, seed=2)
    loaded = load_model(_write(tmp_path, aidax_document(net, in_gain=-6.0, out_gain=2.0)))
    x = signal(300, n_in=2)
    expected = aidax_reference(net, x, skip=False, in_db=-6.0, out_db=2.0)
    np.testing.assert_allclose(torch_forward(loaded.spec, x), expected, rtol=0, atol=TOL64)


def test_metadata_is_kept_in_the_provenance(tmp_path: Path) -> None:
    meta = {"name": "Test Amp", "samplerate": 48000, "style": "crunch", "esr": 0.012}
    doc = aidax_document(recurrent_model("gru", 8), in_skip=1, metadata=meta, batch=True)
    loaded = load_model(_write(tmp_path, doc))
    assert loaded.provenance["metadata"] == meta
    assert loaded.provenance["format"] == "aida-x"
    assert loaded.provenance["aidax"]["has_reference_batch"] is True


@pytest.mark.parametrize(
    ("kwargs", "last", "match"),
    [
        ({"in_skip": 1, "out_gain": -3.0}, None, r"in_gain \+ out_gain 0 dB"),
        ({"in_skip": 1, "in_gain": 6.0, "out_gain": -5.0}, None, r"\+1 dB"),
        ({"out_gain": 3.0}, nn.Tanh(), "last layer's tanh"),
        ({"in_gain": -95.0}, None, "silences the model"),
    ],
)
def test_gains_that_cannot_be_folded_exactly_are_refused_in_one_line(
    tmp_path: Path, kwargs: dict[str, Any], last: nn.Module | None, match: str
) -> None:
    net = recurrent_model("gru", 8, last_activation=last)
    path = _write(tmp_path, aidax_document(net, **kwargs))
    with pytest.raises(ModelFormatError, match=match) as info:
        load_model(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    report = check_rtneural(path)  # AIDA-X plays it: valid, with the reason vashrink cannot
    assert report.status == "valid"
    assert "aidax-not-importable" in {f.code for f in report.warnings}


def test_the_files_own_batch_is_run_and_its_error_reported(tmp_path: Path) -> None:
    doc = aidax_document(recurrent_model("lstm", 12), in_skip=1, in_gain=4.0, out_gain=-4.0,
                         batch=True)
    assert len(doc["input_batch"]) == 2048 and len(doc["output_batch"]) == 2048
    report = check_rtneural(_write(tmp_path, doc))
    assert report.valid, report.lines()
    assert report.kind == "aida-x"
    assert report.batch_max_abs_error is not None and report.batch_max_abs_error < 1e-12
    assert "gate-order" not in {f.code for f in report.findings}  # the batch proves the order
    assert "output_batch matches" in report.lines()[-1]


def test_a_forgotten_in_skip_shows_as_a_batch_mismatch(tmp_path: Path) -> None:
    doc = aidax_document(recurrent_model("gru", 8), in_skip=1, batch=True)
    del doc["in_skip"]  # the batch was made with the skip, the file no longer says so
    report = check_rtneural(_write(tmp_path, doc))
    assert report.status == "invalid"
    (error,) = report.errors
    assert error.code == "aidax-batch-mismatch" and "in_skip" in error.message
    with pytest.raises(ModelFormatError, match=r"aidax-batch-mismatch"):
        load_model(tmp_path / "amp.json")  # a file whose own reference fails is not imported


def test_a_conditioned_batch_that_differs_is_only_a_warning(tmp_path: Path) -> None:
    net = recurrent_model("lstm", 8, n_in=2)
    doc = aidax_document(net, batch=True)
    assert check_rtneural(_write(tmp_path, doc, "ok.json")).valid  # parameters 0: it matches
    doc["output_batch"] = [v + 0.1 for v in doc["output_batch"]]  # made with other parameters
    report = check_rtneural(_write(tmp_path, doc, "other.json"))
    assert report.status == "valid"
    assert "aidax-batch-conditioned" in {f.code for f in report.warnings}


@pytest.mark.parametrize(
    ("change", "code", "severity"),
    [
        ({"in_skip": True}, "aidax-in-skip", "error"),
        ({"in_skip": 2}, "aidax-in-skip", "error"),
        ({"in_gain": "6"}, "aidax-gain", "error"),
        ({"out_gain": None}, "aidax-gain", "error"),
        ({"out_gain": -120}, "aidax-gain-mute", "warning"),
        ({"in_gain": 1e10}, "aidax-gain", "error"),
        ({"input_batch": [0.1, 0.2]}, "aidax-batch", "error"),
        ({"output_batch": [[0.1]] * 2048}, "aidax-batch", "error"),
        ({"metadata": "amp"}, "aidax-metadata", "warning"),
    ],
)
def test_aidax_keys_aidax_would_ignore_or_refuse_are_findings(
    tmp_path: Path, change: dict[str, Any], code: str, severity: str
) -> None:
    doc = {**aidax_document(recurrent_model("gru", 8), in_skip=1, batch=True), **change}
    report = check_rtneural(_write(tmp_path, doc))
    found = [f for f in report.findings if f.code == code]
    assert found and found[0].severity == severity, report.lines()
    assert all("\n" not in f.message for f in report.findings)


@pytest.mark.parametrize(
    ("hidden", "deep_head"), [(10, False), (8, True)], ids=["hidden-10", "two-dense"]
)
def test_architectures_aidax_cannot_load_are_warned_about(
    tmp_path: Path, hidden: int, deep_head: bool
) -> None:
    net = recurrent_model("lstm", hidden, deep_head=deep_head)
    report = check_rtneural(_write(tmp_path, aidax_document(net, in_skip=1)))
    assert "aidax-architecture" in {f.code for f in report.warnings}
    assert load_model(tmp_path / "amp.json").spec.skip  # vashrink itself imports it


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gru", "lstm", "lstm-2x8"])
def test_rtneurals_parser_on_an_aidax_file_plus_aidax_formula_equals_our_import(
    tmp_path: Path, kind: str
) -> None:
    """A stack too: RTNeural's run-time parser runs it (AIDA-X's plugin would not)."""
    net = (
        stacked_model(("lstm", "lstm"), (8, 8), seed=9) if kind == "lstm-2x8"
        else recurrent_model(kind, 12, seed=9)
    )
    path = _write(tmp_path, aidax_document(net, in_skip=1, in_gain=3.0, out_gain=-3.0,
                                           batch=True, metadata={"name": "x"}))
    x = signal(600)
    g_in, g_out = 10 ** (3.0 / 20), 10 ** (-3.0 / 20)
    played = g_out * (rtneural_forward(path, g_in * x[:, 0]) + g_in * x[:, 0])  # AIDA-X's loop
    ours = torch_forward(load_model(path).spec, x)[:, 0]
    np.testing.assert_allclose(played, ours, rtol=0, atol=1e-12)


def test_gains_on_an_mlp_file_fold_into_its_first_and_last_dense_layers(tmp_path: Path) -> None:
    import torch

    from vashrink.formats import rtneural_document

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 1)).eval()
    doc = {**rtneural_document(mlp), "in_gain": -6.0, "out_gain": 9.5}
    loaded = load_model(_write(tmp_path, doc))
    x = signal(100)
    expected = 10 ** (9.5 / 20) * torch_forward(mlp, 10 ** (-6.0 / 20) * x)
    np.testing.assert_allclose(torch_forward(loaded.spec, x), expected, rtol=0, atol=TOL64)


@pytest.mark.parametrize(
    "change",
    [{"in_gain": 10**400}, {"in_skip": 10**400}, {"input_batch": [10**400] * 2048},
     {"in_skip": 0.5}, {"in_skip": -1}],
)
def test_absurd_numbers_in_aidax_keys_are_errors_not_crashes(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    doc = {**aidax_document(recurrent_model("gru", 8), in_skip=1, batch=True), **change}
    path = _write(tmp_path, doc)
    assert check_rtneural(path).status == "invalid"
    with pytest.raises(ModelFormatError):
        load_model(path)
