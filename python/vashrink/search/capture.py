"""Models of gear with memory: find the cheapest GRU/LSTM/WaveNet meeting an ESR target on a
recording.

:func:`shrink_capture` is ``vashrink shrink --input in.wav --output out.wav --esr 0.01``: the
memory bound gives a starting hidden size, every candidate shape is timed in our engine first,
:mod:`.capture_plan` trains as few candidates as it can (smallest measured cost first), each is
checked by streaming the validation audio through the engine in the precision it ships in, and the
winner is exported (GRU/LSTM: model file, RTNeural JSON + snapshot, stateful ONNX, C++ header; a
WaveNet: ``.nam``) with a report. Every trained candidate is stored at once as a model file
carrying its score, so an interrupted run resumes where it stopped. Each family plugs in at one
place per stage (:mod:`.capture_families`, :data:`.capture_plan.LADDERS`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..bound.memory import memory_bound
from ..errors import InputError, ModelFormatError
from ..model.file import DTYPES
from ..model.wavenet_shape import WAVENET, WaveNetShape, depth_for_memory
from ..runtime.families import runner_of
from ..target.esr import ErrorReport, piece_errors
from ..target.recording import Recording
from ..train.rnn_config import RecurrentTrainConfig
from ..train.rnn_data import VALIDATION_PREROLL_S
from ..train.wavenet_config import WaveNetTrainConfig
from .capture_align import align_by_trial
from .capture_costs import BUFFER_SAMPLES as MAX_BLOCK
from .capture_costs import measure_costs
from .capture_families import Recipes, family_of, stored_files
from .capture_plan import CaptureLimits, Shape, plan_capture
from .capture_result import CaptureResult
from .capture_score import CaptureScore, capture_pareto, choose_capture
from .capture_store import recording_fingerprint
from .rundir import prepare_out_dir, write_json

__all__ = ["CaptureLimits", "CaptureResult", "profile_costs", "shrink_capture"]


def profile_costs(
    profile: str | Path, limits: CaptureLimits, dtype: str, log: Callable[[str], None]
) -> tuple[dict[str, float], str, tuple[str, ...], CaptureLimits]:
    """ns/sample of every shape from a cost profile measured on the target CPU (interpolated),
    a note naming the target, the shapes extrapolated beyond the profiled sizes, and the limits
    the profile can cost: deeper stacks it has no rows for (a profile from before stacks) are
    left out and the note says so; one layer it must have."""
    from .costs import CostProfileError, load_cost_profile

    table = load_cost_profile(profile)
    costs: dict[str, float] = {}
    outside: list[str] = []
    missing: list[int] = []
    for layers in sorted(set(limits.layers)):
        part = replace(limits, layers=(layers,))
        try:
            rows = {a.label: table.estimate_wavenet(a, dtype) if isinstance(a, WaveNetShape)
                    else table.estimate_recurrent(a, dtype) for a in part.shapes()}
        except CostProfileError:
            if layers == 1 or len(limits.layers) == 1:
                raise
            missing.append(layers)
            continue
        costs.update({k: v for k, (v, _) in rows.items()})
        outside += [k for k, (_, out) in rows.items() if out]
    note = f"costs interpolated from {profile} (target CPU: {table.label})"
    if outside:
        note += f"; extrapolated beyond its sizes for {', '.join(outside)}"
    kept = tuple(n for n in limits.layers if n not in missing)
    if missing:
        depth = ", ".join(f"{n}-layer" for n in missing)
        note += (f"; it has no {depth} rows, so stacks of {', '.join(map(str, kept))} layer(s) "
                 "were searched (profile again with this version for the rest)")
    log(note)
    return costs, note, tuple(outside), replace(limits, layers=kept)


def _stored(out: Path, runs: tuple[str, ...]) -> dict[str, CaptureScore]:
    """The scores of this run's trained candidates in ``out/models``."""
    done: dict[str, CaptureScore] = {}
    for path in stored_files(out / "models"):
        try:
            _, prov = family_of(_cell_of(path)).read(path)
        except (ModelFormatError, KeyError):
            continue
        score = prov.get("score")
        if prov.get("run") in runs and isinstance(score, dict):
            try:
                s = CaptureScore.from_dict(score)
            except TypeError:
                continue
            done[s.label] = s
    return done


def _cell_of(path: Path) -> str:
    """The family of a stored candidate, from its file name (``gru-8...``, ``wavenet-4-d8``)."""
    return path.name.split("-", 1)[0]


def engine_errors(spec: Any, rec: Recording, dtype: str) -> Any:
    """Validation errors of ``spec`` (any engine family) run by our engine sample by sample, as
    a plugin runs it: each validation span after a reset and the pre-roll of audio before it
    (not scored), against the recording (the latency removed is reported beside it)."""
    net = runner_of(spec, dtype)
    scored = []
    for x, y, first in rec.validation_pieces(round(VALIDATION_PREROLL_S * rec.sample_rate_hz)):
        net.reset()
        pred = np.asarray(net.process_samples(x), dtype=np.float64)
        if not np.all(np.isfinite(pred)):
            return None
        scored.append((y, pred, first))
    return piece_errors(scored)


def shrink_capture(
    recording: Recording,
    esr_target: float,
    *,
    out_dir: str | Path = "vashrink-capture",
    limits: CaptureLimits | None = None,
    config: RecurrentTrainConfig | None = None,
    wavenet_config: WaveNetTrainConfig | None = None,
    dtype: str = "float32",
    budget_core_percent: float | None = None,
    cost_profile: str | Path | None = None,
    timing_repeats: int = 5,
    block_size: int = 1,
    progress: bool = True,
    report: bool = True,
    log: Callable[[str], None] | None = None,
) -> CaptureResult:
    """Find the cheapest GRU/LSTM/WaveNet whose validation ESR (engine, ``dtype``) meets
    ``esr_target``.

    Args:
        recording: an aligned input/output pair (:func:`vashrink.target.recording.load_recording`).
        esr_target: validation ESR to meet (pre-emphasised, as trainers report it), e.g. 0.01.
        limits: cells, largest hidden size, input skip, most trainings (:class:`CaptureLimits`).
        config: GRU/LSTM training recipe (:class:`vashrink.train.RecurrentTrainConfig`).
        wavenet_config: WaveNet training recipe
            (:class:`vashrink.train.wavenet_config.WaveNetTrainConfig`), when ``limits.cells``
            holds ``wavenet``.
        budget_core_percent: choose the lowest ESR within this % of one core instead.
        block_size: time every candidate at blocks of this many samples per call, as a plugin's
            audio callback runs it (a WaveNet's convolutions gain from blocks; a GRU/LSTM step
            barely); 1 (the default) times one sample per call.
        cost_profile: score by the GRU/LSTM rows of a ``vashrink profile`` table measured on the
            target CPU (interpolated in the hidden size) instead of timing on this machine.

    Raises:
        VashrinkError: bad input (before any training) or an unusable ``out_dir``.
    """
    started = time.perf_counter()
    say = log or (lambda _text: None)
    if not (np.isfinite(esr_target) and 0 < esr_target < 1):
        msg = f"--esr must be between 0 and 1 (e.g. 0.01), got {esr_target!r}"
        raise InputError(msg)
    if dtype not in DTYPES:
        msg = f"--dtype for a recording must be one of {', '.join(DTYPES)}, got {dtype!r}"
        raise InputError(msg)
    if budget_core_percent is not None and not budget_core_percent > 0:
        msg = f"--budget-core-percent must be positive, got {budget_core_percent!r}"
        raise InputError(msg)
    if not (isinstance(block_size, int) and 1 <= block_size <= MAX_BLOCK):
        msg = f"--block-size for a recording must be 1..{MAX_BLOCK} samples, got {block_size!r}"
        raise InputError(msg)
    if block_size != 1 and cost_profile is not None:
        msg = ("--cost-profile costs a recording's candidates per sample; drop --block-size or "
               "the profile")
        raise InputError(msg)
    limits = limits or CaptureLimits()
    config = config or RecurrentTrainConfig()
    recipes = Recipes(config, wavenet_config or WaveNetTrainConfig(seed=config.seed))
    refused = [c for c in limits.cells if dtype not in family_of(c).dtypes]
    if refused:
        msg = (f"{', '.join(refused)} run in {', '.join(family_of(refused[0]).dtypes)} only, not "
               f"--dtype {dtype}: drop {', '.join(refused)} from --cells or use float32")
        raise InputError(msg)
    # An estimated latency is refined by short trial trainings (a given one is kept as given).
    recording = align_by_trial(recording, say)[0]
    # What a stored candidate depends on (the search limits do not: a wider or longer search in
    # the same directory reuses every candidate trained so far).
    fingerprint = {
        "recording": recording_fingerprint(recording),
        "esr": float(esr_target),
        "dtype": dtype,
        "config": config.to_dict(),
    }
    rate = float(recording.sample_rate_hz)
    if cost_profile is not None:  # a profile that cannot cost this search fails before any work
        profile_costs(cost_profile, limits, dtype, lambda _t: None)
    out = prepare_out_dir(out_dir, "capture", fingerprint)
    run_id = hashlib.sha256(repr(sorted(fingerprint.items())).encode()).hexdigest()[:12]
    # A WaveNet candidate also depends on its own recipe: kept out of the directory's
    # fingerprint, so a search widened to WaveNets reuses the directory and its GRU/LSTMs.
    wavenet_run = run_id + "-wn" + hashlib.sha256(
        repr(sorted(recipes.wavenet.to_dict().items())).encode()).hexdigest()[:8]
    bound = memory_bound(recording, esr_target=esr_target)
    start_hidden = int(bound.suggested_hidden[0])
    say(bound.summary())
    if WAVENET in limits.cells:
        # Dilations 1..2^(depth-1) covering the measured memory, never fewer than the floor
        # (WAVENET_DEPTH, or --wavenet-depth for gear whose memory the bound cannot see).
        depth = max(limits.wavenet_depth, depth_for_memory(bound.memory_samples))
        limits = replace(limits, wavenet_depth=depth)
    extrapolated: tuple[str, ...] = ()
    if cost_profile is not None:
        costs, cost_note, extrapolated, limits = profile_costs(cost_profile, limits, dtype, say)
    else:
        costs = measure_costs(out, limits.shapes(), dtype, timing_repeats, say, block_size)
        per = "one sample per call" if block_size == 1 else f"blocks of {block_size} per call"
        cost_note = (f"costs measured on this machine (our engine, {per}, fastest of "
                     "interleaved rounds)")
    # Stored scores take this run's costs: a resume compares every candidate on one measurement.
    stored = {k: v for k, v in _stored(out, (run_id, wavenet_run)).items() if k in costs}
    done = {k: replace(s, ns_per_sample=costs[k]) for k, s in stored.items()}
    if done:
        say(f"resuming: {len(done)} trained candidates found in {out / 'models'}")

    def train_one(arch: Shape) -> CaptureScore | None:
        say(
            f"training {arch.label} ({arch.n_params:,} parameters, "
            f"{costs[arch.label]:.3g} ns/sample)"
        )
        family = family_of(arch.cell)
        trained = family.train(recording, arch, recipes, esr_target, progress)
        errors = engine_errors(trained.spec, recording, dtype)
        if errors is None:
            # Kept with an infinite error, so a resumed run does not train it again.
            say(f"  {arch.label}: the trained model gives non-finite output; not a candidate")
            inf = float("inf")
            errors = ErrorReport(esr=inf, esr_plain=inf, dc=inf, mse=inf)
        path = out / "models" / f"{arch.label}{family.suffix}"
        score = CaptureScore(
            label=arch.label,
            cell=arch.cell,
            hidden=arch.hidden,
            skip=arch.skip,
            layers=arch.layers,
            dtype=dtype,
            esr=errors.esr,
            esr_plain=errors.esr_plain,
            dc=errors.dc,
            mse=errors.mse,
            ns_per_sample=costs[arch.label],
            sample_rate_hz=rate,
            n_params=arch.n_params,
            macs_per_sample=arch.macs_per_sample,
            model_path=str(path.relative_to(out)),
            train_seconds=float(trained.seconds),
            epochs=int(trained.epochs),
            epoch_seconds=float(np.median(trained.epoch_seconds)) if trained.epoch_seconds else 0.0,
            stop_reason=str(trained.stop_reason),
        )
        family.write(
            path,
            trained.spec,
            dtype,
            rate,
            {
                "run": wavenet_run if arch.cell == WAVENET else run_id,
                "score": score.to_dict(),
                "recipe": (recipes.wavenet if arch.cell == WAVENET else config).to_dict(),
                "source": _source(recording),
                "esr_target": esr_target,
                "latency_removed_samples": int(recording.latency_samples),
                "latency_method": recording.latency_method,
            },
        )
        say(
            f"  {arch.label}: validation ESR {errors.esr:.3g} (plain {errors.esr_plain:.3g}) "
            f"after {trained.epochs} epochs, {trained.seconds:.0f} s"
        )
        return score

    fresh: dict[str, CaptureScore] = {}
    limit = None if budget_core_percent is None else budget_core_percent * 1e7 / rate

    def train_and_keep(arch: Shape) -> CaptureScore | None:
        score = train_one(arch)
        if score is not None:
            fresh[arch.label] = score
        return score

    def finish(scores: dict[str, CaptureScore], notes: tuple[str, ...]) -> CaptureResult:
        return _finish(recording, esr_target, out, scores, bound, dtype, budget_core_percent,
                       report, started, (cost_note, *notes), limits, extrapolated)

    try:
        outcome = plan_capture(limits, esr_target, train_and_keep, lambda a: costs[a.label],
                               start_hidden=start_hidden, done=done, cost_limit=limit)
    except KeyboardInterrupt:
        # Every finished candidate is stored already; summarise them before stopping.
        if done or fresh:
            finish({**done, **fresh}, ("interrupted: the summary covers the finished candidates; "
                                       "run the same command again to resume",))
        raise
    notes: tuple[str, ...] = ()
    if outcome.exhausted:
        notes = (f"the search stopped at --trials {limits.trials} with rungs left untried; "
                 "raise --trials (the same --out reuses every trained candidate)",)
    return finish(outcome.scores, notes)



def _source(rec: Recording) -> str:
    return str(rec.name) or "arrays"


def _finish(
    rec: Recording,
    esr_target: float,
    out: Path,
    scores: dict[str, CaptureScore],
    bound: Any,
    dtype: str,
    budget: float | None,
    make_report: bool,
    started: float,
    extra_notes: tuple[str, ...],
    limits: CaptureLimits,
    extrapolated: tuple[str, ...] = (),
) -> CaptureResult:
    from .capture_notes import capture_notes

    cands = tuple(sorted(scores.values(), key=lambda c: (c.ns_per_sample, c.esr)))
    choice = choose_capture(cands, esr_target, budget_core_percent=budget)
    front = capture_pareto(cands)
    exports: dict[str, str] = {}
    if choice.winner is not None:
        family = family_of(choice.winner.cell)
        exports = family.export(out, out / choice.winner.model_path, dtype)
        if family.export_note:
            extra_notes = (*extra_notes, family.export_note)
    result = CaptureResult(
        source=_source(rec),
        sample_rate_hz=float(rec.sample_rate_hz),
        train_seconds_audio=(rec.input.size - rec.validation_samples) / rec.sample_rate_hz,
        validation_seconds_audio=rec.validation_samples / rec.sample_rate_hz,
        latency_samples=int(rec.latency_samples),
        checks=tuple(rec.checks),
        esr_target=esr_target,
        budget_core_percent=budget,
        dtype=dtype,
        candidates=cands,
        pareto=tuple(c.label for c in front),
        winner=choice.winner,
        met=choice.met,
        message=choice.message,
        notes=(*extra_notes, *capture_notes(cands, choice, bound, esr_target, limits.hidden_max,
                                                    tuple(limits.layers))),
        out_dir=out,
        bound=bound.to_dict(),
        exports=exports,
        seconds=time.perf_counter() - started,
        extrapolated=tuple(x for x in extrapolated if x in scores),
    )
    if make_report:
        from .capture_report import write_capture_report

        result = replace(result, report=str(write_capture_report(result, rec)))
    write_json(out / "result.json", result.to_dict())
    return result
