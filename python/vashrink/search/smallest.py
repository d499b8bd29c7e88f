"""The shrink search: the smallest net that meets eps, found by growing width depth by depth.

With a trainer that reaches what an architecture can represent (Levenberg-Marquardt with
multi-start and minimax refinement, :mod:`vashrink.train`), error falls with width at a fixed
depth, and a bigger net warm-started from a smaller one is never worse. So for each activation
and each depth (1, 2, ...) the search *gallops* over widths (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, ...)
until one meets eps, then *bisects* down to the narrowest width that does. Every candidate is
ordered by its cost key ``(lane score, MACs per sample)``, cheapest first (the lane score is the
talk's SIMD cost ``depth * ceil(width / lanes)``; MACs break ties inside one lane level), and a
candidate whose key is not below the best net already meeting eps (of any activation) is never
trained: so the search stops growing as soon as eps is met, and deeper nets are tried only while
they could be cheaper. Activations take turns at every width, so a ReLU net that represents a
clipper exactly at depth 1 stops the tanh search from growing past it.

Every trained candidate is a trial of the Optuna study (see :mod:`.study`), so a killed run
resumes without retraining what finished, and several processes can share one study.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..model.architecture import Architecture, lane_score
from .score import CandidateScore, cheapest_meeting
from .study import Evaluate, Runner, completed_scores, recover_interrupted

__all__ = ["GALLOP_WIDTHS", "SearchLimits", "cost_key", "find_smallest", "gallop_widths"]

#: Widths tried first at each depth (about 1.4x apart), before bisecting between two of them.
GALLOP_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def cost_key(arch: Architecture, lanes: int) -> tuple[int, int]:
    """``(lane score, MACs per sample)``: the order in which candidates are worth trying."""
    return lane_score(arch.depth, arch.width, lanes), arch.macs_per_sample


def gallop_widths(width_max: int) -> list[int]:
    """:data:`GALLOP_WIDTHS` up to ``width_max``, ending with ``width_max`` itself."""
    out = [w for w in GALLOP_WIDTHS if w < width_max]
    return [*out, width_max]


@dataclass(frozen=True)
class SearchLimits:
    """How far the search may grow, and when it gives up.

    ``trials`` caps the trained candidates of the study (earlier runs included);
    ``cost_limit_ns`` skips candidates whose estimated ns/sample exceeds a CPU budget.
    """

    depth_max: int = 6
    width_max: int = 32
    trials: int = 200
    cost_limit_ns: float | None = None

    def __post_init__(self) -> None:
        if self.depth_max < 1 or self.width_max < 1 or self.trials < 1:
            msg = (
                "depth and width limits and trials must be at least 1, got "
                f"{self.depth_max}, {self.width_max}, {self.trials}"
            )
            raise InputError(msg)


class _Search:
    """One run of the galloping search over the study held by ``runner``."""

    def __init__(
        self,
        runner: Runner,
        eps: float,
        lanes: int,
        limits: SearchLimits,
        cost_of: Callable[[Architecture], float] | None,
        say: Callable[[str], None],
    ) -> None:
        self.runner, self.eps, self.lanes, self.limits = runner, eps, lanes, limits
        self.cost_of, self.say = cost_of, say

    def best(self, activation: str | None = None) -> CandidateScore | None:
        """The cheapest candidate meeting eps (of ``activation``, or of any)."""
        meeting = [
            c for c in self.runner.done.values()
            if c.meets(self.eps) and (activation is None or c.activation == activation)
        ]
        return min(meeting, key=lambda c: cost_key(c.architecture, self.lanes), default=None)

    def worth(self, arch: Architecture) -> bool:
        best = self.best()
        if best is not None and cost_key(arch, self.lanes) >= cost_key(best.architecture,
                                                                        self.lanes):
            return False
        limit = self.limits.cost_limit_ns
        return not (limit is not None and self.cost_of is not None and self.cost_of(arch) > limit)

    def full(self) -> bool:
        return len(self.runner.done) >= self.limits.trials

    def score_of(self, arch: Architecture) -> CandidateScore | None:
        """The score of ``arch``, training it first when the study does not hold it yet; None
        when the trial cap is reached or its training produced no score (said in the log)."""
        known = self.runner.done.get(arch.key)
        if known is not None:
            return known
        if self.full():
            return None
        self.say(f"training {arch.key}")
        self.runner.run_batch([arch], "search")
        score = self.runner.done.get(arch.key)
        if score is None:
            self.say(f"{arch.key}: training produced no model (trial failed); skipped")
        return score

    def depth(self, depth: int, activations: Sequence[str]) -> None:
        """Gallop over widths at ``depth`` (activations in turn at each width), then bisect."""
        failed = dict.fromkeys(activations, 0)
        met: dict[str, int] = {}
        open_ = list(activations)
        for width in gallop_widths(self.limits.width_max):
            for activation in list(open_):
                arch = Architecture(depth, width, activation)
                if not self.worth(arch):
                    open_.remove(activation)
                    continue
                score = self.score_of(arch)
                if score is None:
                    if self.full():
                        return
                    open_.remove(activation)
                    continue
                if score.meets(self.eps):
                    met[activation] = width
                    open_.remove(activation)
                else:
                    failed[activation] = width
            if not open_:
                break
        for activation, hi in met.items():
            self.bisect(depth, activation, failed[activation], hi)

    def bisect(self, depth: int, activation: str, lo: int, hi: int) -> None:
        """Narrow ``lo`` (fails; 0: nothing narrower tried) .. ``hi`` (meets) to one width."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            arch = Architecture(depth, mid, activation)
            if not self.worth(arch):
                return
            score = self.score_of(arch)
            if score is None:
                return
            if score.meets(self.eps):
                hi = mid
            else:
                lo = mid

    def run(self, activations: Sequence[str]) -> None:
        """Depth by depth, each activation in turn: a small net of any activation that meets
        eps early prunes every costlier candidate of the others."""
        live = list(activations)
        for depth in range(1, self.limits.depth_max + 1):
            for activation in list(live):
                if not self.worth(Architecture(depth, 1, activation)):
                    self.say(f"{activation}: depth {depth} and deeper cannot be cheaper; stopped")
                    live.remove(activation)
            if not live:
                return
            if len(self.runner.done) >= self.limits.trials:
                self.say(f"stopped: the study holds {self.limits.trials} trained candidates")
                return
            self.depth(depth, live)


def find_smallest(
    study: object,
    evaluate: Evaluate,
    *,
    eps: float,
    activations: Sequence[str],
    lanes: int,
    limits: SearchLimits | None = None,
    cost_of: Callable[[Architecture], float] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, CandidateScore]:
    """Run (or resume) the galloping search, depth by depth, each activation in turn.

    Args:
        study: from :func:`.study.open_study`; finished trials are reused, never retrained.
        evaluate: trains and scores a batch (see :data:`.study.Evaluate`).
        eps: the max abs error to meet (checked in the precision the model runs in).
        activations: hidden activations to search, each on its own.
        lanes: SIMD lanes of the target (for the lane score).
        limits: depth/width/trial caps and a CPU budget.
        cost_of: ns/sample estimate of an untrained architecture (for the budget).
        log: receives one line per step.

    Returns:
        Every scored candidate of the study, by key.
    """
    if not activations:
        msg = "give at least one activation to search"
        raise InputError(msg)
    limits = limits or SearchLimits()
    say = log or (lambda _text: None)
    lost = recover_interrupted(study)
    if lost:
        say(f"resuming: {len(lost)} trial(s) interrupted by an earlier run will be trained again")
    runner = Runner(study, evaluate, limits.depth_max, max(limits.width_max, 1),
                    activations=tuple(activations))
    if runner.done:
        say(f"resuming: {len(runner.done)} candidate(s) already trained are reused")
    search = _Search(runner, eps, lanes, limits, cost_of, say)
    search.run(activations)
    if not runner.done:
        cheapest = Architecture(1, 1, activations[0])
        say(f"nothing fits the CPU budget; training the cheapest, {cheapest.key}, to compare")
        runner.run_batch([cheapest], "search")
    if not runner.done:
        msg = (
            "no candidate could be trained (every trial failed); rerun with --no-progress to "
            "see the log, or try another activation or range"
        )
        raise InputError(msg)
    best = cheapest_meeting(list(runner.done.values()), eps)  # the one the summary names
    if best is None:
        closest = min(runner.done.values(), key=lambda c: c.max_abs_error)
        say(f"no candidate meets eps = {eps:.3g}; the closest is {closest.label} "
            f"({closest.max_abs_error:.2g})")
    elif math.isfinite(best.max_abs_error):
        say(f"{best.label} meets eps = {eps:.3g} (max abs error <= {best.max_abs_error:.2g}, "
            "certified)")
    return completed_scores(study)
