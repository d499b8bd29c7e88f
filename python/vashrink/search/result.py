"""What a shrink or grid run hands on: the typed result of the search stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .score import CandidateScore

__all__ = ["INTERRUPTED_NOTE", "SearchInterrupted", "ShrinkResult"]

#: The note an interrupted run's summary and report carry.
INTERRUPTED_NOTE = ("interrupted: the summary covers the finished candidates; run the same "
                    "command again to resume")


@dataclass(frozen=True)
class ShrinkResult:
    """What a shrink or grid run found.

    ``winner`` is the cheapest candidate meeting eps (or the most accurate within the budget);
    when ``met`` is False it is the closest candidate and ``message`` says so. ``pareto`` lists
    the labels on the error-vs-measured-cost front, cheapest first. ``spearman`` is the rank
    correlation of lane score vs measured ns/sample. ``mac_epochs`` sums
    ``macs_per_sample * epochs`` over trained candidates (training compute, per training sample).
    """

    kind: str
    target: str
    a: float
    b: float
    eps: float
    activation: str
    lanes: int
    block_size: int
    budget_ns: float | None
    budget_core_percent: float | None
    candidates: tuple[CandidateScore, ...]
    pareto: tuple[str, ...]
    winner: CandidateScore | None
    met: bool
    message: str
    closest: tuple[CandidateScore, ...]
    spearman: float | None
    notes: tuple[str, ...]
    out_dir: Path
    exports: dict[str, str] = field(default_factory=dict)
    report: str | None = None
    bounds: dict[str, Any] | None = None
    band: tuple[str, ...] = ()
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def candidate_epochs(self) -> int:
        return sum(c.epochs for c in self.candidates)

    @property
    def mac_epochs(self) -> int:
        return sum(c.macs_per_sample * c.epochs for c in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        out = {
            k: v for k, v in asdict(self).items() if k not in ("candidates", "winner", "closest")
        }
        out["out_dir"] = str(self.out_dir)
        out["candidate_epochs"] = self.candidate_epochs
        out["mac_epochs"] = self.mac_epochs
        out["candidates"] = [c.to_dict() for c in self.candidates]
        out["winner"] = self.winner.to_dict() if self.winner else None
        out["closest"] = [c.label for c in self.closest]
        return out


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a shrink or grid search, after the finished candidates were chosen from,
    exported and reported: ``result`` is that (interrupted) result."""

    def __init__(self, result: ShrinkResult) -> None:
        super().__init__("interrupted")
        self.result = result
