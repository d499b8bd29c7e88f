"""How to begin with gear that has memory: how far back it listens, its static curve, a hidden size.

:func:`memory_bound` measures three things on a :class:`~vashrink.target.recording.Recording`
before any GRU/LSTM is trained:

(a) **Memory length.** Least-squares predictors of ``y[n]`` from the inputs ``x[n], x[n-1], ...,
    x[n-k]`` are fitted on the training part for every ``k`` up to ``max_lag`` and scored on the
    validation part by plain ESR ``e(k) = sum (y - y_hat)^2 / sum y^2``. Two predictors: a linear
    one (the lags themselves: an FIR filter, which finds the linear memory exactly) and one on
    simple nonlinear features of each lag, ``x``, ``x^2`` and ``tanh(3 x / peak)`` (a
    Hammerstein model: a static curve followed by a filter. ``tanh`` follows hard saturation
    that low-order polynomials cannot, ``x^2`` asymmetric clipping; without them a clipper's
    harmonics, which no filter of ``x`` can make, hide how far back it listens). **Stopping
    rule:** the memory is the smallest ``k`` with ``e(k) <= min_j e(j) + tol``,
    ``tol = min(1 % of the output energy the best predictor explains, esr_target / 10)``: one
    more sample of memory would buy less than a tenth of the error budget. The reported memory
    is the larger of the two predictors'; ``memory_saturated`` says it reached ``max_lag``
    (then it is a lower bound).
(b) **Static curve.** The steady-state relation ``y = f(x)`` from the slow parts of the
    recording: samples whose input stayed within 2 % of full scale over the whole memory
    window (``x[n-m..n]``, ``m`` = the memory), so the output has settled on the curve. Their
    ``y`` is averaged in 128 bins of ``x``, and the binned curve goes through the memoryless
    bound (:func:`vashrink.bound.bounds.compute_bounds`) at ``eps = sqrt(esr_target * mean y^2)``:
    a model whose curve is everywhere within eps has, from the curve alone, plain ESR at most
    the target.
(c) **Hidden size.** A recurrent cell of ``H`` units feeding a linear head is, for the static
    curve, a one-hidden-layer net of width ``H``, which makes at most ``H + 1`` linear pieces:
    so ``H >= pieces - 1`` (pieces = the greedy count at eps). To hold its memory it needs the
    state dimension of the linear memory: the order of the linear predictor's impulse response,
    counted as its Hankel singular values above 10 % of the largest (or of the response's
    norm), on the linear predictor over the memory (Ho-Kalman: an FIR of ``k + 1`` distinct
    taps needs ``k`` states, a one-pole filter one, whatever its length).
    Units can serve both roles, so the range is ``[max(curve, states), curve + states]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import linalg
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from ..errors import InputError
from ..model.architecture import MAX_HIDDEN
from ..target.recording import Recording
from .bounds import Bounds, compute_bounds

__all__ = ["MemoryBound", "memory_bound"]

MAX_LAG_MS = 2.0
"""Longest memory scanned by default (96 samples at 48 kHz); pass ``max_lag`` for more."""
MAX_FIT_ROWS = 20_000
MAX_CHECK_ROWS = 10_000
EXPLAINED_FRACTION = 0.01
BUDGET_FRACTION = 0.1
SLOW_TOLERANCE = 0.02
CURVE_BINS = 128
MIN_BIN_COUNT = 5
MIN_COVERAGE = 0.5
HANKEL_RELATIVE = 0.1
TANH_GAIN = 3.0
_Array = NDArray[np.float64]


@dataclass(frozen=True)
class MemoryBound:
    """The starting point for a recurrent model of a recording (see the module doc).

    ``linear_errors[k]`` / ``nonlinear_errors[k]``: validation plain ESR of the predictor on
    lags 0..k. ``states``: Hankel order of the linear memory. ``curve_x``/``curve_y``: the
    binned static curve; ``curve_bounds``: its memoryless bound at ``curve_eps``.
    ``suggested_hidden``: (low, high) hidden sizes to start a GRU/LSTM search from.
    """

    sample_rate_hz: int
    esr_target: float
    max_lag: int
    memory_samples: int
    linear_memory_samples: int
    nonlinear_memory_samples: int
    memory_saturated: bool
    tolerance: float
    linear_errors: tuple[float, ...]
    nonlinear_errors: tuple[float, ...]
    states: int
    hankel_singular_values: tuple[float, ...]
    curve_method: str
    curve_samples: int
    curve_x: tuple[float, ...]
    curve_y: tuple[float, ...]
    curve_eps: float
    curve_bounds: Bounds
    curve_pieces: int
    curve_units: int
    suggested_hidden: tuple[int, int]
    notes: tuple[str, ...]
    seconds: float

    @property
    def memory_ms(self) -> float:
        """The memory length in milliseconds."""
        return 1000.0 * self.memory_samples / self.sample_rate_hz

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``curve_bounds`` as :meth:`Bounds.to_dict`, tuples as lists."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        out["curve_bounds"] = self.curve_bounds.to_dict()
        out["memory_ms"] = self.memory_ms
        return out

    def summary(self) -> str:
        """One paragraph: memory, static curve, states and the suggested hidden sizes."""
        lo, hi = self.suggested_hidden
        at_least = "at least " if self.memory_saturated else ""
        return (
            f"Memory: {at_least}{self.memory_samples} past samples ({self.memory_ms:.2f} ms); "
            f"best predictor from the input's past alone: plain ESR "
            f"{min(self.nonlinear_errors):.3g} with simple nonlinear features, "
            f"{min(self.linear_errors):.3g} linear. The linear memory needs {self.states} "
            f"state(s); the static curve (from {self.curve_method}) needs {self.curve_pieces} "
            f"linear piece(s) at eps {self.curve_eps:.3g} (so {self.curve_units} unit(s)). "
            f"Start GRU/LSTM hidden sizes at {lo}-{hi}."
        )


def _check(recording: Any, esr_target: float, max_lag: int | None) -> float:
    if not isinstance(recording, Recording):
        msg = (
            f"memory_bound needs a Recording, got {type(recording).__name__}: use "
            "load_recording(...) or recording_from_arrays(...)"
        )
        raise InputError(msg)
    try:
        target = float(esr_target)
    except (TypeError, ValueError):
        msg = f"esr_target must be a number, got {esr_target!r}"
        raise InputError(msg) from None
    if not (math.isfinite(target) and 0 < target < 1):
        msg = f"esr_target must be between 0 and 1 (e.g. 0.01), got {esr_target}"
        raise InputError(msg)
    if max_lag is not None and (isinstance(max_lag, bool) or not isinstance(max_lag, int)
                                or max_lag < 1):
        msg = f"max_lag must be a whole number of samples of at least 1, got {max_lag!r}"
        raise InputError(msg)
    return target


def _span_rows(spans: tuple[tuple[int, int], ...], lags: int, count: int,
               rng: np.random.Generator) -> NDArray[np.intp]:
    """Up to ``count`` rows (sorted) from the spans, each with ``lags`` samples of its own span
    before it."""
    rows = np.concatenate([np.arange(a + lags, b) for a, b in spans if b - a > lags])
    if rows.size <= count:
        return rows
    return np.sort(rng.choice(rows, size=count, replace=False))


def _design(features: list[_Array], rows: NDArray[np.intp], lags: int) -> _Array:
    """Columns ``[1, f_0(x[n]), f_1(x[n]), ..., f_0(x[n-1]), ...]``: lag-major, lags 0..lags."""
    index = rows[:, None] - np.arange(lags + 1)[None, :]
    blocks = np.stack([f[index] for f in features], axis=2).reshape(rows.size, -1)
    return np.hstack([np.ones((rows.size, 1)), blocks])


@dataclass(frozen=True)
class _Scan:
    errors: _Array
    coefficients: list[_Array]


def _scan(xf: _Array, yf: _Array, xc: _Array, yc: _Array, per_lag: int) -> _Scan:
    """Validation plain ESR of least squares on every lag prefix, from one Cholesky factor.

    The normal equations of the first ``m`` columns are the leading block of the full Gram
    matrix, whose Cholesky factor's leading block is theirs: one factorisation serves all
    prefixes. A tiny ridge (1e-10 of the mean diagonal) keeps collinear features solvable.
    """
    gram = xf.T @ xf
    gram[np.diag_indices_from(gram)] += 1e-10 * float(np.mean(np.diag(gram)))
    factor = linalg.cholesky(gram, lower=True)
    rhs = xf.T @ yf
    check_gram, check_rhs, energy = xc.T @ xc, xc.T @ yc, float(yc @ yc)
    if not energy > 0:
        msg = "the validation part of the recording is silent: record longer or move the split"
        raise InputError(msg)
    lags = (xf.shape[1] - 1) // per_lag
    errors, coefs = np.empty(lags), []
    for k in range(lags):
        m = 1 + per_lag * (k + 1)
        low = factor[:m, :m]
        beta = linalg.solve_triangular(low.T, linalg.solve_triangular(low, rhs[:m], lower=True))
        sse = energy - 2.0 * float(beta @ check_rhs[:m]) + float(beta @ check_gram[:m, :m] @ beta)
        errors[k] = max(sse, 0.0) / energy
        coefs.append(beta)
    return _Scan(errors, coefs)


def _memory(errors: _Array, esr_target: float) -> tuple[int, float]:
    """Smallest k with e(k) <= min e + tol (the module doc's stopping rule) and tol."""
    best = float(np.min(errors))
    tol = min(EXPLAINED_FRACTION * max(1.0 - best, 0.0), BUDGET_FRACTION * esr_target)
    tol = max(tol, 1e-12)
    return int(np.flatnonzero(errors <= best + tol)[0]), tol


def _states(impulse: _Array, continues: bool) -> tuple[int, _Array]:
    """Hankel order of an impulse response ``h[0..k]``: singular values of ``[h[i + j + 1]]``
    above ``HANKEL_RELATIVE`` of the largest or of ``||h||_2`` if that is larger (so the noise
    in the coefficients of a memoryless ``h`` counts as no state).

    When the memory ended inside the scan the response past ``k`` is negligible and the Hankel
    matrix is zero there; when it ``continues`` (the memory reached ``max_lag``) only the
    square part with ``i + j < k`` is used, so a decaying tail is not cut into a false FIR.
    """
    tail = impulse[1:]
    if tail.size == 0 or not np.any(tail):
        return 0, np.zeros(0)
    if continues:
        size = (tail.size + 1) // 2
        hankel = linalg.hankel(tail[:size], tail[size - 1 :])
    else:
        hankel = linalg.hankel(tail)  # [i, j] = tail[i + j], zero past the end
    sv = linalg.svdvals(hankel)
    floor = HANKEL_RELATIVE * max(float(sv[0]), float(np.linalg.norm(impulse)))
    return int(np.sum(sv > floor)), sv


def _static_curve(
    x: _Array, y: _Array, window: int, steady_state: Callable[[_Array], _Array], notes: list[str]
) -> tuple[_Array, _Array, str, int]:
    """Binned ``y`` over ``x`` on samples whose input was steady over the memory window.

    Without enough slow parts (white noise never rests), the curve is the steady state of the
    nonlinear predictor instead: its response to a constant input, on ``CURVE_BINS`` points.
    """
    peak = float(np.max(np.abs(x)))
    if window > 0:
        # trailing window x[n-window..n]: origin moves the filter's centre to its right end
        origin = window // 2
        spread = (maximum_filter1d(x, window + 1, origin=origin)
                  - minimum_filter1d(x, window + 1, origin=origin))
        steady = spread <= SLOW_TOLERANCE * peak
        steady[:window] = False
        method = (f"slow parts (input steady within {100 * SLOW_TOLERANCE:g} % over "
                  f"{window + 1} samples)")
    else:
        steady = np.ones(x.size, dtype=bool)
        method = "all samples (no memory)"
    lo, hi = float(np.min(x)), float(np.max(x))
    cx, cy = _bins(x[steady], y[steady])
    coverage = (cx[-1] - cx[0]) / (hi - lo) if cx.size >= 2 else 0.0
    if cx.size >= CURVE_BINS // 8 and coverage >= MIN_COVERAGE:
        return cx, cy, method, int(steady.sum())
    notes.append(
        f"too few slow parts for a measured static curve ({int(steady.sum())} samples covering "
        f"{100 * coverage:.0f} % of the input range): the curve is the nonlinear predictor's "
        "steady state instead (a smooth fit); a recording with a slow sweep measures it"
    )
    grid = np.linspace(lo, hi, CURVE_BINS)
    return grid, steady_state(grid), "the nonlinear predictor's steady state", 0


def _bins(x: _Array, y: _Array) -> tuple[_Array, _Array]:
    if x.size == 0:
        return np.zeros(0), np.zeros(0)
    edges = np.linspace(float(np.min(x)), float(np.max(x)), CURVE_BINS + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, CURVE_BINS - 1)
    count = np.bincount(which, minlength=CURVE_BINS)
    keep = count >= MIN_BIN_COUNT
    sx = np.bincount(which, weights=x, minlength=CURVE_BINS)[keep] / count[keep]
    sy = np.bincount(which, weights=y, minlength=CURVE_BINS)[keep] / count[keep]
    return sx, sy


def memory_bound(
    recording: Recording, *, esr_target: float, max_lag: int | None = None, seed: int = 0
) -> MemoryBound:
    """Memory length, static curve and a starting hidden size for ``recording`` (module doc).

    Args:
        recording: an aligned pair (:func:`~vashrink.target.recording.load_recording` or
            :func:`~vashrink.target.recording.recording_from_arrays`).
        esr_target: the validation ESR the model must meet, in (0, 1).
        max_lag: longest memory scanned, in samples (default 2 ms of audio).
        seed: which rows are subsampled (at most 20,000 to fit, 10,000 to check).

    Raises:
        InputError: not a Recording, esr_target outside (0, 1), max_lag below 1.
    """
    started = time.perf_counter()
    target = _check(recording, esr_target, max_lag)
    rate = recording.sample_rate_hz
    x = np.asarray(recording.input, dtype=np.float64)
    y = np.asarray(recording.output, dtype=np.float64)
    train, val = recording.train_spans, recording.validation_spans
    lags = max_lag if max_lag is not None else max(1, round(MAX_LAG_MS * rate / 1000.0))
    lags = max(1, min(lags, max(b - a for a, b in train) // 4, max(b - a for a, b in val) // 4))
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    fit = _span_rows(train, lags, MAX_FIT_ROWS, rng)
    check = _span_rows(val, lags, MAX_CHECK_ROWS, rng)
    peak = float(np.max(np.abs(x)))
    scaled = x / peak  # the features' scale: peak 1
    linear = _scan(_design([scaled], fit, lags), y[fit], _design([scaled], check, lags),
                   y[check], 1)
    feats = [scaled, scaled * scaled, np.tanh(TANH_GAIN * scaled)]
    nonlinear = _scan(_design(feats, fit, lags), y[fit], _design(feats, check, lags), y[check], 3)
    lin_mem, tol_lin = _memory(linear.errors, target)
    nl_mem, tol = _memory(nonlinear.errors, target)
    memory = max(lin_mem, nl_mem)
    saturated = memory >= lags
    if saturated:
        notes.append(f"the error was still falling at the longest memory scanned ({lags} "
                     "samples): the memory is a lower bound; pass a larger max_lag")
    states, sv = _states(linear.coefficients[memory][1:], continues=saturated)
    beta = nonlinear.coefficients[nl_mem]

    def steady_state(values: _Array) -> _Array:
        s = values / peak
        per_lag = beta[1:].reshape(-1, 3).sum(axis=0)
        return beta[0] + per_lag[0] * s + per_lag[1] * s * s + per_lag[2] * np.tanh(TANH_GAIN * s)

    cx, cy, method, used = _static_curve(x, y, memory, steady_state, notes)
    eps = math.sqrt(target * float(np.mean(y * y)))
    bounds = compute_bounds((cx, cy), float(cx[0]), float(cx[-1]), eps)
    pieces = int(bounds.pieces_greedy)
    curve_units = max(1, pieces - 1)
    lo = min(MAX_HIDDEN, max(curve_units, states, 1))
    hi = min(MAX_HIDDEN, max(lo, curve_units + states))
    notes.append(f"memory tolerance {tol:.3g} (nonlinear) / {tol_lin:.3g} (linear) of plain ESR")
    return MemoryBound(
        sample_rate_hz=rate, esr_target=target, max_lag=lags, memory_samples=memory,
        linear_memory_samples=lin_mem, nonlinear_memory_samples=nl_mem,
        memory_saturated=saturated, tolerance=tol,
        linear_errors=tuple(float(e) for e in linear.errors),
        nonlinear_errors=tuple(float(e) for e in nonlinear.errors),
        states=states, hankel_singular_values=tuple(float(s) for s in sv[:8]),
        curve_method=method, curve_samples=used,
        curve_x=tuple(float(v) for v in cx), curve_y=tuple(float(v) for v in cy),
        curve_eps=eps, curve_bounds=bounds, curve_pieces=pieces, curve_units=curve_units,
        suggested_hidden=(lo, hi), notes=tuple(notes),
        seconds=time.perf_counter() - started,
    )
