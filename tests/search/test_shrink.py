"""`vashrink shrink` and `vashrink grid` end to end on tiny configurations (seconds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vashrink.cli import build_parser, main
from vashrink.cli.shrink import train_config
from vashrink.model.file import read_model_file

TINY = ["--epochs", "40", "--samples", "200", "--repeats", "2", "--no-progress"]


def tanh_args(command: str, out_dir: Path, eps: str, *extra: str) -> list[str]:
    """``vashrink COMMAND 'tanh(2*x)' --range -1 1 --eps EPS --out DIR EXTRA...``."""
    return [command, "tanh(2*x)", "--range", "-1", "1", "--eps", eps, "--out", str(out_dir), *extra]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_shrink_end_to_end_exports_the_cheapest_model_meeting_eps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "run"
    eps = 1e-2
    args = ["shrink", "sin(5*x)", "--range", "0", "3.14159", "--eps", str(eps), "--out",
            str(out_dir), "--dtype", "float32", "--json", *TINY]
    code, out, err = run_cli(args, capsys)
    assert "Traceback" not in err
    result = json.loads(out)
    cands = result["candidates"]
    meeting = [c for c in cands if c["max_abs_error"] <= eps]
    assert code == 0 and result["met"] and meeting
    # width grows at depth 1 (1, 2, 3, 4, 6, ...) until eps is met, then bisects down to the
    # narrowest meeting width; nothing wider than the first meeting gallop width is trained.
    # The winner is the cheapest meeting net by measured ns/sample (ties within 10 %, or
    # within either net's own timing spread when that is wider, go to the smaller net), so on
    # a noisy machine it may be a slightly wider one.
    winner = result["winner"]
    widths = sorted(c["width"] for c in cands if c["depth"] == 1)
    narrowest = min(c["width"] for c in meeting if c["depth"] == 1)
    assert all(w <= 2 * narrowest for w in widths)
    for c in meeting:
        tie = max(0.1, c["timing_spread"], winner["timing_spread"])
        assert winner["ns_per_sample"] <= (1.0 + tie) * c["ns_per_sample"] + 1e-9, c["label"]
    assert len(cands) <= 8
    for c in cands:
        assert c["ns_per_sample"] > 0 and c["ns_per_sample_block"] > 0
        assert c["lane_score"] == c["depth"] * -(-c["width"] // c["lanes"])
    for name in (
        "report.html",
        "heatmap.png",
        "pareto.png",
        "lanes.png",
        "winner_error.png",
        "model.vashrink.json",
        "model.json",
        "model.onnx",
        "model.h",
        "study.db",
        "result.json",
    ):
        assert (out_dir / name).is_file(), name
    assert len(list((out_dir / "models").glob("*.vashrink.json"))) == len(cands)

    # the exported RTNeural file is the winner, and its float64 error matches the reported one
    from vashrink.formats import from_rtneural

    model = from_rtneural(out_dir / "model.json").double()
    x = np.linspace(0.0, 3.14159, 48000)
    with torch.no_grad():
        y = model(torch.from_numpy(x).view(-1, 1)).view(-1).numpy()
    err64 = float(np.max(np.abs(y - np.sin(5 * x))))
    # the reported grid maximum is what a dense grid sees; the certified bound is above it
    assert err64 == pytest.approx(result["winner"]["grid_max_abs_error"], rel=1e-2)
    assert result["winner"]["max_abs_error"] >= 0.99 * err64

    # re-running the same command resumes: nothing is retrained, same winner
    stamps = {p.name: p.stat().st_mtime_ns for p in (out_dir / "models").glob("*.vashrink.json")}
    code2, out2, _ = run_cli(args, capsys)
    assert code2 == code and json.loads(out2)["winner"]["label"] == result["winner"]["label"]
    models = (out_dir / "models").glob("*.vashrink.json")
    assert {p.name: p.stat().st_mtime_ns for p in models} == stamps


@pytest.mark.slow
def test_the_talks_example_is_met_by_a_1x1_net(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: tanh(2x) at eps 1e-7 is met (exit 0) by 1x1 tanh in float64, error ~2e-9."""
    out_dir = tmp_path / "example"
    code, out, err = run_cli(["shrink", "--example", "--out", str(out_dir), "--json",
                              "--repeats", "2", "--no-progress"], capsys)
    result = json.loads(out)
    assert code == 0 and result["met"], err
    assert result["winner"]["label"] == "1x1 tanh f64"
    assert result["winner"]["max_abs_error"] < 1e-8
    assert read_model_file(out_dir / "model.vashrink.json").dtype == "float64"
    assert "double" in (out_dir / "model.h").read_text()
    # the exports keep the float64 weights, not their float32 rounding
    from vashrink.formats.load import load_model

    stored = read_model_file(out_dir / "model.vashrink.json").spec.dense
    exported = load_model(out_dir / "model.json").spec.dense
    for a, b in zip(stored, exported, strict=True):
        np.testing.assert_allclose(a.weight, b.weight, rtol=1e-15, atol=0)


@pytest.mark.slow
def test_resume_after_killing_a_run_keeps_finished_candidates(tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    trials = 6  # of the 8 candidates up to 2x4
    cmd = [
        sys.executable,
        "-m",
        "vashrink.cli",
        # a target no small net meets, so every trial runs LM to its iteration budget (about a
        # second for nets up to 2x4): slow enough that the kill lands while one is in flight
        "shrink", "sin(5*x)", "--range", "0", "3", "--eps", "1e-12", "--out", str(out_dir),
        *("--trials", str(trials), "--dtype", "float32", "--repeats", "2", "--no-progress"),
        *("--json", "--depth-max", "2", "--width-max", "4"),
    ]
    import optuna
    from optuna.trial import TrialState

    from vashrink.search.study import completed_scores

    storage = f"sqlite:///{out_dir / 'study.db'}"

    def trial_states() -> list[TrialState]:
        try:
            study = optuna.load_study(study_name=None, storage=storage)
            return [t.state for t in study.get_trials(deepcopy=False)]
        except Exception:  # not created yet, or locked by the writer for a moment
            return []

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    models = out_dir / "models"
    # Kill while a trial is in flight and at least one has finished, so both paths of resume
    # (reuse the finished, re-ask the interrupted) are exercised.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        states = trial_states()
        if TrialState.COMPLETE in states and TrialState.RUNNING in states:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    study = optuna.load_study(study_name=None, storage=storage)
    finished = completed_scores(study)
    in_flight = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    assert 1 <= len(finished) < trials
    # a model stored by a trial still in flight may be retrained; finished ones must not be
    names = [key.replace(" ", "-") + ".vashrink.json" for key in finished]
    before = {name: (models / name).stat().st_mtime_ns for name in names}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # eps 1e-12 cannot be met in float32: closest exported
    assert f"resuming: {len(finished)} candidate(s) already trained" in done.stderr
    if in_flight:  # the kill may land between two trials; then nothing was interrupted
        assert "interrupted by an earlier run" in done.stderr
    result = json.loads(done.stdout)
    assert len(result["candidates"]) == trials
    after = {p.name: p.stat().st_mtime_ns for p in models.glob("*.vashrink.json")}
    assert all(after[name] == stamp for name, stamp in before.items())
    assert (out_dir / "model.json").is_file() and (out_dir / "report.html").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["log(x)", "--range", "-1", "1", "--eps", "1e-3"], "not finite"),
        (["tanh(x)", "--range", "1", "-1", "--eps", "1e-3"], "range"),
        (["tanh(x)", "--range", "-1", "1", "--eps", "0"], "eps"),
        (["__import__('os')", "--range", "-1", "1", "--eps", "1e-3"], "not allowed"),
        (["tanh(x)", "--range", "-1", "1"], "missing --eps"),
        (["tanh(x)", "--example"], "not both"),
        (["--example", "tanh(x)"], "not both"),
    ],
)
@pytest.mark.parametrize("command", ["shrink", "grid"])
def test_bad_input_is_refused_before_anything_is_written(
    command: str, args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "run"
    code, _, err = run_cli([command, *args, "--out", str(out_dir), *TINY], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"vashrink {command}: error:") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_foreign_or_unwritable_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, _, err = run_cli([*tanh_args("shrink", foreign, "1e-2"), *TINY], capsys)
    assert code == 2 and "vashrink did not create" in err
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli([*tanh_args("shrink", blocker / "sub", "1e-2"), *TINY], capsys)
    assert code == 2 and "cannot write to --out" in err


def test_corrupt_study_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "run"
    base = [*tanh_args("shrink", out_dir, "1e-2", "--trials", "1"), *TINY]
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 64)
    code, _, err = run_cli([*base, "--storage", f"sqlite:///{bad}"], capsys)
    assert code == 2 and "cannot open the study database" in err and "Traceback" not in err
    (out_dir / "study.db").write_bytes(b"\x00garbage" * 64)
    code, _, err = run_cli(base, capsys)
    assert code == 2 and "cannot open the study database" in err and "Traceback" not in err
    assert not list((out_dir / "models").glob("*.vashrink.json"))


@pytest.mark.slow
def test_budget_nothing_can_meet_names_the_closest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = tanh_args("shrink", tmp_path / "run", "1e-2", "--budget-ns", "0.001", "--trials", "2")
    code, out, err = run_cli([*args, *TINY], capsys)
    assert code == 1 and "Traceback" not in err
    assert "no candidate fits the budget" in out
    assert (tmp_path / "run" / "report.html").is_file()


@pytest.mark.slow
def test_grid_trains_every_architecture_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "grid"
    cells = ("--depths", "1", "2", "--widths", "4", "8", "--width-step", "4")
    code, out, err = run_cli([*tanh_args("grid", out_dir, "1e-2", *cells, "--json"), *TINY], capsys)
    assert "Traceback" not in err
    result = json.loads(out)
    labels = sorted(c["label"] for c in result["candidates"])
    assert labels == ["1x4 tanh", "1x8 tanh", "2x4 tanh", "2x8 tanh"]
    assert result["kind"] == "grid" and (out_dir / "report.html").is_file()
    code, _, err = run_cli([*tanh_args("shrink", out_dir, "1e-2"), *TINY], capsys)
    assert code == 2 and "not a shrink run" in err


@pytest.mark.parametrize("command", ["shrink", "grid"])
def test_training_options_reach_the_train_config(command: str) -> None:
    options = ["--epochs", "7", "--samples", "50", "--lr", "0.003", "--polish-steps", "2"]
    args = build_parser().parse_args([command, "tanh(x)", *options, "--seed", "5"])
    cfg = train_config(args, epochs=300)
    assert (cfg.epochs, cfg.samples, cfg.lr, cfg.polish_steps, cfg.seed) == (7, 50, 0.003, 2, 5)
    defaults = train_config(build_parser().parse_args([command, "tanh(x)"]), epochs=300)
    assert defaults.epochs == 300 and defaults.seed == 0


def test_a_different_eps_in_the_same_directory_is_refused(tmp_path: Path) -> None:
    from vashrink.errors import InputError
    from vashrink.search.run import shrink

    quick = {"depth_max": 1, "width_max": 1, "timing_repeats": 1, "timing_buffer_samples": 480,
             "check_samples": 2000, "progress": False, "report": False}
    shrink("tanh(2*x)", -1, 1, 1e-2, out_dir=tmp_path / "run", **quick)
    with pytest.raises(InputError, match=r"eps: 0\.01 -> 1e-06"):
        shrink("tanh(2*x)", -1, 1, 1e-6, out_dir=tmp_path / "run", **quick)


def test_bad_timing_settings_are_refused_before_training(tmp_path: Path) -> None:
    from vashrink.errors import InputError
    from vashrink.search.run import shrink

    with pytest.raises(InputError, match="sample_rate_hz must be a number above 0"):
        shrink("tanh(2*x)", -1, 1, 1e-2, out_dir=tmp_path / "run", sample_rate_hz=0.0,
               budget_core_percent=5.0, progress=False)
    assert not (tmp_path / "run").exists()
