"""Native (C++) vs torch GRU/LSTM training: seconds per epoch on the same data, one thread.

Target: :func:`vashrink.target.pedal.pedal_recording`, 48 kHz, the default
:class:`~vashrink.train.RecurrentTrainConfig` (segments of 8,192, batch 32, 200-sample warm-up,
TBPTT every 1,000 samples) with one epoch per run. Each candidate (GRU and LSTM, hidden 4, 8,
16, 32, one and two layers) trains alone from the same start with
:func:`vashrink.train.rnn_loop.train_pack` (torch, ``torch.set_num_threads(1)``) and
:func:`vashrink.train.rnn_native.train_pack_native` (float32, and float64), interleaved; an
epoch is the training rows plus the validation check, as ``MemberOutcome.epoch_seconds``
counts it. Reported: the median over ``--repeats`` and the validation ESR after the epoch
(the two trainers should agree to float32 rounding).

Published numbers (bench/results/rnn_native.json, docs/training.md)::

    python bench/bench_rnn_native.py --out bench/results/rnn_native.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

from vashrink.model.architecture import RecurrentArchitecture
from vashrink.target.pedal import pedal_recording
from vashrink.train.rnn_config import RecurrentTrainConfig
from vashrink.train.rnn_data import prepare_recurrent_data
from vashrink.train.rnn_loop import train_pack
from vashrink.train.rnn_native import train_pack_native
from vashrink.train.rnn_pack import initial_spec

HIDDEN = (4, 8, 16, 32)
MODES = ("torch", "native", "native_f64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/rnn_native.json")
    parser.add_argument("--seconds", type=float, default=12.0, help="recording length (s)")
    parser.add_argument("--validation", type=float, default=2.0, help="validation part (s)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--archs", nargs="+", default=[
        f"{cell}-{layers}x{h}" if layers > 1 else f"{cell}-{h}"
        for cell in ("gru", "lstm") for layers in (1, 2) for h in HIDDEN])
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    config = RecurrentTrainConfig(max_epochs=1, max_seconds=None, patience=None)
    rec = pedal_recording(args.seconds, 48_000, validation_s=args.validation)
    data = prepare_recurrent_data(rec, config)
    rows: list[dict[str, Any]] = []
    for label in args.archs:
        arch = RecurrentArchitecture.parse(label)
        start = initial_spec(arch, config.seed)
        times: dict[str, list[float]] = {m: [] for m in MODES}
        val: dict[str, float] = {}
        for _ in range(args.repeats):
            for mode in MODES:
                if mode == "torch":
                    (m,) = train_pack([arch], [start], data, config)
                else:
                    dtype = "float64" if mode == "native_f64" else "float32"
                    (m,) = train_pack_native([arch], [start], data, config, dtype=dtype)
                times[mode].append(m.epoch_seconds[0])
                val[mode] = m.val_curve[-1]
        med = {m: statistics.median(t) for m, t in times.items()}
        row = {"architecture": label, "n_params": arch.n_params,
               "s_per_epoch": med, "runs": times, "val_esr_after_epoch": val,
               "speedup_native": med["torch"] / med["native"],
               "speedup_native_f64": med["torch"] / med["native_f64"]}
        rows.append(row)
        print(f"{label:>10}: torch {med['torch']:.3f} s, native {med['native']:.3f} s "
              f"({row['speedup_native']:.1f}x), native f64 {med['native_f64']:.3f} s "
              f"({row['speedup_native_f64']:.1f}x); val ESR torch {val['torch']:.4g} "
              f"native {val['native']:.4g}", flush=True)
    out = Path(args.out)
    out.write_text(json.dumps({
        "command": " ".join(["python", *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "torch": torch.__version__,
                    "load_average_1min_before_after": [load_before[0], os.getloadavg()[0]]},
        "recording_s": args.seconds, "validation_s": args.validation, "sample_rate_hz": 48_000,
        "config": config.to_dict(), "repeats": args.repeats, "rows": rows,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
