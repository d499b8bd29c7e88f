"""Progress bars go to stderr, and only when stderr is a terminal."""

from __future__ import annotations

import pytest

from vashrink.train.progress import TrainProgress


def test_no_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with TrainProgress(10.0, 2, enabled=True) as bar:
        bar.advance(5.0)
        bar.candidate_done(0.1)
    assert bar._progress is None
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.console

    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    bar = TrainProgress(10.0, 2, enabled=True)
    assert bar._progress is not None
    assert TrainProgress(10.0, 2, enabled=False)._progress is None
