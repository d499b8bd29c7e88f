"""CoreAudioML / GuitarML model files: a ``SimpleRNN`` (one LSTM or GRU, then a linear layer).

CoreAudioML's ``SimpleRNN.save_model`` (used by Automated-GuitarAmpModelling, and loaded by
GuitarML's plugins) writes::

    {"model_data": {"model": "SimpleRNN", "unit_type": "LSTM" | "GRU", "input_size": 1,
                    "hidden_size": 20, "output_size": 1, "num_layers": 1, "skip": 1,
                    "bias_fl": true},
     "state_dict": {"rec.weight_ih_l0": [[...]], "rec.weight_hh_l0": [[...]],
                    "rec.bias_ih_l0": [...], "rec.bias_hh_l0": [...],
                    "lin.weight": [[...]], "lin.bias": [...]}}

The weights are torch's own (``nn.LSTM`` gates i, f, g, o; ``nn.GRU`` r, z, n), so they map
onto :class:`~vashrink.model.layers.GruLayer`/``LstmLayer`` unchanged. ``skip`` is how many input
channels are added to the output (``lin(rec(x)) + x[..., :skip]``); ``bias_fl`` says whether
``lin`` has a bias (the recurrent layer always has both). What does not map (more layers, an
Elman ``RNN``, another model class, shapes that disagree) is refused with one finding each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..model.file import ModelFile
from ..model.layers import DenseLayer, GruLayer, LstmLayer
from ..model.spec import ModelSpec
from .rtmodel import MAX_UNITS, Collector, Finding
from .validate_fields import _matrix, _size, _vector

__all__ = ["coreaudioml_file", "is_coreaudioml", "parse_coreaudioml"]

_CELLS = {"LSTM": 4, "GRU": 3}


def is_coreaudioml(doc: Any) -> bool:
    """Whether a decoded JSON document is a CoreAudioML model (``model_data`` + ``state_dict``)."""
    return isinstance(doc, dict) and isinstance(doc.get("model_data"), dict) and "state_dict" in doc


def _header(c: Collector, data: dict[str, Any]) -> tuple[str, int, int, int, int, bool] | None:
    """(unit, gates, in, hidden, out, skip) from ``model_data``, or None after an error."""
    model = data.get("model", "SimpleRNN")
    if model != "SimpleRNN":
        c.error(
            "caml-model",
            f"model {model!r:.40} is not supported: vashrink imports CoreAudioML's SimpleRNN "
            "(one LSTM or GRU, then a linear layer)",
        )
        return None
    unit = data.get("unit_type")
    if not isinstance(unit, str) or unit not in _CELLS:
        what = "an Elman RNN, which RTNeural has no layer for" if unit == "RNN" else "unknown"
        c.error("caml-unit-type", f"unit_type {unit!r:.30} is {what}; use LSTM or GRU")
        return None
    layers = data.get("num_layers", 1)
    if _size(layers) != 1:
        c.error(
            "caml-num-layers",
            f"num_layers is {layers!r:.20}: vashrink (like RTNeural's gru/lstm layers) supports "
            "one recurrent layer; retrain with num_layers=1",
        )
        return None
    sizes = []
    for key in ("input_size", "hidden_size", "output_size"):
        n = _size(data.get(key))
        if n is None or n > MAX_UNITS:
            got = f"{data.get(key)!r:.30}"
            c.error("caml-size", f"model_data.{key} must be a positive unit count, got {got}")
            return None
        sizes.append(n)
    n_in, hidden, n_out = sizes
    skip = data.get("skip", 0)
    if skip not in (0, 1) or (skip == 1 and (n_in != 1 or n_out != 1)):
        c.error(
            "caml-skip",
            f"skip={skip!r:.20} with {n_in} inputs and {n_out} outputs: vashrink's input skip adds "
            "the one input to the one output (skip 0 or 1 on a 1-in/1-out model)",
        )
        return None
    return str(unit), _CELLS[str(unit)], n_in, hidden, n_out, bool(skip)


def _array(c: Collector, state: dict[str, Any], key: str, shape: tuple[int, ...]) -> Any:
    if key not in state:
        c.error("caml-missing", f"state_dict has no {key!r}; re-save the model with save_model")
        return None
    value = state[key]
    got = (
        _matrix(value, shape[0], shape[1], key) if len(shape) == 2
        else _vector(value, shape[0], key)
    )
    if isinstance(got, tuple):
        c.error(
            "caml-shape" if got[0] == "weights-shape" else got[0],
            f"{got[1]} (model_data says shape {list(shape)}); the file's sizes disagree",
        )
        return None
    return got


def parse_coreaudioml(doc: dict[str, Any]) -> tuple[ModelSpec | None, list[Finding]]:
    """Validate a CoreAudioML document; the spec is None when any error was found."""
    c = Collector()
    data, state = doc["model_data"], doc["state_dict"]
    head = _header(c, data)
    if not isinstance(state, dict):
        c.error("caml-state-dict", "state_dict must be an object of parameter name -> list")
        return None, c.findings
    if head is None:
        return None, c.findings
    unit, g, n_in, h, n_out, skip = head
    deeper = sorted(k for k in state if k.startswith("rec.") and not k.endswith("_l0"))
    if deeper:
        c.error(
            "caml-num-layers",
            f"state_dict holds {deeper[0]!r}, a second recurrent layer: vashrink supports one",
        )
        return None, c.findings
    bias_fl = data.get("bias_fl", True)
    expected: dict[str, tuple[int, ...]] = {
        "rec.weight_ih_l0": (g * h, n_in),
        "rec.weight_hh_l0": (g * h, h),
        "rec.bias_ih_l0": (g * h,),
        "rec.bias_hh_l0": (g * h,),
        "lin.weight": (n_out, h),
    }
    if bias_fl or "lin.bias" in state:
        expected["lin.bias"] = (n_out,)
    unknown = sorted(set(state) - set(expected))
    if unknown:
        c.error(
            "caml-unknown-key",
            f"state_dict holds {unknown[0]!r}, which a SimpleRNN does not have; vashrink "
            "imports rec.* (one LSTM/GRU) and lin.* only",
        )
        return None, c.findings
    arrays = {key: _array(c, state, key, shape) for key, shape in expected.items()}
    if any(f.severity == "error" for f in c.findings):
        return None, c.findings
    w_ih, w_hh = arrays["rec.weight_ih_l0"], arrays["rec.weight_hh_l0"]
    b_ih, b_hh = arrays["rec.bias_ih_l0"], arrays["rec.bias_hh_l0"]
    rec: GruLayer | LstmLayer = (
        GruLayer(w_ih, w_hh, b_ih, b_hh) if unit == "GRU" else LstmLayer(w_ih, w_hh, b_ih + b_hh)
    )
    bias = arrays.get("lin.bias")
    lin = DenseLayer(arrays["lin.weight"], bias if bias is not None else np.zeros(n_out), "none")
    return ModelSpec((rec,), (lin,), skip), c.findings


def coreaudioml_file(path: str | Path, doc: dict[str, Any]) -> ModelFile:
    """A :class:`ModelFile` from a decoded CoreAudioML document (raises on the first error)."""
    spec, findings = parse_coreaudioml(doc)
    if spec is None:
        first = next(f for f in findings if f.severity == "error")
        msg = f"{path}: {first.line()}"
        raise ModelFormatError(msg)
    data = {k: v for k, v in doc["model_data"].items() if isinstance(v, str | int | float | bool)}
    provenance = {
        "source": str(path),
        "source_kind": "coreaudioml json",
        "format": "coreaudioml",
        "model_data": data,
    }
    return ModelFile(spec, provenance=provenance)
