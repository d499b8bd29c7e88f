"""Train GRU/LSTM candidates on a recording: :func:`train_recurrent`.

With ``backend="native"`` (the default) each candidate trains on the engine's C++ trainer
(:func:`.rnn_native.train_pack_native`, one after another). With ``backend="torch"`` candidates
are planned into packs (:mod:`.rnn_pack`): with ``packing="auto"`` the GRUs share one
block-diagonal GRU per pack of at most ``max_pack_hidden`` summed units, because torch's CPU GRU
costs about the same per time step at 4 and at 60 units; LSTMs train one by one (docs/training.md,
measured). Either way a candidate keeps the weights of its best validation check, its silence
output is moved out of its output bias (:func:`silence_to_silence`), and it is scored by
streaming each validation span after its pre-roll through its exported
:class:`~vashrink.model.spec.ModelSpec` in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import torch

from ..errors import InputError
from ..model.architecture import RecurrentArchitecture
from ..model.recurrent import RecurrentModel
from ..model.spec import PREWARM_S, ModelSpec, spec_to_torch
from ..target.esr import ErrorReport, piece_errors, signal_errors
from ..target.recording import Recording
from .progress import TrainProgress
from .rnn_config import RecurrentTrainConfig
from .rnn_data import prepare_recurrent_data
from .rnn_loop import MemberOutcome, train_pack
from .rnn_native import train_pack_native
from .rnn_pack import embed_spec, initial_spec
from .rnn_result import RecurrentTrainingInterrupted, TrainedRecurrent
from .rnn_starts import start_seed

__all__ = ["PREWARM_S", "plan_packs", "silence_to_silence", "stream_errors",
           "stream_piece_errors", "train_recurrent"]

#: Samples per piece when streaming the validation part (bounds memory, not the result).
_STREAM_CHUNK = 1 << 16


def _check_archs(archs: Sequence[RecurrentArchitecture | str]) -> list[RecurrentArchitecture]:
    out: list[RecurrentArchitecture] = []
    for a in archs:
        arch = RecurrentArchitecture.parse(a) if isinstance(a, str) else a
        if not isinstance(arch, RecurrentArchitecture):
            msg = f"candidate {a!r} is not a RecurrentArchitecture or text like 'gru-16'"
            raise InputError(msg)
        if arch in out:
            msg = f"candidate {arch} is listed twice; list each architecture once"
            raise InputError(msg)
        out.append(arch)
    if not out:
        msg = "no candidates to train: give at least one architecture, e.g. gru-16 or lstm-24"
        raise InputError(msg)
    return out


def plan_packs(archs: Sequence[RecurrentArchitecture],
               config: RecurrentTrainConfig) -> list[list[RecurrentArchitecture]]:
    """Which candidates train side by side: by cell, layer count and budget of updates (a pack
    shares one learning-rate schedule), smallest first, filled up to ``max_pack_hidden`` summed
    units; only GRUs pack under ``"auto"``, none under ``"none"``."""
    packs: list[list[RecurrentArchitecture]] = []
    for cell, layers in sorted({(a.cell, a.layers) for a in archs}):
        members = sorted((a for a in archs if (a.cell, a.layers) == (cell, layers)),
                         key=lambda a: (a.hidden, a.skip))
        packable = config.packing == "all" or (config.packing == "auto" and cell == "gru")
        current: list[RecurrentArchitecture] = []
        for arch in members:
            size = sum(m.hidden for m in current) + arch.hidden
            other_budget = bool(current) and (config.updates_for(arch)
                                              != config.updates_for(current[0]))
            if current and (not packable or size > config.max_pack_hidden or other_budget):
                packs.append(current)
                current = []
            current.append(arch)
        if current:
            packs.append(current)
    return packs


def stream_errors(spec: ModelSpec, x: np.ndarray, y: np.ndarray, *,
                  chunk_samples: int = _STREAM_CHUNK) -> ErrorReport:
    """Errors of ``spec`` run over all of ``x`` from a zero state in float64, against ``y``.

    The state carries from chunk to chunk of ``chunk_samples``, so the result is that of one
    pass while memory stays bounded however long the validation part is.
    """
    return signal_errors(y, _stream(spec, x, chunk_samples))


def _stream(spec: ModelSpec, x: np.ndarray, chunk_samples: int = _STREAM_CHUNK) -> np.ndarray:
    model = spec_to_torch(spec, torch.float64)
    assert isinstance(model, RecurrentModel)
    signal = torch.from_numpy(np.array(x, dtype=np.float64)).view(1, -1, 1)
    pieces: list[np.ndarray] = []
    state = None
    with torch.no_grad():
        for begin in range(0, signal.shape[1], chunk_samples):
            piece = signal[:, begin : begin + chunk_samples]
            hidden, state = model.rnn(piece, state)
            out = model.head(hidden) + piece if model.skip else model.head(hidden)
            pieces.append(out.view(-1).numpy())
    return np.concatenate(pieces)


def stream_piece_errors(spec: ModelSpec,
                        pieces: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> ErrorReport:
    """Errors of ``spec`` over validation pieces ``(x, y, scored_from)``: each streamed from a
    zero state in float64 and scored from ``scored_from`` on
    (:func:`~vashrink.target.esr.piece_errors`)."""
    outs = []
    for x, y, first in pieces:
        pred = _stream(spec, x)
        outs.append((y, pred, first))
    return piece_errors(outs)


def silence_to_silence(spec: ModelSpec, prewarm_samples: int) -> ModelSpec:
    """``spec`` with its output bias moved so that, after ``prewarm_samples`` of silence from a
    zero state (a plugin's pre-warm), silence in gives silence out: the settled output for
    silence is subtracted from the last dense layer's bias (linear, so the whole output moves
    by exactly that constant; the recording's DC was removed, so the gear's is zero)."""
    settled = float(_stream(spec, np.zeros(max(prewarm_samples, 1)))[-1])
    if settled == 0.0 or not np.isfinite(settled):
        return spec
    head = spec.dense[-1]
    moved = replace(head, bias=np.asarray(head.bias, dtype=np.float64) - settled)
    return replace(spec, dense=(*spec.dense[:-1], moved))


def _starts(arch: RecurrentArchitecture, warm: Mapping[RecurrentArchitecture, ModelSpec],
            config: RecurrentTrainConfig) -> list[ModelSpec]:
    """A warm candidate's one start, or ``config.starts`` fresh ones (:mod:`.rnn_starts`)."""
    if arch in warm:
        return [embed_spec(warm[arch], arch, config.seed)]
    return [initial_spec(arch, start_seed(config.seed, i)) for i in range(config.starts)]


def train_recurrent(
    recording: Recording,
    archs: Sequence[RecurrentArchitecture | str],
    config: RecurrentTrainConfig | None = None,
    *,
    target_esr: float | None = None,
    progress: bool = False,
    on_result: Callable[[TrainedRecurrent], None] | None = None,
    warm: Mapping[RecurrentArchitecture, ModelSpec] | None = None,
) -> list[TrainedRecurrent]:
    """Train each GRU/LSTM candidate on ``recording``; results in the order given.

    Args:
        recording: an aligned input/output pair (:func:`~vashrink.target.recording.load_recording`);
            training uses its training part, every error its validation part.
        archs: :class:`RecurrentArchitecture` objects or text like ``"gru-16"``, ``"lstm-8+skip"``.
        config: the recipe (:class:`RecurrentTrainConfig`).
        target_esr: a candidate stops once its validation ESR is at most half of this.
        progress: a progress bar with ETA on stderr (only when stderr is a terminal).
        on_result: called with each :class:`TrainedRecurrent` as soon as it is finished.
        warm: starting weights per candidate: a model of the same cell, head and skip with at
            most as many units (a smaller one is grown with units that start disconnected, so
            the start computes the same output). The start counts as the first validation check,
            so the result is never worse than the start on that check.

    Raises:
        InputError: no candidates, duplicates, a bad ``target_esr`` or warm start, a recording
            too short for one segment, a silent validation part.
        RecurrentTrainingInterrupted: on Ctrl-C, carrying the candidates that finished.
    """
    config = config or RecurrentTrainConfig()
    candidates = _check_archs(archs)
    if target_esr is not None and not (math.isfinite(target_esr) and target_esr > 0):
        msg = f"target_esr must be a finite ESR above 0 (e.g. 0.01), got {target_esr}"
        raise InputError(msg)
    warm = warm or {}
    starts = {a: _starts(a, warm, config) for a in candidates}
    data = prepare_recurrent_data(recording, config)
    packs = plan_packs(candidates, config)
    results: dict[RecurrentArchitecture, TrainedRecurrent] = {}
    threads_before = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    rows = int(data.x_rows.shape[0])
    prewarm = round(PREWARM_S * recording.sample_rate_hz)
    per_epoch = config.updates_per_epoch(rows)
    epochs_of = {a: math.ceil(config.budget_updates(rows, a) / per_epoch) for a in candidates}
    total = float(sum(epochs_of[a] + (len(starts[a]) - 1)
                      * math.ceil(config.start_fraction * epochs_of[a]) for a in candidates))
    try:
        with TrainProgress(total, len(candidates), enabled=progress) as bar:
            for members in packs:

                def done(m: MemberOutcome, size: int = len(members)) -> None:
                    spec = silence_to_silence(m.best_spec, prewarm)
                    res = TrainedRecurrent(
                        architecture=m.architecture, spec=spec,
                        validation=stream_piece_errors(spec, data.val_pieces),
                        train_esr=m.train_esr, epochs=m.epochs, seconds=m.seconds,
                        epoch_seconds=tuple(m.epoch_seconds),
                        stop_reason=m.stop_reason or "budget",
                        val_curve=tuple(m.val_curve), pack_size=size,
                        warm=m.architecture in warm, start=m.start,
                        start_esrs=tuple(m.start_vals), rollbacks=m.rollbacks,
                    )
                    results[res.architecture] = res
                    bar.advance(float(max(epochs_of[m.architecture] - m.epochs, 0)))
                    bar.candidate_done(res.validation.esr)
                    if on_result is not None:
                        on_result(res)

                trainer = train_pack_native if config.backend == "native" else train_pack
                trainer(members, [starts[a] for a in members], data, config,
                        target_esr=target_esr, on_epoch=lambda n: bar.advance(float(n)),
                        on_done=done)
    except KeyboardInterrupt:
        raise RecurrentTrainingInterrupted(
            [results[a] for a in candidates if a in results]) from None
    finally:
        torch.set_num_threads(threads_before)
    return [results[a] for a in candidates]
