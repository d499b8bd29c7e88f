"""Wall time of one GRU/LSTM candidate with its starts' trials side by side on threads against
one after another (``RecurrentTrainConfig.start_threads``), on a panel gear, interleaved.

Each round trains every ``--shape`` once per thread count, alternating, so load drifts hit
both; the table gives the median wall seconds and checks that every run of a shape reached the
same validation ESR (the weights do not depend on the thread count). Run it on an otherwise idle
machine: it measures what a second core buys.

    python bench/bench_start_threads.py --gear fuzz --shape gru-8 lstm-16 --rounds 2 \\
        --out bench/results/start_threads.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from vashrink.target.gear import gear_names, gear_recording, to_recording
from vashrink.train import RecurrentTrainConfig, train_recurrent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gear", default="fuzz", choices=gear_names())
    p.add_argument("--shape", nargs="+", default=["gru-8"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    pair = gear_recording(args.gear, seconds=args.seconds, sample_rate_hz=48_000, seed=0)
    rec = to_recording(pair, validation_s=5.0, compensate=True)
    rows = []
    for rnd in range(args.rounds):
        for shape in args.shape:
            for threads in args.threads:
                cfg = dataclasses.replace(RecurrentTrainConfig(), start_threads=threads)
                clock = time.perf_counter()
                [res] = train_recurrent(rec, [shape], cfg)
                wall = time.perf_counter() - clock
                rows.append({"round": rnd, "shape": shape, "start_threads": threads,
                             "wall_s": wall, "esr": res.validation.esr,
                             "load": os.getloadavg()[0]})
                print(f"{shape:8} threads {threads}: {wall:6.1f} s  ESR {res.validation.esr:.4g}",
                      flush=True)
    summary = []
    for shape in args.shape:
        esrs = {r["esr"] for r in rows if r["shape"] == shape}
        walls = {t: statistics.median(r["wall_s"] for r in rows
                                      if r["shape"] == shape and r["start_threads"] == t)
                 for t in args.threads}
        summary.append({"shape": shape, "median_wall_s": walls, "same_esr": len(esrs) == 1})
        shown = ", ".join(f"{t} thread(s) {w:.1f} s" for t, w in walls.items())
        print(f"{shape}: {shown}; same ESR on every run: {len(esrs) == 1}")
    if args.out is not None:
        meta = {"command": "python bench/bench_start_threads.py " + " ".join(sys.argv[1:]),
                "machine": {"cpu": platform.processor(), "cores": os.cpu_count()}}
        args.out.write_text(json.dumps({"meta": meta, "rows": rows, "summary": summary},
                                       indent=1) + "\n")


if __name__ == "__main__":
    main()
