"""GRU/LSTM training on the simulated diode-clipper pedal: epoch time, packed vs one by one,
the validation ESR a time budget reaches, and the peak memory of three minutes of 48 kHz audio.

Target: :func:`vashrink.target.pedal.pedal_recording` (the capture test signal through a
simulated diode clipper with RC and tone low-passes), 48 kHz.

- ``epochs``: seconds per epoch (training rows + the validation check) of GRU and LSTM at
  hidden 4, 8, 16, 32, trained one after the other (``packing="none"``) and packed into one
  block-diagonal layer (``packing="all"``), interleaved, median over ``--repeats``.
- ``threads``: GRU-32 and LSTM-32 epochs with one and two torch threads, interleaved.
- ``quality``: the validation ESR (streamed, float64) each candidate reaches with the default
  recipe and a ``--seconds`` budget per candidate.
- ``memory``: peak RSS (``ru_maxrss``) of a subprocess that loads 180 s of 48 kHz audio (170 s
  training, 10 s validation) and trains one epoch of ``--memory-archs`` (the GRU pack and
  LSTM-32 by default).

Published numbers (bench/results/rnn_train.json, docs/training.md)::

    python bench/bench_rnn_train.py --out bench/results/rnn_train.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from vashrink.model.architecture import RecurrentArchitecture
from vashrink.target.pedal import pedal_recording
from vashrink.train import RecurrentTrainConfig, train_recurrent

HIDDEN = (4, 8, 16, 32)


def _archs(cell: str) -> list[RecurrentArchitecture]:
    return [RecurrentArchitecture(cell, h) for h in HIDDEN]


def epochs(seconds: float, repeats: int) -> dict[str, Any]:
    """Epoch wall time, sequential vs packed, per cell; both from the same recording."""
    rec = pedal_recording(seconds, 48_000, validation_s=5.0)
    base = RecurrentTrainConfig(max_epochs=1, max_seconds=None, patience=None)
    out: dict[str, Any] = {"recording_s": seconds, "validation_s": 5.0, "config": base.to_dict()}
    for cell in ("gru", "lstm"):
        times: dict[str, list[float]] = {"sequential": [], "packed": []}
        per_size: dict[str, list[float]] = {a.label: [] for a in _archs(cell)}
        for _ in range(repeats):
            for mode, packing in (("sequential", "none"), ("packed", "all")):
                res = train_recurrent(rec, _archs(cell), replace(base, packing=packing))
                times[mode].append(sum(r.epoch_seconds[0] for r in res))
                if mode == "sequential":
                    for r in res:
                        per_size[r.architecture.label].append(r.epoch_seconds[0])
        seq, packed = statistics.median(times["sequential"]), statistics.median(times["packed"])
        out[cell] = {
            "sequential_s_per_epoch": seq, "packed_s_per_epoch": packed,
            "speedup_packed": seq / packed,
            "alone_s_per_epoch": {k: statistics.median(v) for k, v in per_size.items()},
            "runs": times,
        }
        print(f"{cell}: sequential {seq:.2f} s/epoch, packed {packed:.2f} s/epoch "
              f"({seq / packed:.2f}x)", flush=True)
    return out


def threads(seconds: float, repeats: int) -> dict[str, Any]:
    """Epoch wall time of the largest sizes with one and two torch threads, interleaved."""
    rec = pedal_recording(seconds, 48_000, validation_s=5.0)
    base = RecurrentTrainConfig(max_epochs=1, max_seconds=None, patience=None)
    out: dict[str, Any] = {}
    for label in ("gru-32", "lstm-32"):
        runs: dict[str, list[float]] = {"1": [], "2": []}
        for _ in range(repeats):
            for n in (1, 2):
                (res,) = train_recurrent(rec, [label], replace(base, threads=n))
                runs[str(n)].append(res.epoch_seconds[0])
        out[label] = {k: statistics.median(v) for k, v in runs.items()}
        print(f"{label}: threads {out[label]}", flush=True)
    return out


def quality(seconds: float, budget_s: float) -> dict[str, Any]:
    """Validation ESR of every size under the default recipe and ``budget_s`` per candidate."""
    rec = pedal_recording(seconds, 48_000, validation_s=5.0)
    config = RecurrentTrainConfig(max_seconds=budget_s)
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    for res in train_recurrent(rec, _archs("gru") + _archs("lstm"), config):
        row = res.to_dict()
        row.pop("epoch_seconds")
        rows.append(row)
        print(f"{res.architecture}: val ESR {res.validation.esr:.4g} after {res.epochs} epochs "
              f"({res.seconds:.0f} s, {res.stop_reason})", flush=True)
    return {"recording_s": seconds, "validation_s": 5.0, "budget_s_per_candidate": budget_s,
            "config": config.to_dict(), "wall_s": time.perf_counter() - start,
            "candidates": rows}


_MAKE_DATA = """
import sys
import numpy as np
from vashrink.target.pedal import pedal_recording
rec = pedal_recording(180.0, 48_000, validation_s=10.0)
np.save(sys.argv[1], np.stack([rec.input, rec.output]))
"""

_MEMORY_PROBE = """
import json, resource, sys, time
import numpy as np
from vashrink.target.recording import recording_from_arrays
from vashrink.train import RecurrentTrainConfig, train_recurrent
x, y = np.load(sys.argv[1])
rec = recording_from_arrays(x, y, 48_000, validation_s=10.0, latency=0)
after_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
res = train_recurrent(rec, sys.argv[2:], RecurrentTrainConfig(max_epochs=1, max_seconds=None))
print(json.dumps({"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rss_after_data_kib": after_data, "train_wall_s": time.perf_counter() - t,
                  "archs": sys.argv[2:],
                  "s_per_epoch": {r.architecture.label: r.epoch_seconds[0] for r in res}}))
"""


def memory(archs: list[str]) -> dict[str, Any]:
    """Peak RSS of one epoch on three minutes of 48 kHz audio, in a fresh process that only
    loads the samples (the pedal simulation, which needs more, runs in another process)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "pedal180.npy")
        subprocess.run([sys.executable, "-c", _MAKE_DATA, data], check=True)
        proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, data, *archs],
                              capture_output=True, text=True, check=True)
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_rss_gib"] = out["peak_rss_kib"] / 2**20
    print(f"memory: peak RSS {out['peak_rss_gib']:.2f} GiB", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/rnn_train.json")
    parser.add_argument("--parts", nargs="+", default=["memory", "epochs", "quality"],
                        choices=["memory", "epochs", "threads", "quality"])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of the recording for epochs/quality (s)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=45.0,
                        help="training seconds per candidate in the quality part")
    parser.add_argument("--memory-archs", nargs="+",
                        default=["gru-4", "gru-8", "gru-16", "gru-32", "lstm-32"])
    args = parser.parse_args()
    out = Path(args.out)
    results: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()}
    for part in args.parts:
        if part == "memory":
            results["memory"] = memory(args.memory_archs)
        elif part == "epochs":
            results["epochs"] = epochs(args.seconds, args.repeats)
        elif part == "threads":
            results["threads_s_per_epoch"] = threads(args.seconds, args.repeats)
        else:
            results["quality"] = quality(args.seconds, args.budget)
        results["command"] = " ".join(["python", *sys.argv])
        out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
