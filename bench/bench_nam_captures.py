"""Captures the project never made: real NAM models as the gear of a capture search.

Each ``.nam`` file under ``$NAM_CORE_DIR/example_models`` (NeuralAmpModelerCore's examples,
checked out under /tmp, never committed) renders the capture test signal in vashrink's engine;
``shrink_capture`` then searches GRU/LSTM models against that recording. For a
``SlimmableContainer`` the smaller submodels are NAM's own smaller models of the same gear: each
is rendered on the same signal, scored on the same validation spans (pre-emphasised ESR against
the full model, streamed as a plugin plays) and timed in the same run, and the search is run
again at that ESR, so the question "is vashrink's choice at least as good as NAM's own smaller
model at no more CPU" has a measured answer.

    NAM_CORE_DIR=/tmp/nam-core python bench/bench_nam_captures.py \\
        [--models slimmable_container A2 lstm] [--esr 0.01] [--seconds 30] [--validation-s 10]

Writes ``bench/results/nam_captures.json`` (``--out``) with the command, every candidate and cost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vashrink.formats.gear import gear_recording
from vashrink.formats.nam import read_nam
from vashrink.formats.render import prewarm
from vashrink.runtime.families import family_of
from vashrink.runtime.timing import time_runner
from vashrink.search.capture import shrink_capture
from vashrink.search.capture_plan import CaptureLimits
from vashrink.target.esr import piece_errors

RESULTS = Path(__file__).resolve().parent / "results"


def _submodel_rows(path: Path, rec: Any, repeats: int) -> list[dict[str, Any]]:
    """NAM's own smaller models of the same gear: ESR against the full model and cost."""
    nam = read_nam(path)
    rows = []
    for max_value, sub in nam.submodels[:-1]:
        runner = family_of(sub.model).load(sub.model, "float32")
        prewarm(runner, sub.prewarm_samples)
        pred = np.asarray(runner.process_samples(rec.input.astype(np.float32)),
                          dtype=np.float64).reshape(-1)
        report = piece_errors([(rec.output[a:b], pred[a:b], 0) for a, b in rec.validation_spans])
        timing = time_runner(runner, modes=("sample",), repeats=repeats,
                             sample_rate_hz=rec.sample_rate_hz)[0]
        rows.append({"max_value": max_value, "model": sub.describe(),
                     "esr": report.esr, "ns_per_sample": timing.ns_per_sample})
    return rows


def _search(rec: Any, esr: float, out: Path, cells: tuple[str, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    result = shrink_capture(rec, esr, out_dir=out, limits=CaptureLimits(cells=cells),
                            progress=False, report=False)
    w = result.winner
    return {
        "esr_target": esr, "met": result.met, "seconds": time.perf_counter() - started,
        "winner": None if w is None else {"label": w.label, "esr": w.esr,
                                          "ns_per_sample": w.ns_per_sample},
        "trained": len(result.candidates),
        "candidates": [{"label": c.label, "esr": c.esr, "ns_per_sample": c.ns_per_sample}
                       for c in result.candidates],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(os.environ.get("NAM_CORE_DIR", "")) / "example_models"
    if not root.is_dir():
        sys.exit("set NAM_CORE_DIR to a NeuralAmpModelerCore checkout (its example_models/)")
    rows = []
    for name in args.models:
        path = root / f"{name}.nam"
        rec, gear = gear_recording(path, seconds=args.seconds, validation_s=args.validation_s,
                                   timing_repeats=args.repeats)
        row: dict[str, Any] = {"model": name, "original": read_nam(path).describe(),
                               "original_ns_per_sample": gear.ns_per_sample,
                               "submodels": _submodel_rows(path, rec, args.repeats)}
        print(f"{name}: original {gear.ns_per_sample:.0f} ns/sample", flush=True)
        targets = sorted({*args.esr, *(s["esr"] for s in row["submodels"] if s["esr"] < 0.5)},
                         reverse=True)
        with tempfile.TemporaryDirectory(prefix="nam-captures-") as tmp:
            row["searches"] = []
            for i, esr in enumerate(targets):
                found = _search(rec, float(esr), Path(tmp) / f"s{i}", tuple(args.cells))
                row["searches"].append(found)
                w = found["winner"] or {}
                print(f"  esr {esr:.4g}: {w.get('label')} esr {w.get('esr', float('nan')):.4g} "
                      f"{w.get('ns_per_sample', float('nan')):.0f} ns, met {found['met']}, "
                      f"{found['trained']} trained, {found['seconds']:.0f} s", flush=True)
        for s in row["submodels"]:
            print(f"  NAM's own smaller model ({s['model']}): esr {s['esr']:.4g}, "
                  f"{s['ns_per_sample']:.0f} ns", flush=True)
        rows.append(row)
    return {"command": " ".join(["python", *sys.argv]), "models": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["slimmable_container", "A2", "lstm"])
    p.add_argument("--esr", nargs="*", type=float, default=[0.01],
                   help="targets besides each smaller submodel's own ESR (none: only those)")
    p.add_argument("--cells", nargs="+", default=["gru", "lstm"])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--validation-s", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=RESULTS / "nam_captures.json")
    args = p.parse_args()
    data = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
