"""``vashrink info``: the engine's SIMD target, lane counts, CPU and versions."""

from __future__ import annotations

import argparse

from rich.table import Table

from .common import console, print_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "info",
        help="show the engine's SIMD target, lane counts, CPU and versions",
        description="Show what the C++ engine was compiled for (ISA, float32/float64 lanes "
        "used for width padding and the lane score), what the CPU supports, and versions.",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..runtime.info import system_info

    info = system_info()
    if args.json:
        print_json(info.to_dict())
        return 0
    table = Table(title="vashrink info", show_header=False)
    table.add_row("engine ISA", f"{info.isa} ({info.register_bits}-bit, FMA: {info.fma}, "
                  f"{info.kernels} kernels)")
    table.add_row("float32 lanes", str(info.float32_lanes))
    table.add_row("float64 lanes", str(info.float64_lanes))
    table.add_row("built with", f"-march={info.march or 'default'}, optimized: {info.optimized}")
    table.add_row("compiler", info.compiler)
    table.add_row("CPU", info.cpu_model or info.machine)
    table.add_row("CPU features", " ".join(info.cpu_features) or "-")
    for name, version in info.versions.items():
        table.add_row(name, version)
    console().print(table)
    return 0
