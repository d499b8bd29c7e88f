"""The learning-rate decay every trainer uses, in one place."""

from __future__ import annotations

import math

__all__ = ["cosine_lr"]


def cosine_lr(peak: float, final_fraction: float, progress: float) -> float:
    """Half a cosine from ``peak`` (``progress`` 0) to ``peak * final_fraction`` (1);
    ``progress`` is clamped to [0, 1]."""
    t = min(max(progress, 0.0), 1.0)
    low = peak * final_fraction
    return low + 0.5 * (peak - low) * (1.0 + math.cos(math.pi * t))
