"""vashrink: size, train, time and export small neural virtual-analog models.

The pipeline, one module per step: :mod:`~vashrink.bounds` (how complex is f?),
:mod:`~vashrink.train` (batched candidate training), :mod:`~vashrink.engine` and
:mod:`~vashrink.timing` (the C++ engine and its measured cost), :mod:`~vashrink.score`
(lane score, Pareto front), :mod:`~vashrink.export` (RTNeural JSON, ONNX, C++) and
:func:`shrink`, which runs them all. The compiled engine (``vashrink._engine``) is private.

Names from the heavier modules (torch training, Optuna, ONNX) are imported on first use, so
``import vashrink`` and ``vashrink info`` stay quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .bounds import Bounds, compute_bounds
    from .engine import Mlp
    from .export import (
        CheckReport,
        RecurrentModel,
        check_rtneural,
        compiled_runner,
        from_rtneural,
        from_state_dict_json,
        read_snapshot,
        to_cpp,
        to_onnx,
        to_rtneural,
    )
    from .score import CandidateScore, choose, pareto_front, rank_correlation
    from .shrink import ShrinkResult, grid, shrink
    from .timing import Timing, time_model
    from .train import TrainConfig, TrainedModel, TrainingInterrupted, train_candidates

#: public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "Bounds": "bounds",
    "compute_bounds": "bounds",
    "Mlp": "engine",
    "Timing": "timing",
    "time_model": "timing",
    "TrainConfig": "train",
    "TrainedModel": "train",
    "TrainingInterrupted": "train",
    "train_candidates": "train",
    "CandidateScore": "score",
    "choose": "score",
    "pareto_front": "score",
    "rank_correlation": "score",
    "ShrinkResult": "shrink",
    "grid": "shrink",
    "shrink": "shrink",
    "CheckReport": "export",
    "RecurrentModel": "export",
    "check_rtneural": "export",
    "compiled_runner": "export",
    "from_rtneural": "export",
    "from_state_dict_json": "export",
    "read_snapshot": "export",
    "to_cpp": "export",
    "to_onnx": "export",
    "to_rtneural": "export",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'vashrink' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ACTIVATIONS",
    "Architecture",
    "Bounds",
    "CandidateScore",
    "CheckReport",
    "DenseLayer",
    "EngineError",
    "Expression",
    "ExpressionError",
    "InputError",
    "Mlp",
    "ModelFormatError",
    "RecurrentModel",
    "ShrinkResult",
    "StudyError",
    "SystemInfo",
    "Target",
    "Timing",
    "TrainConfig",
    "TrainedModel",
    "TrainingError",
    "TrainingInterrupted",
    "VashrinkError",
    "architecture_of",
    "as_target",
    "build_mlp",
    "check_rtneural",
    "choose",
    "compiled_runner",
    "compute_bounds",
    "dense_layers",
    "from_rtneural",
    "from_state_dict_json",
    "grid",
    "lane_score",
    "lanes",
    "load_samples",
    "pareto_front",
    "parse_expression",
    "rank_correlation",
    "read_snapshot",
    "shrink",
    "system_info",
    "time_model",
    "to_cpp",
    "to_onnx",
    "to_rtneural",
    "train_candidates",
]

__version__ = "0.1.0"
