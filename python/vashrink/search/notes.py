"""Plain-language findings of a run for its summary and report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model.architecture import Architecture, lane_score
from .score import CandidateScore

__all__ = ["summary_notes", "what_would_help"]


def summary_notes(
    run: Any,
    cands: Sequence[CandidateScore],
    band: Sequence[Architecture],
    winner: CandidateScore | None,
    met: bool,
    spearman: float | None,
) -> list[str]:
    """Plain-language findings for the summary and the report (``run``: the run's settings)."""
    tgt, a, b, eps, lanes = run.tgt, run.a, run.b, run.eps, run.lanes
    notes: list[str] = []
    peak = float(np.max(np.abs(tgt.sample(a, b, 4097)[1])))
    spacing = float(np.spacing(np.float32(peak)))
    if getattr(run, "forced", False):
        notes.append(
            f"eps = {eps:.3g} is below the noise floor of the samples (noise sigma ~ "
            f"{run.noise_sigma:.2g}, 3 sigma = {3 * run.noise_sigma:.2g}); the search ran "
            "because of --force, but no model can be checked to meet eps against them"
        )
    if not met and cands:
        notes.append(what_would_help(run, cands, spacing))
    if eps < 16 * spacing and getattr(run, "dtype", "float32") == "float32":
        notes.append(
            f"eps = {eps:.3g} is at the edge of float32: outputs near |f| = {peak:.3g} are "
            f"{spacing:.3g} apart and every layer adds its own rounding, so a float32 model "
            "(RTNeural's usual type) can barely meet it; expect the best accuracy/cost "
            "trade-off rather than a model meeting eps"
        )
    if band and len(getattr(run, "activations", ())) > 1:
        notes.append(f"the bound's band is computed for {run.activations[0]}; for the other "
                     "activations 'in the band' means the same depth x width")
    if band:
        band_min = min(lane_score(x.depth, x.width, lanes) for x in band)
        below = [c for c in cands if not c.in_band and c.lane_score < band_min]
        inside = [c for c in cands if c.in_band]
        for name, group in (("below the band", below), ("in the band", inside)):
            if group:
                best = min(group, key=lambda c: c.max_abs_error)
                hits = sum(c.meets(eps) for c in group)
                notes.append(
                    f"{name}: {len(group)} trained, {hits} meet eps; most accurate {best.label} "
                    f"(max abs error {best.max_abs_error:.3g}, {best.ns_per_sample:.1f} ns/sample)"
                )
        if winner is not None and winner.lane_score < band_min:
            what = "chosen model" if met else "closest candidate"
            notes.append(
                f"the {what} {winner.label} (lane score {winner.lane_score}) is smaller than "
                f"the bound's band (cheapest lane score {band_min}): the bound counts linear "
                "pieces, a piecewise-linear (ReLU) argument, and a smooth target is approximated "
                "by far smaller tanh nets"
            )
    if spearman is not None:
        notes.append(
            f"lane score depth*ceil(width/{lanes}) ranks the measured ns/sample with Spearman "
            f"rho = {spearman:.2f} over {len(cands)} candidates"
        )
    if any(c.timing_noisy for c in cands):
        notes.append("some timings were noisy (repeats disagree): compare close costs with care")
    return notes


def what_would_help(run: Any, cands: Sequence[CandidateScore], spacing: float) -> str:
    """When eps is not met: the next things to try, in the order most likely to help."""
    tips: list[str] = []
    dtype = getattr(run, "dtype", "float32")
    if dtype == "float32" and run.eps < 64 * spacing:
        tips.append("--dtype auto (float64 models, RTNeural's Model<double>: eps is near the "
                    "float32 floor)")
    if len(getattr(run, "activations", ("tanh",))) == 1:
        tips.append("--activation auto (relu, sigmoid and elu as well; relu represents clippers "
                    "and folders exactly)")
    deepest = max(c.depth for c in cands)
    widest = max(c.width for c in cands)
    tips.append(f"larger nets: --depth-max / --width-max above {deepest} / {widest} (the "
                "largest tried), with more --trials")
    noise = getattr(run.tgt, "x", None) is not None
    if noise:
        tips.append("cleaner samples (average repeated captures) if the bound reports noise "
                    "near eps")
    tips.append("or a larger eps")
    return "eps was not met; what would help: " + "; ".join(tips)
