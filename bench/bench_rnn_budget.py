"""CPU seconds per update of each recurrent shape on the native trainer, against the model of
:mod:`vashrink.train.rnn_budget` that scales the default budget with the shape.

Each shape trains alone (one start, no patience, one thread) on the capture panel's diode
recording (``--seconds`` of audio, ``--validation-s`` of it validating), once for ``--short``
updates and once for ``--updates``; the difference of the two process CPU times
(``time.process_time``: less inflated by other jobs than wall time, not immune to them) over
the difference of updates is its cost per update, validation checks included (the fixed work of
a training, data preparation and the final streamed scoring, cancels).
Reported per shape: seconds per update, that relative to the one-layer 16-unit shape of its
cell (measured), the modelled ratio (``update_cost``), and the updates the default recipe gives
it (``RecurrentTrainConfig().updates_for``), with the modelled CPU seconds of that budget.

Published numbers (bench/results/rnn_budget.json, docs/training.md "The budget")::

    python bench/bench_rnn_budget.py --out bench/results/rnn_budget.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from vashrink.model.architecture import RecurrentArchitecture
from vashrink.target.gear import gear_recording, to_recording
from vashrink.train import RecurrentTrainConfig
from vashrink.train.rnn_budget import REFERENCE_HIDDEN, update_cost
from vashrink.train.rnn_fit import train_recurrent

SHAPES = ("gru-4", "gru-8", "gru-12", "gru-16", "gru-24", "gru-2x8",
          "lstm-4", "lstm-8", "lstm-12", "lstm-16", "lstm-24", "lstm-2x8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/rnn_budget.json")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES))
    parser.add_argument("--updates", type=int, default=960)
    parser.add_argument("--short", type=int, default=96)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--validation-s", type=float, default=5.0)
    args = parser.parse_args()
    pair = gear_recording("diode", seconds=args.seconds)
    rec = to_recording(pair, validation_s=args.validation_s, compensate=True)
    default = RecurrentTrainConfig()
    load_before = os.getloadavg()[0]
    per_update: dict[str, float] = {}
    for label in args.shapes:
        cpu = []
        for updates in (args.short, args.updates):
            probe = RecurrentTrainConfig(max_updates=updates, starts=1, patience=None)
            clock = time.process_time()
            train_recurrent(rec, [label], probe)
            cpu.append(time.process_time() - clock)
        per_update[label] = (cpu[1] - cpu[0]) / (args.updates - args.short)
        print(f"{label}: {per_update[label] * 1e3:.3f} ms/update", flush=True)
    rows: list[dict[str, Any]] = []
    for label, cost in per_update.items():
        arch = RecurrentArchitecture.parse(label)
        ref = str(RecurrentArchitecture(arch.cell, REFERENCE_HIDDEN))
        updates = default.updates_for(arch)
        rows.append({
            "architecture": label, "s_per_update": cost,
            "measured_ratio_to_reference": (per_update[ref] / cost if ref in per_update
                                            else None),
            "modelled_ratio_to_reference": update_cost(RecurrentArchitecture.parse(ref))
            / update_cost(arch),
            "default_updates": updates,
            "default_cpu_s_one_start": cost * updates,
            "default_cpu_s_with_starts": cost * updates
            * (1 + (default.starts - 1) * default.start_fraction),
        })
    out = {
        "command": "python bench/bench_rnn_budget.py --out " + args.out,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1min_before_after": [load_before, os.getloadavg()[0]]},
        "recording": {"gear": "diode", "seconds": args.seconds,
                      "validation_s": args.validation_s},
        "probe_updates": [args.short, args.updates],
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    for r in rows:
        print(f"{r['architecture']:>9} {r['s_per_update'] * 1e3:7.3f} ms  measured "
              f"{r['measured_ratio_to_reference'] or 0:5.2f}x  modelled "
              f"{r['modelled_ratio_to_reference']:5.2f}x  default {r['default_updates']:6d} "
              f"updates, {r['default_cpu_s_with_starts']:5.1f} CPU s")


if __name__ == "__main__":
    main()
