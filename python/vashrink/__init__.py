"""vashrink: size, train, time and export small neural virtual-analog models.

The pipeline, one subpackage per stage, each importing only earlier ones:
:mod:`~vashrink.target` (what to learn) and :mod:`~vashrink.model` (architectures, layers, the
model file) are shared by :mod:`~vashrink.bound` (how complex is f?), :mod:`~vashrink.train`
(batched candidate training), :mod:`~vashrink.runtime` (the C++ engine and its measured cost),
:mod:`~vashrink.formats` (RTNeural JSON, ONNX, C++, every way a model comes in),
:mod:`~vashrink.search` (score, choose, :func:`shrink`, :func:`grid`, report) and
:mod:`~vashrink.cli`. The compiled engine (``vashrink._engine``) is private.

Every public name is imported on first use (PEP 562), so ``import vashrink`` imports neither
torch nor the engine and answers at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    EngineError,
    ExpressionError,
    InputError,
    ModelFormatError,
    StudyError,
    TrainingError,
    VashrinkError,
)

if TYPE_CHECKING:
    from .bound.bounds import Bounds, compute_bounds
    from .bound.memory import MemoryBound, memory_bound
    from .formats import (
        CheckReport,
        check_rtneural,
        compiled_runner,
        from_rtneural,
        from_state_dict_json,
        read_snapshot,
        runner_for,
        to_cpp,
        to_onnx,
        to_rtneural,
    )
    from .formats.load import load_model
    from .model.architecture import ACTIVATIONS, Architecture, RecurrentArchitecture, lane_score
    from .model.file import ModelFile, read_model_file, write_model_file
    from .model.layers import DenseLayer
    from .model.mlp import architecture_of, build_mlp, dense_layers
    from .model.recurrent import RecurrentModel
    from .runtime.engine import Mlp
    from .runtime.info import SystemInfo, lanes, system_info
    from .runtime.recurrent import RecurrentNet
    from .runtime.timing import Timing, time_model, time_runner
    from .search.capture import shrink_capture
    from .search.capture_plan import CaptureLimits
    from .search.capture_result import CaptureResult
    from .search.result import ShrinkResult
    from .search.run import grid, shrink
    from .search.score import CandidateScore, choose, pareto_front, rank_correlation
    from .target.expression import Expression, parse_expression
    from .target.pedal import pedal_recording
    from .target.recording import Recording, load_recording, recording_from_arrays
    from .target.samples import Target, as_target, load_samples
    from .train.candidates import TrainConfig, TrainedModel, TrainingInterrupted, train_candidates
    from .train.rnn_config import RecurrentTrainConfig
    from .train.rnn_fit import train_recurrent
    from .train.rnn_result import TrainedRecurrent

#: public name -> module that defines it, imported on first access
_LAZY = {
    "ACTIVATIONS": "model.architecture",
    "Architecture": "model.architecture",
    "lane_score": "model.architecture",
    "DenseLayer": "model.layers",
    "ModelFile": "model.file",
    "read_model_file": "model.file",
    "write_model_file": "model.file",
    "architecture_of": "model.mlp",
    "build_mlp": "model.mlp",
    "dense_layers": "model.mlp",
    "RecurrentModel": "model.recurrent",
    "RecurrentArchitecture": "model.architecture",
    "Recording": "target.recording",
    "load_recording": "target.recording",
    "recording_from_arrays": "target.recording",
    "pedal_recording": "target.pedal",
    "memory_bound": "bound.memory",
    "MemoryBound": "bound.memory",
    "RecurrentTrainConfig": "train.rnn_config",
    "TrainedRecurrent": "train.rnn_result",
    "train_recurrent": "train.rnn_fit",
    "RecurrentNet": "runtime.recurrent",
    "CaptureResult": "search.capture_result",
    "CaptureLimits": "search.capture_plan",
    "shrink_capture": "search.capture",
    "Expression": "target.expression",
    "parse_expression": "target.expression",
    "Target": "target.samples",
    "as_target": "target.samples",
    "load_samples": "target.samples",
    "Bounds": "bound.bounds",
    "compute_bounds": "bound.bounds",
    "TrainConfig": "train.candidates",
    "TrainedModel": "train.candidates",
    "TrainingInterrupted": "train.candidates",
    "train_candidates": "train.candidates",
    "Mlp": "runtime.engine",
    "SystemInfo": "runtime.info",
    "lanes": "runtime.info",
    "system_info": "runtime.info",
    "Timing": "runtime.timing",
    "time_model": "runtime.timing",
    "time_runner": "runtime.timing",
    "CheckReport": "formats",
    "check_rtneural": "formats",
    "compiled_runner": "formats",
    "from_rtneural": "formats",
    "from_state_dict_json": "formats",
    "read_snapshot": "formats",
    "runner_for": "formats",
    "to_cpp": "formats",
    "to_onnx": "formats",
    "to_rtneural": "formats",
    "load_model": "formats.load",
    "CandidateScore": "search.score",
    "choose": "search.score",
    "pareto_front": "search.score",
    "rank_correlation": "search.score",
    "ShrinkResult": "search.result",
    "grid": "search.run",
    "shrink": "search.run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'vashrink' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ACTIVATIONS",
    "Architecture",
    "Bounds",
    "CandidateScore",
    "CaptureLimits",
    "CaptureResult",
    "CheckReport",
    "DenseLayer",
    "EngineError",
    "Expression",
    "ExpressionError",
    "InputError",
    "MemoryBound",
    "Mlp",
    "ModelFile",
    "ModelFormatError",
    "Recording",
    "RecurrentArchitecture",
    "RecurrentModel",
    "RecurrentNet",
    "RecurrentTrainConfig",
    "ShrinkResult",
    "StudyError",
    "SystemInfo",
    "Target",
    "Timing",
    "TrainConfig",
    "TrainedModel",
    "TrainedRecurrent",
    "TrainingError",
    "TrainingInterrupted",
    "VashrinkError",
    "__version__",
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
    "load_model",
    "load_recording",
    "load_samples",
    "memory_bound",
    "pareto_front",
    "parse_expression",
    "pedal_recording",
    "rank_correlation",
    "read_model_file",
    "read_snapshot",
    "recording_from_arrays",
    "runner_for",
    "shrink",
    "shrink_capture",
    "system_info",
    "time_model",
    "time_runner",
    "to_cpp",
    "to_onnx",
    "to_rtneural",
    "train_candidates",
    "train_recurrent",
    "write_model_file",
]

__version__ = "0.2.0"
