"""``report.html`` and its PNG plots for a shrink or grid run (matplotlib, Agg, no pyplot state).

Plots: the error over the depth x width plane with the bound's band outlined (``heatmap.png``),
the Pareto front of error vs measured ns/sample (``pareto.png``), the talk's lane score against
the measured cost (``lanes.png``) and the winner's float32 error over the input range against
eps (``winner_error.png``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .labels import field_label, summarise_band

if TYPE_CHECKING:
    from .result import ShrinkResult
    from .score import CandidateScore

__all__ = [
    "heat_values",
    "label_points",
    "plot_error_curve",
    "plot_heatmap",
    "plot_lanes",
    "plot_pareto",
    "write_report",
]

_TINY = 1e-300


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _log10(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v)
    out[ok] = np.log10(np.maximum(v[ok], _TINY))
    return out


def heat_values(cands: Sequence[CandidateScore], key: str, d_max: int, w_max: int) -> np.ndarray:
    """``[depth - 1, width - 1]`` -> log10 of ``key`` ("mse" or "max_abs_error"); NaN untrained."""
    img = np.full((d_max, w_max), np.nan)
    for c in cands:
        if c.depth <= d_max and c.width <= w_max:
            img[c.depth - 1, c.width - 1] = _log10([getattr(c, key)])[0]
    return img


def plot_heatmap(
    cands: Sequence[CandidateScore], band: Sequence[str], winner: str | None, path: Path
) -> Path:
    """log10 MSE and log10 max abs error over depth x width; band cells outlined, winner starred."""
    band_cells = [tuple(int(p) for p in label.split("x")) for label in band]
    depths = [c.depth for c in cands] + [d for d, _ in band_cells] + [1]
    widths = [c.width for c in cands] + [w for _, w in band_cells] + [1]
    d_max, w_max = max(depths), max(widths)
    fig = Figure(figsize=(12, 4.6))
    axes = fig.subplots(1, 2)
    for ax, key, title in (
        (axes[0], "mse", "log10 MSE (engine, in each model's dtype, dense grid)"),
        (axes[1], "max_abs_error", "log10 max abs error (engine, in each model's dtype)"),
    ):
        img = heat_values(cands, key, d_max, w_max)
        shown = ax.imshow(
            np.ma.masked_invalid(img),
            origin="lower",
            aspect="auto",
            cmap="viridis",
            extent=(0.5, w_max + 0.5, 0.5, d_max + 0.5),
            interpolation="nearest",
        )
        fig.colorbar(shown, ax=ax)
        for d, w in band_cells:
            ax.add_patch(Rectangle((w - 0.5, d - 0.5), 1, 1, fill=False, edgecolor="red", lw=0.8))
        if winner is not None:
            d, w = (int(p) for p in winner.split()[0].split("x"))
            ax.plot([w], [d], marker="*", color="white", markersize=14, markeredgecolor="black")
        ax.set_xlabel("width (units per hidden layer)")
        ax.set_ylabel("depth (hidden layers)")
        ax.set_title(title, fontsize=10)
    fig.suptitle("Trained candidates (red outline: the bound's band; star: the chosen model)",
                 fontsize=11)
    return _save(fig, path)


def plot_pareto(
    cands: Sequence[CandidateScore],
    front: Sequence[str],
    eps: float,
    winner: str | None,
    budget_ns: float | None,
    path: Path,
) -> Path:
    """Max abs error vs measured ns/sample; the front, eps and the budget drawn in."""
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    groups = (
        ("below/beside band", [c for c in cands if not c.in_band], "tab:blue"),
        ("in band", [c for c in cands if c.in_band], "tab:orange"),
    )
    for name, group, color in groups:
        ok = [c for c in group if math.isfinite(c.max_abs_error)]
        if ok:
            ax.scatter(
                [c.ns_per_sample for c in ok],
                [max(c.max_abs_error, _TINY) for c in ok],
                s=18,
                color=color,
                label=name,
                alpha=0.7,
            )
    by_label = {c.label: c for c in cands}
    pts = [by_label[x] for x in front if x in by_label]
    if pts:
        ax.plot(
            [c.ns_per_sample for c in pts],
            [c.max_abs_error for c in pts],
            "k-",
            lw=1,
            label="Pareto front",
        )
    ax.axhline(eps, color="red", ls="--", lw=1, label=f"eps = {eps:.3g}")
    if budget_ns is not None:
        ax.axvline(budget_ns, color="purple", ls=":", lw=1, label=f"budget {budget_ns:.4g} ns")
    if winner is not None and winner in by_label:
        w = by_label[winner]
        ax.plot(
            [w.ns_per_sample],
            [w.max_abs_error],
            marker="*",
            color="gold",
            markersize=16,
            markeredgecolor="black",
            ls="none",
            label=f"chosen {winner}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured ns/sample (engine, per-sample mode)")
    ax.set_ylabel("max abs error, certified (engine, in the model's dtype)")
    ax.set_title("Error vs measured cost")
    ax.legend(fontsize=8)
    label_points(fig, ax, [(c.label, c.ns_per_sample, c.max_abs_error) for c in pts])
    return _save(fig, path)


#: Where a point's label may go (points from the point), tried in order.
_LABEL_OFFSETS = ((3, 3), (3, -10), (-3, 3), (-3, -10), (3, 10), (3, -17))


def label_points(fig: Figure, ax: Any, points: Sequence[tuple[str, float, float]]) -> list[Any]:
    """Label points without overlap: each label takes the first of :data:`_LABEL_OFFSETS` that
    overlaps no label already placed (nor the legend); a point with no free place stays
    unlabelled (the candidates table names it). Returns the labels placed."""
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    legend = ax.get_legend()
    taken = [legend.get_window_extent(renderer)] if legend is not None else []
    placed = []
    for text, x, y in points:
        if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
            continue
        for dx, dy in _LABEL_OFFSETS:
            label = ax.annotate(text, (x, y), fontsize=7, xytext=(dx, dy),
                                textcoords="offset points", ha="left" if dx > 0 else "right")
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in taken):
                taken.append(box)
                placed.append(label)
                break
            label.remove()
    return placed


def plot_lanes(cands: Sequence[CandidateScore], lanes: int, rho: float | None, path: Path) -> Path:
    """The talk's lane score against measured ns/sample, with Spearman's rho."""
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    ax.scatter(
        [c.lane_score for c in cands], [c.ns_per_sample for c in cands], s=18, label="per sample"
    )
    ax.scatter(
        [c.lane_score for c in cands],
        [c.ns_per_sample_block for c in cands],
        s=14,
        marker="x",
        label=f"per block ({cands[0].block_size if cands else 0})",
    )
    ax.set_xlabel(f"lane score depth * ceil(width / {lanes})")
    ax.set_ylabel("measured ns/sample")
    if cands:
        ax.set_yscale("log")
    rho_text = "n/a" if rho is None else f"{rho:.2f}"
    ax.set_title(f"Lane score vs measured cost (Spearman rho = {rho_text})")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_error_curve(x: np.ndarray, err: np.ndarray, eps: float, label: str, path: Path) -> Path:
    """The winner's float32 error ``model(x) - f(x)`` over the range, with +-eps."""
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    ax.plot(x, err, lw=0.6, label=f"{label}: model - target")
    ax.axhline(eps, color="red", ls="--", lw=1, label=f"+-eps = {eps:.3g}")
    ax.axhline(-eps, color="red", ls="--", lw=1)
    ax.set_xlabel("x")
    ax.set_ylabel("error (engine, in the model's dtype)")
    peak = float(np.max(np.abs(err))) if err.size else math.nan
    ax.set_title(f"{label}: error over the range (max abs {peak:.3g})")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    if v is None:
        return "-"
    return str(v)


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header) if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
    ".met{color:#070}.miss{color:#a00}img{max-width:100%}"
)


def write_report(result: ShrinkResult, curve: tuple[np.ndarray, np.ndarray] | None) -> Path:
    """Write the PNGs and ``report.html`` into ``result.out_dir``; returns the HTML path."""
    out = Path(result.out_dir)
    cands = result.candidates
    winner = result.winner.label if result.winner else None
    plot_heatmap(cands, result.band, winner, out / "heatmap.png")
    plot_pareto(cands, result.pareto, result.eps, winner, result.budget_ns, out / "pareto.png")
    plot_lanes(cands, result.lanes, result.spearman, out / "lanes.png")
    images = ["heatmap.png", "pareto.png", "lanes.png"]
    if curve is not None and winner is not None:
        plot_error_curve(curve[0], curve[1], result.eps, winner, out / "winner_error.png")
        images.append("winner_error.png")
    w = result.winner
    parts = [
        f"<h1>vashrink {html.escape(result.kind)}: {html.escape(result.target)} on "
        f"[{result.a:g}, {result.b:g}], eps = {result.eps:.3g}</h1>",
        f"<p class='{'met' if result.met else 'miss'}'><b>{html.escape(result.message)}</b></p>",
    ]
    if w is not None:
        parts.append("<h2>Chosen model</h2>" if result.met
                     else "<h2>Closest model (does not meet the target)</h2>")
        parts.append(
            _table(
                [
                    ("architecture", f"{w.depth} x {w.width} {w.activation}"),
                    ("parameters", w.n_params),
                    ("MACs/sample", w.macs_per_sample),
                    ("runs in", w.dtype),
                    (f"max abs error, certified on the whole range ({w.dtype} engine)",
                     w.max_abs_error),
                    (f"largest error at a checked point ({w.dtype} engine)",
                     w.grid_max_abs_error),
                    (f"MSE ({w.dtype} engine)", w.mse),
                    ("max abs error of the trainer's torch model (float32, its own grid)",
                     w.torch_max_abs_error),
                    ("ns/sample, per sample", w.ns_per_sample),
                    (f"ns/sample, blocks of {w.block_size}", w.ns_per_sample_block),
                    ("x real time (48 kHz)", w.realtime_factor),
                    ("% of one core", w.core_percent),
                    (f"lane score (lanes = {result.lanes})", w.lane_score),
                ]
            )
        )
    if result.exports:
        links = "".join(
            f"<li>{html.escape(k)}: <a href='{html.escape(n)}'>{html.escape(n)}</a></li>"
            for k, n in ((k, Path(v).name) for k, v in result.exports.items())
        )
        parts.append(f"<h2>Exports</h2><ul>{links}</ul>")
    if result.notes:
        parts.append(
            "<h2>Notes</h2><ul>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
            + "</ul>"
        )
    parts.extend(f"<p><img src='{name}' alt='{name}'></p>" for name in images)
    if result.bounds:
        rows = [(field_label(k), v) for k, v in result.bounds.items()
                if k not in ("band", "notes")]
        parts.append("<h2>Complexity bounds</h2>" + _table(rows))
        parts.append(f"<p>Band: {html.escape(summarise_band(result.band))}</p>")
    front = set(result.pareto)
    cand_rows = [
        (
            c.label,
            c.phase,
            "yes" if c.in_band else "",
            "yes" if c.label in front else "",
            c.max_abs_error,
            c.mse,
            c.ns_per_sample,
            c.ns_per_sample_block,
            c.lane_score,
            c.n_params,
            c.epochs,
        )
        for c in cands
    ]
    parts.append(f"<h2>Candidates ({len(cands)}, cheapest first)</h2>")
    parts.append(
        _table(
            cand_rows,
            (
                "arch",
                "phase",
                "band",
                "Pareto",
                "max abs err (certified)",
                "MSE",
                "ns/sample",
                "ns/sample block",
                "lane score",
                "params",
                "epochs",
            ),
        )
    )
    parts.append(
        f"<p>Training compute: {result.candidate_epochs} candidate-epochs, "
        f"{result.mac_epochs:.3g} MAC-epochs per training sample; "
        f"run time {result.seconds:.1f} s.</p>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>vashrink report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = out / "report.html"
    path.write_text(page)
    return path
