"""shrink vs the talk's grid search on tanh(2x), eps = 1e-7, trained as in the talk.

Criterion (issue 7): shrink finds a model within 1.2x of the grid's best loss (MSE of the float32
engine model on a dense grid) at a measured cost no higher than the grid-best's, using at most
10 % of the grid's training compute (MAC-epochs: ``sum macs_per_sample * epochs`` over trained
candidates; the full grid's figure is computed for every architecture of the range, also when
only a strided subset is trained to find its best model).

Run (numbers published in docs/shrink.md)::

    python -m pytest bench/bench_shrink.py -q -s
    python bench/bench_shrink.py --width-step 8 --out DIR   # the same, as a script

Environment overrides for the pytest run: ``VASHRINK_BENCH_WIDTH_STEP`` (default 8),
``VASHRINK_BENCH_DEPTH_STEP`` (1), ``VASHRINK_BENCH_EPOCHS`` (1000), ``VASHRINK_BENCH_TRIALS`` (24).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from vashrink.model.architecture import Architecture
from vashrink.search.result import ShrinkResult
from vashrink.search.run import grid, shrink
from vashrink.train.config import TrainConfig

TARGET, A, B, EPS = "tanh(2*x)", -1.0, 1.0, 1e-7
DEPTHS, WIDTHS = (1, 12), (4, 56)


def full_grid_mac_epochs(epochs: int) -> int:
    """Training compute of every architecture of the talk-style range (per training sample)."""
    return sum(
        Architecture(d, w).macs_per_sample * epochs
        for d in range(DEPTHS[0], DEPTHS[1] + 1)
        for w in range(WIDTHS[0], WIDTHS[1] + 1)
    )


def _best(result: ShrinkResult) -> Any:
    return min(result.candidates, key=lambda c: c.mse)


def compare(
    root: Path,
    *,
    epochs: int = 1000,
    samples: int = 1000,
    trials: int = 24,
    width_step: int = 8,
    depth_step: int = 1,
) -> dict[str, Any]:
    """Run grid (strided) and shrink into ``root``; return the figures and the verdict."""
    config = TrainConfig(epochs=epochs, samples=samples)
    t0 = time.perf_counter()
    g = grid(
        TARGET,
        A,
        B,
        EPS,
        depths=DEPTHS,
        widths=WIDTHS,
        depth_step=depth_step,
        width_step=width_step,
        out_dir=root / "grid",
        config=config,
        progress=False,
    )
    t_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = shrink(
        TARGET, A, B, EPS, out_dir=root / "shrink", trials=trials,
        config=TrainConfig(samples=samples), progress=False
    )
    t_shrink = time.perf_counter() - t0
    g_best = _best(g)
    eligible = [
        c
        for c in s.candidates
        if c.mse <= 1.2 * g_best.mse and c.ns_per_sample <= g_best.ns_per_sample
    ]
    full = full_grid_mac_epochs(epochs)
    s_best = min(eligible, key=lambda c: c.ns_per_sample) if eligible else _best(s)
    out = {
        "epochs": epochs,
        "samples": samples,
        "trials": trials,
        "grid": {
            "candidates": len(g.candidates),
            "width_step": width_step,
            "depth_step": depth_step,
            "seconds": t_grid,
            "mac_epochs_trained": g.mac_epochs,
            "mac_epochs_full": full,
            "best": g_best.label,
            "best_mse": g_best.mse,
            "best_max_abs_error": g_best.max_abs_error,
            "best_ns_per_sample": g_best.ns_per_sample,
        },
        "shrink": {
            "candidates": len(s.candidates),
            "seconds": t_shrink,
            "mac_epochs": s.mac_epochs,
            "compute_fraction_of_full_grid": s.mac_epochs / full,
            "compute_fraction_of_trained_grid": s.mac_epochs / max(1, g.mac_epochs),
            "best": s_best.label,
            "best_mse": s_best.mse,
            "best_max_abs_error": s_best.max_abs_error,
            "best_ns_per_sample": s_best.ns_per_sample,
            "winner": s.winner.label if s.winner else None,
            "met": s.met,
            "spearman": s.spearman,
        },
        "loss_ratio": s_best.mse / g_best.mse,
        "cost_ratio": s_best.ns_per_sample / g_best.ns_per_sample,
        "passes": bool(eligible) and s.mac_epochs <= 0.1 * full,
    }
    (root / "comparison.json").write_text(json.dumps(out, indent=2))
    return out


@pytest.mark.slow
def test_shrink_beats_grid_compute_at_grid_quality(benchmark: Any, tmp_path: Path) -> None:
    figures: dict[str, Any] = {}

    def run() -> None:
        figures.update(
            compare(
                tmp_path,
                epochs=int(os.environ.get("VASHRINK_BENCH_EPOCHS", "1000")),
                trials=int(os.environ.get("VASHRINK_BENCH_TRIALS", "24")),
                width_step=int(os.environ.get("VASHRINK_BENCH_WIDTH_STEP", "8")),
                depth_step=int(os.environ.get("VASHRINK_BENCH_DEPTH_STEP", "1")),
            )
        )

    benchmark.pedantic(run, rounds=1, iterations=1)
    print(json.dumps(figures, indent=2))
    benchmark.extra_info.update(figures)
    assert figures["shrink"]["compute_fraction_of_full_grid"] <= 0.10
    assert figures["passes"], figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-shrink-out"))
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--width-step", type=int, default=8)
    parser.add_argument("--depth-step", type=int, default=1)
    ns = parser.parse_args()
    print(
        json.dumps(
            compare(
                ns.out,
                epochs=ns.epochs,
                samples=ns.samples,
                trials=ns.trials,
                width_step=ns.width_step,
                depth_step=ns.depth_step,
            ),
            indent=2,
        )
    )
