"""Files ``check`` calls valid are run by ``time``/``export``, or ``check`` says precisely why
not, in the words ``time`` uses (issue 19 item 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from vashrink.cli import main
from vashrink.formats import check_rtneural, from_rtneural
from vashrink.formats.check import CANNOT_RUN
from vashrink.formats.reference import reference_forward
from vashrink.formats.validate import parse_document

RNG = np.random.default_rng(7)


def _dense(n_in: int, n_out: int, act: str, kind: str = "dense") -> dict[str, Any]:
    return {"type": kind, "activation": act, "shape": [None, n_out],
            "weights": [RNG.normal(0, 0.7, (n_in, n_out)).tolist(),
                        RNG.normal(0, 0.3, n_out).tolist()]}


def _batchnorm(n: int) -> dict[str, Any]:
    return {"type": "batchnorm", "shape": [None, n], "epsilon": 1e-5,
            "weights": [RNG.uniform(0.5, 2, n).tolist(), RNG.normal(0, 0.3, n).tolist(),
                        RNG.normal(0, 0.3, n).tolist(), RNG.uniform(0.2, 2, n).tolist()]}


def _act(n: int, act: str) -> dict[str, Any]:
    return {"type": "activation", "activation": act, "shape": [None, n], "weights": []}


RUNNABLE = {
    "batchnorm after a linear dense": [_dense(1, 4, ""), _batchnorm(4), _act(4, "tanh"),
                                       _dense(4, 1, "")],
    "batchnorm after tanh": [_dense(1, 4, "tanh"), _batchnorm(4), _dense(4, 1, "")],
    "batchnorm first": [_batchnorm(1), _dense(1, 3, "tanh"), _dense(3, 1, "")],
    "two activations in a row": [_dense(1, 4, "tanh"), _act(4, "sigmoid"), _dense(4, 1, "")],
    "a stand-alone activation first": [_act(1, "tanh"), _dense(1, 3, "relu"), _dense(3, 1, "")],
}


@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_valid_layer_orders_are_run_exactly(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    doc = {"in_shape": [None, 1], "layers": RUNNABLE[name]}
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert report.status == "valid" and not report.warnings, report.lines()
    x = np.linspace(-2, 2, 101)[:, None]
    model, _ = parse_document(doc)
    assert model is not None
    torch_model = from_rtneural(path).double()  # float32 weights: 1e-7 relative rounding
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, reference_forward(model, x), rtol=0, atol=1e-6)
    assert main(["time", str(path), "--repeats", "1"]) == 0
    assert main(["export", str(path), "--to", str(tmp_path / "out.json")]) == 0
    capsys.readouterr()


def _gru(n_in: int, n: int) -> dict[str, Any]:
    return {"type": "gru", "activation": "tanh", "shape": [None, None, n],
            "weights": [RNG.normal(0, 0.3, (n_in, 3 * n)).tolist(),
                        RNG.normal(0, 0.3, (n, 3 * n)).tolist(),
                        RNG.normal(0, 0.1, (2, 3 * n)).tolist()]}


REFUSED = {
    "dense before a gru": ({"in_shape": [None, None, 1], "layers": [
        _dense(1, 4, "tanh", "time-distributed-dense"), _gru(4, 4), _dense(4, 1, "")]},
        "after a dense layer, is not supported for import"),
    "in_skip on an MLP": ({"in_shape": [None, 1], "in_skip": 1, "layers": [
        _dense(1, 4, "tanh"), _dense(4, 1, "")]}, "in_skip on a model without a gru/lstm"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_check_says_why_vashrink_cannot_run_what_time_refuses(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc, reason = REFUSED[name]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    assert main(["check", str(path)]) == 0  # valid for RTNeural
    out = capsys.readouterr().out
    assert f"[{CANNOT_RUN}]" in out and reason in out
    assert "valid for RTNeural, but vashrink cannot run it" in out
    assert main(["check", "--strict", str(path)]) == 1
    capsys.readouterr()
    for args in (["time", str(path)], ["export", str(path), "--to", str(tmp_path / "o.json")]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert reason in err and err.count("\n") == 1
