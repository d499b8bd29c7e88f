"""The main job: bound, search, time, score, choose, export and report (``vashrink shrink``).

:func:`shrink` runs the resumable search of :mod:`vashrink.search.study` seeded by the complexity
bound; :func:`grid` trains every architecture of a depth x width range (the talk's method). Both
score candidates the same way (float32 engine error, measured ns/sample, lane score), choose a
winner (:func:`vashrink.search.score.choose`), export it and write ``report.html`` into the output
directory, so the two can be compared on one machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..bound.bounds import Bounds, compute_bounds
from ..errors import InputError
from ..model.architecture import Architecture
from ..train.config import TrainConfig
from .evaluate import cost_estimator
from .notes import summary_notes
from .result import INTERRUPTED_NOTE, SearchInterrupted, ShrinkResult
from .rundir import export_winner, load_model, write_json
from .score import (
    CandidateScore,
    choose,
    engine_error,
    pareto_front,
    rank_correlation,
)
from .setup import RunSettings, check_run, evaluator, open_run
from .smallest import SearchLimits, find_smallest
from .study import completed_scores, run_grid

__all__ = ["ShrinkResult", "finish", "grid", "shrink"]



def finish(
    run: RunSettings,
    scores: dict[str, CandidateScore],
    out: Path,
    bounds: Bounds | None,
    make_report: bool,
    interrupted: bool = False,
) -> ShrinkResult:
    """Choose, export the winner, write ``report.html`` and ``result.json``: the shared tail
    (``interrupted``: of the candidates finished before Ctrl-C, with a note saying so)."""
    band = bounds.band if bounds is not None else ()
    cands = tuple(sorted(scores.values(), key=lambda c: (c.ns_per_sample, c.max_abs_error)))
    choice = choose(
        cands, run.eps, budget_ns=run.budget_ns, budget_core_percent=run.budget_core_percent
    )
    front = pareto_front([c.ns_per_sample for c in cands], [c.max_abs_error for c in cands])
    rho = rank_correlation([c.lane_score for c in cands], [c.ns_per_sample for c in cands])
    notes = summary_notes(run, cands, band, choice.winner, choice.met, rho)
    if interrupted:
        notes.insert(0, INTERRUPTED_NOTE)
    exports: dict[str, str] = {}
    curve = None
    if choice.winner is not None:
        model = load_model(out / choice.winner.model_path)
        exports = export_winner(model, out, out / choice.winner.model_path,
                                dtype=choice.winner.dtype)
        curve = engine_error(model, run.tgt, run.a, run.b, samples=run.check_samples,
                             dtype=choice.winner.dtype)
    result = ShrinkResult(
        kind=run.kind,
        target=run.tgt.name,
        a=run.a,
        b=run.b,
        eps=run.eps,
        activation=run.activation,
        lanes=run.lanes,
        block_size=run.block_size,
        budget_ns=run.budget_ns,
        budget_core_percent=run.budget_core_percent,
        candidates=cands,
        pareto=tuple(cands[i].label for i in front),
        winner=choice.winner,
        met=choice.met,
        message=choice.message,
        closest=choice.closest,
        spearman=rho,
        notes=tuple(notes),
        out_dir=out,
        exports=exports,
        bounds=bounds.to_dict() if bounds is not None else None,
        band=tuple(x.label for x in band),
        seconds=time.perf_counter() - run.started,
        interrupted=interrupted,
    )
    if make_report:
        from .report import write_report

        path = write_report(result, curve)
        result = replace(result, report=str(path))
    write_json(out / "result.json", result.to_dict())
    return result


def shrink(
    target: Any,
    a: float,
    b: float,
    eps: float,
    *,
    budget_ns: float | None = None,
    budget_core_percent: float | None = None,
    block_size: int = 64,
    activation: str = "tanh",
    dtype: str = "auto",
    out_dir: str | Path = "vashrink-out",
    trials: int = 200,
    depth_max: int = 6,
    width_max: int = 32,
    storage: str | None = None,
    config: TrainConfig | None = None,
    timing_repeats: int = 5,
    timing_buffer_samples: int = 48000,
    sample_rate_hz: float = 48000.0,
    check_samples: int = 48000,
    seed: int = 0,
    progress: bool = True,
    report: bool = True,
    log: Callable[[str], None] | None = None,
    force: bool = False,
) -> ShrinkResult:
    """Find the cheapest MLP that approximates ``target`` on ``[a, b]`` within ``eps``.

    Bound -> search (:mod:`.smallest`: per activation and depth, widths grown until eps is
    met, then bisected; nothing costlier than a net already meeting eps is trained) -> check
    in the engine in the precision the model runs in, and timing, of every candidate -> Pareto
    front and winner -> export (RTNeural JSON + snapshot, ONNX, C++ header) and
    ``report.html`` in ``out_dir``. Re-running with the same arguments resumes the study
    stored at ``out_dir/study.db`` (or ``storage``, any Optuna URL).

    Args:
        target: expression text, callable, ``(x, y)`` arrays or a ``.npy``/``.csv`` file.
        eps: allowed max abs error on a dense grid of the range (the talk's definition).
        budget_ns / budget_core_percent: a CPU budget per sample (per-sample mode) or as % of
            one core at ``sample_rate_hz``; then the winner is the most accurate within it.
        activation: a hidden activation, or ``"auto"`` (each of :data:`AUTO_ACTIVATIONS`).
        dtype: ``"float32"``, ``"float64"`` (RTNeural's ``Model<double>``) or ``"auto"``
            (float64 only for a candidate whose float32 model misses eps).
        trials: trained candidates in total (earlier runs of the same study included).
        depth_max, width_max: the largest nets the search may grow to.
        config: a :class:`vashrink.train.candidates.TrainConfig` (default: its defaults).
        seed: seeds Optuna's sampler (training is seeded by ``config.seed``).
        force: train even when eps is below the noise floor of sampled data (then refused).

    Raises:
        VashrinkError: bad input (before any training; eps below the data's noise floor
            without ``force``), an unusable ``out_dir`` or study.
    """
    run = check_run(
        "shrink",
        target,
        a,
        b,
        eps,
        activation=activation,
        dtype=dtype,
        block_size=block_size,
        budget_ns=budget_ns,
        budget_core_percent=budget_core_percent,
        config=config,
        timing_repeats=timing_repeats,
        timing_buffer_samples=timing_buffer_samples,
        sample_rate_hz=sample_rate_hz,
        check_samples=check_samples,
        progress=progress,
        force=force,
    )
    limit = budget_ns
    if budget_core_percent is not None:
        limit = budget_core_percent / 100.0 * 1e9 / sample_rate_hz
    limits = SearchLimits(depth_max, width_max, trials, limit)
    out, study = open_run(run, out_dir, storage, seed)
    bounds = compute_bounds(run.tgt, run.a, run.b, run.eps, activation=run.activations[0])
    try:
        scores = find_smallest(
            study,
            evaluator(run, out, bounds.band, bounds),
            eps=run.eps,
            activations=run.activations,
            lanes=run.lanes,
            limits=limits,
            cost_of=cost_estimator(min(4800, timing_buffer_samples)),
            log=log,
        )
    except KeyboardInterrupt:
        _finish_interrupted(run, completed_scores(study), out, bounds, report)
        raise
    return finish(run, scores, out, bounds, report)


def _finish_interrupted(
    run: RunSettings,
    scores: dict[str, CandidateScore],
    out: Path,
    bounds: Bounds | None,
    report: bool,
) -> None:
    """After Ctrl-C: summarise, export and report the finished candidates (when there are
    any), then raise :class:`SearchInterrupted` carrying that result."""
    if scores:
        result = finish(run, scores, out, bounds, report, interrupted=True)
        raise SearchInterrupted(result)


def grid_architectures(
    depths: tuple[int, int],
    widths: tuple[int, int],
    activation: str,
    *,
    depth_step: int = 1,
    width_step: int = 1,
) -> list[Architecture]:
    """Every ``depth x width`` of the inclusive ranges (with steps), cheapest first."""
    (d0, d1), (w0, w1) = depths, widths
    if d0 < 1 or w0 < 1 or d1 < d0 or w1 < w0 or depth_step < 1 or width_step < 1:
        msg = (
            f"grid ranges must be increasing and start at 1 or more with steps >= 1, got depths "
            f"{d0}..{d1} step {depth_step}, widths {w0}..{w1} step {width_step}"
        )
        raise InputError(msg)
    archs = [
        Architecture(d, w, activation)
        for d in range(d0, d1 + 1, depth_step)
        for w in range(w0, w1 + 1, width_step)
    ]
    return sorted(archs, key=lambda x: (x.macs_per_sample, x.depth))


def grid(
    target: Any,
    a: float,
    b: float,
    eps: float,
    *,
    depths: tuple[int, int] = (1, 12),
    widths: tuple[int, int] = (4, 56),
    depth_step: int = 1,
    width_step: int = 1,
    budget_ns: float | None = None,
    budget_core_percent: float | None = None,
    block_size: int = 64,
    activation: str = "tanh",
    out_dir: str | Path = "vashrink-grid",
    batch_size: int = 16,
    storage: str | None = None,
    config: TrainConfig | None = None,
    timing_repeats: int = 5,
    timing_buffer_samples: int = 48000,
    sample_rate_hz: float = 48000.0,
    check_samples: int = 48000,
    bounds: bool = True,
    progress: bool = True,
    report: bool = True,
    log: Callable[[str], None] | None = None,
    force: bool = False,
) -> ShrinkResult:
    """Train every architecture of a depth x width range (the talk's grid search), batched,
    then score, choose, export and report exactly as :func:`shrink` does. Resumable.

    ``bounds=False`` skips the complexity bound (no band in the notes and the report);
    ``force`` as for :func:`shrink`.
    """
    run = check_run(
        "grid",
        target,
        a,
        b,
        eps,
        activation=activation,
        block_size=block_size,
        budget_ns=budget_ns,
        budget_core_percent=budget_core_percent,
        config=config,
        timing_repeats=timing_repeats,
        timing_buffer_samples=timing_buffer_samples,
        sample_rate_hz=sample_rate_hz,
        check_samples=check_samples,
        progress=progress,
        force=force,
    )
    archs = grid_architectures(
        depths, widths, activation, depth_step=depth_step, width_step=width_step
    )
    if batch_size < 1:
        msg = f"batch size must be >= 1, got {batch_size}"
        raise InputError(msg)
    bnd = compute_bounds(run.tgt, run.a, run.b, run.eps, activation=activation) if bounds else None
    out, study = open_run(run, out_dir, storage, seed=0)
    evaluate = evaluator(run, out, bnd.band if bnd is not None else (), bnd)
    wanted = {x.key for x in archs}  # the study may hold cells of an earlier, wider grid
    try:
        scores = run_grid(study, archs, evaluate, batch_size=batch_size, log=log)
    except KeyboardInterrupt:
        done = completed_scores(study)
        _finish_interrupted(run, {k: v for k, v in done.items() if k in wanted}, out, bnd, report)
        raise
    return finish(run, {k: v for k, v in scores.items() if k in wanted}, out, bnd, report)
