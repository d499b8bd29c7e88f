"""Shared-study mistakes: one line, exit code 2, and nothing of the study changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vashrink.cli import main
from vashrink.search.shared_run import PROFILE_ATTR

BASE = ["shrink", "tanh(2*x)", "--range", "-1", "1", "--eps", "1e-3", "--no-progress"]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def profile_file(path: Path, *, fmt: str = "vashrink-cost-profile", version: int = 1,
                 isa: str = "neon", lanes: int = 4) -> Path:
    rows = [{"kind": "dense", "activation": "tanh", "dtype": dt, "depth": d, "width": w,
             "ns_per_sample": 10.0 * d * w, "ns_per_sample_block": 2.0 * d * w, "spread": 0.0}
            for dt in ("float32", "float64") for d in (1, 2, 3) for w in (1, 2, 4, 8)]
    machine = {"cpu_model": f"test CPU {isa}", "isa": isa, "float32_lanes": lanes,
               "float64_lanes": lanes // 2}
    path.write_text(json.dumps({"format": fmt, "version": version, "machine": machine,
                                "block_size": 64, "rows": rows}))
    return path


def test_an_unreachable_database_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, err = run_cli([*BASE, "--out", str(out), "--storage",
                         "postgresql://nobody@127.0.0.1:1/vashrink"], capsys)
    assert code == 2
    assert "cannot open the study database" in one_line(err)
    assert "server runs" in err
    assert not out.exists()


def test_a_malformed_url_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli([*BASE, "--out", str(tmp_path / "r"), "--storage", "nosuchdb://x/y"],
                        capsys)
    assert code == 2 and "cannot open the study database" in one_line(err)


def test_a_missing_database_on_a_live_server(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_url.replace("/postgres?", "/no_such_db?")
    code, err = run_cli([*BASE, "--out", str(tmp_path / "r"), "--storage", url], capsys)
    assert code == 2
    assert "does not exist" in one_line(err) and "createdb" in err


def _foreign_study(url: str, name: str) -> Any:
    import optuna

    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(storage=storage, study_name=name)
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    return storage


def _count(storage: Any, name: str) -> int:
    import optuna

    return len(optuna.load_study(study_name=name, storage=storage).get_trials())


def _close(storage: Any) -> None:
    storage.remove_session()
    storage.engine.dispose()


def test_a_study_of_another_kind_is_refused_untouched(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = _foreign_study(postgres_url, "someone-elses")
    try:
        code, err = run_cli([*BASE, "--out", str(tmp_path / "r"), "--storage", postgres_url,
                             "--study", "someone-elses"], capsys)
        assert code == 2
        assert "another kind of run" in one_line(err)
        assert _count(storage, "someone-elses") == 1
        code, err = run_cli(["export", "--storage", postgres_url, "--study", "someone-elses",
                             "--to", str(tmp_path / "m.json")], capsys)
        assert code == 2 and "another kind of run" in one_line(err)
        code, err = run_cli(["export", "--storage", postgres_url, "--study", "missing",
                             "--to", str(tmp_path / "m.json")], capsys)
        assert code == 2 and "no study 'missing'" in one_line(err)
    finally:
        _close(storage)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"fmt": "something-else"}, "not a vashrink cost profile"),
        ({"version": 99}, "version 99"),
        ({"lanes": 0}, "without lane counts"),
    ],
)
def test_a_cost_profile_of_another_format_is_refused_before_anything_is_written(
    kwargs: dict[str, Any], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    bad = profile_file(tmp_path / "p.json", **kwargs)
    code, err = run_cli([*BASE, "--out", str(out), "--cost-profile", str(bad)], capsys)
    assert code == 2 and needle in one_line(err)
    assert not out.exists()


def test_a_cost_profile_of_another_isa_than_the_studys_is_refused(tmp_path: Path) -> None:
    from vashrink.search.costs import CostProfileError, load_cost_profile
    from vashrink.search.shared_run import _check_profile
    from vashrink.search.storage import open_shared_study

    pi = load_cost_profile(profile_file(tmp_path / "pi.json"))
    pc = load_cost_profile(profile_file(tmp_path / "pc.json", isa="avx2-fma", lanes=8))
    shared = open_shared_study(f"sqlite:///{tmp_path / 'study.db'}", "s", "shrink-mlp:test")
    try:
        _check_profile(shared, pi)  # the first profile names the study's target CPU
        _check_profile(shared, pi)  # the same CPU again is fine
        with pytest.raises(CostProfileError, match="is scored for test CPU neon"):
            _check_profile(shared, pc)
        assert shared.study.user_attrs[PROFILE_ATTR]["isa"] == "neon"
    finally:
        _close(shared.storage)
