"""Field-level checks of RTNeural layers: sizes, numbers, vectors, kernels, activations."""

from __future__ import annotations

from typing import Any

import numpy as np

from .rtmodel import MAX_UNITS, RT_ACTIVATIONS, SUPPORTED, UNVERIFIED, Collector


def _size(value: Any) -> int | None:
    """A positive int, or None (JSON ``1.0`` is accepted, ``true`` is not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= 1:
        return value
    return None


def _is_number(v: Any) -> bool:
    return type(v) is int or type(v) is float


Problem = tuple[str, str]  # (code, message)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _vector(value: Any, n: int, what: str) -> np.ndarray | Problem:
    """float64 ``[n]`` from a JSON list, or (code, what is wrong with it)."""
    if not isinstance(value, list):
        return "weights-shape", f"{what} must be a list of {n} numbers, got {type(value).__name__}"
    if len(value) != n:
        return "weights-shape", f"{what} has {len(value)} entries, expected {n}"
    if not all(_is_number(v) for v in value):
        return (
            "non-number",
            f"{what} holds a non-number (RTNeural's parser throws on it); write plain numbers",
        )
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        arr = np.array([np.inf])
    # RTNeural (and our engine) run float32: a value beyond float32's range becomes Inf there.
    if not np.isfinite(arr).all() or (np.abs(arr) > _FLOAT32_MAX).any():
        return (
            "non-finite",
            f"{what} holds NaN or Inf (or a number too large for float32); retrain or "
            "clip the weights",
        )
    return arr


def _matrix(value: Any, rows: int, cols: int, what: str) -> np.ndarray | Problem:
    if not isinstance(value, list):
        return (
            "weights-shape",
            f"{what} must be a [{rows}][{cols}] list of lists, got {type(value).__name__}",
        )
    if len(value) != rows:
        return "weights-shape", f"{what} has {len(value)} rows, expected {rows}"
    out = np.empty((rows, cols))
    for i, row in enumerate(value):
        vec = _vector(row, cols, f"{what} row {i}")
        if isinstance(vec, tuple):
            return vec
        out[i] = vec
    return out


def _dims(value: Any) -> tuple[int, int] | None:
    """(rows, cols of first row) of a list of lists, without trusting any declaration."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return len(value), len(value[0])
    return None


def _kernel(
    c: Collector, i: int, value: Any, n_in: int, n_out: int, what: str
) -> np.ndarray | None:
    """Kernel ``[n_in][n_out]``, recognising PyTorch's ``[n_out][n_in]`` by its shape."""
    dims = _dims(value)
    if dims is not None and (n_in != n_out) and dims == (n_out, n_in):
        c.error(
            "kernel-torch-layout",
            f"{what} is [{n_out}][{n_in}], PyTorch's [out][in] layout; RTNeural reads [in][out]: "
            "transpose it (weight.T)",
            i,
        )
        return None
    arr = _matrix(value, n_in, n_out, what)
    if isinstance(arr, tuple):
        code, text = arr
        if code == "weights-shape":
            text += (
                f"; {what} must be [{n_in}][{n_out}] (Keras [in][out]) to match the "
                'input size and "shape"'
            )
        c.error(code, text, i)
        return None
    return arr


def _activation(c: Collector, i: int, layer: dict[str, Any], kind: str) -> str:
    if "activation" not in layer:
        if kind in ("dense", "activation"):
            c.warning(
                "activation-missing",
                'no "activation" key: RTNeural treats it as none; write "activation": "" to say so',
                i,
            )
        return ""
    act = layer["activation"]
    if not isinstance(act, str):
        c.error("activation-type", f'"activation" must be a string, got {type(act).__name__}', i)
        return ""
    if kind in ("gru", "lstm"):
        if act not in ("", "tanh"):
            c.warning(
                "activation-ignored",
                f"RTNeural ignores activation {act!r} on a {kind}; it always uses tanh",
                i,
            )
        return ""
    if act in RT_ACTIVATIONS:
        return act
    if act == "linear":
        c.error(
            "activation-linear",
            'activation "linear" makes RTNeural crash (null layer); write "" for none',
            i,
        )
    elif act in ("leaky_relu", "leakyrelu", "LeakyReLU"):
        c.error(
            "activation-leaky-relu",
            f"activation {act!r} is not in RTNeural and makes it crash; use a separate prelu layer",
            i,
        )
    elif act.lower() in RT_ACTIVATIONS:
        c.error(
            "activation-case",
            f"activation {act!r} is wrongly cased and makes RTNeural crash; write {act.lower()!r}",
            i,
        )
    else:
        c.error(
            "activation-unknown",
            f"activation {act!r} is unknown to RTNeural and makes it crash; use one of "
            'tanh, relu, sigmoid, softmax, elu or ""',
            i,
        )
    return ""


def _type(c: Collector, i: int, layer: dict[str, Any]) -> str | None:
    if "type" not in layer:
        c.error(
            "type-missing", 'no "type": RTNeural throws; add "type": "dense" (or gru, lstm, ...)', i
        )
        return None
    kind = layer["type"]
    if not isinstance(kind, str):
        c.error("type-invalid", f'"type" must be a string, got {type(kind).__name__}', i)
        return None
    if kind in SUPPORTED or kind in UNVERIFIED:
        return kind
    if kind.lower() in SUPPORTED or kind.lower() in UNVERIFIED:
        c.error(
            "type-case",
            f"type {kind!r} is wrongly cased: RTNeural silently skips the layer (wrong output); "
            f"write {kind.lower()!r}",
            i,
        )
    else:
        c.error(
            "type-unknown",
            f"type {kind!r} is unknown: RTNeural silently skips the layer (wrong output); use "
            "dense, gru, lstm, prelu or activation",
            i,
        )
    return None


def _out_size(c: Collector, i: int, layer: dict[str, Any]) -> int | None:
    if "shape" not in layer:
        c.error(
            "shape-missing",
            'no "shape": RTNeural throws or mis-sizes the layer; add "shape": [null, UNITS]',
            i,
        )
        return None
    shape = layer["shape"]
    if not isinstance(shape, list) or not shape:
        c.error("shape-invalid", f'"shape" must be a list like [null, UNITS], got {shape!r:.60}', i)
        return None
    n = _size(shape[-1])
    if n is None:
        c.error(
            "shape-invalid",
            f'the last entry of "shape" must be a positive unit count, got {shape[-1]!r:.40}',
            i,
        )
        return None
    if n > MAX_UNITS:
        c.error(
            "size-absurd", f"shape declares {n} units (more than {MAX_UNITS}); fix the shape", i
        )
        return None
    return n
