"""RTNeural JSON: export torch models, import (validated) files.

Export writes Keras layout (dense kernel ``[in][out]``, the transpose of ``nn.Linear.weight``),
reorders GRU gates (torch r, z, n -> RTNeural z, r, h, keeping both bias rows) and LSTM gates
(torch i, f, g, o is RTNeural's i, f, c, o; ``b = b_ih + b_hh``), names every dense activation
explicitly (``""`` for none, never ``linear``) and refuses NaN (``allow_nan=False``). A
snapshot of test inputs and expected outputs is written beside the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..errors import ModelFormatError
from ..model.architecture import MAX_RNN_LAYERS
from ..model.layers import DenseLayer, GruLayer, LstmLayer
from ..model.spec import ModelSpec, prelu_slopes, spec_of, spec_to_torch
from .aidax import check_batch, fold_gains
from .rtmodel import IMPORTABLE, AidaxFields, Finding, RtLayer, RtModel
from .snapshot import make_snapshot, write_export
from .validate import parse_document

__all__ = [
    "from_rtneural",
    "load_rtneural",
    "parse_file",
    "read_document",
    "rtneural_document",
    "rtneural_to_spec",
    "to_rtneural",
]

_MAX_FILE_BYTES = 1 << 30


def _gru_to_keras(layer: GruLayer) -> list[Any]:
    h = layer.hidden_size
    order = np.r_[h : 2 * h, 0:h, 2 * h : 3 * h]  # torch r, z, n -> z, r, h
    w = layer.weight_ih[order].T
    u = layer.weight_hh[order].T
    b = np.stack([layer.bias_ih[order], layer.bias_hh[order]])
    return [w.tolist(), u.tolist(), b.tolist()]


def _lstm_to_keras(layer: LstmLayer) -> list[Any]:
    return [layer.weight_ih.T.tolist(), layer.weight_hh.T.tolist(), layer.bias.tolist()]


def _dense_entries(layer: DenseLayer) -> list[dict[str, Any]]:
    act = {"none": "", "prelu": ""}.get(layer.activation, layer.activation)
    entries: list[dict[str, Any]] = [
        {
            "type": "dense",
            "activation": act,
            "shape": [None, layer.out_size],
            "weights": [layer.weight.T.tolist(), layer.bias.tolist()],
        }
    ]
    if layer.activation == "prelu":
        slopes = prelu_slopes(layer).tolist()
        entries.append({"type": "prelu", "shape": [None, layer.out_size], "weights": [[slopes]]})
    return entries


def rtneural_document(model: nn.Module | ModelSpec) -> dict[str, Any]:
    """The RTNeural JSON document (a dict) for an MLP or :class:`RecurrentModel`.

    A model with an input skip gets AIDA-X's ``"in_skip": 1``: AIDA-X adds the input to the
    output; RTNeural's own ``Model::forward`` does not, so a plain RTNeural plugin must.
    """
    spec = spec_of(model)
    layers: list[dict[str, Any]] = []
    for rec in spec.rnn:
        weights = _gru_to_keras(rec) if isinstance(rec, GruLayer) else _lstm_to_keras(rec)
        shape = [None, None, rec.hidden_size]
        layers.append({"type": rec.cell, "shape": shape, "weights": weights})
    if spec.rnn:
        in_shape: list[int | None] = [None, None, spec.in_size]
    else:
        in_shape = [None, spec.in_size]
    for layer in spec.dense:
        layers.extend(_dense_entries(layer))
    doc: dict[str, Any] = {"in_shape": in_shape, "layers": layers}
    if spec.skip:  # AIDA-X's key; RTNeural itself ignores it: the caller adds the input
        doc["in_skip"] = 1
    return doc


def to_rtneural(model: nn.Module | ModelSpec, path: str | Path, *, snapshot: bool = True) -> Path:
    """Write ``model`` as RTNeural JSON (and ``<name>.snapshot.json`` unless ``snapshot=False``).

    Args:
        model: an MLP ``nn.Sequential`` (Linear + tanh/relu/sigmoid/elu/softmax/prelu/none) or a
            :class:`~vashrink.formats.RecurrentModel` (GRU/LSTM + dense head).
        path: the ``.json`` file to write.

    Returns:
        The path written.
    """
    text = json.dumps(rtneural_document(model), allow_nan=False)
    return write_export(Path(path), text, make_snapshot(model) if snapshot else None)


def _reject_constant(name: str) -> float:
    raise _NanLiteral(name)


class _NanLiteral(ValueError):
    pass


def read_document(path: str | Path) -> tuple[Any, list[Finding]]:
    """Decode a JSON file; on failure the document is None and a finding says why (a file
    holding JSON ``null`` decodes to None with no finding)."""
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_FILE_BYTES:
            return None, [
                Finding("error", "size-absurd", f"{p} is larger than 1 GiB; not a real-time model")
            ]
        text = p.read_text(encoding="utf-8-sig")  # RTNeural's JSON parser skips a UTF-8 BOM
    except OSError as exc:
        return None, [
            Finding(
                "error",
                "file-unreadable",
                f"cannot read {p}: {exc.strerror or exc}; check the path",
            )
        ]
    except UnicodeDecodeError:
        utf16 = p.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
        how = " (it is UTF-16: save it as UTF-8)" if utf16 else ""
        return None, [
            Finding(
                "error",
                "not-json",
                f"{p} is not UTF-8 text{how}; give an RTNeural .json model file",
            )
        ]
    try:
        return json.loads(text, parse_constant=_reject_constant), []
    except _NanLiteral as exc:
        message = (
            f"the file holds the literal {exc.args[0]} (Python's default json.dump); "
            "RTNeural's JSON "
            "parser fails on it: fix the non-finite weights and write with allow_nan=False"
        )
        return None, [Finding("error", "nan-literal", message)]
    except RecursionError:
        return None, [
            Finding("error", "not-json", "the JSON is nested too deeply to be a model file")
        ]
    except ValueError as exc:
        reason = str(exc).splitlines()[0][:120]
        message = f"not valid JSON ({reason}); the file may be truncated: export it again"
        return None, [Finding("error", "not-json", message)]


def parse_file(path: str | Path) -> tuple[RtModel | None, list[Finding]]:
    """Decode and validate a file; the model is None when it cannot be read or parsed."""
    doc, findings = read_document(path)
    if findings:  # not decodable; a decoded ``null`` goes on to be refused by parse_document
        return None, findings
    return parse_document(doc)


def _first_error(path: Path, findings: list[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    first = errors[0].line() if errors else "invalid model"
    more = f" (+{len(errors) - 1} more; run `vashrink check {path}`)" if len(errors) > 1 else ""
    return f"{path}: {first}{more}"


def load_rtneural(path: str | Path) -> RtModel:
    """Read and validate an RTNeural JSON file (raises :class:`ModelFormatError`)."""
    p = Path(path)
    model, findings = parse_file(p)
    if model is None:
        raise ModelFormatError(_first_error(p, findings))
    if model.unverified:
        i, kind = model.unverified[0]
        msg = (
            f"{p}: layer {i}: {kind} layers are not supported for import ({IMPORTABLE}); run "
            "this model with RTNeural itself"
        )
        raise ModelFormatError(msg)
    return model


def _gru_from_keras(layer: RtLayer) -> GruLayer:
    w, u, b = layer.weights
    h = layer.out_size
    order = np.r_[h : 2 * h, 0:h, 2 * h : 3 * h]  # z, r, h -> r, z, n (the swap is its own inverse)
    return GruLayer(w.T[order].copy(), u.T[order].copy(), b[0][order].copy(), b[1][order].copy())


def _leading_recurrent(model: RtModel) -> int:
    """How many gru/lstm layers lead the file; refuses one after another kind or too many."""
    where = [i for i, layer in enumerate(model.layers) if layer.kind in ("gru", "lstm")]
    n_lead = next((k for k, i in enumerate(where) if i != k), len(where))
    if n_lead < len(where):
        i = where[n_lead]
        msg = (
            f"layer {i}: a {model.layers[i].kind} here, after a {model.layers[i - 1].kind} "
            f"layer, is not supported for import: vashrink imports up to {MAX_RNN_LAYERS} "
            "gru/lstm layers only at the start, then dense layers; run this model with RTNeural "
            "itself"
        )
        raise ModelFormatError(msg)
    if n_lead > MAX_RNN_LAYERS:
        msg = (
            f"the file stacks {n_lead} recurrent layers; vashrink imports at most "
            f"{MAX_RNN_LAYERS}: run this model with RTNeural itself"
        )
        raise ModelFormatError(msg)
    return n_lead


def _recurrent_from_keras(layer: RtLayer) -> GruLayer | LstmLayer:
    if layer.kind == "gru":
        return _gru_from_keras(layer)
    w, u, b = layer.weights
    return LstmLayer(w.T.copy(), u.T.copy(), b.copy())


def _elementwise(layer: RtLayer, prev: DenseLayer | None) -> DenseLayer:
    """A stand-alone activation, prelu or batchnorm layer as a dense layer: merged into a
    linear dense layer before it (the layer this returns replaces it), else carried by an
    identity dense layer (exact: ``I x + 0``). A batchnorm is the affine map
    ``gamma (x - mean) / sqrt(var + eps) + beta``, folded into the weights."""
    n = layer.in_size
    if prev is None or prev.activation != "none":
        weight, bias = np.eye(n), np.zeros(n)
    else:
        weight, bias = prev.weight, prev.bias
    if layer.kind == "batchnorm":
        gamma, beta, mean, var_eps = layer.weights
        scale = gamma / np.sqrt(var_eps)
        return DenseLayer(scale[:, None] * weight, scale * (bias - mean) + beta, "none")
    if layer.kind == "prelu":
        return DenseLayer(weight, bias, "prelu", layer.weights[0].copy())
    return DenseLayer(weight, bias, layer.activation)


def rtneural_to_spec(model: RtModel) -> ModelSpec:
    """Convert a parsed file to a :class:`ModelSpec`; raises if vashrink cannot represent it.

    ``in_skip`` becomes :attr:`ModelSpec.skip`; AIDA-X's ``in_gain``/``out_gain`` are folded
    into the weights (:func:`~vashrink.formats.aidax.fold_gains`), or the file is refused, as
    it is when its own ``input_batch`` does not reproduce ``output_batch``.
    """
    n_rnn = _leading_recurrent(model)
    batch_errors = [f for f in check_batch(model)[0] if f.severity == "error"]
    if batch_errors:  # the file's own reference does not reproduce: its weights are not its
        raise ModelFormatError(batch_errors[0].line())
    rnn = tuple(_recurrent_from_keras(layer) for layer in model.layers[:n_rnn])
    layers = list(model.layers[n_rnn:])
    dense: list[DenseLayer] = []
    for offset, layer in enumerate(layers, start=len(model.layers) - len(layers)):
        if layer.kind == "dense":
            kernel, bias = layer.weights
            dense.append(DenseLayer(kernel.T.copy(), bias.copy(), layer.activation or "none"))
            continue
        if layer.kind not in ("prelu", "activation", "batchnorm"):
            msg = f"layer {offset}: a {layer.kind} here is not supported for import ({IMPORTABLE})"
            raise ModelFormatError(msg)
        if layer.kind == "activation" and not layer.activation:
            continue  # an empty activation layer does nothing
        prev = dense[-1] if dense else None
        if prev is not None and prev.activation == "none":
            dense[-1] = _elementwise(layer, prev)
        else:
            dense.append(_elementwise(layer, prev))
    if not dense:
        msg = (
            "the model has no dense layer after its recurrent layers; vashrink needs a "
            "dense output layer"
        )
        raise ModelFormatError(msg)
    if model.skip and not rnn:
        msg = (
            "in_skip on a model without a gru/lstm layer: vashrink supports an input skip on "
            "recurrent models only (an MLP learns x itself); remove in_skip"
        )
        raise ModelFormatError(msg)
    spec = ModelSpec(rnn, tuple(dense))
    if model.aidax is not None or model.skip:
        spec = fold_gains(spec, model.aidax or AidaxFields(), model.skip)
    return spec


def from_rtneural(path: str | Path) -> nn.Module:
    """Load an RTNeural JSON file as a float32 eval-mode torch model.

    Returns an ``nn.Sequential`` MLP, or a :class:`~vashrink.formats.RecurrentModel` when the
    file starts with ``gru``/``lstm`` layers (a stack of up to 8, each fed the previous one's
    hidden state, as RTNeural's parser chains them). Raises :class:`ModelFormatError` (naming the
    layer and the fix) for anything ``vashrink check`` reports as an error.
    """
    return spec_to_torch(rtneural_to_spec(load_rtneural(path)))
