"""Batched candidate training vs a plain per-model PyTorch loop on the talk's grid workload.

Workload (``../shared/notes/numbers.md``): tanh(2x) on [-1, 1], 1,000 evenly spaced samples,
full batch, tanh MLPs, Adam. A representative sample of the 50 x 50 grid -- every width 1..50
at a few depths -- is trained both ways with reduced epochs, in one run, interleaved by depth so
machine load hits both alike. Reported: models/s, samples*epochs/s, achieved GMAC/s (training
MACs = 3 x forward MACs) against torch's own large float32 matmul measured in the same run, and
the full talk grid (2,500 models, 1,000 epochs) extrapolated both ways (linear in depth between
the measured depths).

Published numbers::

    python bench/bench_train.py --depths 1 6 16 33 50 --epochs 20 --threads 1

Regression benchmarks (small)::

    python -m pytest bench/bench_train.py --benchmark-only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np
import torch

from vashrink.architecture import Architecture
from vashrink.mlp import build_mlp
from vashrink.train import TrainConfig, train_candidates

SAMPLES = 1000
GRID_DEPTHS = range(1, 51)
GRID_WIDTHS = range(1, 51)
TALK_EPOCHS = 1000


class Clock:
    """Wall and process CPU seconds of a block. On a loaded shared machine a one-thread run's
    CPU time excludes the time other processes held the core, so ratios use CPU seconds."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def per_model_loop(archs: list[Architecture], epochs: int, seed: int = 0) -> Clock:
    """The talk's way: one nn.Sequential after another, full batch, torch.optim.Adam(1e-3)."""
    x = torch.linspace(-1, 1, SAMPLES).view(-1, 1)
    y = torch.tanh(2 * x)
    torch.manual_seed(seed)
    clock = Clock().__enter__()
    for arch in archs:
        model = build_mlp(arch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(epochs):
            opt.zero_grad()
            loss = torch.mean((model(x) - y) ** 2)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
    clock.__exit__()
    return clock


def batched(archs: list[Architecture], epochs: int, threads: int) -> Clock:
    """vashrink: the whole public call (data, training, export, dense-grid metrics)."""
    config = TrainConfig(epochs=epochs, samples=SAMPLES, val_fraction=0.0, eval_every=epochs,
                         grid_samples=SAMPLES, threads=threads)
    with Clock() as clock:
        train_candidates("tanh(2*x)", -1.0, 1.0, archs, config, progress=False)
    return clock


def matmul_gmacs(n: int = 2048, repeats: int = 5) -> float:
    """torch's large float32 matmul throughput (median over repeats, CPU time), in GMAC/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        with Clock() as clock:
            a @ b
        times.append(clock.cpu / torch.get_num_threads())
    return n**3 / float(np.median(times)) / 1e9


def train_macs(archs: list[Architecture], epochs: int) -> float:
    return 3.0 * sum(a.macs_per_sample for a in archs) * SAMPLES * epochs


def _extrapolate(per_depth: dict[int, float]) -> float:
    """Seconds for all 50 depths (linear in depth between measured ones) at 1,000 epochs."""
    depths = sorted(per_depth)
    seconds = np.interp(list(GRID_DEPTHS), depths, [per_depth[d] for d in depths])
    return float(np.sum(seconds))


def run(depths: list[int], epochs: int, threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    peak = matmul_gmacs()
    rows = []
    loop_epoch_s: dict[int, float] = {}
    batch_epoch_s: dict[int, float] = {}
    for depth in depths:
        archs = [Architecture(depth, w) for w in GRID_WIDTHS]
        c_batch = batched(archs, epochs, threads)
        c_loop = per_model_loop(archs, epochs)
        big = [a for a in archs if a.width >= 33]
        c_big = batched(big, epochs, threads)
        t_batch, t_loop = c_batch.cpu / threads, c_loop.cpu / threads
        macs = train_macs(archs, epochs)
        rows.append({
            "depth": depth, "models": len(archs), "loop_s": t_loop, "batched_s": t_batch,
            "loop_wall_s": c_loop.wall, "batched_wall_s": c_batch.wall,
            "speedup": t_loop / t_batch,
            "loop_gmacs": macs / t_loop / 1e9, "batched_gmacs": macs / t_batch / 1e9,
            "batched_gmacs_widths_33_50": train_macs(big, epochs) / (c_big.cpu / threads) / 1e9,
        })
        loop_epoch_s[depth] = t_loop / epochs
        batch_epoch_s[depth] = t_batch / epochs
        print(f"depth {depth:2d}: loop {t_loop:7.2f} s  batched {t_batch:6.2f} s  "
              f"x{t_loop / t_batch:5.1f}  batched {macs / t_batch / 1e9:5.1f} GMAC/s "
              f"(widths 33-50: {rows[-1]['batched_gmacs_widths_33_50']:5.1f}, "
              f"matmul {peak:5.1f})", file=sys.stderr)
    t_loop = sum(r["loop_s"] for r in rows)
    t_batch = sum(r["batched_s"] for r in rows)
    n_models = sum(r["models"] for r in rows)
    macs = sum(train_macs([Architecture(d, w) for w in GRID_WIDTHS], epochs) for d in depths)
    return {
        "command": "python bench/bench_train.py " + " ".join(sys.argv[1:]),
        "clock": "process CPU seconds / threads (wall seconds per depth in per_depth)",
        "threads": threads, "epochs": epochs, "samples": SAMPLES, "depths": depths,
        "load_average_1min": os.getloadavg()[0],
        "matmul_gmacs": peak,
        "models": n_models,
        "loop": {"seconds": t_loop, "models_per_s": n_models / t_loop,
                 "sample_epochs_per_s": n_models * SAMPLES * epochs / t_loop,
                 "gmacs": macs / t_loop / 1e9},
        "batched": {"seconds": t_batch, "models_per_s": n_models / t_batch,
                    "sample_epochs_per_s": n_models * SAMPLES * epochs / t_batch,
                    "gmacs": macs / t_batch / 1e9},
        "speedup": t_loop / t_batch,
        "full_grid_seconds": {"loop": _extrapolate(loop_epoch_s) * TALK_EPOCHS,
                              "batched": _extrapolate(batch_epoch_s) * TALK_EPOCHS},
        "per_depth": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 6, 16, 33, 50])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.depths, args.epochs, args.threads), indent=2))


# pytest-benchmark: small regression checks of the same two paths -------------------------------

def test_batched_depth6_all_widths(benchmark: Any) -> None:  # pragma: no cover
    archs = [Architecture(6, w) for w in GRID_WIDTHS]
    benchmark.group = "train: depth 6, widths 1..50, 5 epochs"
    benchmark.pedantic(batched, args=(archs, 5, 1), rounds=3, iterations=1)


def test_per_model_loop_depth6_all_widths(benchmark: Any) -> None:
    archs = [Architecture(6, w) for w in GRID_WIDTHS]
    benchmark.group = "train: depth 6, widths 1..50, 5 epochs"
    torch.set_num_threads(1)
    benchmark.pedantic(per_model_loop, args=(archs, 5), rounds=3, iterations=1)


if __name__ == "__main__":
    main()
