"""Score GRU/LSTM/WaveNet candidates trained on a recording, and choose the one to ship.

Error is the validation ESR (pre-emphasis ``1 - 0.85 z^-1``) of the model as our engine runs it,
streamed sample by sample from a zero state over the validation part of the recording, in the
precision it ships in; plain ESR, the DC term and the MSE are kept beside it. Cost is the engine's
measured ns/sample for the candidate's shape on this CPU, called one sample at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..model.architecture import RecurrentArchitecture
from ..model.wavenet_shape import WAVENET, WaveNetShape
from .score import COST_TIE, pareto_front

__all__ = ["CaptureChoice", "CaptureScore", "capture_pareto", "cheapest_within_noise",
           "choose_capture"]

SAMPLE_RATE_DEFAULT = 48000.0


@dataclass(frozen=True)
class CaptureScore:
    """One trained candidate: validation errors against measured cost. ``cell`` is the family
    (``gru``, ``lstm``, ``wavenet``); ``hidden`` the size the search ladders over (a WaveNet's
    channels), ``layers`` stacked cells (a WaveNet: layer arrays)."""

    label: str
    cell: str
    hidden: int
    skip: bool
    dtype: str
    esr: float
    esr_plain: float
    dc: float
    mse: float
    ns_per_sample: float
    sample_rate_hz: float
    n_params: int
    macs_per_sample: int
    model_path: str
    train_seconds: float
    epochs: int
    epoch_seconds: float
    stop_reason: str = ""
    layers: int = 1

    @property
    def architecture(self) -> RecurrentArchitecture | WaveNetShape:
        if self.cell == WAVENET:
            return WaveNetShape.parse(self.label)
        return RecurrentArchitecture(self.cell, self.hidden, self.skip, self.layers)

    @property
    def key(self) -> str:
        return self.label

    @property
    def core_percent(self) -> float:
        """Share of one core the model takes at the recording's sample rate."""
        return self.ns_per_sample * self.sample_rate_hz / 1e7

    def meets(self, esr_target: float) -> bool:
        return math.isfinite(self.esr) and self.esr <= esr_target

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["core_percent"] = self.core_percent
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptureScore:
        """Read :meth:`to_dict`'s output; an error stored as null (non-finite) is infinite."""
        names = cls.__dataclass_fields__
        out = {k: v for k, v in data.items() if k in names}
        for k in ("esr", "esr_plain", "dc", "mse"):
            if out.get(k, 0.0) is None:
                out[k] = math.inf
        return cls(**out)


@dataclass(frozen=True)
class CaptureChoice:
    """The chosen candidate and why (``met``: the ESR target, and the budget when given)."""

    winner: CaptureScore | None
    met: bool
    message: str


def cheapest_within_noise(meeting: Sequence[CaptureScore]) -> CaptureScore:
    """The choice among candidates that meet the target: the fewest MACs (then the lowest ESR)
    among those whose measured cost is within :data:`COST_TIE` of the cheapest."""
    floor = min(c.ns_per_sample for c in meeting)
    tied = [c for c in meeting if c.ns_per_sample <= (1.0 + COST_TIE) * floor]
    return min(tied, key=lambda c: (c.macs_per_sample, c.esr))


def choose_capture(
    candidates: Sequence[CaptureScore],
    esr_target: float,
    *,
    budget_core_percent: float | None = None,
) -> CaptureChoice:
    """Without a budget: the cheapest candidate meeting ``esr_target`` (measured costs within
    :data:`~vashrink.search.score.COST_TIE` tie, and the one with fewer MACs wins). With
    ``budget_core_percent``: the lowest ESR within the budget."""
    pool = [c for c in candidates if math.isfinite(c.esr)]
    if not pool:
        return CaptureChoice(None, False, "no candidate produced a finite model; nothing to choose")
    by_esr = sorted(pool, key=lambda c: (c.esr, c.ns_per_sample))
    if budget_core_percent is None:
        meeting = [c for c in pool if c.meets(esr_target)]
        if meeting:
            w = cheapest_within_noise(meeting)
            return CaptureChoice(
                w,
                True,
                (
                    f"{w.label} is the cheapest model meeting ESR {esr_target:.3g}: validation ESR "
                    f"{w.esr:.3g} at {w.ns_per_sample:.3g} ns/sample"
                ),
            )
        w = by_esr[0]
        return CaptureChoice(
            w,
            False,
            (
                f"no candidate meets ESR {esr_target:.3g} on the validation part; closest: "
                f"{w.label} with ESR {w.esr:.3g} at {w.ns_per_sample:.3g} ns/sample"
            ),
        )
    within = [c for c in by_esr if c.core_percent <= budget_core_percent]
    if within:
        w = within[0]
        note = "" if w.meets(esr_target) else f" (it does not meet ESR {esr_target:.3g})"
        return CaptureChoice(
            w,
            w.meets(esr_target),
            (
                f"{w.label} is the most accurate model within {budget_core_percent:.3g} % "
                "of a core: "
                f"validation ESR {w.esr:.3g} at {w.core_percent:.3g} %{note}"
            ),
        )
    w = min(pool, key=lambda c: c.core_percent)
    return CaptureChoice(
        w,
        False,
        (
            f"no candidate fits in {budget_core_percent:.3g} % of a core; the cheapest, {w.label}, "
            f"takes {w.core_percent:.3g} %"
        ),
    )


def capture_pareto(candidates: Sequence[CaptureScore]) -> list[CaptureScore]:
    """The candidates no other beats on both measured cost and validation ESR, cheapest first."""
    pool = [c for c in candidates if math.isfinite(c.esr)]
    front = pareto_front([c.ns_per_sample for c in pool], [c.esr for c in pool])
    return sorted((pool[i] for i in front), key=lambda c: c.ns_per_sample)
