"""Score trained candidates by error and *measured* cost, and choose the one to ship.

Cost is what the C++ engine measures per sample on this CPU (the way a plugin calls a model),
shown beside the talk's SIMD proxy, the lane score ``depth * ceil(width / lanes)`` with ``lanes``
taken from the compiled ISA and dtype (8 float32 lanes on AVX2, not a fixed 4). How well the
proxy predicts the measurement is Spearman's rank correlation over the candidates.

Error is the talk's: the maximum absolute error ``max |f(x) - model(x)|`` on a dense grid of the
range, computed on the float32 model run by our engine (what ships), with the MSE beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from torch import nn

from ..errors import InputError
from ..model.architecture import Architecture, lane_score
from ..target.samples import Target

__all__ = [
    "CandidateScore",
    "Choice",
    "ErrorCheck",
    "cheapest_meeting",
    "check_error",
    "choose",
    "engine_error",
    "measurably_cheaper",
    "pareto_front",
    "rank_correlation",
]


@dataclass(frozen=True)
class ErrorCheck:
    """Error of the engine's model (in the dtype it runs in) against the float64 target on a
    dense grid; from :func:`vashrink.search.certify.certified_check`, ``max_abs_error`` is the
    certified bound on the whole range and ``grid_max_abs_error`` the largest error seen at a
    checked point (NaN when not certified: then ``max_abs_error`` is the grid maximum)."""

    max_abs_error: float
    mse: float
    x_at_max: float
    samples: int
    grid_max_abs_error: float = math.nan


def engine_error(
    model: nn.Sequential,
    target: Target,
    a: float,
    b: float,
    *,
    samples: int = 48000,
    dtype: str = "float32",
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, model(x) - f(x))`` on ``samples`` evenly spaced points, model run by the engine.

    The torch model is converted with ``engine.Mlp.from_torch(model, dtype=dtype)`` and run
    with ``process_samples`` (one sample at a time, as a plugin does), so the error includes the
    rounding of the shipped model and the engine's own activations, not only torch's.
    """
    from ..runtime.engine import Mlp

    x, y = target.sample(a, b, samples)
    mlp = Mlp.from_torch(model, dtype=dtype)
    xs = x.astype(np.float32) if dtype == "float32" else x
    out = np.asarray(mlp.process_samples(xs), dtype=np.float64).reshape(-1)
    return x, out - y


def check_error(
    model: nn.Sequential,
    target: Target,
    a: float,
    b: float,
    *,
    samples: int = 48000,
    dtype: str = "float32",
) -> ErrorCheck:
    """Max abs error and MSE of the engine's model in ``dtype`` (see :func:`engine_error`)."""
    x, err = engine_error(model, target, a, b, samples=samples, dtype=dtype)
    if not np.isfinite(err).all():
        return ErrorCheck(math.inf, math.inf, float(x[int(np.argmax(~np.isfinite(err)))]), samples)
    i = int(np.argmax(np.abs(err)))
    return ErrorCheck(float(abs(err[i])), float(np.mean(err * err)), float(x[i]), samples)


@dataclass(frozen=True)
class CandidateScore:
    """One trained candidate: its error, its measured cost and the talk's lane score.

    ``ns_per_sample`` is the engine's per-sample mode (median), ``ns_per_sample_block`` its block
    mode at ``block_size``; ``core_percent`` is the per-sample cost as a share of one core at the
    sample rate; ``timing_spread`` the per-sample timing's (max - min) / median over its
    repeats (the noise :func:`choose` allows for). ``max_abs_error`` is the engine model's
    *certified* max abs error on the whole range (:mod:`vashrink.search.certify`), in ``dtype``
    (the precision the model runs in: float32, or float64 when only that meets eps);
    ``grid_max_abs_error`` the largest error seen at a checked point (NaN for scores stored
    before certification); ``mse`` on the dense grid; ``torch_max_abs_error`` is the trainer's
    own figure for its torch model.
    """

    depth: int
    width: int
    activation: str
    lanes: int
    max_abs_error: float
    mse: float
    torch_max_abs_error: float
    val_loss: float
    ns_per_sample: float
    ns_per_sample_block: float
    block_size: int
    core_percent: float
    realtime_factor: float
    timing_noisy: bool
    epochs: int
    train_seconds: float
    in_band: bool
    phase: str
    model_path: str = ""
    dtype: str = "float32"
    grid_max_abs_error: float = math.nan
    timing_spread: float = 0.0

    @property
    def architecture(self) -> Architecture:
        return Architecture(self.depth, self.width, self.activation)

    @property
    def label(self) -> str:
        """``"2x8 tanh"``, with `` f64`` for a model that runs in float64."""
        suffix = " f64" if self.dtype == "float64" else ""
        return f"{self.depth}x{self.width} {self.activation}{suffix}"

    @property
    def key(self) -> str:
        """The architecture's key: one study trial per depth x width x activation."""
        return self.architecture.key

    @property
    def lane_score(self) -> int:
        return lane_score(self.depth, self.width, self.lanes)

    @property
    def n_params(self) -> int:
        return self.architecture.n_params

    @property
    def macs_per_sample(self) -> int:
        return self.architecture.macs_per_sample

    def meets(self, eps: float) -> bool:
        """Whether the engine model's certified max abs error is within ``eps``."""
        return self.max_abs_error <= eps

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            label=self.label,
            lane_score=self.lane_score,
            n_params=self.n_params,
            macs_per_sample=self.macs_per_sample,
        )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateScore:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def pareto_front(costs: Sequence[float], errors: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats on both cost and error, cheapest first.

    A point is dominated when another is no worse on both and strictly better on one. Ties
    (equal cost and error) keep the first. Non-finite errors never enter the front.
    """
    if len(costs) != len(errors):
        msg = f"pareto_front: {len(costs)} costs but {len(errors)} errors"
        raise InputError(msg)
    order = sorted(
        (i for i in range(len(costs)) if math.isfinite(errors[i]) and math.isfinite(costs[i])),
        key=lambda i: (costs[i], errors[i], i),
    )
    front: list[int] = []
    best = math.inf
    for i in order:
        if errors[i] < best:
            front.append(i)
            best = errors[i]
    return front


def rank_correlation(predicted: Sequence[float], measured: Sequence[float]) -> float | None:
    """Spearman's rho between a cost proxy and measured costs; None when it is undefined.

    Undefined means fewer than three candidates or a constant sequence (no ranking to compare).
    """
    from scipy.stats import spearmanr

    p = np.asarray(predicted, dtype=np.float64)
    m = np.asarray(measured, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(m)
    p, m = p[ok], m[ok]
    if p.size < 3 or np.ptp(p) == 0 or np.ptp(m) == 0:
        return None
    rho = float(spearmanr(p, m).statistic)
    return rho if math.isfinite(rho) else None


@dataclass(frozen=True)
class Choice:
    """The chosen candidate and why.

    ``met`` says whether the winner meets the request: eps, and with a budget also the budget
    (then ``winner`` is the most accurate within it, and ``met`` is False if even it misses
    eps). When nothing qualifies ``winner`` is the closest candidate (most accurate, or
    cheapest for an impossible budget) and ``message`` says so.
    """

    winner: CandidateScore | None
    met: bool
    message: str
    closest: tuple[CandidateScore, ...]


#: Measured costs closer than this (relative) are a tie: timing repeats on a shared machine
#: scatter by about this much, so the tie goes to the net with fewer lanes and MACs. A
#: candidate whose own repeats scattered more (``timing_spread``) widens its ties to that.
COST_TIE = 0.10


def measurably_cheaper(d: CandidateScore, c: CandidateScore) -> bool:
    """Whether ``d`` costs less than ``c`` by more than the timing noise of either: the gap
    must exceed ``max(COST_TIE, d's spread, c's spread)`` of ``d``'s cost."""
    tie = max(COST_TIE, d.timing_spread, c.timing_spread)
    return c.ns_per_sample - d.ns_per_sample > tie * d.ns_per_sample


def cheapest_meeting(candidates: Sequence[CandidateScore], eps: float) -> CandidateScore | None:
    """The cheapest candidate meeting ``eps``, stable under timing noise: in (lane score, MACs
    per sample) order, the first one that no other meeting candidate is
    :func:`measurably_cheaper` than (None when none meets eps). The search's log and the
    summary both name this one."""
    meeting = [c for c in candidates if c.meets(eps)]
    for c in sorted(meeting, key=lambda c: (c.lane_score, c.macs_per_sample, c.ns_per_sample)):
        if not any(measurably_cheaper(d, c) for d in meeting):
            return c
    return None


def _budget_cost(c: CandidateScore, budget_ns: float | None) -> float:
    return c.ns_per_sample if budget_ns is not None else c.core_percent


def choose(
    candidates: Sequence[CandidateScore],
    eps: float,
    *,
    budget_ns: float | None = None,
    budget_core_percent: float | None = None,
) -> Choice:
    """Pick the winner.

    Without a budget: the cheapest (measured ns/sample) candidate whose max abs error meets
    ``eps``, measured costs within the timing noise of each other counting as equal (then the
    smaller net wins: :func:`cheapest_meeting`). With ``budget_ns`` (ns/sample, per-sample
    mode) or ``budget_core_percent`` (% of one core at the sample rate): the most accurate
    candidate within the budget.
    """
    if budget_ns is not None and budget_core_percent is not None:
        msg = "give at most one of budget_ns and budget_core_percent"
        raise InputError(msg)
    pool = [c for c in candidates if math.isfinite(c.max_abs_error)]
    if not pool:
        return Choice(None, False, "no candidate produced a finite model; nothing to choose", ())
    by_error = sorted(pool, key=lambda c: (c.max_abs_error, c.ns_per_sample))
    if budget_ns is None and budget_core_percent is None:
        meeting = sorted((c for c in pool if c.meets(eps)), key=lambda c: c.ns_per_sample)
        if meeting:
            w = cheapest_meeting(meeting, eps)
            assert w is not None
            text = (
                f"{w.label} is the cheapest model meeting eps = {eps:.3g}: max abs error <= "
                f"{w.max_abs_error:.3g} (certified) at {w.ns_per_sample:.1f} ns/sample"
            )
            return Choice(w, True, text, tuple(meeting[:5]))
        w = by_error[0]
        text = (
            f"no candidate meets eps = {eps:.3g} (certified max abs error of the engine's model "
            f"on the whole range); closest: {w.label} with max abs error <= "
            f"{w.max_abs_error:.3g} (certified) at {w.ns_per_sample:.1f} ns/sample"
        )
        return Choice(w, False, text, tuple(by_error[:5]))
    limit = budget_ns if budget_ns is not None else budget_core_percent
    assert limit is not None
    unit = "ns/sample" if budget_ns is not None else "% of a core"
    within = [c for c in by_error if _budget_cost(c, budget_ns) <= limit]
    if within:
        w = within[0]
        note = "" if w.meets(eps) else f" (it does not meet eps = {eps:.3g})"
        text = (
            f"{w.label} is the most accurate model within {limit:.4g} {unit}: max abs error <= "
            f"{w.max_abs_error:.3g} (certified) at {_budget_cost(w, budget_ns):.4g} {unit}{note}"
        )
        return Choice(w, w.meets(eps), text, tuple(within[:5]))
    cheapest = sorted(pool, key=lambda c: _budget_cost(c, budget_ns))
    w = cheapest[0]
    text = (
        f"no candidate fits the budget of {limit:.4g} {unit}; the cheapest, {w.label}, needs "
        f"{_budget_cost(w, budget_ns):.4g} {unit}; raise the budget"
    )
    return Choice(w, False, text, tuple(cheapest[:5]))
