"""vashrink: size, train, time and export small neural virtual-analog models.

The public API is re-exported here; the compiled engine (``vashrink._engine``) is private.
"""

from __future__ import annotations

from .architecture import ACTIVATIONS, Architecture, lane_score
from .errors import (
    EngineError,
    ExpressionError,
    InputError,
    ModelFormatError,
    StudyError,
    TrainingError,
    VashrinkError,
)
from .expression import Expression, parse_expression
from .info import SystemInfo, lanes, system_info
from .mlp import DenseLayer, architecture_of, build_mlp, dense_layers
from .target import Target, as_target, load_samples

__all__ = [
    "ACTIVATIONS",
    "Architecture",
    "DenseLayer",
    "EngineError",
    "Expression",
    "ExpressionError",
    "InputError",
    "ModelFormatError",
    "StudyError",
    "SystemInfo",
    "Target",
    "TrainingError",
    "VashrinkError",
    "architecture_of",
    "as_target",
    "build_mlp",
    "dense_layers",
    "lane_score",
    "lanes",
    "load_samples",
    "parse_expression",
    "system_info",
]

__version__ = "0.1.0"
