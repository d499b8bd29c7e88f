"""``vashrink time MODEL``: a model's measured ns/sample on this CPU, per sample and per block."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..architecture import ACTIVATIONS, Architecture
from ..errors import InputError, ModelFormatError
from ..timing import NOISY_SPREAD, Timing, time_model
from ._common import finite_float, positive_int, print_json

__all__ = ["load_model", "register", "run"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "time",
        help="measure a model's ns/sample in the C++ engine (per sample and per block)",
        description=(
            "Time MODEL the way a plugin runs it: one forward per sample, and whole blocks as "
            "matrix products. MODEL is an architecture DEPTHxWIDTH (random seeded weights), an "
            "RTNeural .json file or a torch .pt file holding a saved nn.Sequential. Reports the "
            "median ns/sample over repeats, their spread, times real time at --sample-rate and "
            "the share of one core; flags repeats that disagree (a busy machine)."
        ),
    )
    p.add_argument("model", help="DEPTHxWIDTH (e.g. 6x44), or a .json (RTNeural) / .pt file")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS,
                   help="hidden activation for an architecture MODEL (default tanh)")
    p.add_argument("--block-size", type=positive_int, nargs="+", default=[64, 128, 512, 2048],
                   help="samples per call in block mode (default 64 128 512 2048)")
    p.add_argument("--mode", choices=("sample", "block", "both"), default="both",
                   help="per-sample loop, block mode, or both (default)")
    p.add_argument("--repeats", type=positive_int, default=7, help="timed passes (default 7)")
    p.add_argument("--warmup", type=positive_int, default=1,
                   help="untimed passes first (default 1)")
    p.add_argument("--buffer-samples", type=positive_int, default=48000,
                   help="samples per pass (default 48000)")
    p.add_argument("--sample-rate", type=finite_float, default=48000.0,
                   help="sample rate in Hz for x-real-time and %% core (default 48000)")
    p.add_argument("--backend", choices=("vashrink", "rtneural"), default="vashrink",
                   help="vashrink's engine (default) or RTNeural (build with RTNEURAL_DIR)")
    p.add_argument("--compiled", action="store_true",
                   help="time the generated C++ header (compile-time model) instead")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights (default 0)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def load_model(text: str, activation: str = "tanh") -> Any:
    """An :class:`Architecture` for ``DEPTHxWIDTH``, else a model read from a file."""
    path = Path(text)
    if not path.exists():
        if path.suffix.lower() in (".json", ".pt", ".pth"):
            msg = f"model file {path} does not exist"
            raise InputError(msg)
        return Architecture.parse(text, activation)
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            from ..export import from_rtneural
        except ImportError as exc:  # pragma: no cover - depends on the install
            msg = f"reading RTNeural JSON needs vashrink.export, which failed to import ({exc})"
            raise InputError(msg) from None
        return from_rtneural(path)
    if suffix in (".pt", ".pth"):
        import torch
        from torch import nn

        try:
            # A saved module is a pickle: only load files you trust (your own training runs).
            model = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            msg = f"cannot read {path} as a torch model ({type(exc).__name__}: {exc})"
            raise ModelFormatError(msg) from None
        if not isinstance(model, nn.Sequential):
            msg = (
                f"{path} holds a {type(model).__name__}; save the model itself "
                "(torch.save(model, path)) as an nn.Sequential of Linear + activation modules"
            )
            raise ModelFormatError(msg)
        return model
    msg = f"{path}: unknown model file type {suffix!r}; use .json (RTNeural) or .pt (torch)"
    raise InputError(msg)


def _describe(model: Any) -> str:
    if isinstance(model, Architecture):
        return f"{model} (random weights), {model.macs_per_sample:,} MACs/sample"
    from ..mlp import architecture_of

    arch = architecture_of(model)
    return f"{arch}, {arch.macs_per_sample:,} MACs/sample" if arch else type(model).__name__


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, args.activation)
    modes = ("sample", "block") if args.mode == "both" else (args.mode,)
    backend = "compiled" if args.compiled else args.backend
    if args.compiled and args.backend != "vashrink":
        msg = "--compiled times vashrink's generated header; drop --backend rtneural"
        raise InputError(msg)
    status: Any = (
        contextlib.nullcontext()
        if args.json
        else Console(stderr=True).status(f"timing {args.model} on {backend}")
    )
    with status:
        timings = time_model(
            model,
            modes=modes,
            block_sizes=tuple(args.block_size),
            repeats=args.repeats,
            warmup=args.warmup,
            buffer_samples=args.buffer_samples,
            sample_rate_hz=args.sample_rate,
            backend=backend,
            dtype=args.dtype,
            seed=args.seed,
        )
    if args.json:
        print_json({"model": args.model, "timings": [t.to_dict() for t in timings]})
        return 0
    _print_table(_describe(model), timings, args)
    return 0


def _print_table(title: str, timings: list[Timing], args: argparse.Namespace) -> None:
    table = Table(title=f"{title}, {args.dtype}")
    for col in ("backend", "mode", "block", "ns/sample", "min-max", "spread", "x RT", "% core"):
        left = col in ("backend", "mode")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    for t in timings:
        table.add_row(
            t.backend,
            t.mode,
            "-" if t.mode == "sample" else str(t.block_size),
            f"{t.ns_per_sample:,.1f}",
            f"{t.ns_per_sample_min:,.0f}-{t.ns_per_sample_max:,.0f}",
            f"{100 * t.spread:.0f}%" + ("!" if t.noisy else ""),
            f"{t.realtime_factor:,.1f}",
            f"{t.core_percent:.2f}",
        )
    console = Console()
    console.print(table)
    console.print(
        f"ns/sample: median of {args.repeats} passes over {args.buffer_samples:,} samples; "
        f"spread = (max - min) / median; x RT (times real time) and % core at "
        f"{args.sample_rate:g} Hz."
    )
    if any(t.noisy for t in timings):
        console.print(
            f"[yellow]! noisy: repeats disagree by more than {100 * NOISY_SPREAD:.0f} % "
            "(a busy machine); rerun with more --repeats or on an idle machine.[/yellow]"
        )
