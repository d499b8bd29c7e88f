"""``vashrink train`` end to end on a tiny configuration: table, JSON, saved models, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vashrink.cli import main
from vashrink.search.rundir import load_model

TINY = ["train", "--target", "tanh(2*x)", "--range", "-1", "1", "--epochs", "20",
        "--samples", "64", "--grid", "200", "--no-progress", "--optimizer", "adam"]


def test_train_saves_models_and_results_that_match_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main([*TINY, "--arch", "1x2", "2x3", "--out", str(out), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads((out / "results.json").read_text())
    assert printed == stored
    assert [r["architecture"] for r in stored["results"]] == ["1x2", "2x3"]
    assert stored["interrupted"] is False
    for row in stored["results"]:
        model = load_model(out / row["model_path"]).float()  # trained (and saved) in float32
        x = np.linspace(-1, 1, 200)
        with torch.no_grad():
            y = model(torch.from_numpy(x).float()[:, None]).double().numpy()[:, 0]
        assert row["mse"] == pytest.approx(float(np.mean((y - np.tanh(2 * x)) ** 2)), rel=1e-9)
        assert row["epochs"] == 20 and len(row["loss_curve"]) == len(row["curve_epochs"])


def test_train_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TINY, "--arch", "1x2", "--activation", "relu"]) == 0
    text = capsys.readouterr().out
    assert "1x2" in text and "relu" in text and "grid MSE" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "6by44"], "is not DEPTHxWIDTH"),
        (["--arch", "0x4"], "depth must be a whole number"),
        (["--arch", "1x2", "--lr", "-1"], "lr must be finite and > 0"),
        (["--arch", "1x2", "--max-memory-mb", "0.001"], "MiB"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*TINY, *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_expression_without_range_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--target", "x", "--arch", "1x2", "--no-progress"])
    assert code == 2
    assert "give the input range" in capsys.readouterr().err


def test_foreign_out_directory_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    assert main([*TINY, "--arch", "1x2", "--out", str(tmp_path)]) == 2
    assert "non-empty directory" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_ctrl_c_keeps_saved_models_and_writes_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C after the first candidate: its model stays saved, results.json lists it, exit 130."""
    import vashrink.train.candidates as candidates
    from vashrink.train.candidates import TrainedModel, train_candidates

    def interrupted(
        *args: object, on_result: object = None, **kwargs: object
    ) -> list[TrainedModel]:
        seen: list[str] = []

        def first_then_stop(res: TrainedModel) -> None:
            assert callable(on_result)
            on_result(res)
            seen.append(res.architecture.label)
            raise KeyboardInterrupt

        return train_candidates(*args, on_result=first_then_stop, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(candidates, "train_candidates", interrupted)
    out = tmp_path / "run"
    assert main([*TINY, "--arch", "1x2", "3x3", "--out", str(out)]) == 130
    stored = json.loads((out / "results.json").read_text())
    assert stored["interrupted"] is True
    assert [r["architecture"] for r in stored["results"]] == ["1x2"]
    assert (out / stored["results"][0]["model_path"]).is_file()
    assert "interrupted: kept 1" in capsys.readouterr().err


def test_shrink_example_that_misses_eps_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    import vashrink.search.run as run_module

    calls = []

    def fake_shrink(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return types.SimpleNamespace(met=False, to_dict=lambda: {"met": False})

    monkeypatch.setattr(run_module, "shrink", fake_shrink)
    assert main(["shrink", "--example", "--json", "--no-progress"]) == 1
    assert calls and calls[0][3] == 1e-7  # the talk's eps


def test_train_by_levenberg_marquardt_reaches_float64_accuracy_on_1x1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lm"
    assert main(["train", "--target", "tanh(2*x)", "--range", "-1", "1", "--arch", "1x1",
                 "--no-progress", "--out", str(out), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert row["optimizer"] == "lm" and row["max_abs_error"] < 1e-12
