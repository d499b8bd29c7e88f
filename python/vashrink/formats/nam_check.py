"""``vashrink check model.nam``: validate a Neural Amp Modeler file as strictly as an RTNeural
one, and show what it holds.

Valid: every field is present and well-formed, the weight count matches the config, every
weight is finite, and the model loads into vashrink's engine (so vashrink also runs it).
A problem is one line naming the field (:class:`~vashrink.errors.ModelFormatError`, exit 2); a
well-formed file using a feature vashrink does not verify (a non-WaveNet condition DSP, ...) is
UNVERIFIED (exit 3). The metadata NAM's trainer writes (gear, loudness, gain, levels) is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UnsupportedModelError
from .nam import SHOWN_METADATA, NamFile, read_nam

__all__ = ["NamCheckReport", "check_nam"]


@dataclass(frozen=True)
class NamCheckReport:
    """``status``: ``"valid"`` or ``"unverified"`` (``reason`` says what vashrink cannot
    verify). Invalid files raise instead of returning a report."""

    path: str
    status: str
    version: str | None = None
    architecture: str | None = None
    description: str | None = None
    n_params: int | None = None
    sample_rate_hz: float | None = None
    prewarm_samples: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def lines(self) -> list[str]:
        if self.status == "unverified":
            return [f"{self.path}: UNVERIFIED ({self.reason}; the file is not known to be valid)"]
        rate = f"{self.sample_rate_hz:g} Hz" if self.sample_rate_hz else "sample rate not given"
        out = [f"{self.path}: valid (NAM {self.version} {self.architecture}: "
               f"{self.description}, {self.n_params:,} weights, {rate}, "
               f"pre-warm {self.prewarm_samples:,} samples)"]
        shown = {k: self.metadata[k] for k in SHOWN_METADATA if self.metadata.get(k) is not None}
        if shown:
            out.append("  metadata: " + ", ".join(f"{k} {_fmt(v)}" for k, v in shown.items()))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "valid": self.status == "valid",
                "version": self.version, "architecture": self.architecture,
                "description": self.description, "n_params": self.n_params,
                "sample_rate_hz": self.sample_rate_hz, "prewarm_samples": self.prewarm_samples,
                "metadata": self.metadata, "reason": self.reason}


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _load_in_engine(nam: NamFile) -> None:
    """Refuse what the engine refuses (raises ModelFormatError); Linear is checked, not run."""
    from ..runtime.families import runner_of
    from .nam import NamLinear

    if not isinstance(nam.model, NamLinear):
        runner_of(nam.model, "float32")


def check_nam(path: str | Path) -> NamCheckReport:
    """Validate the ``.nam`` file at ``path``.

    Raises:
        ModelFormatError: the first problem, naming its field.
    """
    p = Path(path)
    try:
        nam = read_nam(p)
    except UnsupportedModelError as exc:
        return NamCheckReport(str(p), "unverified", reason=str(exc).removeprefix(f"{p}: "))
    _load_in_engine(nam)
    return NamCheckReport(str(p), "valid", nam.version, nam.architecture, nam.describe(),
                          nam.n_params, nam.sample_rate_hz, nam.prewarm_samples, nam.metadata)
