"""``vashrink signal --out capture_in.wav``: the test signal to play through gear you capture."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .common import console, finite_float, positive_int, print_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "signal",
        help="write the test signal to play through gear you want to capture",
        description="Write the capture test signal (an exponential sine sweep, white-noise "
        "bursts at -30, -18, -9 and 0 dB, and plucked notes, separated by 0.25 s of silence; "
        "peak -1 dBFS) as a mono 24-bit WAV. Play it through the gear, record the output at "
        "the same rate, then: vashrink shrink --input IN.wav --output OUT.wav --esr 0.01.",
    )
    p.add_argument("--out", required=True, metavar="FILE.wav", help="where to write it")
    p.add_argument("--seconds", type=finite_float, default=30.0,
                   help="length in seconds, at least 5 (default 30)")
    p.add_argument("--rate", type=positive_int, default=48_000, metavar="HZ",
                   help="sample rate in Hz, 8000..192000 (default 48000: record at the same)")
    p.add_argument("--seed", type=int, default=0, help="noise and pluck seed (default 0)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..target.capture_signal import write_test_signal

    out = Path(args.out)
    if out.suffix.lower() != ".wav":
        msg = f"--out {out} must end in .wav: the test signal is written as a WAV file"
        raise InputError(msg)
    path = write_test_signal(out, args.rate, seconds=args.seconds, seed=args.seed)
    info = {"path": str(path), "seconds": args.seconds, "sample_rate_hz": args.rate,
            "subtype": "PCM_24", "peak_dbfs": -1.0, "seed": args.seed}
    if args.json:
        print_json(info)
        return 0
    console().print(
        f"wrote {path}: {args.seconds:g} s at {args.rate} Hz, mono 24-bit, peak -1 dBFS. "
        "Play it through the gear, record its output at the same rate and length, then run "
        f"vashrink shrink --input {path} --output OUT.wav --esr 0.01",
        highlight=False,
    )
    return 0
