"""Which GRU/LSTM candidates to train, smallest measured cost first, and when to stop growing.

Training a recurrent candidate on minutes of audio takes tens of seconds, so the search trains as
few as it can. Every shape's cost is measured in the engine before anything is trained (ns/sample
does not depend on the weights). For each cell the hidden sizes of :data:`HIDDEN_LADDER` are tried
from the data's starting point (the memory bound's suggestion): upward in growing steps (1, 2, 4
rungs) until one meets the ESR target, then bisected down to the smallest that does; downward the
same way when the start already meets it. A candidate whose measured cost is not below the cheapest
model already meeting the target, of either cell, is never trained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..model.architecture import CELLS, RecurrentArchitecture
from .capture_score import CaptureScore

__all__ = ["HIDDEN_LADDER", "CaptureLimits", "PlanOutcome", "hidden_ladder", "plan_capture"]

#: The hidden sizes a search tries: AIDA-X's and NAM's shipped sizes, with smaller rungs below.
HIDDEN_LADDER = (2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64, 80)

Train = Callable[[RecurrentArchitecture], CaptureScore | None]
Cost = Callable[[RecurrentArchitecture], float]


@dataclass(frozen=True)
class CaptureLimits:
    """What a capture search may try: cells, the largest hidden size, skip, the most trainings."""

    cells: tuple[str, ...] = CELLS
    hidden_max: int = 40
    skip: bool = False
    trials: int = 24

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

    def meets(self, cell: str, hidden: int) -> bool | None:
        """Whether this rung meets the target, training it when needed; True also when it cannot
        be the cheapest (nothing above it need be tried), None when no trainings are left."""
        arch = RecurrentArchitecture(cell, hidden, self.limits.skip)
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

    def cell(self, cell: str, rungs: list[int], start: int) -> None:
        ok = self.meets(cell, rungs[start])
        if ok is None:
            return
        if ok:
            self.bisect(cell, rungs, -1, start)
            return
        lo, step = start, 1
        while lo + step < len(rungs):
            hi = lo + step
            ok = self.meets(cell, rungs[hi])
            if ok is None:
                return
            if ok:
                self.bisect(cell, rungs, lo, hi)
                return
            lo, step = hi, step * 2
        last = len(rungs) - 1
        if lo < last and self.meets(cell, rungs[last]):
            self.bisect(cell, rungs, lo, last)

    def bisect(self, cell: str, rungs: list[int], lo: int, hi: int) -> None:
        """``rungs[hi]`` meets the target and ``rungs[lo]`` does not (``lo = -1``: unknown)."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok = self.meets(cell, rungs[mid])
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
    cells_order: Sequence[str] | None = None,
    cost_limit: float | None = None,
) -> PlanOutcome:
    """Run the search; ``train`` trains and scores one candidate (None: it failed), ``cost`` is
    its measured ns/sample, ``done`` holds candidates already scored (a resumed run; they count
    towards ``limits.trials``).

    With ``cost_limit`` (a budget, ns/sample) only shapes within it are tried, and each cell
    starts from its costliest one (the most capacity the budget allows), going down only if that
    meets the target.
    """
    rungs = hidden_ladder(limits.hidden_max)
    plan = _Plan(limits, train, cost, done or {}, esr_target)
    plan.trained = len(plan.scores)
    order = list(cells_order or limits.cells)

    def allowed(cell: str) -> list[int]:
        if cost_limit is None:
            return rungs
        return [h for h in rungs if cost(RecurrentArchitecture(cell, h, limits.skip)) <= cost_limit]

    def first(cell_rungs: list[int]) -> int:
        if cost_limit is not None:
            return len(cell_rungs) - 1
        return min(range(len(cell_rungs)),
                   key=lambda i: (abs(cell_rungs[i] - start_hidden), cell_rungs[i]))

    at = {c: allowed(c) for c in order}
    order = [c for c in order if at[c]]
    order.sort(key=lambda c: cost(RecurrentArchitecture(c, at[c][first(at[c])], limits.skip)))
    for cell in order:
        plan.cell(cell, at[cell], first(at[cell]))
    return PlanOutcome(plan.scores, plan.exhausted)
