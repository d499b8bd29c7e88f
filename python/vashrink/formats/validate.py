"""Strict parsing of RTNeural JSON documents into arrays, with one finding per problem.

Every trap RTNeural falls into (``../shared/notes/rtneural-format.md``) becomes a
:class:`Finding` naming the layer and the fix. Declared sizes are checked against caps before
any array is built, and arrays are built only from lists whose lengths already match the
declared sizes, so no input can make the parser allocate more than the file itself holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .aidax import parse_aidax
from .rtmodel import (
    MAX_PARAMS,
    MAX_UNITS,
    RT_ACTIVATIONS,
    UNVERIFIED,
    Collector,
    Finding,
    RtLayer,
    RtModel,
)
from .validate_fields import (
    Problem,
    _activation,
    _dims,
    _is_number,
    _kernel,
    _matrix,
    _out_size,
    _shape_size,
    _type,
    _unverified_fields,
    _vector,
    rt_shape_size,
)

__all__ = [
    "MAX_PARAMS",
    "MAX_UNITS",
    "RT_ACTIVATIONS",
    "Finding",
    "RtLayer",
    "RtModel",
    "parse_document",
]

def _parse_layer(
    c: Collector, i: int, layer: Any, n_in: int | None
) -> tuple[RtLayer | None, int | None]:
    """The parsed layer (None if invalid) and the next layer's input size (None if unknown)."""
    if not isinstance(layer, dict):
        c.error("layer-invalid", f"a layer must be a JSON object, got {type(layer).__name__}", i)
        return None, None
    kind = _type(c, i, layer)
    n_out = _out_size(c, i, layer, kind)
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
    if kind in UNVERIFIED:
        _unverified_fields(c, i, kind, layer)
        c.unverified.append((i, kind))
        c.warning(
            "type-unverified",
            f"vashrink does not verify {kind} layers (their weights, sizes or outputs), which "
            "RTNeural loads: the file cannot be called valid",
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
    if kind == "batchnorm":
        return _batchnorm(c, i, layer, weights, n_in), n_in
    if "activation" in layer and act == "" and layer["activation"] == "":
        c.warning(
            "activation-empty", "an activation layer with no activation does nothing; remove it", i
        )
    return RtLayer("activation", n_in, n_in, act), n_in


def _dense(
    c: Collector, i: int, weights: list[Any], n_in: int, n_out: int, act: str
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
    c: Collector, i: int, kind: str, weights: list[Any], n_in: int, h: int
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
        if isinstance(weights[2], list) and len(weights[2]) == 1:
            c.error(
                "gru-bias",
                "gru bias has one row: a Keras GRU with reset_after=False, which RTNeural "
                f"does not implement; RTNeural needs [2][{g * h}] (reset_after=True, as torch)",
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
    c.warning(  # the gate order never shows in the shapes, not even for one unit
        "gate-order",
        f"{kind} gate order cannot be verified from shapes (U is [{h}][{g * h}]): gates in "
        "PyTorch order load without complaint; check with a snapshot (--snapshot)",
        i,
    )
    return RtLayer(kind, n_in, h, "", (w, u, b))


def _batchnorm(
    c: Collector, i: int, layer: dict[str, Any], weights: list[Any], n: int
) -> RtLayer | None:
    """RTNeural: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``; 4 arrays, or 2 (mean, var)."""
    raw_eps: Any = layer.get("epsilon")
    if "epsilon" not in layer:
        c.error(
            "batchnorm-epsilon",
            'no "epsilon": RTNeural throws on a batchnorm without it; add the epsilon it was '
            'trained with (PyTorch\'s default: "epsilon": 1e-05)',
            i,
        )
        return None
    if not _is_number(raw_eps) or not np.isfinite(float(raw_eps)) or float(raw_eps) < 0:
        c.error("batchnorm-epsilon", f'"epsilon" must be a number >= 0, got {raw_eps!r:.40}', i)
        return None
    eps = float(raw_eps)
    if len(weights) not in (2, 4):
        c.error(
            "weights-count",
            "batchnorm weights must be [gamma, beta, running_mean, running_var] (or "
            f"[running_mean, running_var] when not affine), got {len(weights)} arrays",
            i,
        )
        return None
    names = ("gamma", "beta", "running_mean", "running_var")[4 - len(weights) :]
    vecs = []
    for value, name in zip(weights, names, strict=True):
        vec = _vector(value, n, f"batchnorm {name}")
        if isinstance(vec, tuple):
            c.error(vec[0], f"{vec[1]}; each batchnorm array has one entry per channel", i)
            return None
        vecs.append(vec)
    if len(vecs) == 2:
        vecs = [np.ones(n), np.zeros(n), *vecs]
    gamma, beta, mean, var = vecs
    if not (np.float32(var) + np.float32(eps) > 0).all():
        c.error(
            "batchnorm-variance",
            "running_var + epsilon is not positive for every channel: RTNeural divides by its "
            "square root (Inf/NaN output); fix the statistics or epsilon",
            i,
        )
        return None
    return RtLayer("batchnorm", n, n, "", (gamma, beta, mean, var + eps))


def parse_document(doc: Any) -> tuple[RtModel | None, list[Finding]]:
    """Validate a decoded JSON document; the model is None when any error was found."""
    c = Collector()
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
            "with vashrink.formats.from_state_dict_json(path, architecture), then to_rtneural",
        )
        return None, c.findings
    if isinstance(doc.get("model_data"), dict) and "state_dict" in doc:
        c.error(
            "coreaudioml-json",
            "this is a CoreAudioML/GuitarML SimpleRNN file, not RTNeural JSON: load it with "
            "vashrink.load_model(path) (or `vashrink export FILE --to model.json`)",
        )
        return None, c.findings
    n_in: int | None = None
    in_shape = doc.get("in_shape")
    if in_shape is None:
        c.error(
            "in-shape-missing", 'no "in_shape": RTNeural throws; add "in_shape": [null, INPUTS]'
        )
    elif not isinstance(in_shape, list) or not in_shape:
        c.error(
            "in-shape-invalid",
            f'"in_shape" must end in the input count, like [null, 1]; got {in_shape!r:.60}',
        )
    else:  # RTNeural reads in_shape as it reads a layer's shape
        n_in = _shape_size(c, None, in_shape, "in_shape")
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        c.error("layers-missing", 'no "layers" list (or it is empty): add the model\'s layers')
        return None, c.findings
    if n_in is not None and isinstance(layers[0], dict):
        n_in = _check_in_shape(c, layers[0], n_in, in_shape)
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
    skip, aidax = parse_aidax(c, doc, n_in or 1, tuple(parsed))
    if any(f.severity == "error" for f in c.findings) or n_in is None:
        return None, c.findings
    return RtModel(n_in, tuple(parsed), tuple(c.unverified), skip, aidax), c.findings


def _check_in_shape(c: Collector, first: dict[str, Any], n_in: int, doc_in_shape: Any) -> int:
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
    n_out = rt_shape_size(shape) if isinstance(shape, list) and shape else None
    gates = {"gru": 3, "lstm": 4}.get(str(first.get("type")), 1)
    if n_out is not None and dims[1] == gates * n_out and rows != n_in:
        in_shape = doc_in_shape if isinstance(doc_in_shape, list) else []
        how = (
            " (RTNeural reads a 4-entry in_shape as in_shape[2] x in_shape[3])"
            if len(in_shape) == 4
            else ""
        )
        c.error(
            "in-shape-mismatch",
            f"in_shape says {n_in} inputs{how} but layer 0's kernel has {rows} rows; set "
            f"in_shape to [null, {rows}]",
        )
        return rows if rows <= MAX_UNITS else n_in
    return n_in
