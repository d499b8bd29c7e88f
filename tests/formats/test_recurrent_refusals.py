"""Recurrent layers RTNeural would mis-load, and recurrent layouts vashrink cannot import, are
refused with one-line findings (like the dense traps in test_check.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recurrent_files import recurrent_model, signal

from vashrink import ModelFormatError
from vashrink.formats import (
    check_rtneural,
    load_model,
    load_rtneural,
    reference_forward,
    rtneural_document,
)


def _doc(kind: str, hidden: int = 4) -> dict[str, Any]:
    return rtneural_document(recurrent_model(kind, hidden))


def _codes(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert all("\n" not in line for line in report.lines())
    return [f.code for f in report.errors]


def test_gru_with_one_bias_row_reset_after_false_is_refused(tmp_path: Path) -> None:
    doc = _doc("gru")
    doc["layers"][0]["weights"][2] = doc["layers"][0]["weights"][2][:1]
    assert _codes(tmp_path, doc) == ["gru-bias"]
    with pytest.raises(ModelFormatError, match="reset_after=False"):
        load_model(tmp_path / "m.json")


def test_gru_with_one_summed_bias_vector_is_refused(tmp_path: Path) -> None:
    doc = _doc("gru")
    rows = doc["layers"][0]["weights"][2]
    doc["layers"][0]["weights"][2] = (np.array(rows[0]) + np.array(rows[1])).tolist()
    assert _codes(tmp_path, doc) == ["gru-bias"]


@pytest.mark.parametrize(
    ("index", "transform", "code"),
    [
        (0, lambda w: np.array(w).T.tolist(), "kernel-torch-layout"),  # W in torch [4h][in]
        (1, lambda u: np.array(u)[:, :12].tolist(), "weights-shape"),  # U [h][3h]: a GRU's
        (2, lambda b: [b, b], "lstm-bias"),  # two bias rows: RTNeural keeps b_ih + b_hh
    ],
)
def test_lstm_with_wrong_kernel_or_bias_shapes_is_refused(
    tmp_path: Path, index: int, transform: Any, code: str
) -> None:
    doc = _doc("lstm")
    weights = doc["layers"][0]["weights"]
    weights[index] = transform(weights[index])
    assert _codes(tmp_path, doc) == [code]


def _dense(n_in: int, n_out: int) -> dict[str, Any]:
    rng = np.random.default_rng(n_in)
    return {"type": "dense", "activation": "tanh", "shape": [None, n_out],
            "weights": [rng.normal(size=(n_in, n_out)).tolist(), [0.0] * n_out]}


def test_a_recurrent_layer_after_a_dense_one_is_checked_but_not_imported(
    tmp_path: Path,
) -> None:
    doc = _doc("gru")
    doc["layers"] = [_dense(1, 3), {**doc["layers"][0], "weights": _gru_weights(3, 4)},
                     doc["layers"][1]]
    assert _codes(tmp_path, doc) == []  # RTNeural runs it, and so does the reference
    with pytest.raises(ModelFormatError, match="layer 1: a gru here, after a dense layer"):
        load_model(tmp_path / "m.json")


def test_a_recurrent_layer_after_the_dense_head_of_a_stack_is_not_imported(
    tmp_path: Path,
) -> None:
    doc = _doc("lstm")
    second = {"type": "gru", "shape": [None, None, 4], "weights": _gru_weights(4, 4)}
    doc["layers"] = [doc["layers"][0], second, _dense(4, 4), second, _dense(4, 1)]
    assert _codes(tmp_path, doc) == []
    with pytest.raises(ModelFormatError, match=r"layer 3: a gru here.*only at the start"):
        load_model(tmp_path / "m.json")


def _gru_weights(n_in: int, h: int) -> list[Any]:
    rng = np.random.default_rng(h)
    return [rng.normal(size=(n_in, 3 * h)).tolist(), rng.normal(size=(h, 3 * h)).tolist(),
            rng.normal(size=(2, 3 * h)).tolist()]


def test_two_leading_recurrent_layers_are_checked_and_imported(tmp_path: Path) -> None:
    from vashrink.formats.snapshot import torch_forward

    doc = _doc("gru")
    second = {"type": "gru", "shape": [None, None, 4], "weights": _gru_weights(4, 4)}
    doc["layers"].insert(1, second)
    assert _codes(tmp_path, doc) == []
    spec = load_model(tmp_path / "m.json").spec
    assert [layer.hidden_size for layer in spec.rnn] == [4, 4]
    x = signal(100)
    expected = reference_forward(load_rtneural(tmp_path / "m.json"), x)
    np.testing.assert_allclose(torch_forward(spec, x), expected, rtol=0, atol=1e-10)


def test_nine_recurrent_layers_load_in_rtneural_but_are_not_imported(tmp_path: Path) -> None:
    doc = _doc("gru")
    doc["layers"][1:1] = [
        {"type": "gru", "shape": [None, None, 4], "weights": _gru_weights(4, 4)}
    ] * 8
    assert _codes(tmp_path, doc) == []
    with pytest.raises(ModelFormatError, match=r"stacks 9 recurrent layers.*at most 8"):
        load_model(tmp_path / "m.json")


@pytest.mark.parametrize(("kind", "gates"), [("gru", 3), ("lstm", 4)])
def test_a_stacked_layer_whose_kernel_does_not_take_the_previous_hidden_state_is_an_error(
    tmp_path: Path, kind: str, gates: int
) -> None:
    """Layer 1 reads layer 0's 4 units: RTNeural sizes its W [4][...] and mis-loads 5 rows."""
    doc = _doc("gru")
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(5, gates * 6)).tolist(), rng.normal(size=(6, gates * 6)).tolist(),
               rng.normal(size=(2, 18)).tolist() if kind == "gru" else [0.0] * 24]
    doc["layers"][1:2] = [{"type": kind, "shape": [None, None, 6], "weights": weights},
                          _dense(6, 1)]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    (error,) = report.errors
    assert (error.code, error.layer) == ("weights-shape", 1)
    assert "5 rows, expected 4" in error.message


def test_a_spec_whose_layers_do_not_chain_is_refused() -> None:
    from vashrink.formats import ModelSpec, spec_of

    spec = spec_of(recurrent_model("gru", 4))
    other = spec_of(recurrent_model("lstm", 6, n_in=3)).rnn[0]
    with pytest.raises(ModelFormatError, match="layer 1 takes 3 inputs but layer 0 gives 4"):
        ModelSpec((spec.rnn[0], other), spec.dense)


def test_a_valid_recurrent_file_still_loads_and_computes_the_same(tmp_path: Path) -> None:
    from vashrink.formats.snapshot import torch_forward

    model = recurrent_model("lstm", 6)
    (tmp_path / "m.json").write_text(json.dumps(rtneural_document(model)))
    spec = load_model(tmp_path / "m.json").spec
    x = signal(100)
    np.testing.assert_allclose(torch_forward(spec, x), torch_forward(model, x), rtol=0, atol=1e-10)
