"""What a model must learn: a safe expression, a callable, sampled ``(x, y)`` data, or a recording.

Curves (expressions, callables, samples) are imported at once; recordings of gear, the
simulated pedal and the simulated panel gear on first use (PEP 562), so a curve-only command does
not load audio libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .expression import FUNCTIONS, Expression, parse_expression
from .samples import Target, as_target, check_eps, check_range, load_samples

if TYPE_CHECKING:
    from .gear import GEAR, Gear, gear_recording
    from .pedal import PedalParams, pedal_output, pedal_recording
    from .recording import Recording, load_recording, recording_from_arrays
    from .spans import segments

__all__ = [
    "FUNCTIONS",
    "GEAR",
    "Expression",
    "Gear",
    "PedalParams",
    "Recording",
    "Target",
    "as_target",
    "check_eps",
    "check_range",
    "gear_recording",
    "load_recording",
    "load_samples",
    "parse_expression",
    "pedal_output",
    "pedal_recording",
    "recording_from_arrays",
    "segments",
]

_LAZY = {
    "GEAR": "gear",
    "Gear": "gear",
    "gear_recording": "gear",
    "PedalParams": "pedal",
    "pedal_output": "pedal",
    "pedal_recording": "pedal",
    "Recording": "recording",
    "load_recording": "recording",
    "recording_from_arrays": "recording",
    "segments": "spans",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
