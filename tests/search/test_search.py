"""The shrink search: ladder below the band, band cover, Optuna fill, resume after a kill."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from candidates import candidate

from vashrink.errors import StudyError
from vashrink.model.architecture import Architecture, lane_score
from vashrink.search.score import CandidateScore
from vashrink.search.study import (
    band_cover,
    completed_scores,
    ladder,
    open_study,
    plan_search,
    run_grid,
    run_search,
)

LANES = 8
BAND = tuple(Architecture(d, w) for d in (5, 6, 7) for w in (40, 44, 48))


def fake_score(arch: Architecture, phase: str) -> CandidateScore:
    """Error falls with parameters; cost is the lane score (a deterministic stand-in)."""
    ns = 10.0 * lane_score(arch.depth, arch.width, LANES)
    return candidate(
        arch.depth,
        arch.width,
        10.0 / arch.n_params,
        ns,
        activation=arch.activation,
        lanes=LANES,
        in_band=arch in BAND,
        phase=phase,
    )


class FakeTrainer:
    """Records every batch; optionally raises after ``fail_after`` candidates (a killed run)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_after = fail_after
        self.count = 0

    def __call__(
        self, archs: Sequence[Architecture], phase: str, done: Callable[[CandidateScore], None]
    ) -> None:
        self.batches.append([a.label for a in archs])
        for a in archs:
            if self.fail_after is not None and self.count >= self.fail_after:
                raise KeyboardInterrupt
            self.count += 1
            done(fake_score(a, phase))

    @property
    def trained(self) -> list[str]:
        return [label for batch in self.batches for label in batch]


def study(tmp_path: Path, name: str = "s") -> object:
    return open_study(f"sqlite:///{tmp_path / 'study.db'}", name, seed=1)


def test_ladder_is_below_the_band_in_lane_multiples_and_cost_order() -> None:
    steps = ladder(BAND, LANES, "tanh")
    band_min = min(lane_score(a.depth, a.width, LANES) for a in BAND)
    scores = [lane_score(a.depth, a.width, LANES) for a in steps]
    assert steps[0] == Architecture(1, 8)
    assert scores == sorted(scores) and max(scores) < band_min
    assert all(a.width % LANES == 0 for a in steps)
    assert len(steps) == len(set(steps))


def test_band_cover_spreads_over_cost_and_starts_cheapest() -> None:
    cover = band_cover(BAND, 3, LANES)
    costs = sorted(lane_score(a.depth, a.width, LANES) for a in BAND)
    assert [lane_score(a.depth, a.width, LANES) for a in cover] == [costs[0], costs[4], costs[-1]]
    assert band_cover(BAND, 1, LANES) == [Architecture(5, 40)]


def test_search_stops_climbing_once_eps_is_met_and_trains_smallest_first(tmp_path: Path) -> None:
    plan = plan_search(BAND, LANES, "tanh", band_trials=3)
    trainer = FakeTrainer()
    eps = 10.0 / Architecture(2, 16).n_params  # met by 2x16 (lane score 4) and anything larger
    scores = run_search(
        study(tmp_path),
        plan,
        trainer,
        eps=eps,
        trials=12,
        batch_size=2,
        cost_of=lambda a: 10.0 * lane_score(a.depth, a.width, LANES),
    )
    first = trainer.batches[0]
    assert first == [a.label for a in plan.ladder[:2]]
    ladder_trained = [x for x in trainer.trained if Architecture.parse(x) in plan.ladder]
    # climbing stops in the batch that met eps: no ladder rung above lane score 4 + one batch
    assert max(lane_score(*map(int, x.split("x")), LANES) for x in ladder_trained) <= 6
    # band: only its cheapest member is trained for comparison once eps is met below it
    assert [x for x in trainer.trained if Architecture.parse(x) in BAND] == ["5x40"]
    # Optuna proposals that cannot win (no cheaper than the best meeting eps) are never trained
    planned = [c for c in scores.values() if c.phase != "optuna"]
    best = min(c.ns_per_sample for c in planned if c.max_abs_error <= eps)
    assert all(c.ns_per_sample < best for c in scores.values() if c.phase == "optuna")
    assert len(trainer.trained) == len(set(trainer.trained))


def test_search_spends_all_trials_and_covers_band_when_eps_is_not_met(tmp_path: Path) -> None:
    plan = plan_search(BAND, LANES, "tanh", band_trials=3)
    trainer = FakeTrainer()
    scores = run_search(
        study(tmp_path), plan, trainer, eps=1e-12, trials=len(plan.ladder) + 6, batch_size=4
    )
    assert set(a.label for a in plan.ladder) <= set(trainer.trained)
    assert set(a.label for a in plan.band_cover) <= set(trainer.trained)
    assert len(scores) == len(plan.ladder) + 6
    assert len(trainer.trained) == len(set(trainer.trained))
    assert any(c.phase == "optuna" for c in scores.values())


def test_resume_after_kill_retrains_nothing_finished(tmp_path: Path) -> None:
    plan = plan_search(BAND, LANES, "tanh", band_trials=2)
    killed = FakeTrainer(fail_after=5)
    with pytest.raises(KeyboardInterrupt):
        run_search(study(tmp_path), plan, killed, eps=1e-12, trials=10, batch_size=4)
    finished = list(completed_scores(study(tmp_path)))
    assert len(finished) == 5
    again = FakeTrainer()
    scores = run_search(study(tmp_path), plan, again, eps=1e-12, trials=10, batch_size=4)
    assert not set(finished) & set(again.trained)
    assert len(scores) == 10


def test_trials_left_running_by_a_killed_process_are_failed_and_reasked(tmp_path: Path) -> None:
    from optuna.distributions import IntDistribution
    from optuna.trial import TrialState

    s = study(tmp_path)
    s.enqueue_trial({"depth": 1, "width": 8})  # type: ignore[attr-defined]
    s.ask({"depth": IntDistribution(1, 9), "width": IntDistribution(1, 56)})  # type: ignore[attr-defined]
    plan = plan_search(BAND, LANES, "tanh", band_trials=1)
    trainer = FakeTrainer()
    run_search(study(tmp_path), plan, trainer, eps=1e-12, trials=3, batch_size=2)
    states = [t.state for t in study(tmp_path).get_trials()]  # type: ignore[attr-defined]
    assert TrialState.RUNNING not in states and TrialState.FAIL in states
    assert trainer.trained[0] == "1x8"


def test_grid_trains_every_architecture_once_and_resumes(tmp_path: Path) -> None:
    archs = [Architecture(d, w) for d in (1, 2) for w in (4, 8, 12)]
    first = FakeTrainer(fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        run_grid(study(tmp_path, "g"), archs, first, batch_size=4)
    second = FakeTrainer()
    scores = run_grid(study(tmp_path, "g"), archs, second, batch_size=4)
    assert sorted(scores) == sorted(a.key for a in archs)
    assert sorted(second.trained) == ["2x12", "2x8"]


def test_corrupt_database_is_a_study_error(tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StudyError, match=r"cannot open the study database.*delete or move it"):
        open_study(f"sqlite:///{db}", "s")


def test_locked_database_is_a_study_error(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "study.db"
    open_study(f"sqlite:///{db}", "s")
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StudyError, match=r"locked.*another vashrink run"):
            s = open_study(f"sqlite:///{db}", "s", lock_timeout_s=0.2)
            s.ask()  # type: ignore[attr-defined]
    finally:
        holder.rollback()
        holder.close()


def test_budget_skips_candidates_above_it_but_still_trains_the_cheapest(tmp_path: Path) -> None:
    plan = plan_search(BAND, LANES, "tanh", band_trials=2)
    trainer = FakeTrainer()
    cost = lambda a: 10.0 * lane_score(a.depth, a.width, LANES)  # noqa: E731
    scores = run_search(
        study(tmp_path),
        plan,
        trainer,
        eps=1e-12,
        trials=8,
        batch_size=4,
        cost_of=cost,
        cost_limit_ns=25.0,
    )
    assert scores and all(c.ns_per_sample <= 25.0 for c in scores.values())
    nothing = FakeTrainer()
    (tmp_path / "x").mkdir()
    scores = run_search(
        study(tmp_path / "x"),
        plan,
        nothing,
        eps=1e-12,
        trials=8,
        batch_size=4,
        cost_of=cost,
        cost_limit_ns=0.5,
    )
    assert nothing.trained == ["1x8"] and list(scores) == ["1x8 tanh"]
