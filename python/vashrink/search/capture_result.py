"""What a search over GRU/LSTM models of a recording hands on (``vashrink shrink --input``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .capture_score import CaptureScore

__all__ = ["CaptureResult"]


@dataclass(frozen=True)
class CaptureResult:
    """What a capture search found.

    ``winner`` is the cheapest candidate meeting ``esr_target`` (or the most accurate within the
    budget); when ``met`` is False it is the closest and ``message`` says so. ``pareto`` lists the
    labels on the ESR-vs-measured-cost front, cheapest first. ``bound`` is the memory bound's
    dictionary (the data's starting point) and ``notes`` say how well it predicted the winner.
    """

    source: str
    sample_rate_hz: float
    train_seconds_audio: float
    validation_seconds_audio: float
    latency_samples: int
    checks: tuple[str, ...]
    esr_target: float
    budget_core_percent: float | None
    dtype: str
    candidates: tuple[CaptureScore, ...]
    pareto: tuple[str, ...]
    winner: CaptureScore | None
    met: bool
    message: str
    notes: tuple[str, ...]
    out_dir: Path
    bound: dict[str, Any] | None = None
    exports: dict[str, str] = field(default_factory=dict)
    report: str | None = None
    seconds: float = 0.0
    kind: str = "capture"
    extrapolated: tuple[str, ...] = ()
    """Candidates whose cost a profile gave only by extrapolation (beyond its sizes)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "sample_rate_hz": self.sample_rate_hz,
            "train_seconds_audio": self.train_seconds_audio,
            "validation_seconds_audio": self.validation_seconds_audio,
            "latency_samples": self.latency_samples,
            "checks": list(self.checks),
            "cost_extrapolated": list(self.extrapolated),
            "esr_target": self.esr_target,
            "budget_core_percent": self.budget_core_percent,
            "dtype": self.dtype,
            "met": self.met,
            "message": self.message,
            "winner": self.winner.to_dict() if self.winner is not None else None,
            "pareto": list(self.pareto),
            "candidates": [c.to_dict() for c in self.candidates],
            "notes": list(self.notes),
            "bound": self.bound,
            "exports": dict(self.exports),
            "report": self.report,
            "out_dir": str(self.out_dir),
            "seconds": self.seconds,
        }
