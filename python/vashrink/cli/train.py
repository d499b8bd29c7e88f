"""``vashrink train``: train candidate MLPs together, save them and print a table."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from ..model.architecture import ACTIVATIONS, Architecture
from ..train.config import LOSSES, OPTIMIZERS, SCHEDULES, TrainConfig

if TYPE_CHECKING:
    from ..train.candidates import TrainedModel
from .common import console, finite_float, positive_int, print_json

__all__ = ["register", "run"]

_EPILOG = """\
columns:
  train / val loss   the loss (--loss: MSE or ESR) of the saved float32 model on the training
                     samples / on held-out validation points
  grid MSE           mean squared error against the float64 target on --grid evenly spaced
                     points of the range (what the talk's table calls loss)
  max abs err        the largest |model - target| on that grid (what an eps bounds)
  seconds            the candidate's share of its batch's wall time

--out DIR writes models/<DxW>-<activation>.vashrink.json as each candidate finishes (the model
file `vashrink time`, `export` and `check` read), and results.json at the end.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train",
        help="train candidate MLPs on a target, batched; save them and print a table",
        description="Train one-input MLPs of the given depth x width on a target, all together "
        "(each exactly as if trained alone), and report losses and errors.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--target", required=True,
                   help="an expression in x (e.g. 'tanh(2*x)') or a .npy/.csv file of x, y")
    p.add_argument("--range", nargs=2, type=finite_float, metavar=("A", "B"),
                   help="input range (required for expressions; default: the samples' extent)")
    p.add_argument("--arch", nargs="+", required=True, metavar="DxW",
                   help="candidates as DEPTHxWIDTH, e.g. 6x44 8x24 9x16")
    p.add_argument("--activation", choices=ACTIVATIONS, default="tanh", help="hidden activation")
    d = TrainConfig()
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer,
                   help=f"auto: Levenberg-Marquardt up to {d.lm_max_params} parameters, Adam "
                   "beyond (default auto)")
    p.add_argument("--starts", type=positive_int, default=d.starts,
                   help=f"LM initialisations per candidate (default {d.starts})")
    p.add_argument("--epochs", type=positive_int, default=d.epochs,
                   help=f"Adam epochs (default {d.epochs})")
    p.add_argument("--lr", type=finite_float, default=d.lr, help=f"peak Adam lr (default {d.lr})")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                   help="Adam learning-rate schedule: cosine (warm-up, then cosine decay) or "
                   f"constant (default {d.schedule})")
    p.add_argument("--loss", choices=LOSSES, default=d.loss,
                   help="mse (mean squared error) or esr (error-to-signal ratio, "
                   f"sum (y - model)^2 / sum y^2) (default {d.loss})")
    p.add_argument("--samples", type=positive_int, default=d.samples,
                   help=f"training points for expressions (default {d.samples})")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="samples per step (default: full batch)")
    p.add_argument("--val-fraction", type=finite_float, default=d.val_fraction,
                   help="held-out validation points as a fraction of --samples, 0 for none "
                   f"(default {d.val_fraction})")
    p.add_argument("--input-noise", type=finite_float, default=0.0,
                   help="std of Gaussian noise added to x at every step (default 0)")
    p.add_argument("--target-noise", type=finite_float, default=0.0,
                   help="std of Gaussian noise added to the target at every step (default 0)")
    p.add_argument("--patience", type=positive_int, default=None,
                   help="stop a candidate after this many epochs without validation progress")
    p.add_argument("--polish-steps", type=int, default=d.polish_steps,
                   help="float64 L-BFGS iterations per candidate after Adam (0: off)")
    p.add_argument("--grid", type=positive_int, default=d.grid_samples,
                   help="dense-grid points for grid MSE and max abs error")
    p.add_argument("--threads", type=positive_int, default=d.threads,
                   help=f"torch threads while training (default {d.threads})")
    p.add_argument("--max-memory-mb", type=finite_float, default=d.max_memory_mb,
                   help="refuse a training batch larger than this many MiB "
                   f"(default {d.max_memory_mb:g})")
    p.add_argument("--seed", type=int, default=d.seed,
                   help=f"random seed: makes training reproducible (default {d.seed})")
    p.add_argument("--out", type=Path, help="directory for the trained models and results.json")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=run)


def _config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        optimizer=args.optimizer, starts=args.starts, epochs=args.epochs, lr=args.lr,
        schedule=args.schedule, loss=args.loss,
        samples=args.samples, batch_size=args.batch_size, val_fraction=args.val_fraction,
        input_noise=args.input_noise, target_noise=args.target_noise, patience=args.patience,
        polish_steps=args.polish_steps, grid_samples=args.grid, threads=args.threads,
        max_memory_mb=args.max_memory_mb, seed=args.seed,
    )


_STATUS = {"completed": "ok", "early_stopped": "early stop", "diverged": "diverged",
           "lm: target": "LM, reached eps", "lm: stall": "LM, converged",
           "lm: lambda": "LM, converged", "lm: max_iters": "LM, iteration limit",
           "lm: deadline": "LM, out of time"}


def _fmt(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _table(results: list[TrainedModel], loss: str) -> Table:
    acts = sorted({r.architecture.activation for r in results})
    table = Table(title=f"vashrink train: {', '.join(acts)} MLPs, loss {loss.upper()}",
                  box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for col in ("arch", "params", "train", "val", "grid MSE", "max|err|", "epochs", "s", "status"):
        table.add_column(col, justify="left" if col in ("arch", "status") else "right",
                         no_wrap=True, min_width=len(col))
    for r in sorted(results, key=lambda r: r.mse):
        table.add_row(r.architecture.label, f"{r.n_params:,}", _fmt(r.train_loss), _fmt(r.val_loss),
                      _fmt(r.mse), _fmt(r.max_abs_error), str(r.epochs), f"{r.seconds:.2f}",
                      _STATUS.get(r.status, r.status) + (" +lbfgs" if r.polished else ""))
    return table


def run(args: argparse.Namespace) -> int:
    from ..search.rundir import model_path, prepare_out_dir, save_model, write_json
    from ..train.candidates import TrainingInterrupted, train_candidates

    archs = [Architecture.parse(text, args.activation) for text in args.arch]
    config = _config(args)
    a, b = args.range if args.range else (None, None)
    out: Path | None = None
    files: dict[str, str] = {}
    if args.out is not None:
        fingerprint = {"target": args.target, "range": [a, b], "config": config.__dict__}
        out = prepare_out_dir(args.out, "train", fingerprint)

    def saved(result: TrainedModel) -> None:
        if out is not None:
            arch = result.architecture
            name = f"{arch.label}-{arch.activation}"
            path = save_model(result.model, model_path(out, arch), {
                "target": args.target, "range": [a, b], "recipe": config.__dict__,
                "training": result.to_dict()})
            files[name] = str(path.relative_to(out))

    def summary(results: list[TrainedModel], interrupted: bool) -> dict[str, Any]:
        rows = []
        for r in results:
            row = r.to_dict()
            row["model_path"] = files.get(f"{r.architecture.label}-{r.architecture.activation}")
            rows.append(row)
        return {"target": args.target, "range": [a, b], "config": config.__dict__,
                "interrupted": interrupted, "results": rows}

    interrupted = False
    try:
        results = train_candidates(args.target, a, b, archs, config,
                                   progress=not args.no_progress, on_result=saved)
    except TrainingInterrupted as exc:
        results, interrupted = exc.results, True
    data = summary(results, interrupted)
    if out is not None:
        write_json(out / "results.json", data)
    if args.json:
        print_json(data)
    else:
        console().print(_table(results, config.loss))
        if out is not None:
            console().print(f"saved {len(results)} model(s) and results.json in {out}")
        if interrupted:
            console(stderr=True).print(f"interrupted: kept {len(results)} finished candidate(s)")
    return 130 if interrupted else 0
