"""``vashrink time``: architectures and model files, table and JSON, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vashrink.cli import main
from vashrink.model.architecture import Architecture
from vashrink.runtime import rtneural_backend as rtneural
from vashrink.runtime.engine import random_model


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_architecture_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["time", "2x8", "--activation", "relu", "--block-size", "64", "256",
                          "--repeats", "2", "--buffer-samples", "4800", "--json"])
    timings = data["timings"]
    assert isinstance(timings, list)
    assert [(t["mode"], t["block_size"]) for t in timings] == [("sample", 1), ("block", 64),
                                                               ("block", 256)]
    assert all(t["repeats"] == 2 and t["ns_per_sample"] > 0 for t in timings)


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["time", "1x4", "--mode", "sample", "--repeats", "2", "--buffer-samples", "4800",
                 "--sample-rate", "44100"]) == 0
    out = capsys.readouterr().out
    assert "ns/sample" in out and "1x4 tanh" in out and "44100 Hz" in out
    assert "block  " not in out


def test_torch_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.pt"
    torch.save(random_model(Architecture(2, 6, "sigmoid")), path)
    data = _json(capsys, ["time", str(path), "--mode", "block", "--block-size", "32",
                          "--repeats", "1", "--buffer-samples", "512", "--json"])
    assert data["model"] == str(path)


def test_rtneural_json_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = pytest.importorskip("vashrink.formats")
    path = export.to_rtneural(random_model(Architecture(2, 6)), tmp_path / "m.json")
    data = _json(capsys, ["time", str(path), "--mode", "sample", "--repeats", "1",
                          "--buffer-samples", "512", "--json"])
    assert len(data["timings"]) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(("argv", "match"), [
    (["time", "6y44"], "architecture '6y44' is not DEPTHxWIDTH"),
    (["time", "missing.json"], "model file missing.json does not exist"),
    (["time", "2x0"], "width must be"),
])
def test_user_mistakes_are_one_line_errors(
    argv: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_wrong_file_content_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "weights.pt"
    torch.save(random_model(Architecture(1, 3)).state_dict(), path)
    assert main(["time", str(path)]) == 2
    assert "--architecture DxW" in capsys.readouterr().err


@pytest.mark.skipif(rtneural.available(), reason="this build wraps RTNeural")
def test_rtneural_backend_without_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["time", "2x8", "--backend", "rtneural", "--repeats", "1"]) == 2
    assert "RTNEURAL_DIR" in capsys.readouterr().err


def test_tables_written_to_a_pipe_are_not_cut_at_80_columns() -> None:
    import subprocess
    import sys

    probe = (
        "from rich.table import Table\n"
        "from vashrink.cli.common import console\n"
        "t = Table()\n"
        "for i in range(12):\n"
        "    t.add_column(f'column {i}', no_wrap=True)\n"
        "t.add_row(*[f'value-{i:04d}' for i in range(12)])\n"
        "console().print(t)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert "value-0011" in proc.stdout and "…" not in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) > 120


def test_a_directory_is_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["time", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and err.count("\n") == 1
