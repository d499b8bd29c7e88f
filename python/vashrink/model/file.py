"""The vashrink model file: one JSON file every command writes and reads.

A model file holds what a plugin needs to run the model (its layers: float64 weights in torch
layout, activations), the precision it is meant to run in, and where it came from (target,
range, eps, training recipe, errors measured, package version, date), under a format name and
version so later versions can read older files. It is plain JSON, read without torch or pickle,
so opening an untrusted file runs no code. Suffix: ``.vashrink.json``.

Layout (format version 1)::

    {"format": "vashrink-model", "format_version": 1, "dtype": "float32",
     "layers": [{"type": "dense", "activation": "tanh", "weight": [[...]], "bias": [...]}, ...],
     "recurrent": null | {"type": "gru"|"lstm", ...}, "skip": false, "provenance": {...}}

``skip`` (optional, default false) adds the input to the output (see :class:`ModelSpec`).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..errors import ModelFormatError
from .architecture import ACTIVATIONS, MAX_RNN_LAYERS, Architecture
from .layers import DenseLayer, GruLayer, LstmLayer, RecurrentLayer, architecture_of_layers
from .spec import ModelSpec

__all__ = [
    "DTYPES",
    "DTYPE_CHOICES",
    "FORMAT",
    "FORMAT_VERSION",
    "SUFFIX",
    "ModelFile",
    "finite_or_none",
    "is_model_file",
    "read_model_file",
    "write_model_file",
]

FORMAT = "vashrink-model"
#: 2: "recurrent" is a list of layers (a stack). Models with at most one recurrent layer are
#: still written as version 1 (one object or null), which older vashrink versions read.
FORMAT_VERSION = 2
SUFFIX = ".vashrink.json"
DTYPES = ("float32", "float64")
#: What a search may be asked for: ``auto`` runs a model in float64 only when float32 cannot
#: meet eps.
DTYPE_CHOICES = ("auto", *DTYPES)


@dataclass(frozen=True)
class ModelFile:
    """A model as stored: layers, the precision it runs in, and its provenance."""

    spec: ModelSpec
    dtype: str = "float32"
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> Architecture | None:
        """The uniform 1-in/1-out MLP architecture, or None (recurrent or irregular)."""
        if self.spec.rnn:
            return None
        return architecture_of_layers(self.spec.dense)


def _matrix(a: np.ndarray) -> list[Any]:
    out: list[Any] = np.asarray(a, dtype=np.float64).tolist()
    return out


def _dense_json(layer: DenseLayer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "dense",
        "activation": layer.activation,
        "weight": _matrix(layer.weight),
        "bias": _matrix(layer.bias),
    }
    if layer.prelu_slopes is not None:
        out["prelu_slopes"] = _matrix(layer.prelu_slopes)
    return out


def _recurrent_json(layer: RecurrentLayer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": layer.cell,
        "weight_ih": _matrix(layer.weight_ih),
        "weight_hh": _matrix(layer.weight_hh),
    }
    if isinstance(layer, GruLayer):
        out["bias_ih"], out["bias_hh"] = _matrix(layer.bias_ih), _matrix(layer.bias_hh)
    else:
        out["bias"] = _matrix(layer.bias)
    return out


def write_model_file(
    path: str | Path,
    spec: ModelSpec,
    *,
    dtype: str = "float32",
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``spec`` atomically (temp file + rename: a kill never leaves half a file)."""
    from .. import __version__

    if dtype not in DTYPES:
        msg = f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}"
        raise ModelFormatError(msg)
    stacked = len(spec.rnn) > 1
    recurrent: Any = [_recurrent_json(layer) for layer in spec.rnn]
    if not stacked:
        recurrent = recurrent[0] if recurrent else None
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if stacked else 1,
        "dtype": dtype,
        "recurrent": recurrent,
        "layers": [_dense_json(layer) for layer in spec.dense],
        "skip": spec.skip,
        "provenance": _json_safe({"vashrink_version": __version__, **(provenance or {})}),
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, allow_nan=False, default=str)
        Path(tmp).replace(out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _json_safe(value: Any) -> Any:
    """Provenance as strict JSON: NaN/Inf (a diverged loss, an infinite error) become null."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def is_model_file(doc: Any) -> bool:
    """Whether a parsed JSON document claims to be a vashrink model file."""
    return isinstance(doc, dict) and doc.get("format") == FORMAT


class _Reader:
    """Field access that names the path of a bad field in its error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        msg = f"{self.source}: {where}: {problem}"
        raise ModelFormatError(msg)

    def array(self, obj: dict[str, Any], key: str, where: str, ndim: int) -> np.ndarray:
        if key not in obj:
            self.fail(where, f"missing {key!r}")
        try:
            a = np.asarray(obj[key], dtype=np.float64)
        except (TypeError, ValueError):
            self.fail(f"{where}.{key}", "must be numbers")
        if a.ndim != ndim or 0 in a.shape:
            self.fail(f"{where}.{key}", f"must be a non-empty {ndim}-D array of numbers")
        if not np.isfinite(a).all():
            self.fail(f"{where}.{key}", "contains NaN or Inf")
        return a

    def dense(self, obj: Any, i: int) -> DenseLayer:
        where = f"layers[{i}]"
        if not isinstance(obj, dict) or obj.get("type") != "dense":
            self.fail(where, "must be an object with \"type\": \"dense\"")
        act = obj.get("activation")
        if act not in ACTIVATIONS:
            self.fail(where, f"activation {act!r} is not one of {', '.join(ACTIVATIONS)}")
        w = self.array(obj, "weight", where, 2)
        b = self.array(obj, "bias", where, 1)
        if b.shape[0] != w.shape[0]:
            self.fail(where, f"bias has {b.shape[0]} entries for {w.shape[0]} units")
        slopes = self.array(obj, "prelu_slopes", where, 1) if "prelu_slopes" in obj else None
        if slopes is not None and slopes.shape[0] != w.shape[0]:
            self.fail(where, f"{slopes.shape[0]} PReLU slopes for {w.shape[0]} units")
        return DenseLayer(w, b, str(act), slopes)

    def stack(self, obj: Any) -> tuple[RecurrentLayer, ...]:
        """The ``recurrent`` field: a list of layers (version 2), or one object or null (1)."""
        if obj is None:
            return ()
        if isinstance(obj, dict):
            return (self.recurrent(obj, "recurrent"),)
        if not isinstance(obj, list):
            self.fail("recurrent", "must be a list of GRU/LSTM layers")
        if len(obj) > MAX_RNN_LAYERS:
            self.fail("recurrent", f"{len(obj)} layers; at most {MAX_RNN_LAYERS} are supported")
        layers = tuple(self.recurrent(o, f"recurrent[{k}]") for k, o in enumerate(obj))
        for k in range(1, len(layers)):
            if layers[k].in_size != layers[k - 1].hidden_size:
                self.fail(
                    f"recurrent[{k}]",
                    f"takes {layers[k].in_size} inputs, gets {layers[k - 1].hidden_size}",
                )
        return layers

    def recurrent(self, obj: Any, where: str) -> RecurrentLayer:
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind not in ("gru", "lstm"):
            self.fail(where, "must be an object with \"type\" \"gru\" or \"lstm\"")
        gates = 3 if kind == "gru" else 4
        w_ih = self.array(obj, "weight_ih", where, 2)
        w_hh = self.array(obj, "weight_hh", where, 2)
        h = w_hh.shape[1]
        if w_hh.shape[0] != gates * h or w_ih.shape[0] != gates * h:
            self.fail(where, f"{kind} kernels must have {gates} x hidden rows")
        names = ("bias_ih", "bias_hh") if kind == "gru" else ("bias",)
        biases = [self.array(obj, n, where, 1) for n in names]
        if any(b.shape[0] != gates * h for b in biases):
            self.fail(where, f"{kind} biases must have {gates * h} entries")
        if kind == "gru":
            return GruLayer(w_ih, w_hh, biases[0], biases[1])
        return LstmLayer(w_ih, w_hh, biases[0])


def read_model_file(path: str | Path, doc: Any = None) -> ModelFile:
    """Read and validate a model file (``doc``: its already-parsed JSON, if at hand).

    Raises:
        ModelFormatError: not a vashrink model file, a newer format version, or a field that
            is missing, mis-shaped, non-finite or inconsistent (the message names it).
    """
    source = str(path)
    if doc is None:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            msg = f"cannot read model file {source}: {exc}"
            raise ModelFormatError(msg) from None
    r = _Reader(source)
    if not is_model_file(doc):
        r.fail("format", f"not a vashrink model file (no \"format\": \"{FORMAT}\")")
    version = doc.get("format_version")
    if not isinstance(version, int) or version < 1:
        r.fail("format_version", f"must be a whole number >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        r.fail(
            "format_version",
            f"{version} is newer than this vashrink reads ({FORMAT_VERSION}); upgrade vashrink",
        )
    dtype = doc.get("dtype", "float32")
    if dtype not in DTYPES:
        r.fail("dtype", f"must be one of {', '.join(DTYPES)}, got {dtype!r}")
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        r.fail("layers", "must be a non-empty list of dense layers")
    dense = tuple(r.dense(obj, i) for i, obj in enumerate(layers))
    rnn = r.stack(doc.get("recurrent"))
    size = rnn[-1].hidden_size if rnn else dense[0].in_size
    for i, layer in enumerate(dense):
        if layer.in_size != size:
            r.fail(f"layers[{i}]", f"takes {layer.in_size} inputs, gets {size}")
        size = layer.out_size
    skip = doc.get("skip", False)
    if not isinstance(skip, bool):
        r.fail("skip", f"must be true or false, got {skip!r}")
    if skip and (not rnn or rnn[0].in_size != 1 or size != 1):
        r.fail("skip", "an input skip needs a GRU/LSTM model with one input and one output")
    provenance = doc.get("provenance") or {}
    if not isinstance(provenance, dict):
        r.fail("provenance", "must be an object")
    return ModelFile(ModelSpec(rnn, dense, skip), str(dtype), provenance)


def finite_or_none(value: float | None) -> float | None:
    """A JSON-safe number for provenance (NaN/Inf become None)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
