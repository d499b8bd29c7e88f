"""Field-level checks of RTNeural layers: sizes, numbers, vectors, kernels, activations."""

from __future__ import annotations

import math
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


#: Layer types whose ``activation`` key RTNeural's parser never reads.
_IGNORES_ACTIVATION = ("gru", "lstm", "prelu", "batchnorm", "batchnorm2d")


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
    if kind in _IGNORES_ACTIVATION:
        recurrent = kind in ("gru", "lstm")
        if act != "" and not (recurrent and act == "tanh"):
            always = "; it always uses tanh" if recurrent else "; add an activation layer"
            c.warning(
                "activation-ignored",
                f"RTNeural ignores activation {act!r:.30} on a {kind} layer{always}",
                i,
            )
        return ""
    if not isinstance(act, str):
        c.error("activation-type", f'"activation" must be a string, got {type(act).__name__}', i)
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


def rt_shape_size(shape: list[Any]) -> int | None:
    """The size RTNeural's parser reads from a non-empty ``shape``/``in_shape`` list.

    ``shape[2] * shape[3]`` for exactly 4 entries (conv2d's features x channels), else the last
    entry; None when that is not a positive integer (RTNeural throws on ``null``).
    """
    if len(shape) == 4:
        a, b = _size(shape[2]), _size(shape[3])
        return None if a is None or b is None else a * b
    return _size(shape[-1])


def _shape_size(c: Collector, i: int | None, shape: list[Any], key: str) -> int | None:
    """:func:`rt_shape_size`, with a finding when RTNeural cannot read it or it is absurd."""
    code = "in-shape-invalid" if key == "in_shape" else "shape-invalid"
    n = rt_shape_size(shape)
    if n is None and len(shape) == 4:
        c.error(
            code,
            f'RTNeural reads a 4-entry "{key}" as {key}[2] x {key}[3] (conv2d features x '
            f"channels) and throws unless both are positive integers, got {shape!r:.60}; "
            "write [null, SIZE]",
            i,
        )
    elif n is None and key == "in_shape":
        c.error(code, f'"in_shape" must end in the input count, like [null, 1]; got {shape!r:.60}')
    elif n is None:
        c.error(
            code,
            f'the last entry of "shape" must be a positive unit count, got {shape[-1]!r:.40}',
            i,
        )
    elif n > MAX_UNITS and key == "in_shape":
        c.error("size-absurd", f"in_shape declares {n} inputs (over {MAX_UNITS}); fix in_shape")
        return None
    elif n > MAX_UNITS:
        c.error(
            "size-absurd", f"shape declares {n} units (more than {MAX_UNITS}); fix the shape", i
        )
        return None
    return n


def _out_size(c: Collector, i: int, layer: dict[str, Any], kind: str | None) -> int | None:
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
    n = _shape_size(c, i, shape, "shape")
    last = _size(shape[-1])
    if n is not None and len(shape) == 4 and n != last and kind not in FOUR_D:
        c.warning(
            "shape-4d",
            f'a 4-entry "shape" is read by RTNeural as shape[2] x shape[3] = {n} units (conv2d '
            f"features x channels), not its last entry {last}; write [null, {n}] (or "
            f"[null, {last}] if the layer has {last} units)",
            i,
        )
    return n


#: Layer types whose sizes are legitimately 4-entry (features x channels).
FOUR_D = ("conv2d", "batchnorm2d", "activation")

# Keys RTNeural's parser reads with ``.at(...)`` (it throws when one is missing); "list": an int
# or a list ending in one (the parser takes ``.back()``), "int": a plain integer.
_REQUIRED_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "conv1d": (("kernel_size", "list"), ("dilation", "list")),
    "conv2d": (
        *((key, "list") for key in ("kernel_size_time", "kernel_size_feature", "dilation")),
        *((key, "list") for key in ("strides", "num_filters_in", "num_features_in")),
        ("num_filters_out", "list"),
        ("padding", "str"),
    ),
    "batchnorm2d": (("num_filters_in", "int"), ("num_features_in", "int"), ("epsilon", "num")),
}


def _field_ok(value: Any, what: str) -> bool:
    if what == "str":
        return isinstance(value, str)
    if what == "num":
        return type(value) is int or (type(value) is float and math.isfinite(value))
    if what == "list" and isinstance(value, list):
        return bool(value) and _size(value[-1]) is not None
    return _size(value) is not None


def _unverified_fields(c: Collector, i: int, kind: str, layer: dict[str, Any]) -> None:
    """Errors for what RTNeural throws on in a layer vashrink does not otherwise verify."""
    wanted = {"str": "a string", "num": "a finite number", "int": "a positive integer"}
    for key, what in _REQUIRED_KEYS.get(kind, ()):
        if key not in layer:
            c.error("field-missing", f'no "{key}": RTNeural throws on a {kind} without it', i)
        elif not _field_ok(layer[key], what):
            form = wanted.get(what, "a positive integer or a list ending in one")
            c.error(
                "field-invalid",
                f'"{key}" must be {form} (RTNeural throws or mis-sizes), got {layer[key]!r:.40}',
                i,
            )
    if kind == "conv1d" and "groups" in layer and _size(layer["groups"]) is None:
        got = f"{layer['groups']!r:.40}"
        c.error("field-invalid", f'"groups" must be a positive integer, got {got}', i)
    weights = layer.get("weights")
    if isinstance(weights, list) and len(weights) < 2:
        c.error(
            "weights-count",
            f"a {kind} needs at least 2 weight arrays (RTNeural reads weights[1]), got "
            f"{len(weights)}",
            i,
        )
