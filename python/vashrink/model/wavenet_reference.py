"""A float64 numpy reference of the WaveNet maths (:mod:`vashrink.model.wavenet`: FiLM,
blended gating and the post-stack head included), written for clarity: whole signals at once,
one layer after another, zero history before the first sample (what a freshly reset engine
holds). The engine's float32 output is tested against it."""

from __future__ import annotations

import numpy as np

from .wavenet import LayerArray, WaveNetLayer, WaveNetSpec

__all__ = ["wavenet_reference"]


def _causal_conv(x: np.ndarray, weight: np.ndarray, dilation: int) -> np.ndarray:
    """``y[t] = sum_k W[:, :, k] x[t - (K - 1 - k) d]``, zeros before t = 0; x is ``[T][in]``."""
    k_size = weight.shape[2]
    n = x.shape[0]
    y = np.zeros((n, weight.shape[0]))
    for k in range(k_size):
        shift = (k_size - 1 - k) * dilation
        if shift >= n:
            continue
        y[shift:] += x[: n - shift] @ weight[:, :, k].T
    return y


def _layer(h: np.ndarray, c: np.ndarray, layer: WaveNetLayer) -> tuple[np.ndarray, np.ndarray]:
    def film(position: str, x: np.ndarray) -> np.ndarray:
        f = layer.film(position)
        return x if f is None else f.apply(x, c)

    z = film("conv_post", _causal_conv(film("conv_pre", h), layer.conv_weight, layer.dilation)
             + layer.conv_bias)
    z = film("activation_pre", z + film("input_mixin_post",
                                        film("input_mixin_pre", c) @ layer.mixin_weight.T))
    b = layer.bottleneck
    if layer.gate_activation is None:
        a = layer.activation.apply(z)
    elif layer.blended:
        g = layer.gate_activation.apply(z[:, b:])
        a = g * layer.activation.apply(z[:, :b]) + (1.0 - g) * z[:, :b]
    else:
        a = layer.activation.apply(z[:, :b]) * layer.gate_activation.apply(z[:, b:])
    a = film("activation_post", a)
    head = a if layer.head1x1_weight is None else \
        film("head1x1_post", a @ layer.head1x1_weight.T + layer.head1x1_bias)
    if layer.layer1x1_weight is not None:
        h = h + film("layer1x1_post", a @ layer.layer1x1_weight.T + layer.layer1x1_bias)
    return h, head


def _array(x: np.ndarray, c: np.ndarray, head_in: np.ndarray | None,
           arr: LayerArray) -> tuple[np.ndarray, np.ndarray]:
    h = x @ arr.rechannel.T
    head = None if head_in is None else head_in.copy()
    for layer in arr.layers:
        h, contribution = _layer(h, c, layer)
        head = contribution if head is None else head + contribution
    assert head is not None
    out = _causal_conv(head, arr.head_weight, arr.head_dilation)
    if arr.head_bias is not None:
        out = out + arr.head_bias
    return h, out


def _outputs(spec: WaveNetSpec, sig: np.ndarray) -> np.ndarray:
    """``[T][out_size]``: every output channel, head_scale applied."""
    cond = sig if spec.condition is None else _outputs(spec.condition, sig)
    h, head = sig, None
    for arr in spec.arrays:
        h, head = _array(h, cond, head, arr)
    assert head is not None
    out: np.ndarray = spec.head_scale * head
    if spec.head is not None:
        for weight, bias in spec.head.convs:
            out = _causal_conv(spec.head.activation.apply(out), weight, 1) + bias
    return out


def wavenet_reference(spec: WaveNetSpec, x: np.ndarray) -> np.ndarray:
    """The model's output for the signal ``x`` (``[T]``), float64: the first output channel
    (``[T]``), or every channel (``[T][out]``) when ``spec`` has several."""
    sig = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    out = _outputs(spec, sig)
    return out[:, 0] if out.shape[1] == 1 else out
