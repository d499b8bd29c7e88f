"""Batched candidate training vs a plain per-model PyTorch loop on the talk's grid workload.

Workload (``../shared/notes/numbers.md``): tanh(2x) on [-1, 1], 1,000 evenly spaced samples,
full batch, tanh MLPs, Adam. A representative sample of the 50 x 50 grid -- every width 1..50
at a few depths -- is trained both ways with reduced epochs, in one run, interleaved by depth so
machine load hits both alike. Reported: models/s, samples*epochs/s, achieved GMAC/s (training
MACs = 3 x forward MACs) against torch's own large float32 matmul measured in the same run, and
the full talk grid (2,500 models, 1,000 epochs) extrapolated both ways (linear in depth between
the measured depths). Each path also runs for 1 epoch, which splits its time into a fixed part
(setup, export, final metrics) and a per-epoch part: the extrapolation is fixed + 1,000 x
per-epoch, and ``speedup_per_epoch`` is the steady-state ratio that dominates a 1,000-epoch run.

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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from vashrink.model.architecture import Architecture
from vashrink.model.mlp import build_mlp
from vashrink.train.batched import BatchedGroup
from vashrink.train.candidates import TrainConfig, train_candidates

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
    """Sum over all 50 depths of a per-depth quantity measured at a few depths (linear in
    depth between them)."""
    depths = sorted(per_depth)
    seconds = np.interp(list(GRID_DEPTHS), depths, [per_depth[d] for d in depths])
    return float(np.sum(seconds))


def _split(t_one: float, t_many: float, epochs: int) -> tuple[float, float]:
    """``(fixed seconds, seconds per epoch)`` from runs of 1 and ``epochs`` epochs: setup,
    export and final metrics are paid once, not once per epoch."""
    per_epoch = max(t_many - t_one, 0.0) / max(epochs - 1, 1)
    return max(t_one - per_epoch, 0.0), per_epoch


def _median_cpu(fn: Callable[..., Clock], args: tuple[Any, ...], repeats: int) -> Clock:
    """The run with the median CPU time of ``repeats`` runs (machine load varies by +-20 %)."""
    clocks = sorted((fn(*args) for _ in range(repeats)), key=lambda c: c.cpu)
    return clocks[len(clocks) // 2]


def run(depths: list[int], epochs: int, threads: int, repeats: int = 1) -> dict[str, Any]:
    torch.set_num_threads(threads)
    peak = matmul_gmacs()
    warm = [Architecture(2, w) for w in (3, 20)]  # first-call costs (MKL, allocator) paid here
    batched(warm, 2, threads)
    per_model_loop(warm, 2)
    rows: list[dict[str, Any]] = []
    grid_s: dict[str, dict[int, float]] = {"loop": {}, "batched": {}}
    for depth in depths:
        archs = [Architecture(depth, w) for w in GRID_WIDTHS]
        big = [a for a in archs if a.width >= 33]
        c_batch1 = _median_cpu(batched, (archs, 1, threads), repeats)
        c_batch = _median_cpu(batched, (archs, epochs, threads), repeats)
        c_loop1 = _median_cpu(per_model_loop, (archs, 1), repeats)
        c_loop = _median_cpu(per_model_loop, (archs, epochs), repeats)
        c_big1 = _median_cpu(batched, (big, 1, threads), repeats)
        c_big = _median_cpu(batched, (big, epochs, threads), repeats)
        t_batch, t_loop = c_batch.cpu / threads, c_loop.cpu / threads
        fix_b, epoch_b = _split(c_batch1.cpu / threads, t_batch, epochs)
        fix_l, epoch_l = _split(c_loop1.cpu / threads, t_loop, epochs)
        _, epoch_big = _split(c_big1.cpu / threads, c_big.cpu / threads, epochs)
        macs = train_macs(archs, epochs)
        rows.append({
            "depth": depth, "models": len(archs), "loop_s": t_loop, "batched_s": t_batch,
            "loop_wall_s": c_loop.wall, "batched_wall_s": c_batch.wall,
            "speedup": t_loop / t_batch,
            "loop_fixed_s": fix_l, "loop_epoch_s": epoch_l,
            "batched_fixed_s": fix_b, "batched_epoch_s": epoch_b,
            "speedup_per_epoch": epoch_l / epoch_b if epoch_b > 0 else None,
            "loop_gmacs": macs / t_loop / 1e9, "batched_gmacs": macs / t_batch / 1e9,
            "batched_gmacs_widths_33_50": train_macs(big, epochs) / (c_big.cpu / threads) / 1e9,
            "batched_epoch_gmacs_widths_33_50": (train_macs(big, 1) / epoch_big / 1e9
                                                 if epoch_big > 0 else None),
        })
        grid_s["loop"][depth] = fix_l + TALK_EPOCHS * epoch_l
        grid_s["batched"][depth] = fix_b + TALK_EPOCHS * epoch_b
        print(f"depth {depth:2d}: loop {t_loop:7.2f} s  batched {t_batch:6.2f} s  "
              f"x{t_loop / t_batch:5.1f} (per epoch x{epoch_l / max(epoch_b, 1e-12):5.1f})  "
              f"batched {macs / t_batch / 1e9:5.1f} GMAC/s (widths 33-50: "
              f"{rows[-1]['batched_gmacs_widths_33_50']:5.1f}, per epoch "
              f"{train_macs(big, 1) / max(epoch_big, 1e-12) / 1e9:5.1f}; matmul {peak:5.1f})",
              file=sys.stderr)
    t_loop = sum(r["loop_s"] for r in rows)
    t_batch = sum(r["batched_s"] for r in rows)
    e_loop = sum(r["loop_epoch_s"] for r in rows)
    e_batch = sum(r["batched_epoch_s"] for r in rows)
    n_models = sum(r["models"] for r in rows)
    macs = sum(train_macs([Architecture(d, w) for w in GRID_WIDTHS], epochs) for d in depths)
    return {
        "command": "python bench/bench_train.py " + " ".join(sys.argv[1:]),
        "clock": "process CPU seconds / threads (wall seconds per depth in per_depth)",
        "threads": threads, "epochs": epochs, "samples": SAMPLES, "depths": depths,
        "repeats": repeats,
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
        "speedup_per_epoch": e_loop / e_batch if e_batch > 0 else None,
        "full_grid_seconds": {"loop": _extrapolate(grid_s["loop"]),
                              "batched": _extrapolate(grid_s["batched"])},
        "per_depth": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 6, 16, 33, 50])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per measurement; the median CPU time is used")
    args = parser.parse_args()
    print(json.dumps(run(args.depths, args.epochs, args.threads, args.repeats), indent=2))


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


def test_batched_step_depth33_widths_41_48(benchmark: Any) -> None:
    """One training step (forward, backward, Adam) of the group that dominates the grid's
    time: 8 candidates 41..48 wide (padded to 48), depth 33, 1,000 samples."""
    torch.set_num_threads(1)
    group = BatchedGroup([Architecture(33, w) for w in range(41, 49)], seed=0, n_samples=SAMPLES)
    x = torch.linspace(-1, 1, SAMPLES)
    y = torch.tanh(2 * x)
    steps = iter(range(1, 1_000_000))

    def step() -> None:
        group.loss_and_grad(x, y, 1.0 / SAMPLES)
        group.adam_step(1e-3, next(steps))

    step()
    benchmark.group = "train: one batched step"
    benchmark.pedantic(step, rounds=9, iterations=1)


if __name__ == "__main__":
    main()
