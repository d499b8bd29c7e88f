"""``shrink`` on a shared study: many workers (local processes or machines), one result.

:func:`shrink_shared` is :func:`vashrink.search.run.shrink` for cooperating workers: the same
checks, bound, scoring and choice rule, with the search run by :class:`.workers.Worker` loops on
an Optuna study that every worker reaches (``--storage postgresql://...``, or the run's SQLite
file for local ``--workers N``). The worker that finds the search over writes the result from
the stored trials (their models are copied from the database into its ``out_dir``), so any
worker, on any machine, can be the last. Costs come from this machine's timings, re-measured
here when the study's trials were timed on several machines, or from a target CPU's cost
profile (:mod:`.costs`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..bound.bounds import Bounds, compute_bounds
from ..errors import InputError
from ..target.samples import Target, as_target
from .artifacts import RESULT_ATTR, machine_label, materialize_models, stored_trials, this_machine
from .costs import CostProfileError, CostTable, load_cost_profile, rescore
from .evaluate import cost_estimator
from .result import ShrinkResult
from .rundir import fingerprint_id, load_model, prepare_out_dir, write_json
from .score import CandidateScore
from .setup import RunSettings, check_run, evaluator, run_fingerprint
from .smallest import SearchLimits
from .storage import HEARTBEAT_S, SharedStudy, open_shared_study
from .workers import Worker

__all__ = ["PROFILE_ATTR", "shrink_shared", "study_kind"]

#: Study attribute: the target CPU of the cost profile a study is scored by.
PROFILE_ATTR = "vashrink_cost_profile"

def study_kind(fingerprint: dict[str, Any]) -> str:
    """The kind stored with a shared shrink study (checked by every worker that opens it)."""
    return f"shrink-mlp:{fingerprint_id(fingerprint)}"


def _settings(target: Any, a: float, b: float, eps: float, opts: dict[str, Any]
              ) -> tuple[RunSettings, SearchLimits]:
    run = check_run("shrink", target, a, b, eps, **{
        k: opts[k] for k in ("activation", "dtype", "block_size", "budget_ns",
                             "budget_core_percent", "config", "timing_repeats",
                             "timing_buffer_samples", "sample_rate_hz", "check_samples",
                             "progress", "force")})
    limit = opts["budget_ns"]
    if opts["budget_core_percent"] is not None:
        limit = opts["budget_core_percent"] / 100.0 * 1e9 / opts["sample_rate_hz"]
    return run, SearchLimits(opts["depth_max"], opts["width_max"], opts["trials"], limit)


def _open(run: RunSettings, out_dir: str | Path, storage: str | None, study: str | None,
          heartbeat_s: int, *, lock: bool = True) -> tuple[Path, SharedStudy]:
    """The output directory and the shared study; a given URL is opened first, so a bad one
    is refused before anything is written. ``lock=False``: a local worker process, whose
    parent holds the directory's run lock."""
    fp = run_fingerprint(run)
    name = study or f"vashrink-shrink-{fingerprint_id(fp)}"
    adopt = study is None
    if storage is not None:
        shared = open_shared_study(storage, name, study_kind(fp), heartbeat_s=heartbeat_s,
                                   adopt=adopt)
        try:
            return prepare_out_dir(out_dir, "shrink", fp, lock=lock), shared
        except BaseException:
            shared.close()
            raise
    out = prepare_out_dir(out_dir, "shrink", fp, lock=lock)
    url = f"sqlite:///{out / 'study.db'}"
    return out, open_shared_study(url, name, study_kind(fp), heartbeat_s=heartbeat_s,
                                  adopt=adopt)


def _check_profile(shared: SharedStudy, table: CostTable | None) -> None:
    """A study scored by one target CPU's profile refuses a profile of another CPU or ISA."""
    if table is None:
        return
    wanted = {k: table.machine.get(k) for k in ("cpu_model", "isa", "float32_lanes")}
    stored = shared.study.user_attrs.get(PROFILE_ATTR)
    if stored is None:
        shared.study.set_user_attr(PROFILE_ATTR, wanted)
    elif stored != wanted:
        msg = (f"study {shared.name!r} is scored for {machine_label(stored)}, but the cost "
               f"profile {table.path} is for {machine_label(wanted)}; use that CPU's profile "
               "or another --study")
        raise CostProfileError(msg)


def _worker(shared: SharedStudy, run: RunSettings, out: Path, bounds: Bounds,
            limits: SearchLimits, table: CostTable | None, log: Callable[[str], None] | None
            ) -> Worker:
    if table is not None:
        def cost_of(arch: Any) -> float:
            return table.estimate(arch, "float32")[0]
    else:
        cost_of = cost_estimator(min(4800, run.timing_buffer_samples))
    return Worker(shared, evaluator(run, out, bounds.band), eps=run.eps, lanes=run.lanes,
                  activations=run.activations, limits=limits, cost_of=cost_of, log=log)


def _portable(tgt: Target) -> tuple[Any, ...]:
    """The target in a form another process can rebuild exactly (same name, same values)."""
    if tgt.x is not None and tgt.y is not None:
        return ("samples", tgt.x, tgt.y, tgt.name)
    if tgt.expression is not None:
        return ("expression", tgt.expression.text, tgt.name)
    msg = "--workers needs a target given as an expression, samples or a file, not code"
    raise InputError(msg)


def _rebuilt(portable: tuple[Any, ...]) -> Target:
    if portable[0] == "samples":
        return as_target((portable[1], portable[2]), name=portable[3])
    return as_target(portable[1], name=portable[2])


def _child(payload: dict[str, Any]) -> None:
    """A local worker process: rebuild the settings, open the study, work until it is over."""
    import torch

    torch.set_num_threads(1)
    run, limits = _settings(_rebuilt(payload["target"]), payload["a"], payload["b"],
                            payload["eps"], payload["opts"])
    out, shared = _open(run, payload["out_dir"], payload["url"], payload["study"],
                        payload["heartbeat_s"], lock=False)
    table = load_cost_profile(payload["cost_profile"]) if payload["cost_profile"] else None
    bounds = compute_bounds(run.tgt, run.a, run.b, run.eps, activation=run.activations[0])
    try:
        _worker(shared, run, out, bounds, limits, table, None).run()
    finally:
        shared.close()


def _retimed(scores: list[CandidateScore], out: Path) -> list[CandidateScore]:
    """Every candidate timed again on this machine (for a study timed on several)."""
    from ..runtime.timing import time_model

    fresh = []
    for c in scores:
        timings = time_model(load_model(out / c.model_path), modes=("sample", "block"),
                             block_sizes=(c.block_size,), repeats=5, dtype=c.dtype)
        s, blk = timings[0], timings[1]
        fresh.append(replace(c, ns_per_sample=s.ns_per_sample,
                             ns_per_sample_block=blk.ns_per_sample, core_percent=s.core_percent,
                             realtime_factor=s.realtime_factor, timing_noisy=s.noisy or blk.noisy))
    return fresh


def _finish(shared: SharedStudy, run: RunSettings, out: Path, bounds: Bounds,
            table: CostTable | None, make_report: bool) -> ShrinkResult:
    """Choose over every stored trial and write the result (the last worker's job)."""
    from . import run as sequential

    materialize_models(shared.study, out)
    entries = stored_trials(shared.study)
    scores = [s for s, _, _ in entries]
    machines = sorted({machine_label(m) for _, m, _ in entries if m})
    notes = []
    if table is not None:
        scores = rescore(scores, table)
        notes.append(f"costs are the cost profile's of {table.label} ({table.path}), "
                     f"interpolated (uncertainty +/-{table.uncertainty:.0%}, the profile's "
                     "leave-one-out error), not timed on this machine")
    elif len(machines) > 1:
        scores = _retimed(scores, out)
        notes.append(f"the study's trials were timed on {len(machines)} machines "
                     f"({'; '.join(machines)}); their ns/sample are not compared: every "
                     f"candidate was re-timed on {machine_label(this_machine())}")
    costs = {s.key: s.ns_per_sample for s in scores}
    attrs = dict(shared.study.user_attrs.get(RESULT_ATTR) or {})
    shared.study.set_user_attr(RESULT_ATTR, {**attrs, "costs": costs})
    result = sequential.finish(run, {s.key: s for s in scores}, out, bounds, False)
    result = replace(result, notes=(*result.notes, *notes))
    if make_report:
        from .report import write_report

        curve = None
        if result.winner is not None:
            from .score import engine_error

            model = load_model(out / result.winner.model_path)
            curve = engine_error(model, run.tgt, run.a, run.b, samples=run.check_samples,
                                 dtype=result.winner.dtype)
        result = replace(result, report=str(write_report(result, curve)))
    write_json(out / "result.json", result.to_dict())
    return result


def shrink_shared(
    target: Any,
    a: float,
    b: float,
    eps: float,
    *,
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    cost_profile: str | Path | None = None,
    heartbeat_s: int = HEARTBEAT_S,
    out_dir: str | Path = "vashrink-out",
    report: bool = True,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> ShrinkResult:
    """:func:`vashrink.search.run.shrink` as one of many cooperating workers.

    Args:
        storage: an Optuna RDB URL every worker reaches (``postgresql://USER@HOST/DB``);
            default: ``out_dir/study.db`` (SQLite, local workers only).
        study: the study name (default: named after the run's settings, so workers started
            with the same command meet in one study).
        workers: local worker processes (each trains one candidate at a time).
        cost_profile: a ``vashrink profile`` table of the target CPU: candidates are scored by
            its interpolated costs.
        heartbeat_s: seconds between heartbeats; a worker silent for ``2 x + 1`` is dead.
        options: the keyword arguments of :func:`~vashrink.search.run.shrink` (eps, budget,
            limits, training and timing settings).

    Raises:
        VashrinkError: bad input, an unreachable or foreign study, an unusable cost profile.
    """
    opts = {"budget_ns": None, "budget_core_percent": None, "block_size": 64,
            "activation": "tanh", "dtype": "auto", "trials": 200, "depth_max": 6,
            "width_max": 32, "config": None, "timing_repeats": 5,
            "timing_buffer_samples": 48000, "sample_rate_hz": 48000.0, "check_samples": 48000,
            "progress": True, "force": False}
    unknown = set(options) - set(opts)
    if unknown:
        msg = f"unknown shrink option(s) {', '.join(sorted(unknown))}"
        raise InputError(msg)
    opts.update(options)
    if not isinstance(workers, int) or workers < 1:
        msg = f"--workers must be a whole number >= 1, got {workers!r}"
        raise InputError(msg)
    table = load_cost_profile(cost_profile) if cost_profile is not None else None
    run, limits = _settings(target, a, b, eps, opts)
    out, shared = _open(run, out_dir, storage, study, heartbeat_s)
    try:
        return _run_workers(shared, run, out, limits, table, workers, opts, cost_profile,
                            report, log)
    finally:
        shared.close()


def _run_workers(shared: SharedStudy, run: RunSettings, out: Path, limits: SearchLimits,
                 table: CostTable | None, workers: int, opts: dict[str, Any],
                 cost_profile: str | Path | None, report: bool,
                 log: Callable[[str], None] | None) -> ShrinkResult:
    _check_profile(shared, table)
    if RESULT_ATTR not in shared.study.user_attrs:
        shared.study.set_user_attr(RESULT_ATTR, {"eps": run.eps, "budget_ns": run.budget_ns,
                                                 "budget_core_percent": run.budget_core_percent})
    bounds = compute_bounds(run.tgt, run.a, run.b, run.eps, activation=run.activations[0])
    say = log or (lambda _t: None)
    if workers > 1:
        payload = {"target": _portable(run.tgt), "a": run.a, "b": run.b, "eps": run.eps,
                   "opts": {**opts, "progress": False}, "out_dir": str(out),
                   "url": shared.url, "study": shared.name,
                   "heartbeat_s": shared.heartbeat_s,
                   "cost_profile": str(cost_profile) if cost_profile else None}
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_child, args=(payload,), daemon=False)
                 for _ in range(workers)]
        say(f"{workers} local workers on study {shared.name!r}")
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        lost = [p.exitcode for p in procs if p.exitcode != 0]
        if lost:
            say(f"{len(lost)} worker(s) ended abnormally (exit {lost}); finishing their work")
    _worker(shared, run, out, bounds, limits, table, say).run()  # leftovers, or the only worker
    return _finish(shared, run, out, bounds, table, report)
