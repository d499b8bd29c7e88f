"""Scoring: Pareto front, rank correlation, the winner rule and the float32 engine check."""

from __future__ import annotations

import math
import random

import pytest
from candidates import candidate as cand

from vashrink.errors import InputError
from vashrink.search.score import CandidateScore, choose, pareto_front, rank_correlation


def brute_front(costs: list[float], errors: list[float]) -> set[int]:
    out = set()
    for i in range(len(costs)):
        dominated = any(
            costs[j] <= costs[i]
            and errors[j] <= errors[i]
            and (costs[j] < costs[i] or errors[j] < errors[i])
            for j in range(len(costs))
        )
        if not dominated:
            out.add(i)
    return out


def test_pareto_front_matches_brute_force_on_random_points() -> None:
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(1, 30)
        costs = [float(rng.randint(1, 10)) for _ in range(n)]
        errors = [float(rng.randint(1, 10)) for _ in range(n)]
        front = pareto_front(costs, errors)
        assert [costs[i] for i in front] == sorted(costs[i] for i in front)
        # one representative per duplicated (cost, error) point
        assert {(costs[i], errors[i]) for i in front} == {
            (costs[i], errors[i]) for i in brute_front(costs, errors)
        }


def test_pareto_front_ignores_non_finite_errors_and_checks_lengths() -> None:
    assert pareto_front([1.0, 2.0], [math.inf, 1.0]) == [1]
    with pytest.raises(InputError, match="2 costs but 1 errors"):
        pareto_front([1.0, 2.0], [1.0])


def test_rank_correlation_is_spearman_and_undefined_for_constant_input() -> None:
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (1,3,2,4): rho = 1 - 6*2/(4*15) = 0.8
    assert rank_correlation([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert rank_correlation([1, 1, 1], [1, 2, 3]) is None
    assert rank_correlation([1, 2], [1, 2]) is None


def test_winner_is_cheapest_meeting_eps_not_most_accurate() -> None:
    cands = [cand(6, 44, 1e-6, 500.0), cand(2, 16, 5e-5, 30.0), cand(3, 16, 8e-6, 60.0)]
    choice = choose(cands, 1e-5)
    assert choice.met and choice.winner is not None
    assert choice.winner.label == "3x16 tanh"
    assert "cheapest" in choice.message


def test_nothing_meets_eps_reports_closest_honestly() -> None:
    cands = [cand(6, 44, 1e-6, 500.0), cand(2, 16, 5e-5, 30.0)]
    choice = choose(cands, 1e-7)
    assert not choice.met
    assert choice.winner is not None and choice.winner.label == "6x44 tanh"
    assert "no candidate meets eps" in choice.message and "6x44 tanh" in choice.message
    assert [c.label for c in choice.closest] == ["6x44 tanh", "2x16 tanh"]


def test_budget_picks_most_accurate_within_it() -> None:
    cands = [cand(6, 44, 1e-6, 500.0), cand(2, 16, 5e-5, 30.0), cand(3, 16, 8e-6, 60.0)]
    assert choose(cands, 1e-9, budget_ns=100.0).winner.label == "3x16 tanh"  # type: ignore[union-attr]
    by_core = choose(cands, 1e-9, budget_core_percent=0.5)  # 60 ns = 0.288 %, 500 ns = 2.4 %
    assert by_core.winner is not None and by_core.winner.label == "3x16 tanh"
    assert not by_core.met  # within the budget, but 8e-6 misses eps = 1e-9: exit code 1
    assert "does not meet eps" in by_core.message
    meets = choose(cands, 1e-5, budget_core_percent=0.5)
    assert meets.met and meets.winner is not None and meets.winner.label == "3x16 tanh"


def test_impossible_budget_names_the_cheapest_candidate() -> None:
    cands = [cand(6, 44, 1e-6, 500.0), cand(2, 16, 5e-5, 30.0)]
    choice = choose(cands, 1e-5, budget_ns=1.0)
    assert not choice.met
    assert choice.winner is not None and choice.winner.label == "2x16 tanh"
    assert "no candidate fits the budget" in choice.message and "30" in choice.message
    with pytest.raises(InputError, match="at most one"):
        choose(cands, 1e-5, budget_ns=1.0, budget_core_percent=1.0)


def test_candidate_score_round_trips_through_dict() -> None:
    c = cand(5, 24, 2e-6, 120.0)
    d = c.to_dict()
    assert d["lane_score"] == 5 * 3 and d["n_params"] == c.architecture.n_params
    assert CandidateScore.from_dict(d) == c


def test_float32_engine_error_matches_a_float64_reference_within_float32_rounding() -> None:
    import numpy as np
    import torch

    from vashrink.model.architecture import Architecture
    from vashrink.model.mlp import build_mlp
    from vashrink.search.score import check_error, engine_error
    from vashrink.target.samples import as_target

    torch.manual_seed(7)
    model = build_mlp(Architecture(3, 12)).eval()
    target = as_target("tanh(2*x)")
    x, err = engine_error(model, target, -1.0, 1.0, samples=4001)
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(x).view(-1, 1)).view(-1).numpy() - np.tanh(2 * x)
    model.float()
    # float32 weights and arithmetic: a few ulps of outputs of size ~1
    assert np.max(np.abs(err - ref)) < 1e-5
    check = check_error(model, target, -1.0, 1.0, samples=4001)
    assert check.max_abs_error == pytest.approx(float(np.max(np.abs(ref))), abs=1e-5)
    assert check.mse == pytest.approx(float(np.mean(ref**2)), rel=1e-4)
    assert abs(check.x_at_max - x[int(np.argmax(np.abs(ref)))]) < 0.01


def test_costs_within_timing_noise_go_to_the_smaller_net() -> None:
    cands = [cand(1, 3, 1e-4, 30.0, activation="elu"), cand(1, 2, 1e-4, 31.5, activation="relu"),
             cand(2, 4, 1e-5, 60.0)]
    choice = choose(cands, 1e-3)
    assert choice.winner is not None and choice.winner.label == "1x2 relu"  # 5 % dearer: a tie
    clear = choose([cand(1, 3, 1e-4, 30.0), cand(1, 2, 1e-4, 40.0)], 1e-3)
    assert clear.winner is not None and clear.winner.label == "1x3 tanh"


def test_ties_within_timing_noise_go_to_the_smaller_net() -> None:
    from dataclasses import replace

    small, big = cand(1, 9, 1e-3, 30.0), cand(1, 12, 1e-3, 26.0)  # same lane score (8 lanes)
    spread = [replace(c, timing_spread=0.2) for c in (small, big)]
    assert choose(spread, 2e-3).winner.label == "1x9 tanh"  # 15 % apart, 20 % noise: a tie
    assert choose([small, big], 2e-3).winner.label == "1x12 tanh"  # beyond the 10 % default
    far = replace(big, ns_per_sample=20.0, timing_spread=0.2)
    assert choose([spread[0], far], 2e-3).winner.label == "1x12 tanh"  # 50 % beats the noise
