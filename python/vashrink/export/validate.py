"""Strict parsing of RTNeural JSON documents into arrays, with one finding per problem.

Every trap RTNeural falls into (``../shared/notes/rtneural-format.md``) becomes a
:class:`Finding` naming the layer and the fix. Declared sizes are checked against caps before
any array is built, and arrays are built only from lists whose lengths already match the
declared sizes, so no input can make the parser allocate more than the file itself holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "MAX_PARAMS",
    "MAX_UNITS",
    "RT_ACTIVATIONS",
    "Finding",
    "RtLayer",
    "RtModel",
    "parse_document",
]

#: Activations RTNeural's ``createActivation`` knows; ``""`` is none.
RT_ACTIVATIONS = ("", "tanh", "relu", "sigmoid", "softmax", "elu")
#: Largest layer vashrink accepts (same as the widest Architecture).
MAX_UNITS = 65536
#: Largest total parameter count vashrink accepts from a file.
MAX_PARAMS = 50_000_000
_SUPPORTED = ("dense", "time-distributed-dense", "gru", "lstm", "prelu", "activation")
_UNVERIFIED = ("conv1d", "conv2d", "batchnorm", "batchnorm2d")


@dataclass(frozen=True)
class Finding:
    """One problem: ``layer`` is the index in ``layers`` (None for the whole file)."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    layer: int | None = None

    def line(self) -> str:
        where = f"layer {self.layer}: " if self.layer is not None else ""
        return f"{self.severity}: {where}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "layer": self.layer,
            "message": self.message,
        }


@dataclass(frozen=True)
class RtLayer:
    """A parsed layer in RTNeural (Keras) layout, float64.

    ``weights``: dense ``(kernel[in][out], bias[out])``; gru ``(W[in][3h], U[h][3h], b[2][3h])``
    gates z, r, h; lstm ``(W[in][4h], U[h][4h], b[4h])`` gates i, f, c, o; prelu ``(alpha[n],)``;
    activation ``()``.
    """

    kind: str
    in_size: int
    out_size: int
    activation: str
    weights: tuple[np.ndarray, ...] = field(default=())


@dataclass(frozen=True)
class RtModel:
    in_size: int
    layers: tuple[RtLayer, ...]


class _Collector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, code: str, message: str, layer: int | None = None) -> None:
        self.findings.append(Finding("error", code, message, layer))

    def warning(self, code: str, message: str, layer: int | None = None) -> None:
        self.findings.append(Finding("warning", code, message, layer))


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
    c: _Collector, i: int, value: Any, n_in: int, n_out: int, what: str
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


def _activation(c: _Collector, i: int, layer: dict[str, Any], kind: str) -> str:
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


def _type(c: _Collector, i: int, layer: dict[str, Any]) -> str | None:
    if "type" not in layer:
        c.error(
            "type-missing", 'no "type": RTNeural throws; add "type": "dense" (or gru, lstm, ...)', i
        )
        return None
    kind = layer["type"]
    if not isinstance(kind, str):
        c.error("type-invalid", f'"type" must be a string, got {type(kind).__name__}', i)
        return None
    if kind in _SUPPORTED or kind in _UNVERIFIED:
        return kind
    if kind.lower() in _SUPPORTED or kind.lower() in _UNVERIFIED:
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


def _out_size(c: _Collector, i: int, layer: dict[str, Any]) -> int | None:
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


def _parse_layer(
    c: _Collector, i: int, layer: Any, n_in: int | None
) -> tuple[RtLayer | None, int | None]:
    """The parsed layer (None if invalid) and the next layer's input size (None if unknown)."""
    if not isinstance(layer, dict):
        c.error("layer-invalid", f"a layer must be a JSON object, got {type(layer).__name__}", i)
        return None, None
    kind = _type(c, i, layer)
    n_out = _out_size(c, i, layer)
    act = _activation(c, i, layer, kind or "")
    if "weights" not in layer:
        c.error(
            "weights-missing",
            'no "weights": RTNeural throws; add the arrays ("weights": [] for activations)',
            i,
        )
        return None, n_out
    weights = layer["weights"]
    if not isinstance(weights, list):
        c.error(
            "weights-invalid",
            f'"weights" must be a list of arrays, got {type(weights).__name__}',
            i,
        )
        return None, n_out
    if kind in _UNVERIFIED:
        c.warning(
            "type-unverified",
            f"{kind} is valid RTNeural but vashrink does not verify its weights",
            i,
        )
        return None, n_out
    if kind is None or n_out is None or n_in is None:
        return None, n_out
    if kind in ("dense", "time-distributed-dense"):
        kind = "dense"
        if n_in * n_out > MAX_PARAMS:
            c.error(
                "size-absurd", f"a {n_in}x{n_out} dense layer is absurdly large; fix the shape", i
            )
            return None, n_out
        return _dense(c, i, weights, n_in, n_out, act), n_out
    if kind in ("gru", "lstm"):
        if n_out * (n_in + n_out) * 4 > MAX_PARAMS:
            c.error("size-absurd", f"a {kind} of {n_out} units is absurdly large; fix the shape", i)
            return None, n_out
        return _recurrent(c, i, kind, weights, n_in, n_out), n_out
    if n_out != n_in:
        c.error(
            "shape-mismatch",
            f"a {kind} layer keeps the size: shape says {n_out} but its input has {n_in}",
            i,
        )
        return None, n_in
    if kind == "prelu":
        alphas = weights[0][0] if weights and isinstance(weights[0], list) and weights[0] else None
        if isinstance(alphas, list) and len(alphas) == 1:  # RTNeural broadcasts a single slope
            alphas = alphas * n_in
        vec = _vector(alphas, n_in, "prelu alphas (weights[0][0])")
        if isinstance(vec, tuple):
            c.error(vec[0], f'{vec[1]}; write "weights": [[[alpha, ...]]]', i)
            return None, n_in
        return RtLayer("prelu", n_in, n_in, "", (vec,)), n_in
    if "activation" in layer and act == "" and layer["activation"] == "":
        c.warning(
            "activation-empty", "an activation layer with no activation does nothing; remove it", i
        )
    return RtLayer("activation", n_in, n_in, act), n_in


def _dense(
    c: _Collector, i: int, weights: list[Any], n_in: int, n_out: int, act: str
) -> RtLayer | None:
    if len(weights) not in (1, 2):
        c.error(
            "weights-count", f"dense weights must be [kernel, bias], got {len(weights)} arrays", i
        )
        return None
    kernel = _kernel(c, i, weights[0], n_in, n_out, "kernel")
    bias = np.zeros(n_out)
    if len(weights) == 2:
        parsed = _vector(weights[1], n_out, "bias")
        if isinstance(parsed, tuple):
            c.error(parsed[0], f"{parsed[1]}; the bias has one entry per unit", i)
            return None
        bias = parsed
    if kernel is None:
        return None
    if n_in == n_out and n_in > 1:
        c.warning(
            "kernel-square",
            f"kernel is square ({n_in}x{n_in}): its layout cannot be verified from shapes; check "
            "with a snapshot (--snapshot) that it is [in][out], not PyTorch's [out][in]",
            i,
        )
    return RtLayer("dense", n_in, n_out, act, (kernel, bias))


def _recurrent(
    c: _Collector, i: int, kind: str, weights: list[Any], n_in: int, h: int
) -> RtLayer | None:
    g = 3 if kind == "gru" else 4
    if len(weights) != 3:
        c.error("weights-count", f"{kind} weights must be [W, U, b], got {len(weights)} arrays", i)
        return None
    w = _kernel(c, i, weights[0], n_in, g * h, f"{kind} W")
    u = _kernel(c, i, weights[1], h, g * h, f"{kind} U")
    b: np.ndarray | Problem
    if kind == "gru":
        if isinstance(weights[2], list) and weights[2] and not isinstance(weights[2][0], list):
            c.error(
                "gru-bias",
                f"gru bias is one vector; RTNeural needs [2][{g * h}]: input bias row, "
                "then recurrent bias row",
                i,
            )
            return None
        b = _matrix(weights[2], 2, g * h, "gru bias")
    else:
        if _dims(weights[2]) is not None:
            c.error(
                "lstm-bias",
                f"lstm bias has rows; RTNeural needs one vector [{g * h}] = b_ih + b_hh: sum them",
                i,
            )
            return None
        b = _vector(weights[2], g * h, "lstm bias")
    if isinstance(b, tuple):
        c.error(b[0], b[1], i)
        return None
    if w is None or u is None:
        return None
    if h > 1:
        c.warning(
            "kernel-square",
            f"{kind} U is [{h}][{g * h}]: its gate order cannot be verified from "
            "shapes; check with a snapshot",
            i,
        )
    return RtLayer(kind, n_in, h, "", (w, u, b))


def parse_document(doc: Any) -> tuple[RtModel | None, list[Finding]]:
    """Validate a decoded JSON document; the model is None when any error was found."""
    c = _Collector()
    if not isinstance(doc, dict):
        c.error(
            "not-object",
            f"the file must hold a JSON object with in_shape and layers, got {type(doc).__name__}",
        )
        return None, c.findings
    if "in_shape" not in doc and "layers" not in doc and any("weight" in str(k) for k in doc):
        c.error(
            "state-dict-json",
            "this is a PyTorch state_dict dumped to JSON, not an RTNeural model file: load it "
            "with vashrink.export.from_state_dict_json(path, architecture), then to_rtneural",
        )
        return None, c.findings
    n_in: int | None = None
    in_shape = doc.get("in_shape")
    if in_shape is None:
        c.error(
            "in-shape-missing", 'no "in_shape": RTNeural throws; add "in_shape": [null, INPUTS]'
        )
    elif not isinstance(in_shape, list) or not in_shape or _size(in_shape[-1]) is None:
        c.error(
            "in-shape-invalid",
            f'"in_shape" must end in the input count, like [null, 1]; got {in_shape!r:.60}',
        )
    elif len(in_shape) == 4:
        c.warning(
            "type-unverified",
            "a 4-entry in_shape is for conv2d models, which vashrink does not verify",
        )
    else:
        n_in = _size(in_shape[-1])
        if n_in is not None and n_in > MAX_UNITS:
            c.error(
                "size-absurd",
                f"in_shape declares {n_in} inputs (more than {MAX_UNITS}); fix in_shape",
            )
            n_in = None
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        c.error("layers-missing", 'no "layers" list (or it is empty): add the model\'s layers')
        return None, c.findings
    if n_in is not None and isinstance(layers[0], dict):
        n_in = _check_in_shape(c, layers[0], n_in)
    parsed: list[RtLayer] = []
    size = n_in
    total = 0
    for i, layer in enumerate(layers):
        rt, size = _parse_layer(c, i, layer, size)
        if rt is not None:
            parsed.append(rt)
            total += sum(int(a.size) for a in rt.weights)
        if total > MAX_PARAMS:
            c.error(
                "size-absurd",
                f"more than {MAX_PARAMS} parameters; this is not a real-time model",
                i,
            )
            break
    if any(f.severity == "error" for f in c.findings) or n_in is None:
        return None, c.findings
    return RtModel(n_in, tuple(parsed)), c.findings


def _check_in_shape(c: _Collector, first: dict[str, Any], n_in: int) -> int:
    """Name a wrong ``in_shape`` (instead of a kernel error) when layer 0's kernel disagrees.

    Returns the input size to check the layers against (the kernel's, after reporting).
    """
    weights = first.get("weights")
    if not isinstance(weights, list) or not weights:
        return n_in
    dims = _dims(weights[0])
    if dims is None or first.get("type") not in ("dense", "time-distributed-dense", "gru", "lstm"):
        return n_in
    rows = dims[0]
    shape = first.get("shape")
    n_out = _size(shape[-1]) if isinstance(shape, list) and shape else None
    gates = {"gru": 3, "lstm": 4}.get(str(first.get("type")), 1)
    if n_out is not None and dims[1] == gates * n_out and rows != n_in:
        c.error(
            "in-shape-mismatch",
            f"in_shape says {n_in} inputs but layer 0's kernel has {rows} rows; set "
            f"in_shape to [null, {rows}]",
        )
        return rows if rows <= MAX_UNITS else n_in
    return n_in
