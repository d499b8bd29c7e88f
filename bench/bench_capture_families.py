"""The WaveNet family beside GRU/LSTM on the capture panel (issue 21, item 4): for each gear,
the cheapest WaveNet meeting ``--esr`` with the default recipe, its measured engine cost beside
the GRU/LSTM shapes of the panel's default table, and the cheapest meeting of each family.

WaveNets (``wavenet-C-dD``, D from the search's rule: the memory bound's memory covered, at
least ``WAVENET_DEPTH``) are trained with ``WaveNetTrainConfig()`` channel rung by channel rung
(``--channels``, ascending) until one meets ``--esr``; GRU/LSTM ESRs are read from
``bench/results/capture_panel_default.json`` (their default recipe, same gear, audio and
alignment); every shape's ns/sample is timed here in one interleaved run (the search's own
``measure_costs``). ESR: validation, pre-emphasised, the engine's (float32) streamed spans.

    nice -n 5 python bench/bench_capture_families.py --gears diode fuzz --esr 0.01

``--search`` also runs ``shrink_capture`` with ``--cells gru,lstm,wavenet --layers 1
--hidden-max 16`` on each gear (default recipes) and keeps its choice and what it trained.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from vashrink.bound.memory import memory_bound
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.wavenet_shape import WaveNetShape, depth_for_memory
from vashrink.search.capture import engine_errors, shrink_capture
from vashrink.search.capture_costs import measure_costs
from vashrink.search.capture_plan import WAVENET_DEPTH, CaptureLimits
from vashrink.target.gear import gear_recording, to_recording
from vashrink.train.wavenet_config import WaveNetTrainConfig
from vashrink.train.wavenet_fit import train_wavenet

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gears", nargs="+", default=["diode", "fuzz"])
    ap.add_argument("--esr", type=float, default=0.01)
    ap.add_argument("--channels", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--validation-s", type=float, default=5.0)
    ap.add_argument("--search", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true", help="only --search")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="WaveNetTrainConfig fields")
    ap.add_argument("--panel", type=Path, default=RESULTS / "capture_panel_default.json")
    ap.add_argument("--out", type=Path, default=RESULTS / "capture_families.json")
    args = ap.parse_args()
    fields = WaveNetTrainConfig.__dataclass_fields__
    overrides = {k: type(getattr(WaveNetTrainConfig(), k))(v)
                 for k, v in (a.split("=", 1) for a in args.set) if k in fields}
    config = WaveNetTrainConfig(**overrides)
    panel = json.loads(args.panel.read_text())["rows"]
    out: dict = {"meta": {"command": "python " + " ".join(sys.argv), "kind": "measurement",
                          "recipe": config.to_dict(), "esr": args.esr}, "gears": {}}
    for gear in args.gears:
        rec = to_recording(gear_recording(gear, seconds=args.seconds),
                           validation_s=args.validation_s, compensate=True)
        if args.search:
            out["gears"].setdefault(gear, {})["search"] = _search(rec, args.esr)
            args.out.write_text(json.dumps(out, indent=1))
        if args.skip_sweep:
            continue
        bound = memory_bound(rec, esr_target=args.esr)
        depth = max(WAVENET_DEPTH, depth_for_memory(bound.memory_samples))
        rows = [r for r in panel if r["gear"] == gear and r["align"] == "true"]
        rnn = {r["shape"]: r["esr"] for r in rows}
        wavenets = [WaveNetShape(c, depth) for c in args.channels]
        shapes = [RecurrentArchitecture.parse(s) for s in sorted(rnn)] + wavenets
        with tempfile.TemporaryDirectory() as tmp:
            costs = measure_costs(Path(tmp), shapes, "float32", 7, print)
        trained = {}
        for shape in wavenets:
            t0 = time.perf_counter()
            [res] = train_wavenet(rec, [shape], config, target_esr=args.esr)
            esr = engine_errors(res.spec, rec, "float32").esr
            trained[shape.label] = {"esr": esr, "seconds": time.perf_counter() - t0,
                                    "updates": res.updates, "stop_reason": res.stop_reason,
                                    "ns_per_sample": costs[shape.label]}
            print(gear, shape.label, f"ESR {esr:.4g}", f"{costs[shape.label]:.1f} ns",
                  f"{trained[shape.label]['seconds']:.0f} s", res.stop_reason, flush=True)
            if esr <= args.esr:
                break
        table = {**{k: {"esr": v, "ns_per_sample": costs[k]} for k, v in rnn.items()}, **trained}
        best = {}
        for fam in ("gru", "lstm", "wavenet"):
            ok = [(v["ns_per_sample"], k) for k, v in table.items()
                  if k.startswith(fam) and v["esr"] <= args.esr]
            best[fam] = min(ok)[1] if ok else None
        out["gears"].setdefault(gear, {}).update({
            "memory_samples": bound.memory_samples, "depth": depth, "shapes": table,
            "cheapest_meeting": best})
        print(gear, best, flush=True)
        args.out.write_text(json.dumps(out, indent=1))


def _search(rec, esr: float) -> dict:  # type: ignore[no-untyped-def]
    limits = CaptureLimits(cells=("gru", "lstm", "wavenet"), layers=(1,), hidden_max=16)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res = shrink_capture(rec, esr, out_dir=Path(tmp) / "run", limits=limits, progress=False,
                             report=False, log=print)
    found = {"winner": None if res.winner is None else res.winner.label,
             "winner_esr": None if res.winner is None else res.winner.esr,
             "winner_ns": None if res.winner is None else res.winner.ns_per_sample,
             "trained": {c.label: [c.esr, c.ns_per_sample] for c in res.candidates},
             "wall_s": time.perf_counter() - t0}
    print(found, flush=True)
    return found


if __name__ == "__main__":
    main()
