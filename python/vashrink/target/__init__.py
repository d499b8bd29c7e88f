"""What a model must learn: a safe expression, a callable, or sampled ``(x, y)`` data."""

from __future__ import annotations

from .expression import FUNCTIONS, Expression, parse_expression
from .samples import Target, as_target, check_eps, check_range, load_samples

__all__ = [
    "FUNCTIONS",
    "Expression",
    "Target",
    "as_target",
    "check_eps",
    "check_range",
    "load_samples",
    "parse_expression",
]
