"""``vashrink profile`` (engine only, no torch) and ``shrink --cost-profile`` scoring by it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vashrink.cli import main
from vashrink.model.architecture import Architecture
from vashrink.search.costs import load_cost_profile

SMALL = ["--depths", "1", "2", "3", "--widths", "1", "4", "8", "16", "--repeats", "3",
         "--buffer-samples", "960"]


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small profile written by the CLI in a process that must never import torch."""
    path = tmp_path_factory.mktemp("profile") / "cpu.json"
    code = (
        "import sys; from vashrink.cli import main; "
        f"rc = main(['profile', '--out', {str(path)!r}, *{SMALL!r}, '--json']); "
        "assert 'torch' not in sys.modules, 'profile imported torch'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(path.read_text())["rows"]
    assert len([r for r in rows if r["kind"] == "dense"]) == 4 * 2 * 3 * 4
    return path


def test_the_profile_is_a_versioned_table_with_the_cpu(profile: Path) -> None:
    data = json.loads(profile.read_text())
    assert data["format"] == "vashrink-cost-profile" and data["version"] == 1
    assert data["machine"]["isa"] and data["machine"]["float32_lanes"] >= 1
    row = data["rows"][0]
    assert row["ns_per_sample"] > 0 and row["ns_per_sample_block"] > 0
    assert {r["dtype"] for r in data["rows"]} == {"float32", "float64"}
    import importlib.util

    if importlib.util.find_spec("vashrink.runtime.recurrent") is not None:
        cells = {(r["kind"], r["hidden"]) for r in data["rows"] if r["kind"] in ("gru", "lstm")}
        assert ("gru", 16) in cells and ("lstm", 16) in cells
    assert {(r["channels"], r["depth"]) for r in data["rows"] if r["kind"] == "wavenet"} >= {
        (2, 4), (16, 10)}


def test_interpolation_is_exact_on_the_grid_and_between_neighbours_off_it(profile: Path) -> None:
    table = load_cost_profile(profile)
    rows = {(r["activation"], r["dtype"], r["depth"], r["width"]): r["ns_per_sample"]
            for r in json.loads(profile.read_text())["rows"] if r["kind"] == "dense"}
    ns, outside = table.estimate(Architecture(2, 8, "tanh"), "float32")
    assert ns == pytest.approx(rows[("tanh", "float32", 2, 8)], rel=1e-12) and not outside
    ns, outside = table.estimate(Architecture(2, 6, "relu"), "float32")
    lo, hi = rows[("relu", "float32", 2, 4)], rows[("relu", "float32", 2, 8)]
    assert min(lo, hi) <= ns <= max(lo, hi) and not outside
    _, outside = table.estimate(Architecture(5, 8, "tanh"), "float32")
    assert outside  # beyond the profiled depths: extrapolated, and said so
    assert 0 <= table.uncertainty < 1


@pytest.mark.slow
def test_shrink_scores_by_the_profile_and_names_the_target_cpu(
    profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["shrink", "tanh(2*x)", "--range", "-1", "1", "--eps", "1e-3", "--depth-max",
                 "1", "--width-max", "4", "--repeats", "2", "--no-progress", "--json",
                 "--out", str(tmp_path / "run"), "--cost-profile", str(profile)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["met"]
    table = load_cost_profile(profile)
    for c in result["candidates"]:
        want, _ = table.estimate(Architecture(c["depth"], c["width"], c["activation"]),
                                 c["dtype"])
        assert c["ns_per_sample"] == pytest.approx(want, rel=1e-12)
    assert any(table.label in note and "uncertainty" in note for note in result["notes"])
    assert table.label in (tmp_path / "run" / "report.html").read_text()


@pytest.mark.parametrize("case", ["directory", "missing-parent", "parent-is-a-file"])
def test_a_bad_out_path_is_refused_in_one_line_before_any_timing(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from vashrink.runtime import profile as profile_module

    def never(**_: object) -> None:
        msg = "profiling ran before the output path was checked"
        raise AssertionError(msg)

    monkeypatch.setattr(profile_module, "measure_profile", never)
    (tmp_path / "file.txt").write_text("x")
    out, said = {
        "directory": (tmp_path, "is a directory"),
        "missing-parent": (tmp_path / "missing" / "p.json", "does not exist"),
        "parent-is-a-file": (tmp_path / "file.txt" / "p.json", "does not exist"),
    }[case]
    before = sorted(tmp_path.rglob("*"))
    assert main(["profile", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
    assert sorted(tmp_path.rglob("*")) == before  # no directory created, no temp file left


def test_write_profile_refuses_a_directory_and_leaves_no_temp_file(tmp_path: Path) -> None:
    from vashrink.errors import InputError
    from vashrink.runtime.profile import CostProfile, write_profile

    table = CostProfile(machine={}, block_size=64, buffer_samples=1, repeats=1, rows=(),
                        seconds=0.0)
    with pytest.raises(InputError, match="is a directory"):
        write_profile(table, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert write_profile(table, tmp_path / "p.json") == tmp_path / "p.json"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]
