"""The notes under a capture search's summary: how well the data's starting point predicted the
chosen size, and what would help when the target is missed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.wavenet_shape import WaveNetShape
from .capture_score import CaptureChoice, CaptureScore

__all__ = ["capture_notes"]


def capture_notes(
    cands: Sequence[CaptureScore],
    choice: CaptureChoice,
    bound: Any,
    esr_target: float,
    hidden_max: int,
    searched_layers: tuple[int, ...],
) -> list[str]:
    notes: list[str] = []
    lo, hi = (int(v) for v in bound.suggested_hidden)
    w = choice.winner
    if w is not None and choice.met and w.cell == "wavenet":
        notes.append(
            f"the chosen {w.label} is a WaveNet of {w.hidden} channels and "
            f"{WaveNetShape.parse(w.label).depth} dilated layers (covering the memory bound's "
            f"{bound.memory_samples} samples of memory)"
        )
    elif w is not None and choice.met:
        where = "inside" if lo <= w.hidden <= hi else ("below" if w.hidden < lo else "above")
        per = f" ({w.layers} layers of {w.hidden})" if w.layers > 1 else ""
        notes.append(
            f"the memory bound suggested hidden {lo}-{hi} (one layer); the chosen {w.label}{per} "
            f"is {where} that range"
        )
    if w is not None and w.layers > 1 and w.cell != "wavenet":
        notes.append(
            f"{w.label} stacks {w.layers} recurrent layers: RTNeural loads model.json, but "
            "AIDA-X's plugin runs one recurrent layer (search --layers 1 for AIDA-X)"
        )
    trained = sum(c.train_seconds for c in cands)
    if cands:
        notes.append(
            f"{len(cands)} candidates trained in {trained:.0f} s "
            f"({sum(c.epochs for c in cands)} epochs)"
        )
    if not choice.met and cands:
        best = min(cands, key=lambda c: c.esr)
        helps = [
            "a larger --hidden-max" if best.hidden >= hidden_max else "",
            "--layers 1,2 (two stacked layers)" if searched_layers == (1,) else "",
            "longer training (--max-seconds, --epochs)",
            "--skip (learn only what the gear adds to its input)" if not best.skip else "",
            "more or cleaner audio (check the recording notes: latency, clipping, noise)",
        ]
        notes.append(
            f"closest ESR {best.esr:.3g} against {esr_target:g}; what would help: "
            + ", ".join(h for h in helps if h)
        )
    return notes
