"""``vashrink time MODEL``: a model's measured ns/sample on this CPU, per sample and per block."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ..errors import InputError
from ..model.architecture import ACTIVATIONS, CELLS, Architecture, RecurrentArchitecture
from ..model.file import ModelFile

if TYPE_CHECKING:
    from ..runtime.timing import Timing
from .common import console, finite_float, positive_int, print_json

__all__ = ["load_model", "register", "run"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "time",
        help="measure a model's ns/sample in the C++ engine (per sample and per block)",
        description=(
            "Time MODEL the way a plugin runs it: one forward per sample, and whole blocks as "
            "matrix products (GRU/LSTM models: the per-sample loop in blocks). MODEL is an "
            "architecture DEPTHxWIDTH or gru-16 / lstm-24+skip / lstm-2x8 (two stacked layers; "
            "random seeded weights), a model "
            "file (.vashrink.json), an RTNeural or AIDA-X .json, a CoreAudioML/GuitarML "
            "SimpleRNN .json, or a torch .pt file holding a saved model. Reports the "
            "median ns/sample over repeats, their spread, times real time at --sample-rate and "
            "the share of one core; flags repeats that disagree (a busy machine)."
        ),
    )
    p.add_argument("model", help="DEPTHxWIDTH (e.g. 6x44), gru-16, lstm-2x8, or a .json / .pt "
                   "model file")
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
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="precision to run in (default: the model file's, else float32)")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights (default 0)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def _random_recurrent(arch: RecurrentArchitecture, seed: int) -> ModelFile:
    """``gru-16``, ``lstm-2x8`` etc.: the cell stack, a ``Dense(hidden, 1)`` head, seeded
    weights of torch's default range."""
    from ..model.spec import random_spec

    return ModelFile(random_spec(arch, seed), provenance={"source_kind": "architecture",
                                                          "architecture": arch.label})


def load_model(text: str, activation: str = "tanh", seed: int = 0) -> Architecture | ModelFile:
    """An :class:`Architecture` for ``DEPTHxWIDTH``, random weights for ``gru-16`` (a
    :class:`RecurrentArchitecture`), else the model in that file."""
    from ..formats.load import load_model as load_file

    path = Path(text)
    if path.is_dir():
        msg = f"{path} is a directory; give a model file (e.g. DIR/model.vashrink.json) or 6x44"
        raise InputError(msg)
    if path.exists():
        return load_file(path)
    if path.suffix.lower() in (".json", ".pt", ".pth") or "/" in text:
        msg = f"model file {path} does not exist; give a file or an architecture such as 6x44"
        raise InputError(msg)
    if text.strip().lower().startswith(CELLS):
        return _random_recurrent(RecurrentArchitecture.parse(text), seed)
    return Architecture.parse(text, activation)


def _describe(model: Architecture | ModelFile) -> str:
    if isinstance(model, Architecture):
        return f"{model} (random weights), {model.macs_per_sample:,} MACs/sample"
    arch = model.architecture
    if arch is not None:
        return f"{arch}, {arch.macs_per_sample:,} MACs/sample"
    sizes = [model.spec.in_size, *(layer.out_size for layer in model.spec.dense)]
    spec = model.spec
    if spec.rnn:
        head = "-".join(map(str, sizes[1:]))
        skip = " + input skip" if spec.skip else ""
        stack = " -> ".join(f"{r.cell}-{r.hidden_size}" for r in spec.rnn)
        return (f"{stack} ({spec.in_size} in) -> dense {head}{skip}, "
                f"{spec.macs_per_sample:,} MACs/sample")
    return "-".join(map(str, sizes)) + " MLP"


def run(args: argparse.Namespace) -> int:
    from ..formats.runners import runner_for
    from ..runtime.timing import time_runner
    from .nam_support import is_nam, run_time

    if is_nam(args.model):  # Neural Amp Modeler files: any engine family (runtime/families.py)
        return run_time(args, _print_table)
    model = load_model(args.model, args.activation, args.seed)
    modes = ("sample", "block") if args.mode == "both" else (args.mode,)
    backend = "compiled" if args.compiled else args.backend
    if args.compiled and args.backend != "vashrink":
        msg = "--compiled times vashrink's generated header; drop --backend rtneural"
        raise InputError(msg)
    dtype = args.dtype or (model.dtype if isinstance(model, ModelFile) else "float32")
    args.dtype = dtype
    is_rtneural_file = (
        isinstance(model, ModelFile) and model.provenance.get("source_kind") == "rtneural json"
    )
    status: Any = (
        contextlib.nullcontext()
        if args.json
        else console(stderr=True).status(f"timing {args.model} on {backend}")
    )
    with status:
        runner = runner_for(
            model.spec if isinstance(model, ModelFile) else model,
            backend,
            source=Path(args.model) if backend == "rtneural" and is_rtneural_file else None,
            dtype=dtype,
            seed=args.seed,
        )
        timings = time_runner(
            runner,
            modes=modes,
            block_sizes=tuple(args.block_size),
            repeats=args.repeats,
            warmup=args.warmup,
            buffer_samples=args.buffer_samples,
            sample_rate_hz=args.sample_rate,
            seed=args.seed,
        )
    if args.json:
        print_json({"model": args.model, "dtype": dtype, "timings": [x.to_dict() for x in timings]})
        return 0
    _print_table(_describe(model), timings, args)
    return 0


def _print_table(title: str, timings: list[Timing], args: argparse.Namespace) -> None:
    from ..runtime.timing import NOISY_SPREAD

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
    out = console()
    out.print(table)
    out.print(
        f"ns/sample: median of {args.repeats} passes over {args.buffer_samples:,} samples; "
        f"spread = (max - min) / median; x RT (times real time) and % core at "
        f"{args.sample_rate:g} Hz."
    )
    if any(t.noisy for t in timings):
        out.print(
            f"[yellow]! noisy: repeats disagree by more than {100 * NOISY_SPREAD:.0f} % "
            "(a busy machine); rerun with more --repeats or on an idle machine.[/yellow]"
        )
