"""A trainable torch WaveNet of :class:`~vashrink.model.wavenet_shape.WaveNetShape`, with the
maths of :mod:`vashrink.model.wavenet` (one layer array, Tanh, layer 1x1, head rechannel with
bias), run in parallel over time.

The convolutions are unpadded: an input row of ``T`` samples gives the ``T - RF + 1`` outputs
whose whole receptive field lies in the row, so the first ``RF - 1`` samples of a row only feed
context (the warm-up of a convolutional model). Those outputs equal the float64 reference
(:func:`~vashrink.model.wavenet_reference.wavenet_reference`) from sample ``RF - 1`` on, where the
reference no longer sees its zero history (tests/train/test_wavenet_torch.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..model.wavenet import Activation, LayerArray, WaveNetLayer, WaveNetSpec
from ..model.wavenet_shape import WaveNetShape

__all__ = ["WaveNetTorch"]


class WaveNetTorch(nn.Module):
    """The WaveNet of ``shape`` with torch's default initial ranges (``U(-1/sqrt(fan_in), ..)``;
    the head's range also divided by ``sqrt(depth)``, since it sums ``depth`` activations).

    Shape:
        Input ``[batch, T]``; output ``[batch, T - receptive_field + 1]``.
    """

    def __init__(self, shape: WaveNetShape, *, seed: int = 0,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.shape = shape
        gen = torch.Generator().manual_seed(seed)
        c, k = shape.channels, shape.kernel_size

        def u(fan_in: int, *size: int, gain: float = 1.0) -> nn.Parameter:
            bound = gain / math.sqrt(fan_in)
            values = (torch.rand(*size, generator=gen, dtype=torch.float64) * 2 - 1) * bound
            return nn.Parameter(values.to(dtype))

        self.rechannel = u(1, c, 1)
        self.conv_w = nn.ParameterList([u(c * k, c, c, k) for _ in shape.dilations])
        self.conv_b = nn.ParameterList([u(c * k, c) for _ in shape.dilations])
        self.mixin = nn.ParameterList([u(1, c, 1) for _ in shape.dilations])
        self.l1_w = nn.ParameterList([u(c, c, c) for _ in shape.dilations])
        self.l1_b = nn.ParameterList([u(c, c) for _ in shape.dilations])
        self.head_w = u(c, 1, c, gain=1.0 / math.sqrt(shape.depth))
        self.head_b = u(c, 1, gain=1.0 / math.sqrt(shape.depth))

    @property
    def receptive_field(self) -> int:
        return self.shape.receptive_field

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cond = x.unsqueeze(1)
        h = self.rechannel.unsqueeze(0) * cond
        head: torch.Tensor | None = None
        for i, d in enumerate(self.shape.dilations):
            z = F.conv1d(h, self.conv_w[i], self.conv_b[i], dilation=d)
            n = z.shape[-1]
            a = torch.tanh(z + self.mixin[i].unsqueeze(0) * cond[..., -n:])
            head = a if head is None else head[..., -n:] + a
            h = h[..., -n:] + F.conv1d(a, self.l1_w[i].unsqueeze(-1), self.l1_b[i])
        assert head is not None
        out = F.conv1d(head, self.head_w.unsqueeze(-1), self.head_b)
        return out[:, 0]

    @classmethod
    def from_spec(cls, shape: WaveNetShape, spec: WaveNetSpec) -> WaveNetTorch:
        """A model of ``shape`` holding the weights of ``spec`` (as :meth:`to_spec` wrote them;
        ``head_scale`` folded into the head)."""
        model = cls(shape, dtype=torch.float32)
        arr = spec.arrays[0]

        def put(p: nn.Parameter, value: np.ndarray) -> None:
            with torch.no_grad():
                p.copy_(torch.as_tensor(np.asarray(value), dtype=p.dtype).reshape(p.shape))

        put(model.rechannel, arr.rechannel)
        for i, layer in enumerate(arr.layers):
            put(model.conv_w[i], layer.conv_weight)
            put(model.conv_b[i], layer.conv_bias)
            put(model.mixin[i], layer.mixin_weight)
            put(model.l1_w[i], np.asarray(layer.layer1x1_weight)[..., None])
            put(model.l1_b[i], np.asarray(layer.layer1x1_bias))
        put(model.head_w, spec.head_scale * arr.head_weight)
        put(model.head_b, spec.head_scale * np.asarray(arr.head_bias))
        return model

    def to_spec(self) -> WaveNetSpec:
        """The weights as a :class:`WaveNetSpec` (float64), ``head_scale`` 1."""

        def arr(p: torch.Tensor) -> np.ndarray:
            out: np.ndarray = p.detach().to(torch.float64).cpu().numpy().copy()
            return out

        tanh = Activation("Tanh")
        layers = tuple(
            WaveNetLayer(d, tanh, arr(self.conv_w[i]), arr(self.conv_b[i]), arr(self.mixin[i]),
                         None, arr(self.l1_w[i]), arr(self.l1_b[i]))
            for i, d in enumerate(self.shape.dilations))
        head = LayerArray(arr(self.rechannel), layers, arr(self.head_w)[:, :, None],
                          arr(self.head_b))
        return WaveNetSpec((head,), 1.0)
