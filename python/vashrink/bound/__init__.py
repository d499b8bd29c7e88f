"""bound: how complex a target is before anything is trained.

Curves: :mod:`vashrink.bound.bounds` (pieces, band). Gear with memory:
:mod:`vashrink.bound.memory` (memory length, static curve, a starting hidden size), whose two
names are importable from here (on first use, PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .memory import MemoryBound, memory_bound

__all__ = ["MemoryBound", "memory_bound"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.memory"), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
