"""A float64 numpy forward pass with RTNeural's semantics, run on a parsed file.

It reads the arrays exactly as RTNeural does (kernels ``[in][out]``, GRU gates z, r, h with
``reset_after``, LSTM gates i, f, c, o), so comparing it with torch proves an export right,
independently of our own importer: a kernel written untransposed changes these outputs even
when the layer is square.
"""

from __future__ import annotations

import numpy as np

from .rtmodel import RtLayer, RtModel

__all__ = ["activate", "reference_forward"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def activate(name: str, x: np.ndarray) -> np.ndarray:
    """RTNeural's activation ``name`` (``""`` = identity) over the last axis of ``x``."""
    if name == "tanh":
        out: np.ndarray = np.tanh(x)
        return out
    if name == "relu":
        out = np.maximum(x, 0.0)
        return out
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        out = e / e.sum(axis=-1, keepdims=True)
        return out
    return x


def _gru(layer: RtLayer, x: np.ndarray) -> np.ndarray:
    w, u, b = layer.weights
    h_size = layer.out_size
    h = np.zeros(h_size)
    xw = x @ w + b[0]
    out = np.empty((x.shape[0], h_size))
    for t in range(x.shape[0]):
        hu = h @ u + b[1]
        z = _sigmoid(xw[t, :h_size] + hu[:h_size])
        r = _sigmoid(xw[t, h_size : 2 * h_size] + hu[h_size : 2 * h_size])
        cand = np.tanh(xw[t, 2 * h_size :] + r * hu[2 * h_size :])
        h = z * h + (1.0 - z) * cand
        out[t] = h
    return out


def _lstm(layer: RtLayer, x: np.ndarray) -> np.ndarray:
    w, u, b = layer.weights
    n = layer.out_size
    h = np.zeros(n)
    c = np.zeros(n)
    xw = x @ w + b
    out = np.empty((x.shape[0], n))
    for t in range(x.shape[0]):
        gates = xw[t] + h @ u
        i = _sigmoid(gates[:n])
        f = _sigmoid(gates[n : 2 * n])
        g = np.tanh(gates[2 * n : 3 * n])
        o = _sigmoid(gates[3 * n :])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[t] = h
    return out


def reference_forward(model: RtModel, x: np.ndarray) -> np.ndarray:
    """Run ``model`` on ``x`` ``[n, in_size]`` -> ``[n, out_size]``, float64.

    Rows are independent samples for a memoryless model and consecutive time steps (from a zero
    state) when the model has recurrent layers, as in a plugin calling ``forward`` per sample;
    each layer of a stack runs on the previous one's outputs, as RTNeural chains them.
    With ``model.skip`` (``in_skip``) the first input is added to the output, as AIDA-X does;
    AIDA-X's gains are not applied (its reference batch is computed without them). A model with
    layers vashrink does not verify (``model.unverified``) cannot be run.
    """
    if model.unverified:
        kinds = ", ".join(f"layer {i} ({kind})" for i, kind in model.unverified)
        msg = f"vashrink cannot run {kinds}"
        raise ValueError(msg)
    x = np.asarray(x, dtype=np.float64).reshape(-1, model.in_size)
    y = x
    for layer in model.layers:
        if layer.kind == "dense":
            kernel, bias = layer.weights
            y = activate(layer.activation, y @ kernel + bias)
        elif layer.kind == "gru":
            y = _gru(layer, y)
        elif layer.kind == "lstm":
            y = _lstm(layer, y)
        elif layer.kind == "prelu":
            (alpha,) = layer.weights
            y = np.where(y >= 0, y, alpha * y)
        elif layer.kind == "batchnorm":
            gamma, beta, mean, var_eps = layer.weights
            y = gamma / np.sqrt(var_eps) * (y - mean) + beta
        else:
            y = activate(layer.activation, y)
    return y + x[:, :1] if model.skip else y
