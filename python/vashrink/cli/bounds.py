"""``vashrink bounds``: how hard a target is to approximate, and which MLP sizes to try."""

from __future__ import annotations

import argparse
import math
import sys
from itertools import groupby
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..bound.band import BAND_MAX_SIZE, BAND_PARAMS_FACTOR
from ..errors import InputError

if TYPE_CHECKING:
    from ..bound.bounds import Bounds
from ..target.examples import EXAMPLE_EPS, EXAMPLE_RANGE, EXAMPLE_TARGET
from ..target.samples import as_target
from .common import console, print_json

__all__ = ["EXAMPLE", "register", "run"]

#: The talk's worked example: f(x) = tanh(2x) on [-1, 1] to max abs error 1e-7.
EXAMPLE = (EXAMPLE_TARGET, *EXAMPLE_RANGE, EXAMPLE_EPS)

_EPILOG = f"""\
what each number means (eps is a MAXIMUM ABSOLUTE error, not an MSE):
  lipschitz L             max |f'(x)| on [A, B] (y units per x unit); inf if f jumps
  max_second_derivative M max |f''(x)| on [A, B]; none if f'' does not exist (clip, abs,
                          min/max kinks). Expressions get exact torch float64 derivatives,
                          refined to the true maximum; callables and sample files get
                          finite differences
  modulus w(delta)        max |f(x_i+1) - f(x_i)| on the grid of N samples, delta = grid
                          step (B - A) / (N - 1): the largest change over one step
  taylor step h           sqrt(2 eps / M): a line tangent at one end of a piece of length h
                          errs by at most M h^2 / 2 = eps (the talk)
  pieces_taylor           ceil((B - A) / h), the talk's N
  pieces_interpolation    ceil((B - A) sqrt(M / (8 eps))): chords through knots err by at
                          most M h^2 / 8, half the talk's count
  pieces_greedy           the fewest independent line pieces within eps on every grid point
                          (exact minimum on the grid; works for non-smooth f too)
  params_estimate         1.3 x N, the talk's pieces-to-parameters factor
  arora_depth             ceil(log2(N + 1)) + 1: depth that suffices for N pieces (Arora 2018)
  band                    (depth x width) MLPs to train: n_params within {BAND_PARAMS_FACTOR:g}x of
                          the estimate, ReLU region bound (W + 1)^D >= N, depth <=
                          arora_depth, inside the talk's 50 x 50 grid, at most {BAND_MAX_SIZE};
                          cheapest (MACs per sample) first

--plot FILE.png draws f, |f'| with L, |f''| with M, and the greedy pieces per unit x (where f
is hard) against the local estimate sqrt(|f''| / (16 eps)) and the talk's even Taylor spread.

EXPR is an expression in x (tanh sin cos exp log sqrt abs atan sinh cosh clip min max ...,
+ - * / **, pi, e) or a .npy/.csv file of x, y samples. Quote it; start it with 0 if it
begins with '-' (e.g. '0-x**2'). Example: vashrink bounds 'tanh(2*x)' --range -1 1 --eps 1e-7
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bounds",
        help="measure how hard f is to approximate and suggest MLP sizes",
        description="Measure the complexity of f on [A, B] for a maximum absolute error eps "
        "(Lipschitz constant, max |f''|, modulus of continuity, piece counts) and derive a "
        "narrow band of (depth x width) architectures worth training.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("expr", nargs="?", metavar="EXPR", help="f(x) expression or .npy/.csv samples")
    p.add_argument("--range", nargs=2, metavar=("A", "B"), help="input range, A < B")
    p.add_argument("--eps", metavar="E", help="allowed maximum absolute error, > 0")
    p.add_argument("--samples", metavar="N", default="48000",
                   help="grid points on [A, B] (default 48000: one second at 48 kHz)")
    p.add_argument("--activation", default="tanh", help="hidden activation of the band")
    p.add_argument("--example", action="store_true",
                   help="the talk's example: tanh(2*x) on [-1, 1], eps 1e-7")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--plot", metavar="FILE",
                   help="also draw f, |f'|, |f''| and the piece density to FILE (.png/.svg/.pdf)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    expr, rng, eps = args.expr, args.range, args.eps
    if args.example:
        if expr is not None:
            msg = f"give either EXPR ({expr!r}) or --example, not both"
            raise InputError(msg)
        expr = EXAMPLE[0]
        rng = rng or [EXAMPLE[1], EXAMPLE[2]]
        eps = EXAMPLE[3] if eps is None else eps
    target = as_target(expr) if expr is not None else None
    if rng is None and target is not None and target.is_sampled:
        rng = list(target.span)
    if expr is None or rng is None or eps is None:
        msg = (
            "give EXPR --range A B --eps E (e.g. 'tanh(2*x)' --range -1 1 --eps 1e-7), "
            "or --example"
        )
        raise InputError(msg)
    try:
        samples = int(args.samples)
    except ValueError:
        msg = f"--samples must be a whole number, got {args.samples!r}"
        raise InputError(msg) from None
    from ..bound.bounds import compute_bounds
    from ..bound.plot import check_plot_path, plot_bounds

    plot_path = None if args.plot is None else check_plot_path(args.plot)
    status = console(stderr=True)
    with status.status("measuring f, f', f'' and fitting pieces..."):
        result = compute_bounds(expr, rng[0], rng[1], eps, samples=samples,
                                activation=args.activation)
    if args.json:
        print_json(result.to_dict())
    else:
        render(result, console())
    if plot_path is not None:
        with status.status(escape(f"drawing {plot_path}...")):
            plot_bounds(result, expr, plot_path)
        status.print(escape(f"plot written to {plot_path}"), highlight=False, soft_wrap=True)
    return 0


def _num(value: float | None, digits: int = 10) -> str:
    if value is None:
        return "none"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}g}"


def render(result: Bounds, console: Console) -> None:
    """Print the numbers with their formulas, the band by depth, and the notes."""
    r = result
    table = Table(title=escape(f"vashrink bounds: f(x) = {r.target} on [{r.a:g}, {r.b:g}], "
                               f"max abs error eps = {r.eps:g}"))
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("formula / units")
    at = f" (at x = {r.lipschitz_at:.6g})"
    _row(table, "lipschitz L", _num(r.lipschitz), f"max |f'| [y per x]{at}")
    m_at = (
        "" if r.max_second_derivative_at is None
        else f" (at x = {r.max_second_derivative_at:.6g})"
    )
    _row(table, "max_second_derivative M", _num(r.max_second_derivative),
                  f"max |f''| [y per x^2]{m_at}" if r.max_second_derivative is not None
                  else "f'' does not exist (see notes)")
    _row(table, "modulus_of_continuity w", _num(r.modulus_of_continuity),
                  f"max |f(x_i+1) - f(x_i)| [y], delta = {r.delta:.6g} ({r.samples:,} points)")
    _row(table, "taylor step h", _num(r.taylor_step), "sqrt(2 eps / M) [x]")
    _row(table, "pieces_taylor N", _count(r.pieces_taylor), "ceil((b - a) / h) (the talk)")
    _row(table, "pieces_interpolation", _count(r.pieces_interpolation),
                  "ceil((b - a) sqrt(M / (8 eps)))")
    _row(table, "pieces_greedy", _count(r.pieces_greedy), "fewest lines within eps on the grid")
    _row(table, "params_estimate", f"{r.params_estimate:,.1f}", f"1.3 x pieces_{r.pieces_basis}")
    _row(table, "arora_depth", str(r.arora_depth), "ceil(log2(N + 1)) + 1 [layers]")
    _row(table, "derivatives", r.derivatives, "")
    console.print(table)

    band = Table(title=f"band: {len(r.band)} architectures ({len(r.band) / 25:.1f} % of the "
                 f"50 x 50 grid), {r.activation}")
    band.add_column("depth", justify="right")
    band.add_column("widths", justify="right")
    band.add_column("n_params", justify="right")
    band.add_column("MACs/sample", justify="right")
    by_depth = sorted(r.band, key=lambda a: (a.depth, a.width))
    for depth, group in groupby(by_depth, key=lambda a: a.depth):
        archs = list(group)
        lo, hi = archs[0], archs[-1]
        band.add_row(str(depth), f"{lo.width}-{hi.width}", f"{lo.n_params:,}-{hi.n_params:,}",
                     f"{lo.macs_per_sample:,}-{hi.macs_per_sample:,}")
    console.print(band)
    cheapest = ", ".join(a.label for a in r.band[:8])
    console.print(f"cheapest first: {cheapest}{' ...' if len(r.band) > 8 else ''}")
    for note in r.notes:
        console.print(f"- {note}", highlight=False, markup=False)
    sys.stdout.flush()


def _row(table: Table, *cells: str) -> None:
    table.add_row(*(escape(cell) for cell in cells))


def _count(value: int | None) -> str:
    return "none" if value is None else f"{value:,}"
