"""Is the capture search's winner as small as an exhaustive sweep says it could be?

Runs ``shrink_capture`` on the simulated pedal (the ``--example pedal`` recording and ESR
target), then trains, cold and with the same recipe and seed, every shape the search could have
chosen instead of its winner (measured cost at most 10 % above the winner's, the search's own
tie: within it the fewer MACs win) that the search did not train itself. The search is right
when its choice rule, given every candidate of both, picks the same winner; the sweep also says
how many trainings the search saved.

    python bench/bench_capture_sweep.py --out bench/results/capture_sweep.json

Takes a few minutes for LSTMs (``--cells lstm``, the example's default); GRUs train about 10x
slower per epoch in torch on a CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from vashrink.search.capture import engine_errors, shrink_capture
from vashrink.search.capture_costs import COSTS_FILE
from vashrink.search.capture_plan import CaptureLimits
from vashrink.search.capture_score import CaptureScore, choose_capture
from vashrink.search.score import COST_TIE
from vashrink.target.examples import PEDAL_ESR, PEDAL_SECONDS, PEDAL_VALIDATION_S
from vashrink.target.pedal import pedal_recording
from vashrink.train import RecurrentTrainConfig, train_recurrent


def _sweep(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rec = pedal_recording(seconds=PEDAL_SECONDS, validation_s=PEDAL_VALIDATION_S)
    limits = CaptureLimits(cells=tuple(args.cells), hidden_max=args.hidden_max,
                           layers=tuple(args.layers), trials=args.trials)
    config = RecurrentTrainConfig(seed=args.seed)
    started = time.perf_counter()
    result = shrink_capture(rec, args.esr, out_dir=work / "search", limits=limits, config=config,
                            report=False, progress=False, log=print)
    search_s = time.perf_counter() - started
    costs = json.loads((work / "search" / COSTS_FILE).read_text())
    trained = {c.label: c for c in result.candidates}
    winner = result.winner
    met = winner is not None and result.met
    ceiling = (1.0 + COST_TIE) * winner.ns_per_sample if met else float("inf")
    rows = []
    swept: list[CaptureScore] = []
    for arch in sorted(limits.shapes(), key=lambda a: costs[a.label]):
        cost = float(costs[arch.label])
        if cost > ceiling or (arch.label == getattr(winner, "label", None)):
            continue
        if arch.label in trained:
            c = trained[arch.label]
            rows.append({"label": arch.label, "ns_per_sample": cost, "esr": c.esr,
                         "by": "search", "train_seconds": c.train_seconds})
            continue
        print(f"sweep: training {arch.label} ({cost:.3g} ns/sample)")
        [res] = train_recurrent(rec, [arch], config, target_esr=args.esr)
        errors = engine_errors(res.spec, rec, "float32")
        esr = float("inf") if errors is None else float(errors.esr)
        rows.append({"label": arch.label, "ns_per_sample": cost, "esr": esr, "by": "sweep",
                     "train_seconds": res.seconds})
        print(f"  {arch.label}: ESR {esr:.3g}")
        if winner is not None:
            swept.append(replace(winner, label=arch.label, cell=arch.cell, hidden=arch.hidden,
                                 layers=arch.layers, skip=arch.skip, esr=esr,
                                 ns_per_sample=cost, n_params=arch.n_params,
                                 macs_per_sample=arch.macs_per_sample))
    both = choose_capture([*result.candidates, *swept], args.esr).winner
    beaten = [r for r in rows if r["esr"] <= args.esr]
    return {
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "esr_target": args.esr,
        "limits": {"cells": args.cells, "layers": args.layers, "hidden_max": args.hidden_max},
        "costs_ns_per_sample": dict(sorted(costs.items(), key=lambda kv: kv[1])),
        "search_candidates": [
            {"label": c.label, "esr": c.esr, "ns_per_sample": c.ns_per_sample}
            for c in result.candidates
        ],
        "search": {
            "winner": winner.label if winner is not None else None,
            "met": result.met,
            "winner_esr": winner.esr if winner is not None else None,
            "winner_ns_per_sample": winner.ns_per_sample if winner is not None else None,
            "trainings": len(result.candidates),
            "trained": sorted(trained),
            "seconds": search_s,
        },
        "cheaper_shapes": rows,
        "sweep_trainings": sum(r["by"] == "sweep" for r in rows),
        "also_meeting": [r["label"] for r in beaten],
        "winner_with_sweep": both.label if both is not None else None,
        "search_is_smallest": met and both is not None and both.label == winner.label,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="+", default=["lstm"], choices=["gru", "lstm"])
    p.add_argument("--layers", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    p.add_argument("--hidden-max", type=int, default=40)
    p.add_argument("--trials", type=int, default=24)
    p.add_argument("--esr", type=float, default=PEDAL_ESR)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = _sweep(args, Path(tmp))
    text = json.dumps(out, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
