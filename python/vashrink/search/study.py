"""The study every search writes to: a resumable Optuna ask-and-tell study of trained candidates.

Each trained candidate is one trial (parameters depth, width, activation; its score as the
trial's user attribute; its model stored by the caller), told as soon as it finishes, so a killed
run loses only the trials in flight. On reopening, trials left ``RUNNING`` are marked ``FAIL``
and asked again. :class:`Runner` asks, trains (through an :data:`Evaluate` callback) and tells;
the strategies that decide what to train live in :mod:`.smallest` (shrink) and
:func:`run_grid` (the talk's grid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InputError, StudyError
from ..model.architecture import Architecture
from .score import CandidateScore

__all__ = [
    "BAD_ERROR",
    "SCORE_ATTR",
    "Evaluate",
    "Runner",
    "completed_scores",
    "open_study",
    "recover_interrupted",
    "run_grid",
]

#: ``evaluate(architectures, phase, done)`` trains and scores a batch, calling ``done(score)``
#: as each candidate finishes (so it is stored before the next one ends).
Evaluate = Callable[[Sequence[Architecture], str, Callable[[CandidateScore], None]], None]

SCORE_ATTR = "score"
#: The error told for a candidate whose error is not finite (Optuna needs a number).
BAD_ERROR = 1e30
_BAD_ERROR = BAD_ERROR


def _quiet_optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_study(
    storage: str, study_name: str, *, seed: int = 0, lock_timeout_s: float = 10.0
) -> Any:
    """Create or load the study ``study_name`` in ``storage`` (an Optuna storage URL).

    Two objectives, both minimised: the float32 max abs error and the measured ns/sample.

    Raises:
        StudyError: the database is corrupt, locked by another run, or has a study of that name
            with other objectives.
    """
    optuna = _quiet_optuna()
    from sqlalchemy.exc import SQLAlchemyError

    kwargs: dict[str, Any] = {}
    if storage.startswith("sqlite:"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": lock_timeout_s}}
    try:
        store = optuna.storages.RDBStorage(storage, **kwargs)
        study = optuna.create_study(
            storage=store,
            study_name=study_name,
            directions=["minimize", "minimize"],
            sampler=optuna.samplers.TPESampler(seed=seed),
            load_if_exists=True,
        )
        if len(study.directions) != 2:
            msg = (
                f"study {study_name!r} in {storage} has {len(study.directions)} objectives, not a "
                "vashrink study; use another --out or --storage"
            )
            raise StudyError(msg)
    except SQLAlchemyError as exc:
        text = str(exc).splitlines()[0]
        if "locked" in text:
            hint = "another vashrink run holds it; wait for it or use another --out"
        elif "unable to open" in text:
            hint = "check that its directory exists and is writable"
        else:
            hint = "delete or move it (trained models in models/ stay usable) or use another --out"
        msg = f"cannot open the study database {storage}: {text}; {hint}"
        raise StudyError(msg) from None
    except (ValueError, RuntimeError) as exc:
        msg = f"cannot open study {study_name!r} in {storage}: {exc}"
        raise StudyError(msg) from None
    return study


def recover_interrupted(study: Any) -> list[dict[str, Any]]:
    """Mark trials a killed run left ``RUNNING`` as ``FAIL``; return their params to re-ask."""
    from optuna.trial import TrialState

    for _ in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        study.tell(study.ask(), state=TrialState.FAIL)
    lost: list[dict[str, Any]] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
        if t.params:
            lost.append(dict(t.params))
    return lost


def completed_scores(study: Any) -> dict[str, CandidateScore]:
    """The scored candidates of finished trials, by key (first one wins for duplicates)."""
    from optuna.trial import TrialState

    out: dict[str, CandidateScore] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        data = t.user_attrs.get(SCORE_ATTR)
        if isinstance(data, dict):
            c = CandidateScore.from_dict(data)
            out.setdefault(c.key, c)
    return out


class Runner:
    """Asks, trains (through ``evaluate``) and tells, keeping ``done`` current."""

    def __init__(
        self,
        study: Any,
        evaluate: Evaluate,
        depth_max: int,
        width_max: int,
        *,
        activations: Sequence[str] = ("tanh",),
    ) -> None:
        from optuna.distributions import CategoricalDistribution, IntDistribution

        self.study = study
        self.evaluate = evaluate
        self.space = {
            "depth": IntDistribution(1, max(depth_max, 1)),
            "width": IntDistribution(1, max(width_max, 1)),
            "activation": CategoricalDistribution(tuple(activations)),
        }
        self.done = completed_scores(study)

    def _tell(self, trial: Any, score: CandidateScore) -> None:
        trial.set_user_attr(SCORE_ATTR, score.to_dict())
        error = score.max_abs_error if math.isfinite(score.max_abs_error) else _BAD_ERROR
        self.study.tell(trial, [error, score.ns_per_sample])

    def run_batch(self, archs: Sequence[Architecture], phase: str) -> None:
        """Train ``archs`` (fixed params, enqueued) as one batch."""
        for a in archs:
            self.study.enqueue_trial(
                {"depth": a.depth, "width": a.width, "activation": a.activation}
            )
        trials = [self.study.ask(self.space) for _ in archs]
        asked = [
            Architecture(t.params["depth"], t.params["width"], t.params["activation"])
            for t in trials
        ]
        self._train(trials, asked, phase)

    def _train(self, trials: list[Any], archs: list[Architecture], phase: str) -> None:
        from optuna.trial import TrialState

        pending = {a.key: t for a, t in zip(archs, trials, strict=True)}

        def done(score: CandidateScore) -> None:
            trial = pending.pop(score.key, None)
            if trial is None:
                return
            self._tell(trial, score)
            self.done.setdefault(score.key, score)

        try:
            self.evaluate(archs, phase, done)
        finally:
            for trial in pending.values():
                self.study.tell(trial, state=TrialState.FAIL)


def run_grid(
    study: Any,
    archs: Sequence[Architecture],
    evaluate: Evaluate,
    *,
    batch_size: int = 16,
    log: Callable[[str], None] | None = None,
) -> dict[str, CandidateScore]:
    """Train every architecture of a grid (the talk's method), in batches, resumable."""
    if not archs:
        msg = "the grid is empty: give depth and width ranges with at least one value each"
        raise InputError(msg)
    say = log or (lambda _text: None)
    recover_interrupted(study)
    depth_max = max(a.depth for a in archs)
    width_max = max(a.width for a in archs)
    runner = Runner(study, evaluate, depth_max, width_max,
                    activations=tuple(sorted({a.activation for a in archs})))
    todo = [a for a in archs if a.key not in runner.done]
    if len(todo) < len(archs):
        say(f"resuming: {len(archs) - len(todo)} candidate(s) already trained are reused")
    for i in range(0, len(todo), batch_size):
        chunk = todo[i : i + batch_size]
        say(f"grid: training {len(chunk)} candidate(s), {i + len(chunk)}/{len(todo)}")
        runner.run_batch(chunk, "grid")
    return completed_scores(study)
