"""The main job: bound, search, time, score, choose, export and report (``vashrink shrink``).

:func:`shrink` runs the resumable search of :mod:`vashrink.search.study` seeded by the complexity
bound; :func:`grid` trains every architecture of a depth x width range (the talk's method). Both
score candidates the same way (float32 engine error, measured ns/sample, lane score), choose a
winner (:func:`vashrink.search.score.choose`), export it and write ``report.html`` into the output
directory, so the two can be compared on one machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..bound.bounds import Bounds, compute_bounds
from ..errors import InputError
from ..model.architecture import ACTIVATIONS, Architecture
from ..runtime.info import lanes as simd_lanes
from ..target.samples import Target, as_target, check_eps, check_range
from ..train.config import TrainConfig
from .evaluate import Evaluator, cost_estimator
from .notes import summary_notes
from .result import ShrinkResult
from .rundir import export_winner, fingerprint_id, load_model, prepare_out_dir, write_json
from .score import (
    CandidateScore,
    choose,
    float32_error,
    pareto_front,
    rank_correlation,
)
from .study import open_study, plan_search, run_grid, run_search

__all__ = ["ShrinkResult", "grid", "shrink"]



@dataclass(frozen=True)
class _Run:
    """The checked inputs and settings :func:`shrink` and :func:`grid` share."""

    kind: str
    tgt: Target
    a: float
    b: float
    eps: float
    activation: str
    block_size: int
    budget_ns: float | None
    budget_core_percent: float | None
    config: TrainConfig
    lanes: int
    timing_repeats: int
    timing_buffer_samples: int
    sample_rate_hz: float
    check_samples: int
    progress: bool
    started: float


def _check_run(
    kind: str,
    target: Any,
    a: float,
    b: float,
    eps: float,
    *,
    activation: str,
    block_size: int,
    budget_ns: float | None,
    budget_core_percent: float | None,
    config: TrainConfig | None,
    timing_repeats: int,
    timing_buffer_samples: int,
    sample_rate_hz: float,
    check_samples: int,
    progress: bool,
) -> _Run:
    """Validate everything before any training (the same rules as bounds and train)."""
    started = time.perf_counter()
    tgt = as_target(target)
    a, b = check_range(a, b)
    eps = check_eps(eps)
    if activation not in ACTIVATIONS:
        msg = f"unknown activation {activation!r}: use one of {', '.join(ACTIVATIONS)}"
        raise InputError(msg)
    if not isinstance(block_size, int) or block_size < 1:
        msg = f"block size must be a whole number >= 1, got {block_size!r}"
        raise InputError(msg)
    if budget_ns is not None and budget_core_percent is not None:
        msg = "give --budget-ns or --budget-core-percent, not both"
        raise InputError(msg)
    for name, value in (("budget-ns", budget_ns), ("budget-core-percent", budget_core_percent)):
        if value is not None and not (math.isfinite(value) and value > 0):
            msg = f"--{name} must be a finite number above 0, got {value}"
            raise InputError(msg)
    tgt.sample(a, b, check_samples)  # refuses a target that is not finite on the range
    return _Run(
        kind=kind,
        tgt=tgt,
        a=a,
        b=b,
        eps=eps,
        activation=activation,
        block_size=block_size,
        budget_ns=budget_ns,
        budget_core_percent=budget_core_percent,
        config=config if config is not None else TrainConfig(),
        lanes=simd_lanes("float32"),
        timing_repeats=timing_repeats,
        timing_buffer_samples=timing_buffer_samples,
        sample_rate_hz=sample_rate_hz,
        check_samples=check_samples,
        progress=progress,
        started=started,
    )


def _open_run(run: _Run, out_dir: str | Path, storage: str | None, seed: int) -> tuple[Path, Any]:
    """Create or reopen the output directory and the study of this run (resumable)."""
    tgt = run.tgt
    data_hash = None
    if tgt.x is not None and tgt.y is not None:
        data_hash = fingerprint_id({"x": tgt.x.tobytes().hex(), "y": tgt.y.tobytes().hex()})
    fp = {
        "target": tgt.name,
        "data": data_hash,
        "a": run.a,
        "b": run.b,
        "activation": run.activation,
        "train": asdict(run.config),
        "check_samples": run.check_samples,
        "block_size": run.block_size,
    }
    out = prepare_out_dir(out_dir, run.kind, fp)
    study = open_study(
        storage or f"sqlite:///{out / 'study.db'}",
        f"vashrink-{run.kind}-{fingerprint_id(fp)}",
        seed=seed,
    )
    return out, study


def _evaluator(run: _Run, out: Path, band: Sequence[Architecture]) -> Evaluator:
    return Evaluator(
        run.tgt,
        run.a,
        run.b,
        run.config,
        out,
        lanes=run.lanes,
        block_size=run.block_size,
        band=band,
        timing_repeats=run.timing_repeats,
        timing_buffer_samples=run.timing_buffer_samples,
        sample_rate_hz=run.sample_rate_hz,
        check_samples=run.check_samples,
        progress=run.progress,
    )


def _finish(
    run: _Run,
    scores: dict[str, CandidateScore],
    out: Path,
    bounds: Bounds | None,
    make_report: bool,
) -> ShrinkResult:
    """Choose, export the winner, write ``report.html`` and ``result.json``: the shared tail."""
    band = bounds.band if bounds is not None else ()
    cands = tuple(sorted(scores.values(), key=lambda c: (c.ns_per_sample, c.max_abs_error)))
    choice = choose(
        cands, run.eps, budget_ns=run.budget_ns, budget_core_percent=run.budget_core_percent
    )
    front = pareto_front([c.ns_per_sample for c in cands], [c.max_abs_error for c in cands])
    rho = rank_correlation([c.lane_score for c in cands], [c.ns_per_sample for c in cands])
    notes = summary_notes(run, cands, band, choice.winner, choice.met, rho)
    exports: dict[str, str] = {}
    curve = None
    if choice.winner is not None:
        model = load_model(out / choice.winner.model_path)
        exports = export_winner(model, out)
        curve = float32_error(model, run.tgt, run.a, run.b, samples=run.check_samples)
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
    out_dir: str | Path = "vashrink-out",
    trials: int = 24,
    batch_size: int = 4,
    band_trials: int = 4,
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
) -> ShrinkResult:
    """Find the cheapest MLP that approximates ``target`` on ``[a, b]`` within ``eps``.

    Bound -> search (ladder below the band, band cover, Optuna) -> float32 engine check and
    timing of every candidate -> Pareto front and winner -> export (RTNeural JSON + snapshot,
    ONNX, C++ header) and ``report.html`` in ``out_dir``. Re-running with the same arguments
    resumes the study stored at ``out_dir/study.db`` (or ``storage``, any Optuna URL).

    Args:
        target: expression text, callable, ``(x, y)`` arrays or a ``.npy``/``.csv`` file.
        eps: allowed max abs error on a dense grid of the range (the talk's definition).
        budget_ns / budget_core_percent: a CPU budget per sample (per-sample mode) or as % of
            one core at ``sample_rate_hz``; then the winner is the most accurate within it.
        trials: trained candidates in total (earlier runs of the same study included).
        config: a :class:`vashrink.train.candidates.TrainConfig` (default: its defaults).
        seed: seeds Optuna's sampler (training is seeded by ``config.seed``).

    Raises:
        VashrinkError: bad input (before any training), an unusable ``out_dir`` or study.
    """
    run = _check_run(
        "shrink",
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
    )
    if trials < 1 or batch_size < 1 or band_trials < 0:
        msg = (
            "trials and batch size must be >= 1 and band trials >= 0, "
            f"got {trials}, {batch_size}, {band_trials}"
        )
        raise InputError(msg)
    out, study = _open_run(run, out_dir, storage, seed)
    bounds = compute_bounds(run.tgt, run.a, run.b, run.eps, activation=activation)
    limit = budget_ns
    if budget_core_percent is not None:
        limit = budget_core_percent / 100.0 * 1e9 / sample_rate_hz
    scores = run_search(
        study,
        plan_search(bounds.band, run.lanes, activation, band_trials=band_trials),
        _evaluator(run, out, bounds.band),
        eps=run.eps,
        trials=trials,
        batch_size=batch_size,
        cost_of=cost_estimator(min(4800, timing_buffer_samples)),
        cost_limit_ns=limit,
        log=log,
    )
    return _finish(run, scores, out, bounds, report)


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
) -> ShrinkResult:
    """Train every architecture of a depth x width range (the talk's grid search), batched,
    then score, choose, export and report exactly as :func:`shrink` does. Resumable.

    ``bounds=False`` skips the complexity bound (no band in the notes and the report).
    """
    run = _check_run(
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
    )
    archs = grid_architectures(
        depths, widths, activation, depth_step=depth_step, width_step=width_step
    )
    if batch_size < 1:
        msg = f"batch size must be >= 1, got {batch_size}"
        raise InputError(msg)
    bnd = compute_bounds(run.tgt, run.a, run.b, run.eps, activation=activation) if bounds else None
    out, study = _open_run(run, out_dir, storage, seed=0)
    evaluate = _evaluator(run, out, bnd.band if bnd is not None else ())
    scores = run_grid(study, archs, evaluate, batch_size=batch_size, log=log)
    wanted = {x.key for x in archs}  # the study may hold cells of an earlier, wider grid
    return _finish(run, {k: v for k, v in scores.items() if k in wanted}, out, bnd, report)
