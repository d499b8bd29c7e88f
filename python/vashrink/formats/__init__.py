"""Export and import: RTNeural JSON (and AIDA-X's), CoreAudioML/GuitarML SimpleRNN JSON,
PyTorch state_dict JSON, ONNX and plugin C++ headers.

Every export can be checked: a snapshot of inputs and expected outputs is written beside it,
and ``check_rtneural`` validates RTNeural files against every trap RTNeural falls into.
"""

from __future__ import annotations

from ..model.layers import GruLayer, LstmLayer
from ..model.recurrent import RecurrentModel
from ..model.spec import ModelSpec, spec_of, spec_to_torch
from ..runtime.compiled import CompiledModel
from .aidax import batch_snapshot, fold_gains
from .check import CheckReport, check_rtneural
from .coreaudioml import is_coreaudioml, parse_coreaudioml
from .cpp import cpp_header, to_cpp
from .cpp_wavenet import wavenet_cpp_header, wavenet_to_cpp
from .load import load_model
from .onnx_export import onnx_model, run_onnx, to_onnx
from .reference import reference_forward
from .rtmodel import AidaxFields, Finding
from .rtneural_json import from_rtneural, load_rtneural, rtneural_document, to_rtneural
from .runners import BACKENDS, compiled_runner, rtneural_runner, runner_for
from .snapshot import Snapshot, make_snapshot, read_snapshot, snapshot_path, write_snapshot
from .statedict import from_state_dict_json

__all__ = [
    "BACKENDS",
    "AidaxFields",
    "CheckReport",
    "CompiledModel",
    "Finding",
    "GruLayer",
    "LstmLayer",
    "ModelSpec",
    "RecurrentModel",
    "Snapshot",
    "batch_snapshot",
    "check_rtneural",
    "compiled_runner",
    "cpp_header",
    "fold_gains",
    "from_rtneural",
    "from_state_dict_json",
    "is_coreaudioml",
    "load_model",
    "load_rtneural",
    "make_snapshot",
    "onnx_model",
    "parse_coreaudioml",
    "read_snapshot",
    "reference_forward",
    "rtneural_document",
    "rtneural_runner",
    "run_onnx",
    "runner_for",
    "snapshot_path",
    "spec_of",
    "spec_to_torch",
    "to_cpp",
    "to_onnx",
    "to_rtneural",
    "wavenet_cpp_header",
    "wavenet_to_cpp",
    "write_snapshot",
]
