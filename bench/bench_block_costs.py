"""What a capture search's costs become at a plugin's block size: every shape the search may try
(GRU/LSTM of 1 and 2 layers, WaveNets at the search's depth), timed one sample per call and in
blocks of ``--block``, as ``shrink --block-size`` times them (``measure_costs``). The two modes
alternate ``--repeats`` times in one run, each keeping its fastest pass, so load hits both alike.

    python bench/bench_block_costs.py --block 64 --hidden-max 16 --wavenet-depth 6 --repeats 3

Writes ``bench/results/block_costs.json`` (``--out``): per shape both costs and their ratio, and
which shape is cheapest per family at each mode.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

from vashrink.search.capture_costs import measure_costs
from vashrink.search.capture_plan import CaptureLimits

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--block", type=int, default=64)
    p.add_argument("--hidden-max", type=int, default=16)
    p.add_argument("--wavenet-depth", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=RESULTS / "block_costs.json")
    args = p.parse_args()
    limits = CaptureLimits(cells=("gru", "lstm", "wavenet"), hidden_max=args.hidden_max,
                           wavenet_depth=args.wavenet_depth)
    shapes = limits.shapes()
    best: dict[int, dict[str, float]] = {1: {}, args.block: {}}
    for _ in range(args.repeats):
        for block in best:
            with tempfile.TemporaryDirectory() as tmp:
                got = measure_costs(Path(tmp), shapes, "float32", args.rounds, lambda _t: None,
                                    block_size=block)
            for label, ns in got.items():
                best[block][label] = min(ns, best[block].get(label, float("inf")))
    rows = [{"shape": a.label, "family": a.cell, "layers": a.layers,
             "macs_per_sample": a.macs_per_sample, "ns_per_sample": best[1][a.label],
             f"ns_per_sample_block_{args.block}": best[args.block][a.label],
             "block_over_sample": best[args.block][a.label] / best[1][a.label]} for a in shapes]
    for r in rows:
        print(f"{r['shape']:16s} {r['ns_per_sample']:8.1f} "
              f"{r[f'ns_per_sample_block_{args.block}']:8.1f}  x{r['block_over_sample']:.2f}")
    data = {"command": "python bench/bench_block_costs.py " + " ".join(sys.argv[1:]),
            "machine": {"cpu": platform.processor(), "node": platform.node()},
            "block": args.block, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
