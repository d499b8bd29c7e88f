"""Error measures for audio models: error-to-signal ratio (ESR), DC error and MSE.

``ESR = sum (y - ŷ)^2 / sum y^2``, usually on pre-emphasised signals
``p[n] = y[n] - c y[n-1]`` (``c = 0.85``) so that high frequencies, which the ear notices and
a plain MSE under-weights, count more. ``DC = (mean y - mean ŷ)^2 / (mean y^2 + 1e-5)``
penalises a constant offset that ESR barely sees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError

__all__ = ["ErrorReport", "dc_error", "esr", "piece_errors", "pre_emphasis", "signal_errors"]

DEFAULT_PRE_EMPHASIS = 0.85
DC_EPS = 1e-5


@dataclass(frozen=True)
class ErrorReport:
    """All error measures of one prediction against its target."""

    esr: float
    """ESR on signals pre-emphasised with ``c = 0.85``."""
    esr_plain: float
    """ESR on the signals as they are."""
    dc: float
    mse: float


def pre_emphasis(y: ArrayLike, coefficient: float = DEFAULT_PRE_EMPHASIS) -> NDArray[np.float64]:
    """First-order high-pass along the last axis: ``p[n] = y[n] - c y[n-1]``, ``y[-1] = 0``."""
    a = np.asarray(y, dtype=np.float64)
    if a.ndim == 0:
        msg = "pre_emphasis needs an array of samples, got a scalar"
        raise InputError(msg)
    out = a.copy()
    out[..., 1:] -= coefficient * a[..., :-1]
    return out


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        msg = f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}"
        raise InputError(msg)
    if t.size == 0:
        msg = "y_true and y_pred are empty: give at least one sample"
        raise InputError(msg)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        msg = "y_true and y_pred must be finite: remove NaN or infinite samples"
        raise InputError(msg)
    return t, p


_emphasise = pre_emphasis


def esr(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    pre_emphasis: float | None = DEFAULT_PRE_EMPHASIS,
) -> float:
    """Error-to-signal ratio ``sum (y - ŷ)^2 / sum y^2``, optionally on pre-emphasised signals.

    Pass ``pre_emphasis=None`` for the plain ESR; 0 means a perfect prediction, 1 that of ``ŷ = 0``.
    """
    t, p = _pair(y_true, y_pred)
    if pre_emphasis is not None:
        t, p = _emphasise(t, pre_emphasis), _emphasise(p, pre_emphasis)
    energy = float(np.sum(t * t))
    if not energy > 0:
        msg = "y_true is silent (sum of squares is 0): the ESR is undefined for a silent target"
        raise InputError(msg)
    e = t - p
    return float(np.sum(e * e)) / energy


def dc_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """DC error ``(mean y - mean ŷ)^2 / (mean y^2 + 1e-5)``."""
    t, p = _pair(y_true, y_pred)
    diff = float(np.mean(t)) - float(np.mean(p))
    return diff * diff / (float(np.mean(t * t)) + DC_EPS)


def signal_errors(y_true: ArrayLike, y_pred: ArrayLike) -> ErrorReport:
    """ESR (pre-emphasised and plain), DC error and MSE of ``y_pred`` against ``y_true``."""
    t, p = _pair(y_true, y_pred)
    e = t - p
    mse = float(np.mean(e * e))
    report = ErrorReport(
        esr=esr(t, p),
        esr_plain=esr(t, p, pre_emphasis=None),
        dc=dc_error(t, p),
        mse=mse,
    )
    if not all(math.isfinite(v) for v in (report.esr, report.esr_plain, report.dc, report.mse)):
        msg = "error measures overflowed: scale the signals to full scale ±1"
        raise InputError(msg)
    return report


def piece_errors(pieces: Sequence[tuple[ArrayLike, ArrayLike, int]]) -> ErrorReport:
    """:func:`signal_errors` over several pieces ``(y_true, y_pred, scored_from)``: each piece is
    pre-emphasised whole and scored from ``scored_from`` on (its start only settles the model's
    state), and the sums of all pieces give one ESR, DC error and MSE."""
    if not pieces:
        msg = "no pieces to score: give at least one (y_true, y_pred, scored_from)"
        raise InputError(msg)
    err = sig = err_plain = sig_plain = 0.0
    trues, preds = [], []
    for y_true, y_pred, first in pieces:
        t, p = _pair(y_true, y_pred)
        te = _emphasise(t, DEFAULT_PRE_EMPHASIS)[first:]
        pe = _emphasise(p, DEFAULT_PRE_EMPHASIS)[first:]
        err += float(np.sum((te - pe) ** 2))
        sig += float(np.sum(te * te))
        t, p = t[first:], p[first:]
        err_plain += float(np.sum((t - p) ** 2))
        sig_plain += float(np.sum(t * t))
        trues.append(t)
        preds.append(p)
    if not (sig > 0 and sig_plain > 0):
        msg = "the scored samples are silent: the ESR is undefined for a silent target"
        raise InputError(msg)
    t, p = np.concatenate(trues), np.concatenate(preds)
    report = ErrorReport(esr=err / sig, esr_plain=err_plain / sig_plain, dc=dc_error(t, p),
                         mse=float(np.mean((t - p) ** 2)))
    if not all(math.isfinite(v) for v in (report.esr, report.esr_plain, report.dc, report.mse)):
        msg = "error measures overflowed: scale the signals to full scale ±1"
        raise InputError(msg)
    return report
