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
