"""``vashrink profile --out pi.json``: a cost table of this CPU for ``shrink --cost-profile``."""

from __future__ import annotations

import argparse
import sys

from .common import positive_int, print_json

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "profile",
        help="time a grid of model shapes on this CPU and write a cost table for --cost-profile",
        description=(
            "Run this on the machine the models will run on (only the engine is needed, not "
            "torch). It times random-weight dense nets of every depth x width of the grid, for "
            "tanh, relu, sigmoid and elu in float32 and float64, one sample per call and in "
            "blocks (and GRU/LSTM nets when the engine has them), and writes a versioned JSON "
            "table with this CPU's description. `vashrink shrink ... --cost-profile FILE` on the "
            "training machine scores candidates by it, interpolated. Each figure is the median "
            "of --repeats passes over --buffer-samples samples."
        ),
    )
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the table (.json)")
    p.add_argument("--depths", type=positive_int, nargs="+", default=None,
                   help="depths to time (default 1 2 3 4 6 8)")
    p.add_argument("--widths", type=positive_int, nargs="+", default=None,
                   help="widths to time (default 1 2 3 4 6 8 12 16 24 32 48 64)")
    p.add_argument("--block-size", type=positive_int, default=64,
                   help="block size of block mode (default 64)")
    p.add_argument("--buffer-samples", type=positive_int, default=4800,
                   help="samples per timed pass (default 4800)")
    p.add_argument("--repeats", type=positive_int, default=5,
                   help="timed passes per shape (default 5)")
    p.add_argument("--json", action="store_true", help="print the table's summary as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..runtime import profile

    profile.check_output_path(args.out)  # before the minutes of timing, not after
    table = profile.measure_profile(
        depths=args.depths or profile.DEPTHS,
        widths=args.widths or profile.WIDTHS,
        block_size=args.block_size,
        buffer_samples=args.buffer_samples,
        repeats=args.repeats,
        log=None if args.json else (lambda text: print(text, file=sys.stderr)),
    )
    path = profile.write_profile(table, args.out)
    summary = {
        "path": str(path),
        "cpu": table.machine.get("cpu_model"),
        "isa": table.machine.get("isa"),
        "float32_lanes": table.machine.get("float32_lanes"),
        "rows": len(table.rows),
        "seconds": table.seconds,
    }
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {path}: {len(table.rows)} shapes timed on {summary['cpu']} "
              f"({summary['isa']}, {summary['float32_lanes']} float32 lanes) "
              f"in {table.seconds:.0f} s")
    return 0
