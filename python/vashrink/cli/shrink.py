"""``vashrink shrink``: bound, search, time, score, export and report in one command."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ..errors import InputError
from ..model.architecture import ACTIVATIONS
from ..model.file import DTYPE_CHOICES
from ..target.examples import EXAMPLE_EPS, EXAMPLE_RANGE, EXAMPLE_TARGET
from ..target.samples import as_target
from .capture import add_capture_arguments, run_capture, wants_capture
from .common import console, finite_float, positive_int, print_json
from .workers import add_worker_arguments, shrink_for

if TYPE_CHECKING:
    from ..train.config import TrainConfig

__all__ = [
    "add_common_arguments",
    "common_options",
    "print_summary",
    "register",
    "resolve_target",
    "show_interrupted",
    "show_result",
    "train_config",
]

#: ``--example`` writes here.
EXAMPLE_OUT = "vashrink-example"
#: What ``--example`` may name: the talk's curve (the default) or the simulated pedal.
EXAMPLES = ("curve", "pedal")


def add_common_arguments(p: argparse.ArgumentParser, default_out: str) -> None:
    """Arguments shared by ``shrink`` and ``grid``: target, range, eps, budget, timing, output."""
    p.add_argument(
        "target",
        nargs="?",
        metavar="EXPR",
        help="target: an expression in x (e.g. 'tanh(2*x)'), or a .npy/.csv file of x, y samples",
    )
    p.add_argument(
        "--range", nargs=2, type=finite_float, metavar=("A", "B"), help="input range [A, B]"
    )
    p.add_argument(
        "--eps", type=finite_float,
        help="allowed max abs error on the range (certified between the check grid's points)",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--budget-ns",
        type=finite_float,
        metavar="N",
        help="CPU budget in ns/sample (per-sample mode): pick the most accurate model within it",
    )
    budget.add_argument(
        "--budget-core-percent",
        type=finite_float,
        metavar="P",
        help="CPU budget as %% of one core at 48 kHz: pick the most accurate model within it",
    )
    p.add_argument(
        "--block-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="curves: block size timed in block mode beside per-sample (default 64); "
        "recordings: time every candidate at blocks of N samples per call, as a plugin's "
        "callback runs it, and rank by that (default 1, one sample per call; WaveNets gain "
        "from blocks, GRU/LSTM barely)",
    )
    p.add_argument(
        "--activation", choices=(*ACTIVATIONS, "auto"), default="tanh",
        help="hidden activation (default tanh); shrink: auto tries tanh, relu, sigmoid and elu",
    )
    p.add_argument(
        "--out", default=None, metavar="DIR", help=f"output directory (default {default_out})"
    )
    p.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="Optuna storage URL for the study (default sqlite:///DIR/study.db)",
    )
    p.add_argument(
        "--epochs", type=positive_int, default=None, help="training epochs per candidate"
    )
    p.add_argument(
        "--samples", type=positive_int, default=None, help="training samples (default 1000)"
    )
    p.add_argument("--lr", type=finite_float, default=None, help="peak Adam learning rate")
    p.add_argument(
        "--polish-steps",
        type=int,
        default=None,
        help="float64 L-BFGS steps per candidate after Adam (0: none)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed of training and search (default 0)"
    )
    p.add_argument(
        "--repeats", type=positive_int, default=5, help="timing repeats per candidate (default 5)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="train even when --eps is below the noise floor of sampled data (refused "
        "otherwise: no model could be checked to meet it)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "shrink",
        help="find the cheapest model meeting an error target, measured on this CPU "
        "(an MLP for a curve, a GRU/LSTM for a recording)",
        description=(
            "Bound the target's complexity, then find the smallest net meeting --eps: for each "
            "depth (1, 2, ...) widths are grown until a candidate meets eps and then bisected, "
            "and nothing costlier than a net already meeting eps is trained. Candidates are "
            "trained by Levenberg-Marquardt (several starts, minimax refinement), checked in the "
            "C++ engine in the precision they will run in (float32, or float64 with --dtype "
            "auto/float64 when float32 cannot meet eps), timed per sample and per block. The "
            "cheapest meeting --eps (or the most accurate within a budget) is exported (vashrink "
            "model file, RTNeural JSON + snapshot, ONNX, C++ header) with DIR/report.html. "
            "Re-running the same command resumes. With --input IN.wav --output OUT.wav --esr E "
            "(or --example pedal) it searches GRU/LSTM models of the recorded gear instead: "
            "hidden sizes from the data's memory bound upward, smallest measured cost first, "
            "scored by validation ESR (error-to-signal ratio) in the engine. Exit code: 0 "
            "target met, 1 not met (the closest is exported and the summary says what would "
            "help), 2 error, 130 interrupted (the finished candidates are summarised)."
        ),
    )
    p.add_argument(
        "--example",
        nargs="?",
        const="curve",
        default=None,
        metavar="{curve,pedal}",
        help="a built-in example: curve (the default) is the talk's tanh(2*x) on [-1, 1], eps "
        "1e-7; pedal is a diode-clipper pedal simulated in code, searched as GRU/LSTM models",
    )
    add_common_arguments(p, "vashrink-out")
    p.add_argument(
        "--dtype", choices=DTYPE_CHOICES, default="auto",
        help="precision the model runs in: auto uses float64 (RTNeural's Model<double>, half "
        "the SIMD lanes) only when float32 cannot meet eps (default auto)",
    )
    p.add_argument(
        "--trials", type=positive_int, default=None,
        help="most candidates to train, earlier runs included (default 200; recordings 24)",
    )
    p.add_argument("--depth-max", type=positive_int, default=6,
                   help="deepest net to try (default 6)")
    p.add_argument("--width-max", type=positive_int, default=32,
                   help="widest layer to try (default 32)")
    add_capture_arguments(p)
    add_worker_arguments(p)
    p.set_defaults(handler=run)


def train_config(args: argparse.Namespace, **defaults: Any) -> TrainConfig:
    """A TrainConfig from ``--epochs/--samples/--lr/--polish-steps/--seed`` over ``defaults``."""
    from ..train.config import TrainConfig

    values = dict(defaults)
    for name in ("epochs", "samples", "lr", "polish_steps", "seed"):
        value = getattr(args, name)
        if value is not None:
            values[name] = value
    return TrainConfig(**values)


def resolve_target(args: argparse.Namespace, example: bool) -> tuple[Any, float, float, float]:
    """Target, range and eps from the arguments (or the talk's example)."""
    if example:
        if args.target is not None:
            msg = "give EXPR or --example, not both"
            raise InputError(msg)
        a, b = args.range if args.range else EXAMPLE_RANGE
        eps = args.eps if args.eps is not None else EXAMPLE_EPS
        return EXAMPLE_TARGET, float(a), float(b), float(eps)
    target = as_target(args.target) if args.target is not None else None
    rng = args.range
    if rng is None and target is not None and target.is_sampled:
        rng = target.span
    missing = [
        n for n, v in (("EXPR", args.target), ("--range A B", rng), ("--eps E", args.eps))
        if v is None
    ]
    if missing:
        msg = (
            f"missing {', '.join(missing)}: e.g. vashrink {args.command} 'tanh(2*x)' "
            "--range -1 1 --eps 1e-5 (or --example)"
        )
        raise InputError(msg)
    assert rng is not None
    return target, float(rng[0]), float(rng[1]), float(args.eps)


def print_summary(result: Any, console: Console) -> None:
    """A short terminal summary: winner, message, Pareto front, notes, where the files are."""
    table = Table(title=f"Best trade-offs, error vs measured cost ({result.kind}; "
                        "* = chosen)")
    for col in (
        "net (depth x width)",
        "max abs error (certified)",
        "MSE",
        "ns/sample",
        f"ns/sample in blocks of {result.block_size}",
        "SIMD lane score",
        "in bound's band",
    ):
        table.add_column(col, justify="right")
    by_label = {c.label: c for c in result.candidates}
    for label in result.pareto:
        c = by_label[label]
        mark = " *" if result.winner is not None and c.label == result.winner.label else ""
        table.add_row(
            c.label + mark,
            f"{c.max_abs_error:.2g}",
            f"{c.mse:.2g}",
            f"{c.ns_per_sample:.3g}",
            f"{c.ns_per_sample_block:.3g}",
            str(c.lane_score),
            "yes" if c.in_band else "",
        )
    console.print(table)
    style = "green" if result.met else "yellow"
    console.print(f"[{style}]{result.message}[/{style}]")
    w = result.winner
    if w is not None:
        what = "chosen" if result.met else "closest (does not meet the target)"
        console.print(
            f"{what}: {w.label}, {w.n_params:,} parameters, "
            f"{w.ns_per_sample:.3g} ns per sample called one sample at a time "
            f"({w.core_percent:.2g} % of one core at 48 kHz), "
            f"{w.ns_per_sample_block:.3g} ns per sample in blocks of {w.block_size}"
        )
    for note in result.notes:
        console.print(f"- {note}", highlight=False)
    console.print(
        f"{len(result.candidates)} candidates, {result.candidate_epochs} epochs or LM iterations, "
        f"{result.seconds:.0f} s. Report: {result.report or '-'}; exports: "
        f"{', '.join(result.exports.values()) or '-'}",
        highlight=False,
    )


def common_options(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Keyword arguments of ``shrink`` and ``grid`` from the shared options."""
    return {
        "budget_ns": args.budget_ns,
        "budget_core_percent": args.budget_core_percent,
        "block_size": args.block_size or 64,
        "activation": args.activation,
        "storage": args.storage,
        "timing_repeats": args.repeats,
        "force": args.force,
        "progress": not (args.no_progress or args.json),
        "log": lambda text: console.print(text, highlight=False),
    }


def show_result(result: Any, args: argparse.Namespace) -> None:
    """The result as JSON on stdout (``--json``) or a terminal summary."""
    if args.json:
        print_json(result.to_dict())
    else:
        print_summary(result, console())


def show_interrupted(result: Any, args: argparse.Namespace) -> int:
    """After Ctrl-C: the summary of the finished candidates (their report and exports are
    written), then exit code 130."""
    show_result(result, args)
    console(stderr=True).print(f"interrupted: summarised {len(result.candidates)} finished "
                               "candidate(s); run the same command again to resume")
    return 130


def run(args: argparse.Namespace) -> int:
    if args.example not in (None, *EXAMPLES):
        if args.target is None:
            msg = f"give EXPR or --example, not both (--example takes {' or '.join(EXAMPLES)})"
        else:
            msg = f"--example takes {' or '.join(EXAMPLES)}, got {args.example!r}"
        raise InputError(msg)
    if wants_capture(args):
        return run_capture(args)
    tgt, a, b, eps = resolve_target(args, args.example == "curve")
    from ..search.result import SearchInterrupted
    from ..search.run import shrink

    try:
        result = shrink_for(args, shrink)(
            tgt,
            a,
            b,
            eps,
            out_dir=args.out or (EXAMPLE_OUT if args.example else "vashrink-out"),
            trials=args.trials if args.trials is not None else 200,
            dtype=args.dtype,
            depth_max=args.depth_max,
            width_max=args.width_max,
            config=train_config(args),
            seed=args.seed,
            **common_options(args, console(stderr=True)),
        )
    except SearchInterrupted as exc:
        return show_interrupted(exc.result, args)
    show_result(result, args)
    # Exit 1 when the target is not met, the examples included: their summary says why.
    return 0 if result.met else 1
