"""How the shared-study search scales: measured wall time and a replay of the scheduler.

    python bench/bench_workers.py wall       # 1 vs 2 local workers, same search, interleaved
    python bench/bench_workers.py measure    # train the grids the replay draws from
    python bench/bench_workers.py simulate   # replay measured training times for 1..64 workers
    python bench/bench_workers.py profile    # cost-profile interpolation vs direct timing

``measure`` trains every depth 1..4 x width 1..16 candidate of sin(5x) on [0, 3] for tanh and
relu (``vashrink grid``) and keeps each candidate's training seconds and error. ``simulate``
replays them through :func:`vashrink.search.frontier.frontier` as an event simulation: W
workers, each idle worker takes the next ready candidate, a candidate occupies its worker for
its measured training time. It reports the makespan, speed-up over one worker, the candidates
trained (parallel ladders train some the sequential search prunes) and the Karp-Flatt serial
fraction ``e = (W / S - 1) / (W - 1)``. Results go to ``bench/results/workers_*.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = ["sin(5*x)", "--range", "0", "3", "--eps", "1e-3"]
ACTIVATIONS = ("tanh", "relu")


def wall(repeats: int, out_root: Path, eps: str) -> dict[str, Any]:
    """Wall time of one fixed search with 1 and with 2 local workers, interleaved."""
    search = [*TARGET[:-1], eps]
    runs: dict[int, list[float]] = {1: [], 2: []}
    trained: dict[int, list[int]] = {1: [], 2: []}
    for r in range(repeats):
        for workers in (1, 2):
            out = out_root / f"wall-{eps}-{workers}-{r}"
            cmd = [sys.executable, "-m", "vashrink.cli", "shrink", *search, "--depth-max", "3",
                   "--width-max", "16", "--repeats", "2", "--no-progress", "--json",
                   "--out", str(out), "--workers", str(workers)]
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            runs[workers].append(time.perf_counter() - start)
            trained[workers].append(len(json.loads(done.stdout)["candidates"]))
            print(f"workers={workers} repeat={r}: {runs[workers][-1]:.1f} s, "
                  f"{trained[workers][-1]} candidates", flush=True)
    med = {w: statistics.median(v) for w, v in runs.items()}
    return {"command": f"python bench/bench_workers.py wall --eps {eps}", "search": search,
            "limits": {"depth_max": 3, "width_max": 16}, "seconds": runs,
            "candidates": trained, "median_seconds": med, "speedup": med[1] / med[2]}


def measure(out_root: Path) -> dict[str, Any]:
    """Every candidate of the replay's grid, trained and scored by ``vashrink grid``."""
    cands = []
    for act in ACTIVATIONS:
        out = out_root / f"grid-{act}"
        cmd = [sys.executable, "-m", "vashrink.cli", "grid", *TARGET, "--depths", "1", "4",
               "--widths", "1", "16", "--activation", act, "--out", str(out), "--json",
               "--no-progress", "--repeats", "2"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        cands += json.loads(done.stdout)["candidates"]
    return {"command": "python bench/bench_workers.py measure", "target": TARGET,
            "candidates": cands}


def replay(cands: list[dict[str, Any]], workers: int, eps: float) -> dict[str, Any]:
    """Event simulation of ``workers`` workers over the measured candidates."""
    from vashrink.search.frontier import BUSY, frontier
    from vashrink.search.score import CandidateScore
    from vashrink.search.smallest import SearchLimits

    scores = {f"{c['depth']}x{c['width']} {c['activation']}": CandidateScore.from_dict(c)
              for c in cands}
    lanes = next(iter(scores.values())).lanes
    limits = SearchLimits(depth_max=4, width_max=16, trials=10_000)
    done: dict[str, CandidateScore] = {}
    running: dict[str, float] = {}
    now = busy_s = 0.0
    while True:
        def status(arch: Any) -> Any:
            return done.get(arch.key) or (BUSY if arch.key in running else None)

        plan = frontier(done, status, eps=eps, lanes=lanes, activations=ACTIVATIONS,
                        limits=limits, claimed=len(done) + len(running))
        for arch in plan.ready[: workers - len(running)]:
            running[arch.key] = now + scores[arch.key].train_seconds
            busy_s += scores[arch.key].train_seconds
        if not running:
            break
        key = min(running, key=running.__getitem__)
        now = running.pop(key)
        done[key] = scores[key]
    meeting = [c for c in done.values() if c.meets(eps)]
    best = min(meeting, key=lambda c: (c.lane_score, c.depth * c.width), default=None)
    return {"workers": workers, "makespan_s": now, "work_s": busy_s, "trained": len(done),
            "winner": best.label if best else None}


def simulate(data: dict[str, Any]) -> dict[str, Any]:
    """The replay at three eps: an easy search (few steps), a harder one, one nothing meets."""
    curves = []
    for eps in (1e-3, 3e-4, 1e-4):
        rows = [replay(data["candidates"], w, eps) for w in (1, 2, 3, 4, 6, 8, 12, 16, 32, 64)]
        base = rows[0]["makespan_s"]
        for r in rows:
            r["eps"] = eps
            r["speedup"] = base / r["makespan_s"]
            w = r["workers"]
            r["karp_flatt"] = (w / r["speedup"] - 1) / (w - 1) if w > 1 else None
        top = max(r["speedup"] for r in rows)
        curves.append({"eps": eps, "max_speedup": top,
                       "flattens_at_workers": next(r["workers"] for r in rows
                                                   if r["speedup"] >= 0.99 * top),
                       "serial_fraction_at_64": rows[-1]["karp_flatt"], "rows": rows})
    return {"command": "python bench/bench_workers.py simulate",
            "ladders": 4 * len(ACTIVATIONS), "curves": curves,
            "rows": [r for c in curves for r in c["rows"]]}


def profile_check(buffer_samples: int = 4800) -> dict[str, Any]:
    """Interpolated cost of off-grid shapes vs their direct timing on this machine."""
    from vashrink.model.architecture import Architecture
    from vashrink.runtime.profile import measure_profile, write_profile
    from vashrink.runtime.timing import time_model
    from vashrink.search.costs import load_cost_profile

    # this machine is shared: the minimum of many repeats, for the table and the direct timing
    prof = measure_profile(activations=("tanh", "relu"), dtypes=("float32",), repeats=9,
                           buffer_samples=buffer_samples, recurrent=False, statistic="min")
    path = write_profile(prof, RESULTS / "workers_profile.json")
    table = load_cost_profile(path)
    rows = []
    for act in ("tanh", "relu"):
        for depth, width in ((1, 5), (2, 10), (3, 20), (5, 7), (5, 28), (7, 40), (2, 56),
                             (4, 14), (6, 36)):
            arch = Architecture(depth, width, act)
            est, outside = table.estimate(arch, "float32")
            direct = time_model(arch, modes=("sample",), repeats=9,
                                buffer_samples=buffer_samples)[0].ns_per_sample_min
            rows.append({"arch": arch.key, "interpolated_ns": est, "direct_ns": direct,
                         "relative_error": (est - direct) / direct, "outside_grid": outside})
    errs = [abs(r["relative_error"]) for r in rows]
    return {"command": "python bench/bench_workers.py profile", "cpu": table.label,
            "leave_one_out_p90": table.uncertainty, "rows": rows,
            "median_abs_error": statistics.median(errs), "max_abs_error": max(errs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("wall", "measure", "simulate", "profile"))
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--eps", default="1e-3", help="wall: the search's eps (default 1e-3)")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/vashrink-bench-workers"))
    args = p.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.what == "wall":
        out = wall(args.repeats, args.work_dir, args.eps)
    elif args.what == "measure":
        out = measure(args.work_dir)
    elif args.what == "simulate":
        out = simulate(json.loads((RESULTS / "workers_grid.json").read_text()))
    else:
        out = profile_check()
    name = {"measure": "grid", "profile": "profile_check",
            "wall": f"wall_eps{args.eps}"}.get(args.what, args.what)
    (RESULTS / f"workers_{name}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k not in ("candidates", "rows")},
                     indent=1))
    for row in out.get("rows", []):
        print(row)


if __name__ == "__main__":
    main()
