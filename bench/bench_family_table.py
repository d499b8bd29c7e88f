"""Issue 21, item 5: for each panel gear and ESR target, the cheapest model of each family (GRU,
LSTM, WaveNet) with the default recipes, per sample and at a plugin's block size, and which one
the search's choice rule picks.

GRU/LSTM ESRs are the panel's rows of the current default recipe (``--panel``, written by
``bench_capture_panel.py default``: same gear, audio, split and alignment). WaveNets
``wavenet-C-dD`` (D from the search's rule: the memory bound's memory covered, at least
``WAVENET_DEPTH``) are trained here with ``WaveNetTrainConfig()`` for every ``--channels``, no
target stop, and stored in ``--out`` as they finish (a re-run resumes). Every shape is timed in
the engine in one interleaved run per block size (``measure_costs``: fastest of ``--rounds``,
suspects re-timed), float32. The pick applies ``choose_capture`` (cheapest measured cost, 10 %
tie to fewer MACs) to these ESRs: what the search chooses when each candidate reaches its
default-recipe ESR (the search itself stops a candidate once it is below half the target and
trains only the rungs it needs).

    nice -n 5 python bench/bench_family_table.py --gears diode tube fuzz sag \\
        --esr 0.01 0.003 0.001 --blocks 1 64
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vashrink.bound.memory import memory_bound
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.wavenet_shape import WaveNetShape, depth_for_memory
from vashrink.search.capture import engine_errors
from vashrink.search.capture_costs import measure_costs
from vashrink.search.capture_plan import WAVENET_DEPTH
from vashrink.search.capture_score import CaptureScore, choose_capture
from vashrink.target.gear import gear_recording, to_recording
from vashrink.target.spans import ROW_LAYOUT, VALIDATION_PIECE_S
from vashrink.train import RecurrentTrainConfig
from vashrink.train.wavenet_config import WaveNetTrainConfig
from vashrink.train.wavenet_fit import train_wavenet

RESULTS = Path(__file__).parent / "results"
FAMILIES = ("gru", "lstm", "wavenet")


def _score(label: str, shape: Any, esr: float, ns: float) -> CaptureScore:
    cell = "wavenet" if label.startswith("wavenet") else shape.cell
    return CaptureScore(label=label, cell=cell, hidden=0, skip=False, dtype="float32", esr=esr,
                        esr_plain=esr, dc=0.0, mse=0.0, ns_per_sample=ns, sample_rate_hz=48_000,
                        n_params=shape.n_params, macs_per_sample=shape.macs_per_sample,
                        model_path="", train_seconds=0.0, epochs=0, epoch_seconds=0.0)


def _wavenets(args: argparse.Namespace, out: dict[str, Any], gear: str, rec: Any,
              shapes: list[WaveNetShape]) -> dict[str, float]:
    rows = out.setdefault("wavenet_rows", [])
    key = {"gear": gear, "validation_piece_s": VALIDATION_PIECE_S, "row_layout": ROW_LAYOUT,
           "seconds_audio": args.seconds, "validation_s": args.validation_s}
    esrs = {}
    for shape in shapes:
        found = [r for r in rows if r["shape"] == shape.label
                 and all(r.get(k) == v for k, v in key.items())]
        if not found:
            t0 = time.perf_counter()
            [res] = train_wavenet(rec, [shape], WaveNetTrainConfig())
            found = [key | {"shape": shape.label,
                            "esr": engine_errors(res.spec, rec, "float32").esr,
                            "updates": res.updates, "stop_reason": res.stop_reason,
                            "seconds": time.perf_counter() - t0}]
            rows.append(found[0])
            args.out.write_text(json.dumps(out, indent=1))
            print(gear, shape.label, f"ESR {found[0]['esr']:.4g}",
                  f"{found[0]['seconds']:.0f} s", flush=True)
        esrs[shape.label] = found[0]["esr"]
    return esrs


def _panel_esrs(args: argparse.Namespace, gear: str) -> dict[str, float]:
    rows = json.loads(args.panel.read_text())["rows"]
    want = {"gear": gear, "align": "true", "validation_piece_s": VALIDATION_PIECE_S,
            "row_layout": ROW_LAYOUT, "seconds_audio": args.seconds,
            "validation_s": args.validation_s, "config": RecurrentTrainConfig().to_dict()}
    return {r["shape"]: r["esr"] for r in rows if all(r.get(k) == v for k, v in want.items())
            and "x" not in r["shape"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gears", nargs="+", default=["diode", "tube", "fuzz", "sag"])
    ap.add_argument("--esr", type=float, nargs="+", default=[0.01, 0.003, 0.001])
    ap.add_argument("--channels", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--blocks", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--validation-s", type=float, default=5.0)
    ap.add_argument("--panel", type=Path,
                    default=RESULTS / "capture_panel_default_interleaved.json")
    ap.add_argument("--out", type=Path, default=RESULTS / "family_table.json")
    args = ap.parse_args()
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    out["meta"] = {"command": "python bench/bench_family_table.py " + " ".join(sys.argv[1:]),
                   "kind": "measurement", "wavenet_recipe": WaveNetTrainConfig().to_dict(),
                   "panel": str(args.panel.name)}
    table = out.setdefault("table", [])
    for gear in args.gears:
        rec = to_recording(gear_recording(gear, seconds=args.seconds),
                           validation_s=args.validation_s, compensate=True)
        memory = memory_bound(rec, esr_target=0.01).memory_samples
        depth = max(WAVENET_DEPTH, depth_for_memory(memory))
        rnn = _panel_esrs(args, gear)
        wave = [WaveNetShape(c, depth) for c in args.channels]
        esrs = rnn | _wavenets(args, out, gear, rec, wave)
        shapes = {a.label: a for a in [RecurrentArchitecture.parse(s) for s in rnn] + wave}
        for block in args.blocks:
            with tempfile.TemporaryDirectory() as tmp:
                costs = measure_costs(Path(tmp), list(shapes.values()), "float32", args.rounds,
                                      print, block_size=block)
            scores = [_score(k, shapes[k], esrs[k], costs[k]) for k in shapes]
            for target in args.esr:
                row: dict[str, Any] = {"gear": gear, "block": block, "esr_target": target,
                                       "depth": depth, "memory": memory,
                                       "shapes": {s.label: [s.esr, s.ns_per_sample]
                                                  for s in scores}}
                for fam in FAMILIES:
                    pick = choose_capture([s for s in scores if s.cell == fam], target)
                    row[fam] = (None if not pick.met or pick.winner is None else
                                [pick.winner.label, pick.winner.esr, pick.winner.ns_per_sample])
                pick = choose_capture(scores, target)
                row["pick"] = pick.winner.label if pick.met and pick.winner else None
                table[:] = [r for r in table if (r["gear"], r["block"], r["esr_target"])
                            != (gear, block, target)] + [row]
                print(gear, f"block {block}", f"ESR {target}", {f: row[f] for f in FAMILIES},
                      "pick", row["pick"], flush=True)
            args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
