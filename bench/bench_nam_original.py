"""A trained "original" for ``vashrink shrink --model`` (issue 20, item 4): a large LSTM trained
by the project's own trainer on a simulated gear of the capture panel, saved as a vashrink model
file for ``vashrink export ... --to original.nam``.

    python bench/bench_nam_original.py --gear tube --hidden 32 --max-seconds 150 --out run
    vashrink export run/original.vashrink.json --to run/original.nam
    vashrink shrink --model run/original.nam --esr 0.01 --cells lstm --layers 1 \\
        --hidden-max 16 --max-seconds 60 --out run/shrink

Writes ``OUT/original.vashrink.json`` and ``OUT/original.json`` (the command, the gear, the
trained shape and its validation ESR against the gear itself).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vashrink.model.file import write_model_file
from vashrink.target.gear import gear_names, gear_recording, to_recording
from vashrink.train.rnn_config import RecurrentTrainConfig
from vashrink.train.rnn_fit import train_recurrent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gear", default="tube", choices=gear_names())
    ap.add_argument("--hidden", type=int, default=32, help="LSTM units (one layer)")
    ap.add_argument("--seconds", type=float, default=20.0, help="audio rendered through the gear")
    ap.add_argument("--validation-s", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=150.0, help="training wall-clock cap")
    ap.add_argument("--out", type=Path, default=Path("nam-original"))
    a = ap.parse_args(argv)
    pair = gear_recording(a.gear, seconds=a.seconds)
    recording = to_recording(pair, validation_s=a.validation_s, compensate=True)
    config = RecurrentTrainConfig(max_seconds=a.max_seconds)
    t0 = time.perf_counter()
    (trained,) = train_recurrent(recording, [f"lstm-{a.hidden}"], config)
    seconds = time.perf_counter() - t0
    model = write_model_file(a.out / "original.vashrink.json", trained.spec, provenance={
        "source": f"bench/bench_nam_original.py on the simulated {a.gear} gear"})
    summary = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])]),
        "gear": a.gear, "shape": trained.architecture.label,
        "validation_esr": trained.validation.esr, "epochs": trained.epochs,
        "stop_reason": trained.stop_reason, "train_seconds": round(seconds, 1),
        "model_file": str(model),
    }
    (a.out / "original.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
