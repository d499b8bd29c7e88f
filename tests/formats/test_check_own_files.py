"""``vashrink check`` validates every file ``time`` reads, the project's own model file first
(issue 19 item 8): it used to call a model.vashrink.json INVALID with 8 RTNeural errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vashrink import Architecture, build_mlp
from vashrink.cli import main
from vashrink.formats import check_rtneural
from vashrink.model.file import write_model_file
from vashrink.model.spec import spec_of


def _net() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return build_mlp(Architecture(2, 3, "tanh")).double()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_projects_model_file_is_valid(
    dtype: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_model_file(tmp_path / "model.vashrink.json", spec_of(_net()), dtype=dtype)
    report = check_rtneural(path)
    assert report.status == "valid", report.lines()
    assert report.kind == "vashrink model" and report.n_params == (3 + 3) + (9 + 3) + (3 + 1)
    assert main(["check", str(path)]) == 0
    assert "valid (vashrink model file" in capsys.readouterr().out


def test_a_torch_file_time_reads_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "net.pt"
    torch.save(_net(), path)
    report = check_rtneural(path)
    assert report.status == "valid" and report.kind == "torch", report.lines()


def test_a_broken_model_file_names_the_field(tmp_path: Path) -> None:
    path = write_model_file(tmp_path / "model.vashrink.json", spec_of(_net()))
    doc = json.loads(path.read_text())
    doc["layers"][0]["bias"] = [1.0]  # one bias for three units
    path.write_text(json.dumps(doc))
    report = check_rtneural(path)
    assert report.status == "invalid"
    assert [f.code for f in report.errors] == ["not-loadable"]
    assert "bias" in report.errors[0].message
