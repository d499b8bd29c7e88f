"""Ctrl-C on a waveshaper search: the finished candidates are summarised, exported and
reported, and the CLI exits 130 with the summary printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vashrink.cli import main
from vashrink.search import evaluate

TINY = ["--epochs", "40", "--samples", "200", "--repeats", "2", "--no-progress"]


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """The trainer raises KeyboardInterrupt once ``n`` candidates were delivered (Ctrl-C)."""
    real = evaluate.train_candidates
    count = [0]

    def trainer(*args: Any, on_result: Any, **kw: Any) -> Any:
        def delivered(trained: Any) -> None:
            on_result(trained)
            count[0] += 1
            if count[0] >= n:
                raise KeyboardInterrupt

        return real(*args, on_result=delivered, **kw)

    monkeypatch.setattr(evaluate, "train_candidates", trainer)


@pytest.mark.parametrize("command", ["shrink", "grid"])
def test_ctrl_c_writes_summary_report_and_result_then_exits_130(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _interrupt_after(monkeypatch, 2)
    out_dir = tmp_path / "run"
    extra = ["--depths", "1", "2", "--widths", "1", "4", "--batch-size", "1"] \
        if command == "grid" else ["--trials", "10"]
    args = [command, "tanh(2*x)", "--range", "-1", "1", "--eps", "1e-12", "--out",
            str(out_dir), *extra, *TINY]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 130, err
    assert "interrupted: summarised 2 finished candidate(s)" in err
    assert "Best trade-offs" in out and "interrupted: the summary covers" in out
    assert (out_dir / "report.html").is_file()
    result = json.loads((out_dir / "result.json").read_text())
    assert result["interrupted"] is True and len(result["candidates"]) == 2
    assert result["exports"]  # the closest finished model is exported
