"""Workers on one study, one of them killed: four machines started together on a fresh
PostgreSQL database, and local worker processes on SQLite.

Every requested candidate completes exactly once, the killed worker's trial is retried by
another (heartbeat), the result every finishing worker writes equals the choice rule over the
stored trials, and the winner can be exported from the database alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vashrink.search.artifacts import stored_trials
from vashrink.search.score import choose

pytestmark = pytest.mark.slow

EPS = "1e-12"  # no small net meets it, so every trial runs LM to its limit (under a second)
#: 2 depths x widths 1, 2, 3, 4: eight candidates, each a ladder step that cannot meet eps.
LIMITS = ("--depth-max", "2", "--width-max", "4", "--trials", "8", "--epochs", "100",
          "--samples", "300")
EXPECTED = {f"{d}x{w} tanh" for d in (1, 2) for w in (1, 2, 3, 4)}


def shrink_cmd(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "vashrink.cli", "shrink", "sin(5*x)", "--range", "0", "3",
        "--eps", EPS, "--dtype", "float32", "--repeats", "2", "--no-progress", "--json",
        "--out", str(out), "--heartbeat-s", "1", *LIMITS, *extra,
    ]


def load(url: str, name: str) -> tuple[Any, Any]:
    import optuna

    storage = optuna.storages.RDBStorage(url)
    try:
        return optuna.load_study(study_name=name, storage=storage), storage
    except BaseException:
        close(storage)
        raise


def close(storage: Any) -> None:
    storage.remove_session()
    storage.engine.dispose()


def trials_of(url: str, name: str) -> list[Any]:
    try:
        study, storage = load(url, name)
    except Exception:  # not created yet, or busy for a moment
        return []
    try:
        return study.get_trials(deepcopy=False)
    except Exception:
        return []
    finally:
        close(storage)


def kill_mid_trial(url: str, name: str, allowed: Callable[[int], bool],
                   procs: list[subprocess.Popen[bytes]]) -> tuple[int, str]:
    """SIGKILL a worker whose pid is ``allowed`` while it trains and another trial has
    finished; returns the killed pid and the key of the trial it was training.

    The worker is stopped first and killed only if its trial is still running: it may have
    stored its result between the look and the kill, and then nothing was killed mid-trial."""
    from optuna.trial import TrialState

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        trials = trials_of(url, name)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        for t in trials:
            worker = str(t.user_attrs.get("worker", ":"))
            pid = int(worker.rsplit(":", 1)[1] or 0)
            if t.state == TrialState.RUNNING and pid and allowed(pid) and complete and t.params:
                os.kill(pid, signal.SIGSTOP)
                now = {u.number: u.state for u in trials_of(url, name)}
                if now.get(t.number) != TrialState.RUNNING:
                    os.kill(pid, signal.SIGCONT)
                    break
                os.kill(pid, signal.SIGKILL)
                p = t.params
                return pid, f"{p['depth']}x{p['width']} {p['activation']}"
        time.sleep(0.05)
    pytest.fail("no worker could be caught mid-trial")


def check_study(url: str, name: str, killed_key: str, results: list[dict[str, Any]]) -> None:
    from optuna.trial import TrialState

    study, storage = load(url, name)
    try:
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        keys = [f"{t.params['depth']}x{t.params['width']} {t.params['activation']}"
                for t in complete]
        assert sorted(keys) == sorted(EXPECTED)  # each exactly once, none missing
        assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        killed = [t for t in trials if t.state == TrialState.FAIL]
        assert killed, "the killed worker's trial was not failed by the heartbeat check"
        retry = [t for t in complete if "failed_trial" in t.system_attrs]
        assert [keys[complete.index(t)] for t in retry] == [killed_key]
        scores = [s for s, _, _ in stored_trials(study)]
        winner = choose(scores, float(EPS)).winner
        assert winner is not None
        for result in results:
            assert result["winner"]["label"] == winner.label
            assert {c["depth"] * 100 + c["width"] for c in result["candidates"]} == {
                d * 100 + w for d in (1, 2) for w in (1, 2, 3, 4)}
        machines = {json.dumps(m, sort_keys=True) for _, m, _ in stored_trials(study)}
        assert len(machines) == 1 and "cpu_model" in next(iter(machines))
    finally:
        close(storage)


def study_name(url: str, deadline: float) -> str:
    """The study a worker created at ``url``, once there is one. Read with plain SQL: opening an
    Optuna storage on a fresh database would create the tables itself, racing the workers."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    names = conn.execute(sa.text(
                        "SELECT study_name FROM studies ORDER BY study_id")).scalars().all()
                if names:
                    return str(names[0])
            except sa.exc.SQLAlchemyError:  # no tables yet, or busy for a moment
                pass
            time.sleep(0.05)
    finally:
        engine.dispose()
    pytest.fail(f"no worker created a study at {url}")


def test_four_machines_started_together_on_postgres_one_killed(
        postgres_url: str, tmp_path: Path) -> None:
    """Four ``vashrink shrink --storage URL --workers 1`` (one --out each, as on four machines)
    started at once on a fresh database, the study named after the settings (no --study): all
    four open it (issue 19 item 1) and meet in one study; one is killed while it trains."""
    from test_workers_start import fresh_database

    url = fresh_database(postgres_url, "start_search")
    procs = [subprocess.Popen(shrink_cmd(tmp_path / f"machine{i}", "--storage", url,
                                         "--workers", "1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(4)]
    try:
        name = study_name(url, time.monotonic() + 120)
        pids = {p.pid for p in procs}
        pid, key = kill_mid_trial(url, name, pids.__contains__, procs)
        results = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            if p.pid == pid:
                assert p.returncode == -signal.SIGKILL
                continue
            assert p.returncode == 1, stderr.decode()[-2000:]  # eps not met: closest exported
            results.append(json.loads(stdout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    import optuna

    storage = optuna.storages.RDBStorage(url)
    try:
        assert [s.study_name for s in storage.get_all_studies()] == [name]  # one for all four
    finally:
        close(storage)
    check_study(url, name, key, results)
    # any machine exports the winner from the database alone
    target = tmp_path / "elsewhere" / "model.json"
    target.parent.mkdir()
    done = subprocess.run([sys.executable, "-m", "vashrink.cli", "export", "--storage",
                           url, "--study", name, "--to", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text())["layers"]


def test_local_worker_processes_on_sqlite_one_killed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(shrink_cmd(out, "--workers", "3"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    url = f"sqlite:///{out / 'study.db'}"
    try:
        deadline = time.monotonic() + 120
        while not (out / "study.db").is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        name = study_name(url, deadline)
        # a local worker (a child process), not the parent that finishes
        _, key = kill_mid_trial(url, name, lambda pid: pid != proc.pid, [proc])
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # a failed run: stop the parent and its worker processes
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 1, stderr.decode()[-2000:]
    check_study(url, name, key, [json.loads(stdout)])
