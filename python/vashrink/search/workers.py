"""A worker of a shared shrink study: claim the next candidate, train it, store it, repeat.

Each worker (a process on any machine that reaches the database) loops: fail the trials of
killed workers (their retries are queued, :mod:`.storage`), pop a queued trial if there is one
(exactly one worker wins each), else claim the cheapest candidate of :func:`.frontier.frontier`
that nobody has claimed, enqueue it and pop a queued trial; train it with a heartbeat running,
store its score, model file and machine in the trial, and tell. It stops when no ladder has a
next candidate and no trial is running or queued. ``--workers N`` runs N such loops as local
processes (spawned, one torch thread each).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.architecture import Architecture
from .artifacts import MACHINE_ATTR, MODEL_ATTR, model_text, this_machine
from .evaluate import Evaluator
from .frontier import BUSY, DEAD, Plan, frontier
from .score import CandidateScore
from .smallest import SearchLimits
from .storage import SharedStudy, heartbeat, quiet_optuna_warnings
from .study import BAD_ERROR, SCORE_ATTR

__all__ = ["WORKER_ATTR", "StudyState", "Worker", "study_state", "worker_id"]

#: Trial user attribute naming the worker (``host:pid``) that trains it.
WORKER_ATTR = "worker"
#: Trial user attribute of a trial whose training failed in a live worker (not retried).
FAILED_ATTR = "training_failed"
#: Seconds an idle worker waits before looking at the study again.
POLL_S = 0.5


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _arch_of(params: dict[str, Any]) -> Architecture | None:
    try:
        return Architecture(int(params["depth"]), int(params["width"]), str(params["activation"]))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class StudyState:
    """What the study holds: scores by key, keys in flight, claims, and queued trial ids."""

    done: dict[str, CandidateScore]
    busy: set[str]
    claims: dict[str, tuple[str, float]]
    waiting_ids: tuple[int, ...]
    running: int
    #: times (epoch s) at which trials of a key were failed by the heartbeat check
    stale_fails: dict[str, list[float]]
    #: keys whose training failed in a live worker (no retry)
    failed: set[str]

    def status(self, grace_s: float, max_retry: int
               ) -> Callable[[Architecture], CandidateScore | str | None]:
        now = time.time()

        def status(arch: Architecture) -> CandidateScore | str | None:
            key = arch.key
            if key in self.done:
                return self.done[key]
            if key in self.busy:
                return BUSY
            if key not in self.claims:
                return None
            stale = self.stale_fails.get(key, [])
            if key in self.failed or len(stale) > max_retry:
                return DEAD
            # claimed, nothing in flight: a killed trial whose retry is being queued, or a
            # claimer between claiming and enqueueing; dead only when that takes too long
            last = max([self.claims[key][1], *stale])
            return BUSY if now - last < 2 * grace_s else DEAD

        return status


def study_state(shared: SharedStudy) -> StudyState:
    from optuna.trial import TrialState

    done: dict[str, CandidateScore] = {}
    busy: set[str] = set()
    waiting: list[int] = []
    running = 0
    stale: dict[str, list[float]] = {}
    failed: set[str] = set()
    for t in shared.study.get_trials(deepcopy=False):
        if t.state == TrialState.FAIL:
            arch = _arch_of(t.params)
            if arch is None:
                continue
            if t.user_attrs.get(FAILED_ATTR):
                failed.add(arch.key)
            else:
                when = t.datetime_complete.timestamp() if t.datetime_complete else time.time()
                stale.setdefault(arch.key, []).append(when)
        if t.state == TrialState.COMPLETE:
            data = t.user_attrs.get(SCORE_ATTR)
            if isinstance(data, dict):
                score = CandidateScore.from_dict(data)
                done.setdefault(score.key, score)
        elif t.state in (TrialState.RUNNING, TrialState.WAITING):
            arch = _arch_of(t.params or t.system_attrs.get("fixed_params", {}))
            if arch is not None:
                busy.add(arch.key)
            if t.state == TrialState.WAITING:
                waiting.append(t._trial_id)
            else:
                running += 1
    return StudyState(done, busy, shared.claims(), tuple(waiting), running, stale, failed)


class Worker:
    """One worker loop over a shared study (see the module doc)."""

    def __init__(
        self,
        shared: SharedStudy,
        evaluate: Evaluator,
        *,
        eps: float,
        lanes: int,
        activations: tuple[str, ...],
        limits: SearchLimits,
        cost_of: Callable[[Architecture], float] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        from optuna.distributions import CategoricalDistribution, IntDistribution

        self.shared, self.evaluate = shared, evaluate
        self.eps, self.lanes, self.activations, self.limits = eps, lanes, activations, limits
        self.cost_of = cost_of
        self.say = log or (lambda _t: None)
        self.id = worker_id()
        self.space = {
            "depth": IntDistribution(1, max(limits.depth_max, 1)),
            "width": IntDistribution(1, max(limits.width_max, 1)),
            "activation": CategoricalDistribution(activations),
        }
        self.trained = 0

    def plan(self, state: StudyState) -> Plan:
        return frontier(
            state.done, state.status(2.0 * self.shared.heartbeat_s + 1, self.shared.max_retry),
            eps=self.eps, lanes=self.lanes, activations=self.activations, limits=self.limits,
            claimed=len(state.claims), cost_of=self.cost_of,
        )

    def _pop(self, trial_ids: tuple[int, ...]) -> int | None:
        """Move one queued trial to ``RUNNING``; exactly one worker wins each."""
        return next((t for t in trial_ids if self.shared.pop(t)), None)

    def step(self) -> bool:
        """One turn of the loop; False once the search is over (nothing to train or wait on)."""
        self.shared.fail_stale()
        state = study_state(self.shared)
        if not state.waiting_ids:
            plan = self.plan(state)
            if plan.finished and state.running == 0:
                return False
            claimed = next((a for a in plan.ready if self.shared.claim(a.key, self.id)), None)
            if claimed is None:
                time.sleep(POLL_S)
                return True
            self.shared.study.enqueue_trial(
                {"depth": claimed.depth, "width": claimed.width, "activation": claimed.activation},
                skip_if_exists=False,
            )
            state = study_state(self.shared)
        trial_id = self._pop(state.waiting_ids)
        if trial_id is None:
            # Another worker took it, or SQLite was busy: back off instead of spinning on the
            # database (three spinning workers can keep SQLite locked for each other).
            time.sleep(POLL_S)
            return True
        self._train(trial_id)
        return True

    def run(self) -> int:
        """Loop until the search is over; returns how many candidates this worker trained."""
        while self.step():
            pass
        return self.trained

    def _train(self, trial_id: int) -> None:
        import optuna

        study = self.shared.study
        with quiet_optuna_warnings():
            trial = optuna.trial.Trial(study, trial_id)
            arch = Architecture(
                trial.suggest_int("depth", 1, self.space["depth"].high),
                trial.suggest_int("width", 1, self.space["width"].high),
                str(trial.suggest_categorical("activation", list(self.activations))),
            )
        trial.set_user_attr(WORKER_ATTR, self.id)
        scores: list[CandidateScore] = []
        self.say(f"{self.id}: training {arch.key} (trial {trial.number})")
        try:
            with heartbeat(self.shared, trial_id):
                self.evaluate([arch], "search", scores.append)
        except BaseException:
            self._store(trial_id, trial, {FAILED_ATTR: True}, None)
            raise
        if not scores:
            if self._store(trial_id, trial, {FAILED_ATTR: True}, None):
                self.say(f"{arch.key}: training produced no model (trial failed); skipped")
            return
        score = scores[0]
        error = score.max_abs_error if score.max_abs_error < BAD_ERROR else BAD_ERROR
        attrs = {SCORE_ATTR: score.to_dict(), MACHINE_ATTR: this_machine(),
                 MODEL_ATTR: model_text(Path(self.evaluate.out) / score.model_path)}
        if self._store(trial_id, trial, attrs, [error, score.ns_per_sample]):
            self.trained += 1

    def _store(self, trial_id: int, trial: Any, attrs: dict[str, Any],
               values: list[float] | None) -> bool:
        """Set ``attrs`` and tell ``values`` (None: failed). False, said, when the trial was
        failed as dead while it trained (its heartbeats came late): its retry is queued for
        a worker to train, so this result is dropped rather than completing it twice."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        try:
            for key, value in attrs.items():
                trial.set_user_attr(key, value)
            self._tell(trial, values)
        except (UpdateFinishedTrialError, ValueError):
            if self.shared.storage.get_trial(trial_id).state != TrialState.FAIL:
                raise
            self.say(f"{self.id}: trial {trial.number} was failed as dead while it trained "
                     "(its heartbeats came late); its retry trains it again")
            return False
        return True

    def _tell(self, trial: Any, values: list[float] | None) -> None:
        """Tell, retrying a moment later when SQLite reports a lock (a transient conflict)."""
        from optuna.trial import TrialState
        from sqlalchemy.exc import OperationalError

        for attempt in range(5):
            try:
                with quiet_optuna_warnings():
                    if values is None:
                        self.shared.study.tell(trial, state=TrialState.FAIL)
                    else:
                        self.shared.study.tell(trial, values)
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
