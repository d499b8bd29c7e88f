"""A picture of :func:`~vashrink.bound.bounds.compute_bounds`: where on ``[a, b]`` is f hard?

Four panels over x (matplotlib, Agg, no pyplot state): f itself; |f'| with L marked; |f''| with
M marked (or the kinks where f'' does not exist); and the greedy pieces per unit x, 1 / (piece
length), which is where a model must spend its linear regions. Beside it the local estimate
sqrt(|f''(x)| / (16 eps)) (a best line over a parabola of curvature M errs by M w^2 / 16 on a
piece of width w) and the talk's uniform density N / (b - a): the talk spends pieces evenly,
the minimum spends them where f bends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import InputError
from .bounds import Bounds
from .derivatives import DerivativeProfile, measure_derivatives
from .pieces import greedy_pieces

__all__ = ["PLOT_SUFFIXES", "bounds_figure", "check_plot_path", "plot_bounds"]

#: File types :func:`plot_bounds` writes (matplotlib picks the format from the suffix).
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
#: Up to this many pieces, their start points are marked on f (more would merge into a line).
_MAX_MARKED_PIECES = 100


def check_plot_path(path: str | Path) -> Path:
    """Validate a plot file path before any work: a known suffix in an existing directory."""
    p = Path(path)
    if p.suffix.lower() not in PLOT_SUFFIXES:
        msg = f"plot file {str(p)!r} must end in {', '.join(PLOT_SUFFIXES)} (e.g. bounds.png)"
        raise InputError(msg)
    parent = p.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        msg = f"cannot write plot {str(p)!r}: {str(parent)!r} {what}; create it or pick another"
        raise InputError(msg)
    return p


def plot_bounds(bounds: Bounds, target: Any, path: str | Path) -> Path:
    """Draw :func:`bounds_figure` to ``path`` (.png, .svg or .pdf) and return the path.

    Args:
        bounds: the result of ``compute_bounds(target, ...)``.
        target: the same target (expression, callable, samples, file or Target); f, f', f''
            and the greedy pieces are recomputed on the same grid.
        path: the file to write; its directory must exist.

    Raises:
        InputError: bad suffix, missing or unwritable directory, or a target that does not
            match ``bounds``.
    """
    p = check_plot_path(path)
    fig = bounds_figure(bounds, target)
    FigureCanvasAgg(fig)
    try:
        fig.savefig(p, dpi=110)
    except OSError as exc:
        msg = f"could not write plot {str(p)!r}: {exc.strerror or exc}; choose a writable file"
        raise InputError(msg) from None
    return p


def bounds_figure(bounds: Bounds, target: Any) -> Figure:
    """The four-panel figure described in the module doc, titled with eps and the counts.

    Artists carry gids for inspection: ``"lipschitz"``, ``"max_second_derivative"``,
    ``"greedy_density"``, ``"local_estimate"``, ``"taylor_density"``, ``"singular"``.
    """
    prof = measure_derivatives(target, bounds.a, bounds.b, samples=bounds.samples)
    _check_same_target(bounds, prof)
    starts = greedy_pieces(prof.x, prof.y, bounds.eps)
    fig = Figure(figsize=(9.0, 10.5))
    # fixed margins: a layout engine measures every 48,000-point line and triples the time
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.05, top=0.93, hspace=0.1)
    ax_f, ax_d1, ax_d2, ax_n = fig.subplots(4, 1, sharex=True)
    fig.suptitle(_title(bounds), fontsize=11)

    ax_f.plot(prof.x, prof.y, color="C0", lw=1.2, label="f(x)")
    if len(starts) <= _MAX_MARKED_PIECES:
        ax_f.plot(prof.x[starts], prof.y[starts], "o", ms=4, color="C3",
                  label=f"greedy piece starts ({len(starts)})")
    ax_f.set_ylabel("f(x)")

    ax_d1.plot(prof.x, np.abs(prof.d1), color="C0", lw=1.2, label="|f'(x)|")
    if np.isfinite(bounds.lipschitz):
        _mark_max(ax_d1, bounds.lipschitz, bounds.lipschitz_at, "L", "lipschitz")
    else:
        _say(ax_d1, "L = inf: f jumps or f' is unbounded (see notes)")
    ax_d1.set_ylabel("|f'(x)|  [y per x]")

    d2_label = "|f''(x)|" if bounds.max_second_derivative is not None else "|f''(x)| on the grid"
    ax_d2.plot(prof.x, np.abs(prof.d2), color="C0", lw=1.2, label=d2_label)
    if bounds.max_second_derivative is not None and bounds.max_second_derivative_at is not None:
        _mark_max(ax_d2, bounds.max_second_derivative, bounds.max_second_derivative_at, "M",
                  "max_second_derivative")
    else:
        _say(ax_d2, "no M: f'' does not exist or is not resolved (see notes), so no Taylor count")
    ax_d2.set_ylabel("|f''(x)|  [y per x²]")

    _density_panel(ax_n, bounds, prof, starts)
    for ax in (ax_f, ax_d1, ax_d2, ax_n):
        for i, point in enumerate(bounds.singular_points):
            label = "f or f' jumps (kink)" if ax is ax_f and i == 0 else None
            ax.axvline(point, color="C3", ls=":", lw=1.0, gid="singular", label=label)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    ax_n.set_xlabel("x")
    ax_n.set_xlim(bounds.a, bounds.b)
    return fig


def _density_panel(ax: Axes, bounds: Bounds, prof: DerivativeProfile, starts: np.ndarray) -> None:
    edges = np.append(prof.x[starts], prof.x[-1])
    density = 1.0 / np.diff(edges)
    ax.fill_between(np.repeat(edges, 2)[1:-1], np.repeat(density, 2), alpha=0.35, color="C0",
                    lw=0.0, gid="greedy_density",
                    label=f"greedy: {bounds.pieces_greedy:,} pieces (1 / length)")
    if bounds.max_second_derivative is not None:
        local = np.sqrt(np.abs(prof.d2) / (16.0 * bounds.eps))
        total = float(np.trapezoid(local, prof.x))
        ax.plot(prof.x, local, color="C1", lw=1.2, gid="local_estimate",
                label=f"sqrt(|f''| / (16 eps)): {total:,.0f} in all")
    if bounds.pieces_taylor is not None:
        ax.axhline(bounds.pieces_taylor / (bounds.b - bounds.a), color="C2", ls="--", lw=1.2,
                   gid="taylor_density",
                   label=f"talk's Taylor N / (b - a): {bounds.pieces_taylor:,} evenly")
    ax.set_ylabel("pieces per unit x")
    ax.set_ylim(bottom=0.0)


def _mark_max(ax: Axes, value: float, at: float, name: str, gid: str) -> None:
    ax.axhline(value, color="C3", ls="--", lw=1.0, gid=gid, label=f"{name} = {value:.6g}")
    ax.plot([at], [value], "o", color="C3", ms=5)


def _say(ax: Axes, text: str) -> None:
    ax.text(0.02, 0.92, text, transform=ax.transAxes, fontsize=9, va="top", color="C3")


def _title(bounds: Bounds) -> str:
    def count(n: int | None) -> str:
        return "n/a (no f'')" if n is None else f"{n:,}"

    return (
        f"f(x) = {bounds.target} on [{bounds.a:g}, {bounds.b:g}], "
        f"max abs error eps = {bounds.eps:g}\n"
        f"pieces: Taylor {count(bounds.pieces_taylor)}, "
        f"interpolation {count(bounds.pieces_interpolation)}, "
        f"greedy {count(bounds.pieces_greedy)};  params_estimate {bounds.params_estimate:,.0f}"
    )


def _check_same_target(bounds: Bounds, prof: DerivativeProfile) -> None:
    """The recomputed grid must be the one ``bounds`` came from (same points, same max |f|)."""
    max_abs = float(np.max(np.abs(prof.y)))
    if len(prof.x) != bounds.samples or not np.isclose(max_abs, bounds.max_abs_value,
                                                       rtol=1e-12, atol=0.0):
        msg = (
            f"the target does not match these bounds (max |f| = {max_abs:.6g} on "
            f"{len(prof.x)} points, the bounds have {bounds.max_abs_value:.6g} on "
            f"{bounds.samples}): pass the target that compute_bounds was given"
        )
        raise InputError(msg)
