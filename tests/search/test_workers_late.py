"""A worker whose trial was failed as dead while it trained (its heartbeats came late, e.g. a
suspended machine) stores nothing and carries on: the retry another worker found and queued is
the candidate's one completion, so it is never completed twice, and the worker does not die."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from test_workers_frontier import _score

from vashrink.model.architecture import Architecture
from vashrink.search.score import CandidateScore
from vashrink.search.smallest import SearchLimits
from vashrink.search.storage import SharedStudy, open_shared_study
from vashrink.search.workers import Worker

KIND = "shrink-mlp:test"


class FoundDeadWhileTraining:
    """Trains nothing: another worker finds this trial's heartbeat stale and fails it, then the
    training ends with a model and a score as usual."""

    def __init__(self, out: Path, other: SharedStudy) -> None:
        self.out, self.other = out, other

    def __call__(self, archs: Sequence[Architecture], _phase: str,
                 done: Callable[[CandidateScore], None]) -> None:
        import sqlalchemy as sa

        with self.other.storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE trial_heartbeats SET heartbeat = :old"),
                         {"old": datetime.datetime(2000, 1, 1)})
        self.other.fail_stale()
        score = replace(_score(archs[0], 1.0), model_path="models/trained.vashrink.json")
        (self.out / score.model_path).parent.mkdir(parents=True, exist_ok=True)
        (self.out / score.model_path).write_text("{}")
        done(score)


def test_a_trial_failed_as_dead_while_it_trained_is_not_stored_and_the_worker_goes_on(
        tmp_path: Path) -> None:
    from optuna.trial import TrialState

    url = f"sqlite:///{tmp_path / 'study.db'}"
    shared = open_shared_study(url, "late", KIND, heartbeat_s=1)
    other = open_shared_study(url, "late", KIND, heartbeat_s=1)
    said: list[str] = []
    try:
        worker = Worker(shared, FoundDeadWhileTraining(tmp_path, other),  # type: ignore[arg-type]
                        eps=1e-3, lanes=8, activations=("tanh",),
                        limits=SearchLimits(depth_max=1, width_max=2), log=said.append)
        shared.study.enqueue_trial({"depth": 1, "width": 2, "activation": "tanh"})
        assert worker.step()  # no exception: the worker lives on
        trials = shared.study.get_trials(deepcopy=False)
        assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
        assert "score" not in trials[0].user_attrs
        assert trials[1].system_attrs["failed_trial"] == trials[0].number
        assert worker.trained == 0
        assert any("failed as dead while it trained" in line for line in said)
    finally:
        shared.close()
        other.close()
