"""The ``.nam`` branches of ``check`` and ``time``: each command hands a Neural Amp Modeler
file here (one line in the command), so the commands stay as they are for other formats."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from .common import console, print_json

__all__ = ["is_nam", "run_check", "run_time"]


def is_nam(path: Any) -> bool:
    return str(path).lower().endswith(".nam")


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 valid, 3 unverified; a problem raises (one line, exit 2)."""
    from ..formats.nam_check import check_nam

    if not args.model.is_file():
        msg = f"model file {args.model} does not exist; give the path of a .nam file"
        raise InputError(msg)
    if args.snapshot is not None:
        msg = "--snapshot is for RTNeural files; a .nam file is checked on its own"
        raise InputError(msg)
    report = check_nam(args.model)
    if args.json:
        print_json(report.to_dict())
    else:
        for line in report.lines():
            print(line)
    return 3 if report.status == "unverified" else 0


def run_time(args: argparse.Namespace, print_table: Callable[..., None]) -> int:
    """``vashrink time model.nam``: the model NAM Core would run (a container's full-size
    submodel) in the engine, timed like every other model; ``print_table`` is ``time``'s."""
    from pathlib import Path

    from ..formats.nam import read_nam
    from ..runtime.families import runner_of
    from ..runtime.timing import time_runner

    if args.compiled or args.backend != "vashrink":
        msg = "a .nam model is timed in vashrink's engine; drop --compiled / --backend"
        raise InputError(msg)
    if args.dtype not in (None, "float32"):
        msg = "a .nam model runs in float32 (NAM Core's precision); drop --dtype"
        raise InputError(msg)
    path = Path(args.model)
    if not path.is_file():
        msg = f"model file {path} does not exist; give the path of a .nam file"
        raise InputError(msg)
    nam = read_nam(path)
    args.dtype = "float32"
    modes = ("sample", "block") if args.mode == "both" else (args.mode,)
    status: Any = (contextlib.nullcontext() if args.json
                   else console(stderr=True).status(f"timing {args.model}"))
    with status:
        runner = runner_of(nam.model, "float32")
        timings = time_runner(runner, modes=modes, block_sizes=tuple(args.block_size),
                              repeats=args.repeats, warmup=args.warmup,
                              buffer_samples=args.buffer_samples,
                              sample_rate_hz=args.sample_rate, seed=args.seed)
    if args.json:
        print_json({"model": args.model, "dtype": "float32", "description": nam.describe(),
                    "timings": [t.to_dict() for t in timings]})
        return 0
    print_table(f"NAM {nam.architecture}: {nam.describe()}", timings, args)
    return 0
