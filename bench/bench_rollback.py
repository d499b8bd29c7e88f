"""One recurrent shape trained on a capture with recipe variants side by side: how the rollback
on divergence (``RecurrentTrainConfig.max_rollbacks``, ``rollback_ratio``) changes what a
candidate reaches (docs/training.md, "Rollbacks").

The gear is a panel gear (``--gear fuzz``) or a ``.nam`` file rendered in the engine
(``--nam PATH``, e.g. NeuralAmpModelerCore's ``example_models/A2.nam`` checked out under /tmp,
never committed). Each ``--variant`` is a comma list of ``FIELD=VALUE`` recipe fields (empty:
the default recipe). Rows go to ``--out`` with the command, the validation ESR, stop reason,
rollbacks and the per-epoch checks.

    python bench/bench_rollback.py --nam /tmp/nam-core/example_models/A2.nam --shape gru-2x32 \\
        --variant "" --variant max_rollbacks=0 --variant rollback_ratio=2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench_capture_panel import recipe
from vashrink.formats.gear import gear_recording as nam_recording
from vashrink.target.gear import gear_recording, to_recording
from vashrink.train import RecurrentTrainConfig, train_recurrent

RESULTS = Path(__file__).parent / "results"


def _config(variant: str) -> RecurrentTrainConfig:
    """The default recipe with a variant's ``FIELD=VALUE,...`` changes (the panel's --set)."""
    return recipe([p.strip() for p in variant.split(",") if p.strip()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gear")
    src.add_argument("--nam", type=Path)
    ap.add_argument("--shape", default="gru-2x32")
    ap.add_argument("--variant", action="append", default=None)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--validation-s", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "rollback.json")
    args = ap.parse_args()
    if args.nam is not None:
        rec, _ = nam_recording(args.nam, seconds=args.seconds, validation_s=args.validation_s,
                               timing_repeats=1)
        source = args.nam.name
    else:
        rec = to_recording(gear_recording(args.gear, seconds=args.seconds),
                           validation_s=args.validation_s, compensate=True)
        source = args.gear
    out = {"command": "python bench/bench_rollback.py " + " ".join(sys.argv[1:]),
           "kind": "measurement", "rows": []}
    for variant in args.variant or [""]:
        started = time.perf_counter()
        [res] = train_recurrent(rec, [args.shape], _config(variant))
        row = {"source": source, "shape": args.shape, "variant": variant,
               "esr": res.validation.esr, "stop_reason": res.stop_reason,
               "rollbacks": res.rollbacks, "epochs": res.epochs,
               "seconds": time.perf_counter() - started, "val_curve": list(res.val_curve)}
        out["rows"].append(row)
        args.out.write_text(json.dumps(out, indent=1))
        print(f"{source} {args.shape} [{variant or 'default'}]: ESR {row['esr']:.4g}, "
              f"{row['stop_reason']}, {row['rollbacks']} rollbacks, {row['epochs']} epochs, "
              f"{row['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
