"""The ladders cooperating workers share: same answers as the sequential search, in parallel."""

from __future__ import annotations

import math

from vashrink.model.architecture import Architecture
from vashrink.search.frontier import BUSY, DEAD, frontier
from vashrink.search.score import CandidateScore
from vashrink.search.smallest import SearchLimits, cost_key

EPS = 1e-3
LANES = 8


def _score(arch: Architecture, error: float) -> CandidateScore:
    return CandidateScore(
        depth=arch.depth, width=arch.width, activation=arch.activation, lanes=LANES,
        max_abs_error=error, mse=error**2, torch_max_abs_error=error, val_loss=error**2,
        ns_per_sample=10.0 * arch.depth * math.ceil(arch.width / LANES), ns_per_sample_block=1.0,
        block_size=64, core_percent=0.1, realtime_factor=1000.0, timing_noisy=False, epochs=1,
        train_seconds=1.0, in_band=False, phase="search",
    )


def _oracle(arch: Architecture) -> float:
    """Meets eps from width 11 at depth 1, from width 5 at depth 2, never at depth 3+."""
    need = {1: 11, 2: 5}.get(arch.depth)
    return EPS / 2 if need is not None and arch.width >= need else EPS * 10


def _run(workers: int, limits: SearchLimits) -> tuple[dict[str, CandidateScore], int]:
    """Replay the scheduler with ``workers`` slots, one candidate per slot per round."""
    done: dict[str, CandidateScore] = {}
    rounds = 0
    while True:
        plan = frontier(done, lambda a: done.get(a.key), eps=EPS, lanes=LANES,
                        activations=("tanh",), limits=limits, claimed=len(done))
        if not plan.ready:
            return done, rounds
        rounds += 1
        for arch in plan.ready[:workers]:
            done[arch.key] = _score(arch, _oracle(arch))


def test_one_worker_finds_the_narrowest_width_meeting_eps_at_each_useful_depth() -> None:
    done, _ = _run(1, SearchLimits(depth_max=3, width_max=32))
    meeting = [c for c in done.values() if c.meets(EPS)]
    best = min(meeting, key=lambda c: cost_key(c.architecture, LANES))
    # 1x11 and 2x5 both have lane score 2; 1x11 has fewer MACs (22 vs 35)
    assert best.label == "1x11 tanh"
    assert "1x10 tanh" in {c.label for c in done.values()}  # bisected down to the edge


def test_ladders_run_side_by_side_and_reach_the_same_winner() -> None:
    limits = SearchLimits(depth_max=3, width_max=32)
    one, rounds_one = _run(1, limits)
    many, rounds_many = _run(4, limits)

    def winner(done: dict[str, CandidateScore]) -> str:
        meeting = [c for c in done.values() if c.meets(EPS)]
        return min(meeting, key=lambda c: cost_key(c.architecture, LANES)).label

    assert winner(one) == winner(many)
    assert rounds_many < rounds_one  # depths gallop at once
    assert rounds_many >= 6  # but each ladder is sequential: 1, 2, 3, 4, 6, 8, 12, then bisect


def test_a_candidate_in_flight_blocks_only_its_ladder_and_a_dead_one_ends_it() -> None:
    limits = SearchLimits(depth_max=2, width_max=8)
    busy = Architecture(1, 1, "tanh")
    plan = frontier({}, lambda a: BUSY if a == busy else None, eps=EPS, lanes=LANES,
                    activations=("tanh",), limits=limits, claimed=1)
    assert plan.waiting == 1 and [a.key for a in plan.ready] == ["2x1 tanh"]
    plan = frontier({}, lambda a: DEAD if a.depth == 1 else None, eps=EPS, lanes=LANES,
                    activations=("tanh",), limits=limits, claimed=1)
    assert plan.waiting == 0 and [a.key for a in plan.ready] == ["2x1 tanh"]


def test_the_trial_cap_stops_new_claims() -> None:
    plan = frontier({}, lambda a: None, eps=EPS, lanes=LANES, activations=("tanh",),
                    limits=SearchLimits(depth_max=2, width_max=8, trials=3), claimed=3)
    assert plan.finished
