"""Which GRU/LSTM candidates to train, smallest measured cost first, and when to stop growing.

Training a recurrent candidate on minutes of audio takes tens of seconds, so the search trains as
few as it can. Every shape's cost is measured in the engine before anything is trained (ns/sample
does not depend on the weights). A family is a cell with a number of stacked layers (``lstm``,
``lstm-2x``). For each family the hidden sizes of :data:`HIDDEN_LADDER` are tried from the data's
starting point (the memory bound's suggestion; a deeper family starts at the rung costing about
what the one-layer start costs): upward in growing steps (1, 2, 4 rungs) until one meets the ESR
target, then bisected down to the smallest that does; downward the same way when the start already
meets it. One-layer families go first; a candidate whose measured cost is not below the cheapest
model already meeting the target, of any family, is never trained.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InputError
from ..model.architecture import CELLS, SEARCH_RNN_LAYERS, RecurrentArchitecture
from .capture_score import CaptureScore

__all__ = [
    "HIDDEN_LADDER",
    "CaptureLimits",
    "PlanOutcome",
    "hidden_ladder",
    "plan_capture",
]

#: The hidden sizes a search tries: AIDA-X's and NAM's shipped sizes, with smaller rungs below.
HIDDEN_LADDER = (2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64, 80)

Family = tuple[str, int]
Train = Callable[[RecurrentArchitecture], CaptureScore | None]
Cost = Callable[[RecurrentArchitecture], float]


@dataclass(frozen=True)
class CaptureLimits:
    """What a capture search may try: cells, stacked layers, the largest hidden size, skip, the
    most trainings."""

    cells: tuple[str, ...] = CELLS
    hidden_max: int = 40
    skip: bool = False
    trials: int = 24
    layers: tuple[int, ...] = SEARCH_RNN_LAYERS

    def __post_init__(self) -> None:
        if not self.cells or any(c not in CELLS for c in self.cells):
            msg = f"cells must be some of {', '.join(CELLS)}, got {', '.join(self.cells) or 'none'}"
            raise InputError(msg)
        if self.hidden_max < HIDDEN_LADDER[0]:
            msg = f"--hidden-max must be at least {HIDDEN_LADDER[0]}, got {self.hidden_max}"
            raise InputError(msg)
        if self.trials < 1:
            msg = f"--trials must be at least 1, got {self.trials}"
            raise InputError(msg)
        if not self.layers or any(n not in SEARCH_RNN_LAYERS for n in self.layers):
            shown = ", ".join(map(str, self.layers)) or "none"
            allowed = ", ".join(map(str, SEARCH_RNN_LAYERS))
            msg = f"--layers must be some of {allowed}, got {shown}"
            raise InputError(msg)

    @property
    def families(self) -> list[Family]:
        """``(cell, layers)`` pairs the search explores."""
        return [(c, n) for n in sorted(set(self.layers)) for c in self.cells]

    def arch(self, family: Family, hidden: int) -> RecurrentArchitecture:
        return RecurrentArchitecture(family[0], hidden, self.skip, family[1])

    def shapes(self) -> list[RecurrentArchitecture]:
        """Every shape the search may train (what is timed before training)."""
        rungs = hidden_ladder(self.hidden_max)
        return [self.arch(f, h) for f in self.families for h in rungs]


def hidden_ladder(hidden_max: int) -> list[int]:
    """The rungs of :data:`HIDDEN_LADDER` up to ``hidden_max`` (``hidden_max`` itself included)."""
    rungs = [h for h in HIDDEN_LADDER if h <= hidden_max]
    if rungs[-1] != hidden_max:
        rungs.append(hidden_max)
    return rungs


class _Plan:
    def __init__(
        self,
        limits: CaptureLimits,
        train: Train,
        cost: Cost,
        done: dict[str, CaptureScore],
        esr_target: float,
    ) -> None:
        self.limits, self._train, self.cost = limits, train, cost
        self.scores = dict(done)
        self.target = esr_target
        self.trained = 0
        self.exhausted = False

    def best_cost(self) -> float:
        meeting = [c.ns_per_sample for c in self.scores.values() if c.meets(self.target)]
        return min(meeting, default=float("inf"))

    def meets(self, family: Family, hidden: int) -> bool | None:
        """Whether this rung meets the target, training it when needed; True also when it cannot
        be the cheapest (nothing above it need be tried), None when no trainings are left."""
        arch = self.limits.arch(family, hidden)
        if arch.label in self.scores:
            return self.scores[arch.label].meets(self.target)
        if self.cost(arch) >= self.best_cost():
            return True
        if self.trained >= self.limits.trials:
            self.exhausted = True
            return None
        self.trained += 1
        score = self._train(arch)
        if score is None:
            return False
        self.scores[arch.label] = score
        return score.meets(self.target)

    def family(self, family: Family, rungs: list[int], start: int) -> None:
        ok = self.meets(family, rungs[start])
        if ok is None:
            return
        if ok:
            self.bisect(family, rungs, -1, start)
            return
        lo, step = start, 1
        while lo + step < len(rungs):
            hi = lo + step
            ok = self.meets(family, rungs[hi])
            if ok is None:
                return
            if ok:
                self.bisect(family, rungs, lo, hi)
                return
            lo, step = hi, step * 2
        last = len(rungs) - 1
        if lo < last and self.meets(family, rungs[last]):
            self.bisect(family, rungs, lo, last)

    def budget_family(self, family: Family, rungs: list[int]) -> None:
        """Under a budget the choice is the lowest ESR within it, so the costliest rung (the most
        capacity allowed) is trained whatever it costs against the others; a lower rung only
        when that one gives no finite model."""
        for hidden in reversed(rungs):
            arch = self.limits.arch(family, hidden)
            if arch.label not in self.scores:
                if self.trained >= self.limits.trials:
                    self.exhausted = True
                    return
                self.trained += 1
                score = self._train(arch)
                if score is None:
                    continue
                self.scores[arch.label] = score
            if math.isfinite(self.scores[arch.label].esr):
                return

    def bisect(self, family: Family, rungs: list[int], lo: int, hi: int) -> None:
        """``rungs[hi]`` meets the target and ``rungs[lo]`` does not (``lo = -1``: unknown)."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok = self.meets(family, rungs[mid])
            if ok is None:
                return
            lo, hi = (lo, mid) if ok else (mid, hi)


@dataclass(frozen=True)
class PlanOutcome:
    """The scores a search ended with, and whether it stopped because ``trials`` ran out."""

    scores: dict[str, CaptureScore]
    exhausted: bool


def plan_capture(
    limits: CaptureLimits,
    esr_target: float,
    train: Train,
    cost: Cost,
    *,
    start_hidden: int = 8,
    done: dict[str, CaptureScore] | None = None,
    cost_limit: float | None = None,
) -> PlanOutcome:
    """Run the search; ``train`` trains and scores one candidate (None: it failed), ``cost`` is
    its measured ns/sample, ``done`` holds candidates already scored (a resumed run; they count
    towards ``limits.trials``).

    With ``cost_limit`` (a budget, ns/sample) the choice is the lowest ESR within it: each
    family trains its costliest shape within the budget (the most capacity it allows) and no
    other unless that one fails. Raises :class:`InputError` when no shape fits the budget.
    """
    rungs = hidden_ladder(limits.hidden_max)
    plan = _Plan(limits, train, cost, done or {}, esr_target)
    plan.trained = len(plan.scores)
    cells = list(limits.cells)
    families = limits.families

    def allowed(family: Family) -> list[int]:
        if cost_limit is None:
            return rungs
        return [h for h in rungs if cost(limits.arch(family, h)) <= cost_limit]

    at = {f: allowed(f) for f in families}
    families = [f for f in families if at[f]]
    if not families:
        cheapest = min(limits.shapes(), key=cost)
        msg = (
            f"no shape fits the budget of {cost_limit:.3g} ns/sample: the cheapest, "
            f"{cheapest.label}, takes {cost(cheapest):.3g} ns/sample; raise the budget"
        )
        raise InputError(msg)
    starts = {f: _first(f, at[f], limits, cost, start_hidden, cost_limit) for f in families}
    # One layer first (the usual form); a deeper family then trains only what costs less than
    # the best model found so far.
    families.sort(key=lambda f: (f[1], cost(limits.arch(f, at[f][starts[f]])), cells.index(f[0])))
    for family in families:
        if cost_limit is None:
            plan.family(family, at[family], starts[family])
        else:
            plan.budget_family(family, at[family])
    return PlanOutcome(plan.scores, plan.exhausted)


def _first(family: Family, rungs: list[int], limits: CaptureLimits, cost: Cost,
           start_hidden: int, cost_limit: float | None) -> int:
    """Where a family starts: its costliest rung under a budget, else the rung nearest the data's
    suggestion (one layer) or the rung costing about what that one-layer start costs (deeper)."""
    if cost_limit is not None:
        return len(rungs) - 1
    nearest = min(range(len(rungs)), key=lambda i: (abs(rungs[i] - start_hidden), rungs[i]))
    if family[1] == 1 or (family[0], 1) not in limits.families:
        return nearest
    ref = cost(limits.arch((family[0], 1), rungs[nearest]))
    return min(range(len(rungs)), key=lambda i: (abs(cost(limits.arch(family, rungs[i])) - ref),
                                                 rungs[i]))
