"""CoreAudioML / GuitarML model files: a ``SimpleRNN`` (LSTM or GRU layers, then a linear layer).

CoreAudioML's ``SimpleRNN.save_model`` (used by Automated-GuitarAmpModelling, and loaded by
GuitarML's plugins) writes::

    {"model_data": {"model": "SimpleRNN", "unit_type": "LSTM" | "GRU", "input_size": 1,
                    "hidden_size": 20, "output_size": 1, "num_layers": 1, "skip": 1,
                    "bias_fl": true},
     "state_dict": {"rec.weight_ih_l0": [[...]], "rec.weight_hh_l0": [[...]],
                    "rec.bias_ih_l0": [...], "rec.bias_hh_l0": [...],
                    "lin.weight": [[...]], "lin.bias": [...]}}

The weights are torch's own (``nn.LSTM`` gates i, f, g, o; ``nn.GRU`` r, z, n), so they map
onto :class:`~vashrink.model.layers.GruLayer`/``LstmLayer`` unchanged; ``num_layers`` > 1 (up
to 8) is torch's stack, layer K > 0's ``rec.weight_ih_lK`` being ``[gates * hidden][hidden]``.
``skip`` is how many input channels are added to the output (``lin(rec(x)) + x[..., :skip]``);
``bias_fl`` says whether ``lin`` has a bias (the recurrent layers always have both). What does
not map (an Elman ``RNN``, another model class, more than 8 layers, keys or shapes that
disagree with ``model_data``) is refused with one finding each. vashrink reads this format but
does not write it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..model.architecture import MAX_RNN_LAYERS
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


def _header(
    c: Collector, data: dict[str, Any]
) -> tuple[str, int, int, int, int, int, bool] | None:
    """(unit, gates, layers, in, hidden, out, skip) from ``model_data``, or None after an error."""
    model = data.get("model", "SimpleRNN")
    if model != "SimpleRNN":
        c.error(
            "caml-model",
            f"model {model!r:.40} is not supported: vashrink imports CoreAudioML's SimpleRNN "
            "(LSTM or GRU layers, then a linear layer)",
        )
        return None
    unit = data.get("unit_type")
    if not isinstance(unit, str) or unit not in _CELLS:
        what = "an Elman RNN, which RTNeural has no layer for" if unit == "RNN" else "unknown"
        c.error("caml-unit-type", f"unit_type {unit!r:.30} is {what}; use LSTM or GRU")
        return None
    n_layers = _size(data.get("num_layers", 1))
    if n_layers is None or n_layers > MAX_RNN_LAYERS:
        fix = ("retrain with fewer layers" if n_layers is not None
               else "it must be a whole number of at least 1 (the torch model's num_layers)")
        c.error(
            "caml-num-layers",
            f"num_layers is {data.get('num_layers')!r:.20}: vashrink imports 1 to "
            f"{MAX_RNN_LAYERS} stacked recurrent layers; {fix}",
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
    return str(unit), _CELLS[str(unit)], n_layers, n_in, hidden, n_out, bool(skip)


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


_REC_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _layer_index(key: str) -> int:
    """K of a ``rec.*_lK`` key (-1 for any other key)."""
    name, _, k = key.rpartition("_l")
    return int(k) if key.startswith("rec.") and name and k.isdigit() else -1


def _recurrent(
    unit: str, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray
) -> GruLayer | LstmLayer:
    return GruLayer(w_ih, w_hh, b_ih, b_hh) if unit == "GRU" else LstmLayer(w_ih, w_hh, b_ih + b_hh)


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
    unit, g, n_layers, n_in, h, n_out, skip = head
    deeper = sorted(k for k in state if _layer_index(k) >= n_layers)
    in_state = 1 + max((_layer_index(k) for k in state), default=-1)
    if deeper or 0 < in_state < n_layers:
        holds = f"holds {deeper[0]!r}" if deeper else f"has no rec.*_l{in_state} keys"
        c.error(
            "caml-num-layers",
            f"state_dict {holds} but model_data says num_layers={n_layers}; make them agree "
            "(re-save the model with save_model)",
        )
        return None, c.findings
    bias_fl = data.get("bias_fl", True)
    expected: dict[str, tuple[int, ...]] = {}
    for k in range(n_layers):  # torch's layout: layer k > 0 reads the previous hidden state
        expected[f"rec.weight_ih_l{k}"] = (g * h, n_in if k == 0 else h)
        expected[f"rec.weight_hh_l{k}"] = (g * h, h)
        expected[f"rec.bias_ih_l{k}"] = (g * h,)
        expected[f"rec.bias_hh_l{k}"] = (g * h,)
    expected["lin.weight"] = (n_out, h)
    if bias_fl or "lin.bias" in state:
        expected["lin.bias"] = (n_out,)
    unknown = sorted(set(state) - set(expected))
    if unknown:
        c.error(
            "caml-unknown-key",
            f"state_dict holds {unknown[0]!r}, which a SimpleRNN does not have; vashrink "
            "imports rec.* (the LSTM/GRU layers) and lin.* only",
        )
        return None, c.findings
    arrays = {key: _array(c, state, key, shape) for key, shape in expected.items()}
    if any(f.severity == "error" for f in c.findings):
        return None, c.findings
    rnn = tuple(
        _recurrent(unit, *(arrays[f"rec.{name}_l{k}"] for name in _REC_NAMES))
        for k in range(n_layers)
    )
    bias = arrays.get("lin.bias")
    lin = DenseLayer(arrays["lin.weight"], bias if bias is not None else np.zeros(n_out), "none")
    return ModelSpec(rnn, (lin,), skip), c.findings


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
