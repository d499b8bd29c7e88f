"""Write ``.nam`` files NeuralAmpModelerCore loads: a WaveNet, or an LSTM stack with a linear
1-output head (a vashrink model file's LSTM, or one read from a ``.nam``).

The weight order is the reader's (:mod:`.nam_wavenet`, :func:`.nam._lstm`); LSTMs are written
with a zero initial state (h0 = c0 = 0: vashrink's, and torch's). Files use the oldest layout
that holds the model (version 0.5.4: ``head_size``/``head_bias``, one ``kernel_size``, ``gated``)
so older plugins load them too; newer keys are written only when the model needs them (FiLM,
blended gating and a post-stack head: version 0.6.0 keys, as NAM Core's ``wavenet_a2_max.nam``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..model.layers import LstmLayer
from ..model.spec import ModelSpec
from ..model.wavenet import FILM_POSITIONS, Activation, LayerArray, WaveNetSpec

__all__ = ["NAM_VERSION", "NAM_VERSION_FILM", "export_nam", "lstm_document", "nam_document",
           "wavenet_document", "write_nam"]

NAM_VERSION = "0.5.4"
#: The version written for a model using FiLM, blended gating or a post-stack head.
NAM_VERSION_FILM = "0.6.0"


def _activation(a: Activation) -> Any:
    if a.name in ("LeakyReLU", "PReLU") and (a.slopes is not None or a.negative_slope != 0.01):
        if a.slopes is not None:
            return {"type": a.name, "negative_slopes": list(a.slopes)}
        return {"type": a.name, "negative_slope": a.negative_slope}
    if a.name == "LeakyHardtanh":
        return {"type": a.name, "min_val": a.min_val, "max_val": a.max_val,
                "min_slope": a.min_slope, "max_slope": a.max_slope}
    return a.name


def _same(values: list[Any]) -> Any:
    return values[0] if all(v == values[0] for v in values) else values


def _array_config(arr: LayerArray) -> dict[str, Any]:
    layers = arr.layers
    first = layers[0]
    cfg: dict[str, Any] = {"input_size": arr.input_size,
                           "condition_size": int(arr.layers[0].mixin_weight.shape[1]),
                           "channels": arr.channels}
    head_kernel = int(arr.head_weight.shape[2])
    if head_kernel == 1 and arr.head_dilation == 1:
        cfg.update(head_size=arr.head_size, head_bias=arr.head_bias is not None)
    else:
        cfg["head"] = {"out_channels": arr.head_size, "kernel_size": head_kernel,
                       "bias": arr.head_bias is not None, "head_dilation": arr.head_dilation}
    kernels = _same([x.kernel_size for x in layers])
    cfg["kernel_sizes" if isinstance(kernels, list) else "kernel_size"] = kernels
    cfg["dilations"] = [x.dilation for x in layers]
    cfg["activation"] = _same([_activation(x.activation) for x in layers])
    gates = [x.gate_activation for x in layers]
    if not any(x.blended for x in layers) and (
            all(g is None for g in gates) or all(g == Activation("Sigmoid") for g in gates)):
        cfg["gated"] = gates[0] is not None
    else:
        cfg["gating_mode"] = ["none" if x.gate_activation is None else
                              "blended" if x.blended else "gated" for x in layers]
        cfg["secondary_activation"] = [None if g is None else _activation(g) for g in gates]
    if first.bottleneck != arr.channels:
        cfg["bottleneck"] = first.bottleneck
    if first.layer1x1_weight is None:
        cfg["layer1x1"] = {"active": False, "groups": 1}
    if first.head1x1_weight is not None:
        cfg["head1x1"] = {"active": True, "out_channels": first.head_size, "groups": 1}
    for position in FILM_POSITIONS:
        if position in first.films:
            cfg[f"{position}_film"] = {"active": True, "shift": first.films[position].shift,
                                       "groups": 1}
    return cfg


def _check_uniform(arr: LayerArray, i: int) -> None:
    """A layer array's layers must agree on what the config states once for all of them."""
    keys = {(x.bottleneck, x.layer1x1_weight is None, x.head_size, x.head1x1_weight is None,
             tuple((p, f.shift) for p, f in sorted(x.films.items()))) for x in arr.layers}
    if len(keys) > 1:
        msg = (f"layer array {i}: its layers differ in bottleneck, layer 1x1, head 1x1 or FiLM, "
               "which a .nam config states once per array")
        raise ModelFormatError(msg)


def _wavenet_weights(spec: WaveNetSpec) -> list[float]:
    parts: list[np.ndarray] = []
    for arr in spec.arrays:
        parts.append(arr.rechannel.reshape(-1))
        for x in arr.layers:
            parts += [x.conv_weight.reshape(-1), x.conv_bias, x.mixin_weight.reshape(-1)]
            for a in (x.layer1x1_weight, x.layer1x1_bias, x.head1x1_weight, x.head1x1_bias):
                if a is not None:
                    parts.append(a.reshape(-1))
            for position in FILM_POSITIONS:
                if position in x.films:
                    parts += [x.films[position].weight.reshape(-1), x.films[position].bias]
        parts.append(arr.head_weight.reshape(-1))
        if arr.head_bias is not None:
            parts.append(arr.head_bias)
    if spec.head is not None:
        for w, b in spec.head.convs:
            parts += [w.reshape(-1), b]
    parts.append(np.array([spec.head_scale]))
    out: list[float] = np.concatenate(parts).astype(np.float64).tolist()
    return out


def wavenet_document(spec: WaveNetSpec) -> dict[str, Any]:
    """``{"architecture": "WaveNet", "config": ..., "weights": ...}`` for ``spec``."""
    for i, arr in enumerate(spec.arrays):
        _check_uniform(arr, i)
    config = {"layers": [_array_config(a) for a in spec.arrays], "head": _post_head(spec),
              "head_scale": spec.head_scale}
    return {"architecture": "WaveNet", "config": config, "weights": _wavenet_weights(spec)}


def _post_head(spec: WaveNetSpec) -> dict[str, Any] | None:
    head = spec.head
    if head is None:
        return None
    inner = {int(w.shape[0]) for w, _ in head.convs[:-1]}
    if len(inner) > 1:
        msg = "the post-stack head's convs differ in width, which a .nam config states once"
        raise ModelFormatError(msg)
    return {"channels": inner.pop() if inner else head.out_size, "out_channels": head.out_size,
            "kernel_sizes": [int(w.shape[2]) for w, _ in head.convs],
            "activation": _activation(head.activation)}


def _uses_06(spec: WaveNetSpec) -> bool:
    """FiLM, blended gating or a post-stack head (here or in the condition DSP)."""
    layers = [x for a in spec.arrays for x in a.layers]
    return (spec.head is not None or any(x.films or x.blended for x in layers)
            or (spec.condition is not None and _uses_06(spec.condition)))


def lstm_document(spec: ModelSpec) -> dict[str, Any]:
    """NAM's LSTM for a stack of LSTM layers with a linear ``Dense(hidden, 1)`` head.

    Raises:
        ModelFormatError: a GRU, an MLP, an input skip, or a head NAM's LSTM cannot hold.
    """
    if not spec.rnn or not all(isinstance(r, LstmLayer) for r in spec.rnn):
        kind = "an MLP" if not spec.rnn else "a GRU"
        msg = (f"this model is {kind}; NAM runs LSTM and WaveNet models only "
               "(train an LSTM, e.g. --cell lstm, to export .nam)")
        raise ModelFormatError(msg)
    if spec.skip:
        msg = ("this LSTM adds its input to the output (skip), which NAM's LSTM does not; "
               "train it without the skip to export .nam")
        raise ModelFormatError(msg)
    head = spec.dense
    if len(head) != 1 or head[0].activation != "none" or head[0].out_size != 1:
        msg = ("NAM's LSTM ends in one linear Dense(hidden, 1) layer; this model's head is "
               f"{'-'.join(str(d.out_size) for d in head)} with activation "
               f"{', '.join(d.activation for d in head)}")
        raise ModelFormatError(msg)
    if spec.in_size != 1:
        msg = f"NAM's LSTM takes one input; this model takes {spec.in_size}"
        raise ModelFormatError(msg)
    hidden = spec.rnn[0].hidden_size
    if any(r.hidden_size != hidden for r in spec.rnn):
        msg = "NAM's LSTM layers share one hidden_size; this stack's layers differ"
        raise ModelFormatError(msg)
    parts: list[np.ndarray] = []
    for r in spec.rnn:
        assert isinstance(r, LstmLayer)
        parts += [np.concatenate([r.weight_ih, r.weight_hh], axis=1).reshape(-1), r.bias,
                  np.zeros(2 * hidden)]
    parts += [head[0].weight.reshape(-1), head[0].bias]
    config = {"input_size": 1, "hidden_size": hidden, "num_layers": len(spec.rnn)}
    weights: list[float] = np.concatenate(parts).astype(np.float64).tolist()
    return {"architecture": "LSTM", "config": config, "weights": weights}


def nam_document(model: WaveNetSpec | ModelSpec, *, sample_rate_hz: float | None = 48000.0,
                 metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole ``.nam`` JSON document for ``model``."""
    body = wavenet_document(model) if isinstance(model, WaveNetSpec) else lstm_document(model)
    if isinstance(model, WaveNetSpec) and model.condition is not None:
        # NAM Core reads a condition DSP as a whole nested document, at the model's rate
        body["config"]["condition_dsp"] = nam_document(model.condition,
                                                       sample_rate_hz=sample_rate_hz)
    version = NAM_VERSION_FILM if isinstance(model, WaveNetSpec) and _uses_06(model) \
        else NAM_VERSION
    doc: dict[str, Any] = {"version": version, **body, "metadata": dict(metadata or {})}
    if sample_rate_hz is not None:
        doc["sample_rate"] = sample_rate_hz
    if not all(np.isfinite(doc["weights"])):
        msg = "the model has NaN or Inf weights; it cannot be exported"
        raise ModelFormatError(msg)
    return doc


def write_nam(path: str | Path, model: WaveNetSpec | ModelSpec, *,
              sample_rate_hz: float | None = 48000.0,
              metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as a ``.nam`` file at ``path``; returns the path."""
    p = Path(path)
    doc = nam_document(model, sample_rate_hz=sample_rate_hz, metadata=metadata)
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def export_nam(spec: ModelSpec | WaveNetSpec, path: str | Path,
               provenance: dict[str, Any] | None = None) -> Path:
    """``vashrink export MODEL --to out.nam``: the sample rate and NAM metadata a model read
    from a ``.nam`` carried in its provenance are written back; otherwise 48 kHz (NAM's)."""
    prov = provenance or {}
    rate = prov.get("sample_rate_hz") or 48000.0
    meta = prov.get("nam_metadata") if isinstance(prov.get("nam_metadata"), dict) else None
    return write_nam(path, spec, sample_rate_hz=float(rate), metadata=meta)
