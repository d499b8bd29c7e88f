"""How long should a validation piece be? Validation ESR against the ESR on a fresh recording.

For each gear (the simulated panel's, or ``.nam`` files rendered in the engine), shape, piece
length and seed: the default recipe trains on a 20 s test-signal recording whose ``--validation-s``
seconds are spread in pieces of that length (``spread_spans(piece_s=...)``); the trained model
then plays a *fresh* recording of the same gear (the test signal with another seed: the same
sweep, new noise and plucks), streamed from its pre-warm. A trustworthy validation ESR is close
to the fresh one; a better split gives a lower fresh ESR.

    python bench/bench_validation_pieces.py --gears fuzz tube diode sag --shapes gru-8 \\
        --pieces 2.5 0.5 --seeds 0 1
    python bench/bench_validation_pieces.py --nam /path/A2.nam --shapes gru-16 --seconds 30 \\
        --validation-s 10 --pieces 2.5 0.5

Writes ``bench/results/validation_pieces.json`` (``--out``), each row as soon as it is done.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from vashrink.formats.gear import gear_recording as model_recording
from vashrink.formats.nam import read_nam
from vashrink.formats.render import prewarm
from vashrink.runtime.families import family_of
from vashrink.target.capture_signal import test_signal
from vashrink.target.esr import signal_errors
from vashrink.target.gear import gear_recording, to_recording
from vashrink.target.recording import Recording
from vashrink.target.spans import spread_spans
from vashrink.train import RecurrentTrainConfig, train_recurrent

RESULTS = Path(__file__).resolve().parent / "results"
FRESH_SEED = 7
PREWARM = 24_000


def _play(spec: Any, x: np.ndarray, warm: int) -> np.ndarray:
    runner = family_of(spec).load(spec, "float32")
    prewarm(runner, warm)
    return np.asarray(runner.process_samples(x.astype(np.float32)), dtype=np.float64).ravel()


def recordings(args: argparse.Namespace) -> list[tuple[str, Recording, np.ndarray, np.ndarray]]:
    """(name, training recording, fresh input, fresh output) per gear."""
    out = []
    for name in args.gears:
        pair = gear_recording(name, seconds=args.seconds, seed=0)
        rec = to_recording(pair, validation_s=args.validation_s, compensate=True)
        fresh = gear_recording(name, seconds=args.seconds, seed=FRESH_SEED)
        lag = fresh.latency_samples
        out.append((name, rec, fresh.input[: fresh.input.size - lag], fresh.output[lag:]))
    for path in args.nam:
        rec, _ = model_recording(path, seconds=args.seconds, validation_s=args.validation_s,
                                 timing_repeats=1)
        full = read_nam(path).submodels[-1][1]
        x = test_signal(rec.sample_rate_hz, seconds=args.seconds, seed=FRESH_SEED)
        y = _play(full.model, x, full.prewarm_samples)
        offset = _play(full.model, np.zeros(4096), full.prewarm_samples)[-1]
        out.append((Path(path).name, rec, x, y - offset))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gears", nargs="*", default=["fuzz", "tube", "diode", "sag"])
    p.add_argument("--nam", nargs="*", default=[], help=".nam files rendered as gear")
    p.add_argument("--shapes", nargs="+", default=["gru-8"])
    p.add_argument("--pieces", nargs="+", type=float, default=[2.5, 0.5])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--validation-s", type=float, default=5.0)
    p.add_argument("--out", type=Path, default=RESULTS / "validation_pieces.json")
    args = p.parse_args()
    data: dict[str, Any] = {"rows": []}
    if args.out.exists():
        data = json.loads(args.out.read_text())
    data.setdefault("commands", []).append("python bench/bench_validation_pieces.py "
                                           + " ".join(sys.argv[1:]))
    done = {(r["gear"], r["shape"], r["piece_s"], r["seed"], r["seconds_audio"])
            for r in data["rows"]}
    for name, rec, fx, fy in recordings(args):
        for piece in args.pieces:
            spans = spread_spans(rec.input.size, rec.sample_rate_hz, args.validation_s,
                                 piece_s=piece)
            split = dataclasses.replace(rec, validation_spans=spans)
            for shape in args.shapes:
                for seed in args.seeds:
                    if (name, shape, piece, seed, args.seconds) in done:
                        continue
                    started = time.perf_counter()
                    [res] = train_recurrent(split, [shape], RecurrentTrainConfig(seed=seed))
                    fresh = signal_errors(fy, _play(res.spec, fx, PREWARM))
                    row = {"gear": name, "shape": shape, "piece_s": piece, "seed": seed,
                           "seconds_audio": args.seconds, "validation_s": args.validation_s,
                           "pieces": len(spans), "validation_esr": res.validation.esr,
                           "fresh_esr": fresh.esr, "epochs": res.epochs,
                           "seconds": round(time.perf_counter() - started, 1)}
                    print(row, flush=True)
                    data["rows"].append(row)
                    args.out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
