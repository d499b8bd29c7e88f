"""Train WaveNet candidates on a recording: :func:`train_wavenet`.

Each candidate (a :class:`~vashrink.model.wavenet_shape.WaveNetShape`) trains on its own with
Adam on rows of the training spans (:class:`.wavenet_config.WaveNetTrainConfig`), in float32
torch, one thread by default, deterministic per seed. Once an epoch every validation piece
(each spread validation span after its pre-roll, as the recurrent trainer scores) is run
through the model and the best check's weights are kept. The result's silence output is moved
out of the head bias (a plugin's pre-warm leaves silence -> silence) and it is scored with the
float64 reference from a zero history, as a freshly reset engine streams it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import InputError
from ..model.wavenet import WaveNetSpec
from ..model.wavenet_reference import wavenet_reference
from ..model.wavenet_shape import WaveNetShape
from ..target.esr import ErrorReport, piece_errors
from ..target.recording import Recording
from ..target.spans import row_starts
from .rnn_data import VALIDATION_PREROLL_S
from .rnn_loss import recurrent_loss
from .wavenet_config import TrainedWaveNet, WaveNetTrainConfig
from .wavenet_torch import WaveNetTorch

__all__ = ["WaveNetRows", "rows_esr", "silence_to_silence_wavenet", "torch_validation_esr",
           "train_wavenet", "wavenet_rows"]


@dataclass(frozen=True, eq=False)
class WaveNetRows:
    """Training rows: inputs ``[rows, RF + row_samples]`` and the targets of their last
    ``row_samples + 1`` samples (the first only gives the pre-emphasis its previous sample)."""

    x: torch.Tensor
    y: torch.Tensor


def wavenet_rows(recording: Recording, receptive_field: int, row_samples: int) -> WaveNetRows:
    """Cut every training span into rows whose scored parts cover it (after its first
    ``receptive_field`` samples, which are context only; the last row of a span ends at its end,
    :func:`~vashrink.target.spans.row_starts`); a row never crosses a validation span.

    Raises:
        InputError: no training span holds one row.
    """
    length = receptive_field + row_samples
    xs, ys = [], []
    x_all = np.asarray(recording.input, dtype=np.float32)
    y_all = np.asarray(recording.output, dtype=np.float32)
    for a, b in recording.train_spans:
        for s in (a + k for k in row_starts(b - a, length, row_samples)):
            xs.append(x_all[s : s + length])
            ys.append(y_all[s + receptive_field - 1 : s + length])
    if not xs:
        longest = max((b - a for a, b in recording.train_spans), default=0)
        msg = (f"the recording's longest training stretch has {longest} samples, fewer than one "
               f"WaveNet row ({receptive_field} of context + {row_samples}): record longer, "
               "shorten the validation part or lower row_samples")
        raise InputError(msg)
    return WaveNetRows(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)))


def _pieces(recording: Recording) -> list[tuple[np.ndarray, np.ndarray, int]]:
    return list(recording.validation_pieces(round(VALIDATION_PREROLL_S * recording.sample_rate_hz)))


def torch_validation_esr(model: WaveNetTorch,
                         pieces: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> float:
    """Validation ESR of the torch model (the once-an-epoch check): each piece padded with
    silence before it (the model's context), scored from its ``scored_from``."""
    pad = model.receptive_field - 1
    scored = []
    with torch.no_grad():
        for x, y, first in pieces:
            xin = torch.from_numpy(np.concatenate([np.zeros(pad), x]).astype(np.float32))
            pred = model(xin.unsqueeze(0))[0].double().numpy()
            scored.append((y, pred, first))
    esr = piece_errors(scored).esr
    return esr if math.isfinite(esr) else math.inf


def rows_esr(model: WaveNetTorch, rows: WaveNetRows, pre_emphasis: float) -> float:
    """The pre-emphasised ESR of ``model`` over training ``rows``, as the loss scores them (each
    row's first target only gives the pre-emphasis its previous sample)."""
    err = sig = 0.0
    with torch.no_grad():
        for b in range(0, int(rows.x.shape[0]), 64):
            y, y_hat = rows.y[b : b + 64], model(rows.x[b : b + 64])
            p = y[:, 1:] - pre_emphasis * y[:, :-1]
            e = p - (y_hat[:, 1:] - pre_emphasis * y_hat[:, :-1])
            err += float((e * e).sum())
            sig += float((p * p).sum())
    return err / sig if sig > 0 else math.nan


def silence_to_silence_wavenet(spec: WaveNetSpec) -> WaveNetSpec:
    """``spec`` with its last head bias moved so that silence in gives silence out once the
    receptive field is full of silence (the head is linear, so the output moves by exactly the
    settled value)."""
    settled = float(wavenet_reference(spec, np.zeros(spec.receptive_field))[-1])
    last = spec.arrays[-1]
    if settled == 0.0 or not math.isfinite(settled) or last.head_bias is None:
        return spec
    bias = np.asarray(last.head_bias, dtype=np.float64) - settled / spec.head_scale
    return replace(spec, arrays=(*spec.arrays[:-1], replace(last, head_bias=bias)))


Pieces = Sequence[tuple[np.ndarray, np.ndarray, int]]


def _train_one(shape: WaveNetShape, rows: WaveNetRows, pieces: Pieces,
               config: WaveNetTrainConfig, target_esr: float | None) -> TrainedWaveNet:
    started = time.perf_counter()
    model = WaveNetTorch(shape, seed=config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    n_rows = int(rows.x.shape[0])
    per_epoch = math.ceil(n_rows / config.batch_size)
    budget = min(config.max_updates, config.max_epochs * per_epoch)
    best_val = torch_validation_esr(model, pieces)
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    curve, epoch_secs = [best_val], []
    updates = epochs = stale = 0
    train_esr, reason = math.nan, ""
    while not reason:
        t0 = time.perf_counter()
        order = rng.permutation(n_rows)
        err_sum = sig_sum = 0.0
        diverged = False
        for b in range(0, n_rows, config.batch_size):
            if updates >= budget:
                break
            idx = torch.from_numpy(order[b : b + config.batch_size])
            y = rows.y[idx]
            y_hat = model(rows.x[idx])
            loss = recurrent_loss(y[:, 1:], y_hat[:, 1:], coefficient=config.pre_emphasis,
                                  dc_weight=config.dc_weight, previous=(y[:, 0], y_hat[:, 0]))
            if not torch.isfinite(loss):
                diverged = True
                break
            for group in opt.param_groups:
                group["lr"] = config.lr_at(updates / budget)
            opt.zero_grad()
            loss.backward()
            if config.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            opt.step()
            updates += 1
            with torch.no_grad():
                p = y[:, 1:] - config.pre_emphasis * y[:, :-1]
                e = p - (y_hat[:, 1:] - config.pre_emphasis * y_hat[:, :-1])
                err_sum += float((e * e).sum())
                sig_sum += float((p * p).sum())
        epochs += 1
        train_esr = err_sum / sig_sum if sig_sum > 0 else math.nan
        val = math.inf if diverged else torch_validation_esr(model, pieces)
        curve.append(val)
        if val < best_val * (1.0 - config.min_delta):
            best_val, stale = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            if val < best_val:
                best_val = val
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            stale += 1
        epoch_secs.append(time.perf_counter() - t0)
        spent = time.perf_counter() - started
        if diverged:
            reason = "diverged"
        elif target_esr is not None and best_val <= target_esr / 2:
            reason = "target"
        elif (config.patience is not None and stale >= config.patience
              and updates >= config.patience_after * budget):
            reason = "no_improvement"
        elif config.max_seconds is not None and spent >= config.max_seconds:
            reason = "time_limit"
        elif updates >= budget:
            reason = "budget"
    model.load_state_dict(best_state)
    spec = silence_to_silence_wavenet(model.to_spec())
    return TrainedWaveNet(
        architecture=shape, spec=spec, validation=_errors(spec, pieces), train_esr=train_esr,
        epochs=epochs, updates=updates, seconds=time.perf_counter() - started,
        epoch_seconds=tuple(epoch_secs), stop_reason=reason, val_curve=tuple(curve))


def _errors(spec: WaveNetSpec, pieces: Pieces) -> ErrorReport:
    """Validation errors of ``spec`` streamed with the float64 reference from a zero history."""
    return piece_errors([(y, wavenet_reference(spec, x), first) for x, y, first in pieces])


def train_wavenet(
    recording: Recording,
    shapes: Sequence[WaveNetShape | str],
    config: WaveNetTrainConfig | None = None,
    *,
    target_esr: float | None = None,
    on_result: Callable[[TrainedWaveNet], None] | None = None,
) -> list[TrainedWaveNet]:
    """Train each WaveNet candidate on ``recording``; results in the order given.

    Args:
        recording: an aligned input/output pair; rows come from its training spans, every
            error from its validation spans.
        shapes: :class:`WaveNetShape` objects or text like ``"wavenet-8-d10"``.
        config: the recipe (:class:`WaveNetTrainConfig`).
        target_esr: a candidate stops once its validation check is at most half of this.
        on_result: called with each result as soon as it is finished.

    Raises:
        InputError: no or duplicate shapes, a bad ``target_esr``, a recording too short for
            one row, a silent validation part.
    """
    config = config or WaveNetTrainConfig()
    wanted = [WaveNetShape.parse(s) if isinstance(s, str) else s for s in shapes]
    if not wanted or len(set(wanted)) != len(wanted):
        msg = "give at least one WaveNet shape, each once (e.g. wavenet-8-d10)"
        raise InputError(msg)
    if target_esr is not None and not (math.isfinite(target_esr) and target_esr > 0):
        msg = f"target_esr must be a finite ESR above 0 (e.g. 0.01), got {target_esr}"
        raise InputError(msg)
    pieces = _pieces(recording)
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    out = []
    try:
        for shape in wanted:
            rows = wavenet_rows(recording, shape.receptive_field, config.row_samples)
            res = _train_one(shape, rows, pieces, config, target_esr)
            out.append(res)
            if on_result is not None:
                on_result(res)
    finally:
        torch.set_num_threads(threads)
    return out
