"""Architecture search over (depth, width): a resumable Optuna ask-and-tell study.

The complexity bound (``vashrink.bound.bounds``) counts linear pieces, a piecewise-linear (ReLU)
argument; smooth saturating targets are often met by far smaller tanh nets. So the search:

1. climbs a **ladder below the band**, smallest lane score first (widths in whole SIMD lanes:
   a narrower layer costs the same padded lanes and only loses capacity), a couple of shapes per
   cost level, and stops climbing as soon as a trained candidate meets eps;
2. **covers the band** (a few spread members; only its cheapest when eps is already met below);
3. lets Optuna's multi-objective TPE sampler over (max abs error, measured ns/sample) spend the
   remaining trials, skipping (``PRUNED``, untrained) proposals that cannot win: costlier than
   the cheapest model already meeting eps, or above the CPU budget.

Candidates are trained in batches (ask several, train together, tell each as it finishes), and
every finished candidate is stored at once (its score as the trial's user attribute, its model by
the caller), so a killed run loses only the trials in flight. On reopening, trials left
``RUNNING`` are marked ``FAIL`` and asked again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, StudyError
from ..model.architecture import Architecture, lane_score
from .score import CandidateScore

__all__ = [
    "Evaluate",
    "SearchPlan",
    "band_cover",
    "completed_scores",
    "ladder",
    "open_study",
    "plan_search",
    "recover_interrupted",
    "run_grid",
    "run_search",
]

#: ``evaluate(architectures, phase, done)`` trains and scores a batch, calling ``done(score)``
#: as each candidate finishes (so it is stored before the next one ends).
Evaluate = Callable[[Sequence[Architecture], str, Callable[[CandidateScore], None]], None]

SCORE_ATTR = "score"
_BAD_ERROR = 1e30


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


def recover_interrupted(study: Any) -> list[dict[str, int]]:
    """Mark trials a killed run left ``RUNNING`` as ``FAIL``; return their params to re-ask."""
    from optuna.trial import TrialState

    for _ in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        study.tell(study.ask(), state=TrialState.FAIL)
    lost: list[dict[str, int]] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
        if t.params:
            lost.append({k: int(v) for k, v in t.params.items()})
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


def ladder(
    band: Sequence[Architecture], lanes: int, activation: str, *, per_level: int = 2
) -> list[Architecture]:
    """Small architectures below the band, in order of lane score (cost), smallest first.

    Widths are whole multiples of ``lanes``. Lane-score levels are 1, 2, 3, 4, 6, 8, 12, 16,
    24, ... (powers of two and three times them: about 1.4x apart, each with balanced factor
    pairs) below the band's cheapest member; each level takes the ``per_level`` shapes
    ``depth x k*lanes`` with ``depth * k`` equal to the level whose depth is closest to
    ``sqrt(2 * level)`` (deep-and-narrow first, the shapes the talk's grid ranked best).
    """
    if lanes < 1:
        msg = f"lanes must be at least 1, got {lanes}"
        raise InputError(msg)
    if band:
        top = min(lane_score(a.depth, a.width, lanes) for a in band)
        depth_cap = max(a.depth for a in band)
    else:
        top, depth_cap = 64, 12
    levels = sorted({m << n for n in range(12) for m in (1, 3) if (m << n) < top})
    out: list[Architecture] = []
    for level in levels:
        shapes = [(d, level // d) for d in range(1, min(level, depth_cap) + 1) if level % d == 0]
        shapes.sort(key=lambda dk: (abs(dk[0] - math.sqrt(2 * level)), -dk[0]))
        for d, k in shapes[:per_level]:
            out.append(Architecture(d, k * lanes, activation))
    return out


def band_cover(band: Sequence[Architecture], count: int, lanes: int) -> list[Architecture]:
    """Up to ``count`` band members spread over its cost range, cheapest first."""
    if count < 1 or not band:
        return []
    ordered = sorted(
        set(band), key=lambda a: (lane_score(a.depth, a.width, lanes), a.macs_per_sample)
    )
    if count >= len(ordered):
        return ordered
    if count == 1:
        return ordered[:1]
    picks = sorted({round(i * (len(ordered) - 1) / (count - 1)) for i in range(count)})
    return [ordered[i] for i in picks]


@dataclass(frozen=True)
class SearchPlan:
    """What a shrink search will try: the ladder, the band cover and Optuna's search space."""

    ladder: tuple[Architecture, ...]
    band: tuple[Architecture, ...]
    band_cover: tuple[Architecture, ...]
    depth_max: int
    width_max: int
    activation: str
    lanes: int = 1


def plan_search(
    band: Sequence[Architecture], lanes: int, activation: str, *, band_trials: int = 4
) -> SearchPlan:
    """The ladder below the band, the band cover and a space reaching a little past the band."""
    steps = ladder(band, lanes, activation)
    cover = band_cover(band, band_trials, lanes)
    archs = [*steps, *band]
    depth_max = max([a.depth for a in archs] + [1]) + 2
    width_max = lanes * math.ceil((max([a.width for a in archs] + [lanes]) + lanes) / lanes)
    return SearchPlan(
        tuple(steps), tuple(band), tuple(cover), depth_max, width_max, activation, lanes
    )


class _Runner:
    """Asks, trains (through ``evaluate``) and tells, keeping ``done`` current."""

    def __init__(
        self, study: Any, evaluate: Evaluate, depth_max: int, width_max: int, lanes: int = 1
    ) -> None:
        from optuna.distributions import IntDistribution

        self.study = study
        self.evaluate = evaluate
        self.space = {
            "depth": IntDistribution(1, depth_max),
            "width": IntDistribution(1, width_max),
        }
        # Optuna's own proposals use whole SIMD lanes: a narrower layer costs the same padding.
        self.free_space = {
            "depth": IntDistribution(1, depth_max),
            "width": IntDistribution(lanes, lanes * max(1, width_max // lanes), step=lanes),
        }
        self.done = completed_scores(study)
        self.trained_now = 0

    def _tell(self, trial: Any, score: CandidateScore) -> None:
        trial.set_user_attr(SCORE_ATTR, score.to_dict())
        error = score.max_abs_error if math.isfinite(score.max_abs_error) else _BAD_ERROR
        self.study.tell(trial, [error, score.ns_per_sample])

    def run_batch(self, archs: Sequence[Architecture], phase: str) -> None:
        """Train ``archs`` (fixed params, enqueued) as one batch."""
        for a in archs:
            self.study.enqueue_trial({"depth": a.depth, "width": a.width})
        trials = [self.study.ask(self.space) for _ in archs]
        asked = [
            Architecture(t.params["depth"], t.params["width"], archs[0].activation) for t in trials
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
            self.trained_now += 1

        try:
            self.evaluate(archs, phase, done)
        finally:
            for trial in pending.values():
                self.study.tell(trial, state=TrialState.FAIL)

    def ask_free(self, count: int, activation: str, skip: Callable[[Architecture], bool]) -> int:
        """Ask Optuna for up to ``count`` new architectures and train them; returns how many."""
        from optuna.trial import TrialState

        trials: list[Any] = []
        archs: list[Architecture] = []
        asks = 0
        while len(archs) < count and asks < 3 * count + 4:
            asks += 1
            trial = self.study.ask(self.free_space)
            arch = Architecture(trial.params["depth"], trial.params["width"], activation)
            known = self.done.get(arch.key)
            if known is not None:
                self._tell(trial, known)
            elif any(a.key == arch.key for a in archs) or skip(arch):
                self.study.tell(trial, state=TrialState.PRUNED)
            else:
                trials.append(trial)
                archs.append(arch)
        if archs:
            self._train(trials, archs, "optuna")
        return len(archs)


def run_search(
    study: Any,
    plan: SearchPlan,
    evaluate: Evaluate,
    *,
    eps: float,
    trials: int,
    batch_size: int = 4,
    cost_of: Callable[[Architecture], float] | None = None,
    cost_limit_ns: float | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, CandidateScore]:
    """Run (or resume) a shrink search until ``trials`` candidates of the study are trained.

    Args:
        study: from :func:`open_study`; finished trials are reused, never retrained.
        plan: from :func:`plan_search`.
        evaluate: trains and scores a batch (see :data:`Evaluate`).
        eps: target max abs error; the ladder stops climbing once a candidate meets it.
        trials: total trained candidates the study may hold (earlier runs included).
        batch_size: candidates trained together.
        cost_of: ns/sample estimate of an untrained architecture (e.g. timed with random
            weights); lets Optuna's proposals that cannot win be skipped untrained.
        cost_limit_ns: a CPU budget in ns/sample; costlier proposals are skipped.
        log: receives one line per batch.

    Returns:
        Every scored candidate of the study, by key (``"2x8 tanh"``).
    """
    if trials < 1 or batch_size < 1:
        msg = f"trials and batch size must be at least 1, got {trials} and {batch_size}"
        raise InputError(msg)
    say = log or (lambda _text: None)
    lost = recover_interrupted(study)
    if lost:
        say(f"resuming: {len(lost)} trial(s) interrupted by an earlier run will be trained again")
    runner = _Runner(study, evaluate, plan.depth_max, plan.width_max, plan.lanes)
    if runner.done:
        say(f"resuming: {len(runner.done)} candidate(s) already trained are reused")

    def room() -> int:
        return trials - len(runner.done)

    def best_meeting_cost() -> float | None:
        costs = [c.ns_per_sample for c in runner.done.values() if c.meets(eps)]
        return min(costs) if costs else None

    def over_budget(arch: Architecture) -> bool:
        return cost_of is not None and cost_limit_ns is not None and cost_of(arch) > cost_limit_ns

    def batches(archs: Sequence[Architecture], phase: str, stop_when_met: bool) -> None:
        todo = [a for a in archs if a.key not in runner.done]
        fitting = [a for a in todo if not over_budget(a)]
        if len(fitting) < len(todo):
            say(f"{phase}: {len(todo) - len(fitting)} candidate(s) skipped, above the CPU budget")
        todo = fitting
        while todo and room() > 0:
            if stop_when_met and best_meeting_cost() is not None:
                say(f"{phase}: stopped climbing, a cheaper candidate already meets eps = {eps:.3g}")
                return
            chunk, todo = todo[: min(batch_size, room())], todo[min(batch_size, room()) :]
            say(f"{phase}: training {', '.join(a.label for a in chunk)}")
            runner.run_batch(chunk, phase)

    batches(plan.ladder, "below band", stop_when_met=True)
    cover = plan.band_cover[:1] if best_meeting_cost() is not None else plan.band_cover
    batches(cover, "band", stop_when_met=False)
    if not runner.done and (plan.ladder or plan.band_cover):
        cheapest = (plan.ladder or plan.band_cover)[0]
        say(f"nothing fits the CPU budget; training the cheapest, {cheapest.label}, to compare")
        runner.run_batch([cheapest], "below band" if plan.ladder else "band")

    def skip(arch: Architecture) -> bool:
        if cost_of is None:
            return False
        best = best_meeting_cost()
        if best is not None and cost_of(arch) >= best:
            return True
        return over_budget(arch)

    while room() > 0:
        n = runner.ask_free(min(batch_size, room()), plan.activation, skip)
        if n == 0:
            say("optuna: proposals only repeat trained or unpromising candidates; search ended")
            break
        say(f"optuna: trained {n} proposal(s), {len(runner.done)}/{trials} candidates done")
    return completed_scores(study)


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
    runner = _Runner(study, evaluate, depth_max, width_max)
    todo = [a for a in archs if a.key not in runner.done]
    if len(todo) < len(archs):
        say(f"resuming: {len(archs) - len(todo)} candidate(s) already trained are reused")
    for i in range(0, len(todo), batch_size):
        chunk = todo[i : i + batch_size]
        say(f"grid: training {len(chunk)} candidate(s), {i + len(chunk)}/{len(todo)}")
        runner.run_batch(chunk, "grid")
    return completed_scores(study)
