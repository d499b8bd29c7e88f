"""``vashrink grid``: the talk's grid search (every depth x width of a range), batched."""

from __future__ import annotations

import argparse

from .common import console, positive_int
from .shrink import (
    add_common_arguments,
    common_options,
    resolve_target,
    show_interrupted,
    show_result,
    train_config,
)

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "grid",
        help="train every depth x width of a range (the talk's grid search), batched",
        description=(
            "Train every architecture of --depths x --widths (inclusive, with --depth-step and "
            "--width-step), then score, choose, export and report exactly as `vashrink shrink` "
            "does, so both can be compared on this machine. Resumable like shrink. "
            "Exit code: 0 target met, 1 not met, 2 error; --example exits 0 either way."
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
    tgt, a, b, eps = resolve_target(args, args.example)
    from ..search.result import SearchInterrupted
    from ..search.run import grid

    try:
        result = grid(
            tgt,
            a,
            b,
            eps,
            depths=tuple(args.depths),
            widths=tuple(args.widths),
            depth_step=args.depth_step,
            width_step=args.width_step,
            out_dir=args.out or "vashrink-grid",
            batch_size=args.batch_size,
            config=train_config(args),
            bounds=not args.no_bounds,
            **common_options(args, console(stderr=True)),
        )
    except SearchInterrupted as exc:
        return show_interrupted(exc.result, args)
    show_result(result, args)
    return 0 if result.met or args.example else 1
