"""``vashrink grid``: the talk's grid search (every depth x width of a range), batched."""

from __future__ import annotations

import argparse

from rich.console import Console

from ._common import positive_int, print_json
from .shrink import add_common_arguments, print_summary, resolve_target, train_config

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "grid",
        help="train every depth x width of a range (the talk's grid search), batched",
        description=(
            "Train every architecture of --depths x --widths (inclusive, with --depth-step and "
            "--width-step), then score, choose, export and report exactly as `vashrink shrink` "
            "does, so both can be compared on this machine. Resumable like shrink. "
            "Exit code: 0 target met, 1 not met, 2 error."
        ),
    )
    p.add_argument(
        "--example", action="store_true", help="the talk's example: tanh(2*x) on [-1, 1], eps 1e-7"
    )
    add_common_arguments(p, "vashrink-grid")
    p.add_argument(
        "--depths",
        nargs=2,
        type=positive_int,
        default=(1, 12),
        metavar=("MIN", "MAX"),
        help="depth range (default 1 12)",
    )
    p.add_argument(
        "--widths",
        nargs=2,
        type=positive_int,
        default=(4, 56),
        metavar=("MIN", "MAX"),
        help="width range (default 4 56)",
    )
    p.add_argument("--depth-step", type=positive_int, default=1, help="depth stride (default 1)")
    p.add_argument("--width-step", type=positive_int, default=1, help="width stride (default 1)")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=16,
        help="candidates trained together (default 16)",
    )
    p.add_argument(
        "--no-bounds",
        action="store_true",
        help="skip the complexity bounds (no band in the report)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..shrink import grid

    tgt, a, b, eps = resolve_target(args, args.example)
    console = Console(stderr=True)
    result = grid(
        tgt,
        a,
        b,
        eps,
        depths=tuple(args.depths),
        widths=tuple(args.widths),
        depth_step=args.depth_step,
        width_step=args.width_step,
        budget_ns=args.budget_ns,
        budget_core_percent=args.budget_core_percent,
        block_size=args.block_size,
        activation=args.activation,
        out_dir=args.out or "vashrink-grid",
        batch_size=args.batch_size,
        storage=args.storage,
        config=train_config(args),
        timing_repeats=args.repeats,
        bounds=not args.no_bounds,
        progress=not (args.no_progress or args.json),
        log=lambda text: console.print(text, highlight=False),
    )
    if args.json:
        print_json(result.to_dict())
    else:
        print_summary(result, Console())
    return 0 if result.met else 1
