"""The shared study's pop: one winner per queued trial, and a heartbeat from the first moment.

A worker killed right after it popped a trial (before its heartbeat thread first beat) must
still be found dead: Optuna never fails a running trial that has no heartbeat, so without one
the search would wait on that trial forever.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vashrink.search.storage import SharedStudy, open_shared_study

KIND = "shrink-mlp:test"


def heartbeat_rows(shared: SharedStudy, trial_id: int) -> int:
    import sqlalchemy as sa

    with shared.storage.engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COUNT(*) FROM trial_heartbeats WHERE trial_id = :id"),
            {"id": trial_id}).scalar_one())


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return str(request.getfixturevalue("postgres_url"))


def queued(shared: SharedStudy) -> int:
    from optuna.trial import TrialState

    shared.study.enqueue_trial({"depth": 1, "width": 2, "activation": "tanh"})
    waiting = shared.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return int(waiting[-1]._trial_id)


def test_exactly_one_pop_wins_and_the_winner_has_a_heartbeat(
        url: str, request: pytest.FixtureRequest) -> None:
    shared = open_shared_study(url, f"pop-{request.node.callspec.id}", KIND, heartbeat_s=1)
    try:
        trial_id = queued(shared)
        assert heartbeat_rows(shared, trial_id) == 0
        assert shared.pop(trial_id)
        assert heartbeat_rows(shared, trial_id) == 1
        assert not shared.pop(trial_id)
        assert heartbeat_rows(shared, trial_id) == 1
    finally:
        shared.close()


@pytest.mark.slow
def test_a_trial_popped_by_a_worker_that_never_beat_is_failed_and_retried(
        url: str, request: pytest.FixtureRequest) -> None:
    from optuna.trial import TrialState

    shared = open_shared_study(url, f"silent-{request.node.callspec.id}", KIND, heartbeat_s=1)
    try:
        trial_id = queued(shared)
        assert shared.pop(trial_id)  # ... and the worker dies before its heartbeat thread runs
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shared.fail_stale()
            if shared.storage.get_trial(trial_id).state == TrialState.FAIL:
                break
            time.sleep(0.5)
        assert shared.storage.get_trial(trial_id).state == TrialState.FAIL
        retry = shared.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        assert [t.system_attrs.get("failed_trial") for t in retry] == [
            shared.storage.get_trial(trial_id).number]
        # not suggested yet: the retry carries the queued parameters for its worker to use
        assert retry[0].system_attrs["fixed_params"] == {"depth": 1, "width": 2,
                                                         "activation": "tanh"}
    finally:
        shared.close()


def test_racing_workers_fail_a_dead_workers_trial_once_and_queue_one_retry(
        tmp_path: Path) -> None:
    """Worker B checks for dead workers while worker A is between reading the stale trial and
    writing its ``FAIL``: one of them fails it and queues its retry, never both (two retries of
    one trial are trained twice and completed twice). On SQLite, Optuna's own read-then-write
    let both win."""
    import datetime

    import sqlalchemy as sa
    from optuna.trial import TrialState

    url = f"sqlite:///{tmp_path / 'study.db'}"
    a = open_shared_study(url, "race", KIND, heartbeat_s=1)
    b = open_shared_study(url, "race", KIND, heartbeat_s=1)
    try:
        trial_id = queued(a)
        assert a.pop(trial_id)
        with a.storage.engine.begin() as conn:  # its worker died long ago
            conn.execute(sa.text("UPDATE trial_heartbeats SET heartbeat = :old "
                                 "WHERE trial_id = :id"),
                         {"old": datetime.datetime(2000, 1, 1), "id": trial_id})
        raced: list[str] = []

        def b_looks_first(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if not raced and statement.lstrip().upper().startswith("UPDATE TRIALS"):
                raced.append(statement)
                b.fail_stale()

        sa.event.listen(a.storage.engine, "before_cursor_execute", b_looks_first)
        a.fail_stale()
        assert raced, "worker A never wrote the stale trial's state"
        assert a.storage.get_trial(trial_id).state == TrialState.FAIL
        retries = a.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        assert [t.system_attrs.get("failed_trial") for t in retries] == [
            a.storage.get_trial(trial_id).number]
    finally:
        a.close()
        b.close()
