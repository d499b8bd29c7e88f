"""Seconds per update of each recurrent shape, measured in the capture panel's default
trainings, against the model of :mod:`vashrink.train.rnn_budget` that scales the default budget
with the shape.

Input: a panel ``default`` table whose trainings ran one after another on a quiet machine
(``bench/results/capture_panel_default_timing.json``: the 8,000-update, two-start recipe, 20 s
of audio, 5 s validating, so 48 updates per epoch). A row's seconds cover its epochs plus the
trial epochs of the start that was dropped (``ceil(start_fraction * budget / per_epoch)``), so
its seconds per update are ``seconds / ((epochs + trial) * per_epoch)``, validation checks
included. Per shape: the median over the panel's gear, the measured ratio to the one-layer
16-unit shape of its cell, the modelled ratio (``update_cost``), and the updates the default
recipe now gives it with the seconds that would take at the measured rate (both starts, the
whole budget: patience usually stops a candidate between half and all of it).

Published numbers (bench/results/rnn_budget.json, docs/training.md "The budget")::

    python bench/bench_rnn_budget.py --out bench/results/rnn_budget.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

from vashrink.model.architecture import RecurrentArchitecture
from vashrink.train import RecurrentTrainConfig
from vashrink.train.rnn_budget import REFERENCE_HIDDEN, update_cost

TIMING = Path(__file__).resolve().parent / "results" / "capture_panel_default_timing.json"


def per_update_seconds(path: Path) -> dict[str, list[float]]:
    """Seconds per update of every row of a panel default table, by shape."""
    out: dict[str, list[float]] = {}
    for row in json.loads(path.read_text())["rows"]:
        cfg = RecurrentTrainConfig(**{"starts": 1} | {
            k: v for k, v in row["config"].items()
            if k in RecurrentTrainConfig.__dataclass_fields__})
        rows = math.floor(row["seconds_audio"] * row["sample_rate_hz"]
                          - row["validation_s"] * row["sample_rate_hz"]) // cfg.segment_samples
        per_epoch = cfg.updates_per_epoch(rows)
        budget = cfg.budget_updates(rows, RecurrentArchitecture.parse(row["shape"]))
        trial = (cfg.starts - 1) * math.ceil(cfg.start_fraction * budget / per_epoch)
        out.setdefault(row["shape"], []).append(
            row["seconds"] / ((row["epochs"] + trial) * per_epoch))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing", type=Path, default=TIMING)
    parser.add_argument("--out", default="bench/results/rnn_budget.json")
    args = parser.parse_args()
    measured = {k: statistics.median(v) for k, v in per_update_seconds(args.timing).items()}
    default = RecurrentTrainConfig()
    rows: list[dict[str, Any]] = []
    for label, cost in sorted(measured.items()):
        arch = RecurrentArchitecture.parse(label)
        ref = RecurrentArchitecture(arch.cell, REFERENCE_HIDDEN)
        updates = default.updates_for(arch)
        starts = 1 + (default.starts - 1) * default.start_fraction
        rows.append({
            "architecture": label, "s_per_update": cost,
            "measured_ratio_to_reference": measured[ref.label] / cost
            if ref.label in measured else None,
            "modelled_ratio_to_reference": update_cost(ref) / update_cost(arch),
            "default_updates": updates,
            "seconds_whole_budget_both_starts": cost * updates * starts,
        })
        r = rows[-1]
        print(f"{label:>9} {cost * 1e3:6.3f} ms/update  measured "
              f"{r['measured_ratio_to_reference'] or 0:5.2f}x  modelled "
              f"{r['modelled_ratio_to_reference']:5.2f}x  default {updates:6d} updates, "
              f"{r['seconds_whole_budget_both_starts']:5.1f} s at most")
    out = {"command": f"python bench/bench_rnn_budget.py --out {args.out}",
           "timing": str(args.timing.name), "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
