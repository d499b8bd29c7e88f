"""What cooperating workers train next: the galloping search split into independent ladders.

The sequential search (:mod:`.smallest`) walks one *ladder* per (depth, activation): widths
1, 2, 3, 4, 6, 8, ... until one meets eps, then a bisection down to the narrowest that does.
Each ladder's next step depends only on its own results; ladders interact only through pruning
(nothing whose cost key ``(lane score, MACs)`` is not below the cheapest net already meeting
eps is trained). So workers run the ladders side by side: :func:`frontier` gives, for the
current state of the study, the next candidate of every ladder that is not waiting on a
candidate in flight, cheapest first, and a worker claims the first one nobody has claimed.

What stays sequential: the steps *within* a ladder (each waits for the previous result), so
with ``D`` depths and ``A`` activations at most ``D x A`` candidates train at once, and the
search takes at least as long as its longest ladder. Ladders of deeper nets start before the
shallow ones have finished, so some candidates are trained that the sequential search would
have pruned (the price of parallelism; the choice rule over all stored trials is unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..model.architecture import Architecture
from .score import CandidateScore
from .smallest import SearchLimits, cost_key, gallop_widths

__all__ = ["BUSY", "DEAD", "Plan", "frontier", "ladder_next"]

#: Status of a claimed architecture whose trial is running or queued.
BUSY = "busy"
#: Status of a claimed architecture whose trials all failed (retries used up).
DEAD = "dead"

#: ``status(arch)``: its score when trained, :data:`BUSY`, :data:`DEAD`, or None (unclaimed).
Status = Callable[[Architecture], "CandidateScore | str | None"]


@dataclass(frozen=True)
class Plan:
    """The state of the search: what can be trained now, and whether anything is pending."""

    ready: tuple[Architecture, ...]
    waiting: int

    @property
    def finished(self) -> bool:
        """Nothing to train and nothing in flight: the search is over."""
        return not self.ready and self.waiting == 0


def ladder_next(
    depth: int,
    activation: str,
    width_max: int,
    eps: float,
    status: Status,
    worth: Callable[[Architecture], bool],
) -> Architecture | str | None:
    """The next candidate of one ladder, :data:`BUSY` when it waits on one in flight, or None
    when the ladder is done (met and bisected, pruned, failed, or out of widths)."""

    def look(width: int) -> tuple[str, Architecture | str | None]:
        arch = Architecture(depth, width, activation)
        st = status(arch)
        if st is None:  # untrained: only worth training while it could beat the best
            return "stop", arch if worth(arch) else None
        if st == BUSY:
            return "stop", BUSY
        if st == DEAD or not isinstance(st, CandidateScore):
            return "stop", None
        return ("met" if st.meets(eps) else "failed"), None

    lo, hi = 0, None
    for width in gallop_widths(width_max):
        kind, step = look(width)
        if kind == "stop":
            return step
        if kind == "met":
            hi = width
            break
        lo = width
    if hi is None:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        kind, step = look(mid)
        if kind == "stop":
            return step
        if kind == "met":
            hi = mid
        else:
            lo = mid
    return None


def frontier(
    done: Mapping[str, CandidateScore],
    status: Status,
    *,
    eps: float,
    lanes: int,
    activations: Sequence[str],
    limits: SearchLimits,
    claimed: int,
    cost_of: Callable[[Architecture], float] | None = None,
) -> Plan:
    """The next candidate of every ladder (cheapest cost key first) and how many wait.

    ``claimed`` counts the architectures claimed so far: none is offered once it reaches
    ``limits.trials``.
    """
    meeting = [c for c in done.values() if c.meets(eps)]
    best = min((cost_key(c.architecture, lanes) for c in meeting), default=None)
    limit = limits.cost_limit_ns

    def worth(arch: Architecture) -> bool:
        if best is not None and cost_key(arch, lanes) >= best:
            return False
        return not (limit is not None and cost_of is not None and cost_of(arch) > limit)

    ready: list[Architecture] = []
    waiting = 0
    for depth in range(1, limits.depth_max + 1):
        for activation in activations:
            step = ladder_next(depth, activation, limits.width_max, eps, status, worth)
            if step == BUSY:
                waiting += 1
            elif isinstance(step, Architecture):
                ready.append(step)
    if claimed >= limits.trials:
        ready = []
    ready.sort(key=lambda a: (cost_key(a, lanes), a.depth))
    return Plan(tuple(ready), waiting)
