"""Speed of ``compute_bounds`` on the talk's example and of the greedy piece count alone.

Run (numbers quoted in docs/bounds.md)::

    python -m pytest bench/bench_bounds.py -q --benchmark-columns=min,median,max,rounds
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vashrink.bound.bounds import compute_bounds, greedy_pieces

pytest.importorskip("pytest_benchmark")


@pytest.mark.benchmark(group="bounds")
def test_compute_bounds_talk_example(benchmark: Any) -> None:
    """tanh(2x) on [-1, 1], eps 1e-7, 48,000 samples: derivatives, refinement, greedy, band."""
    result = benchmark.pedantic(
        compute_bounds, args=("tanh(2*x)", -1.0, 1.0, 1e-7), rounds=7, warmup_rounds=1
    )
    assert result.pieces_taylor == 7848


@pytest.mark.benchmark(group="bounds")
def test_greedy_pieces_48000_points(benchmark: Any) -> None:
    """The exact greedy fit alone on the talk's grid (2,033 pieces)."""
    x = np.linspace(-1.0, 1.0, 48000)
    y = np.tanh(2 * x)
    starts = benchmark.pedantic(greedy_pieces, args=(x, y, 1e-7), rounds=7, warmup_rounds=1)
    assert len(starts) > 1000


@pytest.mark.benchmark(group="bounds")
def test_greedy_pieces_one_long_piece(benchmark: Any) -> None:
    """Worst case for hull size: 48,000 points of a parabola that fit in one piece."""
    x = np.linspace(-1.0, 1.0, 48000)
    starts = benchmark.pedantic(greedy_pieces, args=(x, x**2, 1.0), rounds=5, warmup_rounds=1)
    assert len(starts) == 1
