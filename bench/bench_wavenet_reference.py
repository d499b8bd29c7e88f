"""The WaveNet recipe against a long reference (issue 21, item 2), as the recurrent panel's
``reference``/``default`` modes: per (gear, shape) the default ``WaveNetTrainConfig()`` with one
seed, and a long reference, the same recipe with every budget field (``max_updates``,
``max_epochs``, ``patience``) multiplied by ``--budget-x`` (default 5), best of ``--seeds``
(default 0 1). The ratio default / reference is the issue's check (goal: at most 1.25).

Shapes: ``wavenet-C-dD`` for each ``--channels``, D from the search's rule (the memory bound's
memory covered, at least ``WAVENET_DEPTH``) unless ``--depth`` is given. ESR: validation,
pre-emphasised, the float64 reference streamed from a zero history after the pre-roll
(``TrainedWaveNet.validation``, what the engine scores within float32). Every result is written
to ``--out`` at once, so an interrupted run resumes; a row is keyed by the split too
(``validation_piece_s``, ``row_layout``), so rows from another split are kept but neither skipped
nor summarised.

    nice -n 5 python bench/bench_wavenet_reference.py --gears diode tube fuzz --channels 4 \\
        --out bench/results/wavenet_reference_interleaved.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from vashrink.bound.memory import memory_bound
from vashrink.model.wavenet_shape import WaveNetShape, depth_for_memory
from vashrink.search.capture_plan import WAVENET_DEPTH
from vashrink.target.gear import gear_recording, to_recording
from vashrink.target.spans import ROW_LAYOUT, VALIDATION_PIECE_S
from vashrink.train.wavenet_config import WaveNetTrainConfig
from vashrink.train.wavenet_fit import train_wavenet

RESULTS = Path(__file__).parent / "results"


def _reference(config: WaveNetTrainConfig, x: int, seed: int) -> WaveNetTrainConfig:
    patience = None if config.patience is None else config.patience * x
    return replace(config, max_updates=config.max_updates * x,
                   max_epochs=config.max_epochs * x, patience=patience, seed=seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gears", nargs="+", default=["diode", "tube", "fuzz"])
    ap.add_argument("--channels", type=int, nargs="+", default=[4])
    ap.add_argument("--depth", type=int, default=None)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    ap.add_argument("--budget-x", type=int, default=5)
    ap.add_argument("--no-default", action="store_true",
                    help="references only (another process runs the default)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--validation-s", type=float, default=5.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "wavenet_reference.json")
    args = ap.parse_args()
    config = WaveNetTrainConfig()
    out = json.loads(args.out.read_text()) if args.out.is_file() else {
        "meta": {"command": "python " + " ".join(sys.argv), "kind": "measurement",
                 "recipe": config.to_dict(), "budget_x": args.budget_x, "seeds": args.seeds},
        "rows": []}
    rows = [r for r in out["rows"] if r.get("validation_piece_s") == VALIDATION_PIECE_S
            and r.get("row_layout", "drop") == ROW_LAYOUT]
    done = {(r["gear"], r["shape"], r["run"]) for r in rows}
    for gear in args.gears:
        rec = to_recording(gear_recording(gear, seconds=args.seconds),
                           validation_s=args.validation_s, compensate=True)
        memory = memory_bound(rec, esr_target=0.01).memory_samples
        depth = args.depth or max(WAVENET_DEPTH, depth_for_memory(memory))
        for c in args.channels:
            shape = WaveNetShape(c, depth)
            runs = [] if args.no_default else [("default", config)]
            runs += [
                (f"reference-seed{s}", _reference(config, args.budget_x, s)) for s in args.seeds]
            for name, cfg in runs:
                if (gear, shape.label, name) in done:
                    continue
                t0 = time.perf_counter()
                [res] = train_wavenet(rec, [shape], cfg)
                row = {"gear": gear, "shape": shape.label, "run": name,
                       "validation_piece_s": VALIDATION_PIECE_S, "row_layout": ROW_LAYOUT,
                       "memory": memory,
                       "esr": res.validation.esr, "train_esr": res.train_esr,
                       "updates": res.updates, "stop_reason": res.stop_reason,
                       "seconds": time.perf_counter() - t0}
                out["rows"].append(row)
                rows.append(row)
                args.out.write_text(json.dumps(out, indent=1))
                print(json.dumps(row), flush=True)
    table = {}
    for r in rows:
        key = (r["gear"], r["shape"])
        if r["run"] == "default":
            table.setdefault(key, {})["default"] = r["esr"]
        else:
            best = table.setdefault(key, {}).get("reference", float("inf"))
            table[key]["reference"] = min(best, r["esr"])
    out["summary"] = [{"gear": g, "shape": s, **v,
                       "ratio": v["default"] / v["reference"]
                       if "default" in v and "reference" in v else None}
                      for (g, s), v in table.items()]
    args.out.write_text(json.dumps(out, indent=1))
    for row in out["summary"]:
        print(row)


if __name__ == "__main__":
    main()
