"""Which GRU/LSTM/WaveNet candidates to train, smallest measured cost first, and when to stop
growing.

Training a candidate on minutes of audio takes tens of seconds, so the search trains as few as it
can. Every shape's cost is measured in the engine before anything is trained (ns/sample does not
depend on the weights). A family is a cell with a number of stacked layers (``lstm``,
``lstm-2x``), or ``wavenet`` (one layer array of dilated convolutions whose depth covers the gear's
memory, :attr:`CaptureLimits.wavenet_depth`). Each family has a ladder of sizes (:data:`LADDERS`:
hidden sizes of :data:`HIDDEN_LADDER` for GRU/LSTM, channel counts of
:data:`~vashrink.model.wavenet_shape.WAVENET_CHANNELS` for WaveNet), tried from a starting rung
(one-layer GRU/LSTM: the memory bound's suggestion; a deeper family or a WaveNet: the rung
costing about what the cheapest one-layer start costs): upward in growing steps (1, 2, 4 rungs)
until one meets the ESR target, then bisected down to the smallest that does; downward the same
way when the start already meets it. One-layer families go first, in order of their start's
cost; a candidate that could not be the choice is never trained: one whose measured cost is not
below the cheapest model already meeting the target, of any family, unless it is within the
choice's cost tie with fewer MACs (the tie goes to fewer MACs, so it could still win).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InputError
from ..model.architecture import CELLS, SEARCH_RNN_LAYERS, RecurrentArchitecture
from ..model.wavenet_shape import (
    DEFAULT_CELLS,
    SEARCH_CELLS,
    WAVENET,
    WAVENET_CHANNELS,
    WAVENET_DEPTH,
    WaveNetShape,
)
from .capture_score import CaptureScore, cheapest_within_noise
from .score import COST_TIE

__all__ = [
    "DEFAULT_CELLS",
    "HIDDEN_LADDER",
    "SEARCH_CELLS",
    "WAVENET_DEPTH",
    "CaptureLimits",
    "PlanOutcome",
    "hidden_ladder",
    "plan_capture",
]

#: The hidden sizes a search tries: AIDA-X's and NAM's shipped sizes, with smaller rungs below.
HIDDEN_LADDER = (2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64, 80)


Shape = RecurrentArchitecture | WaveNetShape
Family = tuple[str, int]
Train = Callable[[Shape], CaptureScore | None]
Cost = Callable[[Shape], float]


@dataclass(frozen=True)
class CaptureLimits:
    """What a capture search may try: cells, stacked layers, the largest hidden size, skip, the
    most trainings."""

    cells: tuple[str, ...] = DEFAULT_CELLS
    hidden_max: int = 40
    skip: bool = False
    trials: int = 24
    layers: tuple[int, ...] = SEARCH_RNN_LAYERS
    wavenet_depth: int = WAVENET_DEPTH

    def __post_init__(self) -> None:
        if not self.cells or any(c not in SEARCH_CELLS for c in self.cells):
            msg = (f"cells must be some of {', '.join(SEARCH_CELLS)}, "
                   f"got {', '.join(self.cells) or 'none'}")
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
        """``(cell, layers)`` pairs the search explores (a WaveNet: one layer array)."""
        return [(c, n) for n in sorted(set(self.layers)) for c in self.cells
                if n in LADDERS[c].stacks]

    def arch(self, family: Family, size: int) -> Shape:
        """The shape of ``family`` at the rung ``size`` (hidden units or channels)."""
        return LADDERS[family[0]].shape(self, family[1], size)

    def rungs(self, family: Family) -> list[int]:
        """The sizes ``family`` ladders over."""
        return LADDERS[family[0]].rungs(self)

    def shapes(self) -> list[Shape]:
        """Every shape the search may train (what is timed before training)."""
        return [self.arch(f, h) for f in self.families for h in self.rungs(f)]


@dataclass(frozen=True)
class Ladder:
    """How a family's rungs become shapes: ``shape(limits, layers, size)``, its ``rungs``,
    the ``stacks`` (layers) it takes, and whether its one-layer start is the memory bound's
    suggested hidden size (``from_data``; else the rung costing about what the cheapest such
    start costs)."""

    shape: Callable[[CaptureLimits, int, int], Shape]
    rungs: Callable[[CaptureLimits], list[int]]
    stacks: tuple[int, ...]
    from_data: bool = True


def _recurrent_ladder(cell: str) -> Ladder:
    return Ladder(lambda lim, n, h: RecurrentArchitecture(cell, h, lim.skip, n),
                  lambda lim: hidden_ladder(lim.hidden_max), SEARCH_RNN_LAYERS)


#: The ladder of each family in :data:`SEARCH_CELLS`: where a new family plugs into the plan.
LADDERS: dict[str, Ladder] = {
    **{cell: _recurrent_ladder(cell) for cell in CELLS},
    WAVENET: Ladder(lambda lim, _n, c: WaveNetShape(c, lim.wavenet_depth),
                    lambda _lim: list(WAVENET_CHANNELS), (1,), from_data=False),
}


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

    def could_win(self, arch: Shape) -> bool:
        """Whether ``arch`` could still be the choice (:func:`.capture_score.choose_capture`):
        cheaper than every model meeting the target, or within the cost tie of the cheapest
        with fewer MACs than the one chosen so far (the tie goes to fewer MACs)."""
        meeting = [c for c in self.scores.values() if c.meets(self.target)]
        if not meeting:
            return True
        floor = min(c.ns_per_sample for c in meeting)
        cost = self.cost(arch)
        if cost < floor:
            return True
        chosen = cheapest_within_noise(meeting)
        return cost <= (1.0 + COST_TIE) * floor and arch.macs_per_sample < chosen.macs_per_sample

    def meets(self, family: Family, hidden: int) -> bool | None:
        """Whether this rung meets the target, training it when needed; True also when it cannot
        be the cheapest (nothing above it need be tried), None when no trainings are left."""
        arch = self.limits.arch(family, hidden)
        if arch.label in self.scores:
            return self.scores[arch.label].meets(self.target)
        if not self.could_win(arch):
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
    plan = _Plan(limits, train, cost, done or {}, esr_target)
    plan.trained = len(plan.scores)
    cells = list(limits.cells)
    families = limits.families
    if not families:
        msg = (f"--layers {', '.join(map(str, limits.layers))} leaves no family of "
               f"{', '.join(cells)} to search (a WaveNet has one layer array: add 1)")
        raise InputError(msg)

    def allowed(family: Family) -> list[int]:
        rungs = limits.rungs(family)
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
    starts = {f: _first(f, at[f], limits, cost, start_hidden, cost_limit) for f in families
              if LADDERS[f[0]].from_data and f[1] == 1}
    starts.update({f: _first(f, at[f], limits, cost, start_hidden, cost_limit, starts)
                   for f in families if f not in starts})
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
           start_hidden: int, cost_limit: float | None,
           one_layer: dict[Family, int] | None = None) -> int:
    """Where a family starts: its costliest rung under a budget, else the rung nearest the data's
    suggestion (a one-layer GRU/LSTM), the rung costing about what that one-layer start costs (a
    deeper stack), or about what the cheapest one-layer start costs (a WaveNet)."""
    if cost_limit is not None:
        return len(rungs) - 1
    nearest = min(range(len(rungs)), key=lambda i: (abs(rungs[i] - start_hidden), rungs[i]))
    if one_layer is None:
        return nearest
    if (family[0], 1) in one_layer and family[1] > 1:
        own = (family[0], 1)
        ref = cost(limits.arch(own, limits.rungs(own)[one_layer[own]]))
    elif one_layer and not LADDERS[family[0]].from_data:
        ref = min(cost(limits.arch(f, limits.rungs(f)[i])) for f, i in one_layer.items())
    else:
        return nearest
    return min(range(len(rungs)), key=lambda i: (abs(cost(limits.arch(family, rungs[i])) - ref),
                                                 rungs[i]))
