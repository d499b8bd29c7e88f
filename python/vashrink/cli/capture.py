"""``vashrink shrink --input in.wav --output out.wav --esr 0.01``: GRU/LSTM/WaveNet models of
gear.

The recording options live here and are added to ``shrink``; ``shrink`` hands over to
:func:`run_capture` when ``--input`` or ``--example pedal`` is given.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..model.architecture import SEARCH_RNN_LAYERS
from ..model.wavenet_shape import DEFAULT_CELLS, SEARCH_CELLS, WAVENET_DEPTH
from ..train.rnn_config import RecurrentTrainConfig as _Recipe
from .common import console, finite_float, positive_int, print_json

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["add_capture_arguments", "print_capture_summary", "run_capture", "wants_capture"]

PEDAL_OUT = "vashrink-pedal"


def _cells(text: str) -> tuple[str, ...]:
    cells = tuple(c.strip().lower() for c in text.split(",") if c.strip())
    bad = [c for c in cells if c not in SEARCH_CELLS]
    if bad or not cells:
        msg = f"--cells takes a comma list of {', '.join(SEARCH_CELLS)}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return cells


def _layers(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or any(p not in {str(n) for n in SEARCH_RNN_LAYERS} for p in parts):
        choices = ",".join(map(str, SEARCH_RNN_LAYERS))
        msg = f"a comma list of {choices} (stacked GRU/LSTM layers) is needed, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return tuple(sorted({int(p) for p in parts}))


def _latency(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"--latency takes auto or a whole number of samples >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_capture_arguments(p: argparse.ArgumentParser) -> None:
    """Options of a search over GRU/LSTM models of a recorded input/output pair."""
    g = p.add_argument_group(
        "models of gear with memory (GRU/LSTM from a recording)",
        "give --input and --output (or --example pedal) instead of EXPR",
    )
    g.add_argument(
        "--input", metavar="IN.wav", help="what was sent into the gear (mono, or --channel)"
    )
    g.add_argument(
        "--output", metavar="OUT.wav", help="what came out of the gear, same rate and length"
    )
    g.add_argument(
        "--model", metavar="GEAR", default=None,
        help="an existing model as the gear (.nam, vashrink, RTNeural/AIDA-X, ...): the test "
        "signal (or --input) is rendered through it; the summary says what the chosen one saves",
    )
    g.add_argument(
        "--esr",
        type=finite_float,
        metavar="E",
        help="validation ESR (error-to-signal ratio, pre-emphasis 1 - 0.85 z^-1) to meet, "
        "e.g. 0.01",
    )
    g.add_argument(
        "--channel",
        type=int,
        default=None,
        metavar="N",
        help="channel of multichannel files (0 = left)",
    )
    g.add_argument(
        "--validation-s",
        type=finite_float,
        default=None,
        metavar="S",
        help="validate on the last S seconds (default 10; the pedal example 5)",
    )
    g.add_argument(
        "--cells",
        type=_cells,
        default=None,
        metavar="gru,lstm",
        help="model families to try: gru, lstm, wavenet (dilated convolutions, exported as "
        ".nam; trains 5-10x longer than a GRU) (default gru,lstm; the pedal example lstm)",
    )
    g.add_argument(
        "--layers",
        type=_layers,
        default=SEARCH_RNN_LAYERS,
        metavar="1,2",
        help="stacked recurrent layers to try (default 1,2: one layer, and two as NAM's "
        "2x8 'lite'); a deeper shape is trained only where it costs less than the best so far",
    )
    g.add_argument(
        "--wavenet-depth",
        type=positive_int,
        default=WAVENET_DEPTH,
        metavar="D",
        help="with --cells ...,wavenet: at least D dilated layers (dilations 1..2^(D-1), "
        "receptive field 2^(D+1) - 1 samples; default 4, more when the memory bound measures "
        "a longer memory). The bound sees at most 2 ms and nothing behind a hard clip: give "
        "9-11 for a fuzz or an amp with a cabinet (docs/capture.md)",
    )
    g.add_argument(
        "--hidden-max",
        type=positive_int,
        default=40,
        help="largest hidden size to try (default 40)",
    )
    g.add_argument(
        "--skip",
        action="store_true",
        help="input skip: the model adds its input to its output (AIDA-X in_skip)",
    )
    g.add_argument(
        "--latency",
        type=_latency,
        default="auto",
        metavar="N|auto",
        help="samples of latency to remove from the output: auto (default) estimates the onset "
        "of the gear's response, never later than it (a model can learn extra delay, never an "
        "advance); 0 keeps the files as they are; N removes N samples",
    )
    g.add_argument(
        "--updates",
        type=positive_int,
        default=None,
        metavar="N",
        help="training budget per candidate in Adam updates, the same for every shape (default: "
        f"{_Recipe.base_updates} for a 16-unit candidate, up to {_Recipe.max_update_scale:g}x as "
        "many for smaller shapes, by their modelled work per update); work, not time, so the "
        "same seed gives the same model on a busy and an idle machine",
    )
    g.add_argument(
        "--max-seconds",
        type=finite_float,
        default=None,
        metavar="S",
        help="optional wall-clock safety limit per candidate (default: none; a limit makes the "
        "result depend on machine load)",
    )


def wants_capture(args: argparse.Namespace) -> bool:
    """Whether ``shrink`` was asked for models of a recording (and not of a curve)."""
    capture = (args.input is not None or args.output is not None or args.example == "pedal"
               or getattr(args, "model", None) is not None)
    if capture and args.target is not None:
        msg = "give EXPR (a curve) or --input/--output (a recording), not both"
        raise InputError(msg)
    if capture:
        given = (("--eps", args.eps is not None), ("--range", args.range is not None),
                 ("--example curve", args.example == "curve"))
        curve_only = [name for name, used in given if used]
        if curve_only:
            msg = (f"{', '.join(curve_only)} are for curves; a recording search takes --esr "
                   "(and --hidden-max, --cells, --layers for its size)")
            raise InputError(msg)
        if args.example == "pedal" and args.channel is not None:
            msg = "--channel picks a channel of --input/--output files; the pedal example is mono"
            raise InputError(msg)
    if capture and (args.workers is not None or args.study or args.storage is not None):
        msg = (
            "--workers, --storage and --study are for curve searches; a recording search "
            "runs in one process and resumes from its --out directory"
        )
        raise InputError(msg)
    if not capture and args.esr is not None:
        msg = (
            "--esr is for recordings: give --input IN.wav --output OUT.wav "
            "(or use --eps for a curve)"
        )
        raise InputError(msg)
    return capture


def _recording(args: argparse.Namespace) -> tuple[Any, float, str]:
    if args.model is not None:  # an existing model as the gear: cli/gear.py
        from .gear import gear_recording_for

        rec, args.gear = gear_recording_for(args, "vashrink-gear")
        return rec, float(args.esr), "vashrink-gear"
    if args.example == "pedal":
        if args.input is not None or args.output is not None:
            msg = "give --example pedal or --input/--output, not both"
            raise InputError(msg)
        from ..target.examples import PEDAL_ESR, PEDAL_SECONDS, PEDAL_VALIDATION_S
        from ..target.pedal import pedal_recording

        validation = args.validation_s if args.validation_s is not None else PEDAL_VALIDATION_S
        rec = pedal_recording(seconds=PEDAL_SECONDS, validation_s=validation,
                              latency=args.latency)
        esr = args.esr if args.esr is not None else PEDAL_ESR
        return rec, float(esr), PEDAL_OUT
    missing = [
        n
        for n, v in (
            ("--input IN.wav", args.input),
            ("--output OUT.wav", args.output),
            ("--esr E", args.esr),
        )
        if v is None
    ]
    if missing:
        msg = (
            f"missing {', '.join(missing)}: e.g. vashrink shrink --input di.wav "
            "--output amp.wav --esr 0.01 (or --example pedal)"
        )
        raise InputError(msg)
    from ..target.recording import load_recording

    validation = args.validation_s if args.validation_s is not None else 10.0
    rec = load_recording(args.input, args.output, channel=args.channel, validation_s=validation,
                         latency=args.latency)
    return rec, float(args.esr), "vashrink-capture"


def _budget(args: argparse.Namespace, rate: float) -> float | None:
    if args.budget_ns is not None:
        return float(args.budget_ns) * rate / 1e7
    return None if args.budget_core_percent is None else float(args.budget_core_percent)


def print_capture_summary(result: Any, con: Console) -> None:
    """Pareto front, verdict, chosen model, notes and where the files are."""
    from rich.table import Table

    table = Table(title="Best trade-offs, validation ESR vs measured cost (* = chosen)")
    for col in ("model", "ESR", "plain ESR", "ns/sample", "% of a core", "parameters", "train s"):
        table.add_column(col, justify="right")
    by_label = {c.label: c for c in result.candidates}
    shown = list(result.pareto)
    if result.winner is not None and result.winner.label not in shown:
        shown.append(result.winner.label)  # a cost tie can choose a net just off the front
    for label in shown:
        c = by_label[label]
        mark = " *" if result.winner is not None and c.label == result.winner.label else ""
        table.add_row(
            c.label + mark,
            f"{c.esr:.3g}",
            f"{c.esr_plain:.3g}",
            f"{c.ns_per_sample:.3g}",
            f"{c.core_percent:.2g}",
            f"{c.n_params:,}",
            f"{c.train_seconds:.0f}",
        )
    con.print(table)
    style = "green" if result.met else "yellow"
    con.print(f"[{style}]{result.message}[/{style}]")
    for note in (*result.notes, *(f"recording: {c}" for c in result.checks)):
        con.print(f"- {note}", highlight=False)
    con.print(
        f"{len(result.candidates)} candidates, {result.seconds:.0f} s. Report: "
        f"{result.report or '-'}; exports: {', '.join(result.exports.values()) or '-'}",
        highlight=False,
    )


def run_capture(args: argparse.Namespace) -> int:
    rec, esr, default_out = _recording(args)
    cells = ("lstm",) if args.example == "pedal" else DEFAULT_CELLS
    from ..search.capture import shrink_capture
    from ..search.capture_plan import CaptureLimits
    from ..train import RecurrentTrainConfig
    from ..train.wavenet_config import WaveNetTrainConfig

    overrides: dict[str, Any] = {"seed": args.seed}
    if args.epochs is not None:
        overrides["max_epochs"] = args.epochs
    if args.max_seconds is not None:
        overrides["max_seconds"] = args.max_seconds
    if args.updates is not None:
        overrides["max_updates"] = args.updates
    if args.lr is not None:
        overrides["lr"] = args.lr
    err = console(stderr=True)
    result = shrink_capture(
        rec,
        esr,
        out_dir=args.out or default_out,
        limits=CaptureLimits(
            tuple(args.cells or cells),
            args.hidden_max,
            args.skip,
            args.trials if args.trials is not None else 24,
            args.layers,
            args.wavenet_depth,
        ),
        config=RecurrentTrainConfig(**overrides),
        wavenet_config=WaveNetTrainConfig(seed=args.seed, max_seconds=args.max_seconds),
        dtype="float32" if args.dtype == "auto" else args.dtype,
        budget_core_percent=_budget(args, float(rec.sample_rate_hz)),
        cost_profile=args.cost_profile,
        timing_repeats=args.repeats,
        block_size=getattr(args, "block_size", None) or 1,
        progress=not (args.no_progress or args.json),
        log=lambda text: err.print(text, highlight=False),
    )
    if args.json:
        print_json(result.to_dict())
    else:
        print_capture_summary(result, console())
    if getattr(args, "gear", None) is not None:
        from .gear import print_saving

        print_saving(args.gear, rec, result, args.out or default_out, console(stderr=args.json))
    return 0 if result.met else 1
