"""Piece counts: the talk's Taylor and interpolation formulas, and the exact greedy minimum."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from vashrink.bound.pieces import greedy_pieces, interpolation_pieces, taylor_pieces, taylor_step
from vashrink.errors import InputError

M_TANH2 = 16 / (3 * math.sqrt(3))  # max |d^2/dx^2 tanh(2x)|, at tanh(2x) = +-1/sqrt(3)


# --- Taylor and interpolation counts ------------------------------------------------------------


def test_talk_counts() -> None:
    # shared/notes/numbers.md: h = 2.549e-4 and N = 7848 for tanh(2x) on [-1, 1], eps = 1e-7
    assert taylor_step(M_TANH2, 1e-7) == pytest.approx(math.sqrt(2e-7 / M_TANH2), rel=1e-15)
    assert taylor_step(M_TANH2, 1e-7) == pytest.approx(2.549e-4, rel=1e-3)
    assert taylor_pieces(-1, 1, M_TANH2, 1e-7) == 7848
    assert interpolation_pieces(-1, 1, M_TANH2, 1e-7) == 3924


def test_sine_counts_by_hand() -> None:
    # M = 1 on [0, pi]: pi / sqrt(2e-4) = 222.1, pi sqrt(1 / 8e-4) = 111.07
    assert taylor_pieces(0, math.pi, 1.0, 1e-4) == 223
    assert interpolation_pieces(0, math.pi, 1.0, 1e-4) == 112


@pytest.mark.parametrize(("m2", "eps"), [(1e-3, 1e-9), (2.5, 1e-4), (4e4, 3e-6), (7.0, 0.5)])
def test_interpolation_needs_half_the_taylor_pieces(m2: float, eps: float) -> None:
    # chords err by M h^2 / 8, tangents by M h^2 / 2: pieces twice as long, up to rounding up
    n_taylor = taylor_pieces(-3, 2, m2, eps)
    n_interp = interpolation_pieces(-3, 2, m2, eps)
    assert 2 * n_interp - 2 <= n_taylor <= 2 * n_interp


def test_a_straight_line_is_one_piece_of_infinite_step() -> None:
    assert taylor_step(0.0, 1e-6) == math.inf
    assert taylor_pieces(-1, 1, 0.0, 1e-6) == interpolation_pieces(-1, 1, 0.0, 1e-6) == 1
    assert taylor_pieces(0, 1e-9, 5.0, 1e-3) == 1  # a range shorter than one step


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((-1, 1, -2.0, 1e-3), "finite number >= 0"),
        ((-1, 1, math.nan, 1e-3), "finite number >= 0"),
        ((-1, 1, math.inf, 1e-3), "use greedy_pieces"),
        ((-1, 1, 1.0, 0.0), "above 0"),
        ((1, -1, 1.0, 1e-3), "lower end must be below"),
    ],
)
def test_bad_count_arguments_are_refused(args: tuple[float, ...], text: str) -> None:
    for count in (taylor_pieces, interpolation_pieces):
        with pytest.raises(InputError) as info:
            count(*args)
        assert text in str(info.value)


# --- the greedy piece count ------------------------------------------------------------------


def _chebyshev_error(x: np.ndarray, y: np.ndarray) -> float:
    """min over lines of max |y - line| by linear programming (independent of the hull code)."""
    n = len(x)
    a_ub = np.vstack([np.column_stack([-np.ones(n), -x, -np.ones(n)]),
                      np.column_stack([np.ones(n), x, -np.ones(n)])])
    res = linprog([0, 0, 1], A_ub=a_ub, b_ub=np.concatenate([-y, y]),
                  bounds=[(None, None)] * 3, method="highs")
    assert res.status == 0
    return float(res.fun)


def _brute_force_min_pieces(x: np.ndarray, y: np.ndarray, eps: float) -> int:
    """Dynamic programme over all partitions, each run checked by LP."""
    n = len(x)
    best = [0] + [n + 1] * n
    for start in range(n):
        for end in range(start + 1, n + 1):
            if end - start > 2 and _chebyshev_error(x[start:end], y[start:end]) > eps:
                break
            best[end] = min(best[end], best[start] + 1)
    return best[n]


@pytest.mark.parametrize("seed", range(3))
def test_greedy_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1, 1, 22))
    y = np.cumsum(rng.standard_normal(22)) * 0.1
    eps = float(rng.uniform(0.02, 0.08))
    assert len(greedy_pieces(x, y, eps)) == _brute_force_min_pieces(x, y, eps)


def test_greedy_pieces_fit_and_are_maximal() -> None:
    x = np.linspace(0, math.pi, 400)
    y = np.sin(3 * x)
    eps = 1e-3
    starts = [*greedy_pieces(x, y, eps).tolist(), len(x)]
    assert starts[0] == 0
    for lo, hi in itertools.pairwise(starts):
        assert _chebyshev_error(x[lo:hi], y[lo:hi]) <= eps * (1 + 1e-9)
        if hi < len(x):
            assert _chebyshev_error(x[lo:hi + 1], y[lo:hi + 1]) > eps


def test_greedy_is_invariant_under_adding_a_line() -> None:
    rng = np.random.default_rng(7)
    x = np.sort(rng.uniform(0, 1, 300))
    y = np.cumsum(rng.standard_normal(300)) * 0.01
    n = len(greedy_pieces(x, y, 0.02))
    assert len(greedy_pieces(x, y + 5 - 3 * x, 0.02)) == n
    assert len(greedy_pieces(x, y, 1e3)) == 1
