"""A batch of 1-input, 1-output MLPs over one flat parameter vector, with an analytic Jacobian.

The net is ``z_l = W_l h_{l-1} + b_l``, ``h_l = act(z_l)`` for ``l = 1..depth`` and a linear
output ``o = W_{depth+1} h_depth + b_{depth+1}`` (torch ``nn.Linear`` layout: ``W`` is
``[out, in]``). ``S`` candidates of one shape share the inputs and are stacked along the first
axis, so one forward pass and one Jacobian serve a whole multi-start batch.

The Jacobian of the outputs with respect to the parameters is backprop run once per sample
instead of once per loss: with ``delta_{depth} = W_{depth+1} * act'(z_{depth})`` and
``delta_{l-1} = (delta_l W_l) * act'(z_{l-1})``, the block of ``W_l`` is the outer product
``delta_l h_{l-1}^T`` and the block of ``b_l`` is ``delta_l`` (per sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

__all__ = ["ACTIVATIONS", "Layout", "Params", "activate", "forward", "jacobian", "net_numpy"]

ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu")

Params = tuple[tuple[np.ndarray, np.ndarray], ...]
"""Per layer ``(W [out, in], b [out])`` as float64 arrays, layers 1..depth+1."""


def activate(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(act(z), act'(z))``; the derivative is written in terms of the output where possible."""
    if name == "tanh":
        h = torch.tanh(z)
        return h, 1.0 - h * h
    if name == "sigmoid":
        h = torch.sigmoid(z)
        return h, h * (1.0 - h)
    if name == "relu":
        positive = z > 0
        return torch.where(positive, z, 0.0), positive.to(z.dtype)
    if name == "elu":
        positive = z > 0
        h = torch.where(positive, z, torch.expm1(torch.clamp(z, max=0.0)))
        return h, torch.where(positive, 1.0, h + 1.0)
    msg = f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}"
    raise ValueError(msg)


@dataclass(frozen=True)
class Layout:
    """Where each layer's ``W`` and ``b`` sit in the flat parameter vector ``[W1, b1, W2, ...]``."""

    depth: int
    width: int

    @cached_property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """``(out, in)`` of layers 1..depth+1."""
        w = self.width
        return ((w, 1),) + ((w, w),) * (self.depth - 1) + ((1, w),)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """Start of each layer's ``W`` block; its ``b`` block follows it."""
        out, pos = [], 0
        for o, i in self.layer_shapes:
            out.append(pos)
            pos += o * i + o
        return (*out, pos)

    @property
    def size(self) -> int:
        """Number of parameters P."""
        return self.offsets[-1]

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample: ``width + (depth - 1) width^2 + width``."""
        return self.width + (self.depth - 1) * self.width**2 + self.width

    def unpack(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Views ``(W [S, out, in], b [S, out])`` per layer of ``theta [S, P]``."""
        layers = []
        for (o, i), start in zip(self.layer_shapes, self.offsets, strict=False):
            w = theta[:, start : start + o * i].reshape(-1, o, i)
            layers.append((w, theta[:, start + o * i : start + o * i + o]))
        return layers

    def pack(self, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Inverse of :meth:`unpack`: ``[S, P]`` from per-layer ``(W, b)``."""
        parts = [t.reshape(t.shape[0], -1) for wb in layers for t in wb]
        return torch.cat(parts, dim=1)

    def to_params(self, theta: torch.Tensor) -> Params:
        """One candidate ``theta [P]`` as float64 numpy ``(W, b)`` per layer."""
        return tuple(
            (w[0].detach().double().numpy().copy(), b[0].detach().double().numpy().copy())
            for w, b in self.unpack(theta[None])
        )

    def from_params(self, params: Params) -> torch.Tensor:
        """Flat ``[P]`` float64 tensor from numpy ``(W, b)`` per layer."""
        layers = [(torch.as_tensor(w)[None], torch.as_tensor(b)[None]) for w, b in params]
        return self.pack(layers)[0].double()


def forward(
    layout: Layout, activation: str, theta: torch.Tensor, u: torch.Tensor, *, keep: bool = False
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Outputs ``[S, N]`` of ``theta [S, P]`` at inputs ``u [N]``.

    With ``keep``, also the hidden outputs ``h_0..h_depth`` ``[S, N, .]`` and derivatives
    ``act'(z_1..z_depth)`` that :func:`jacobian` needs. Matrix-vector products are written as
    multiply-and-sum: batched GEMV results depend on the batch size, and a candidate must get
    bit-identical results whatever else is in its batch.
    """
    layers = layout.unpack(theta)
    w1, b1 = layers[0]
    h = u.expand(theta.shape[0], -1)[..., None]
    hs: list[torch.Tensor] = [h]
    ds: list[torch.Tensor] = []
    z = h * w1[:, None, :, 0] + b1[:, None, :]
    for index, (w, b) in enumerate(layers[1:], start=2):
        h, d = activate(activation, z)
        if keep:
            hs.append(h)
            ds.append(d)
        if index <= layout.depth:
            z = torch.baddbmm(b[:, None, :], h, w.mT)
    return (h * w[:, None, 0, :]).sum(2) + b, hs, ds


def jacobian(
    layout: Layout, activation: str, theta: torch.Tensor, u: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(o [S, N], J [S, N, P])`` with ``J[s, n, p] = d o[s, n] / d theta[s, p]``.

    ``J`` is a transposed view of a contiguous ``[S, P, N]`` buffer: the outer-product blocks
    are then written contiguously and ``J^T J`` is one plain GEMM.
    """
    out, hs, ds = forward(layout, activation, theta, u, keep=True)
    s, n = out.shape
    jac_t = torch.empty(s, layout.size, n, dtype=theta.dtype)
    layers = layout.unpack(theta)
    delta = torch.ones(s, 1, n, dtype=theta.dtype)
    for index in range(layout.depth, -1, -1):
        (o, i), start = layout.layer_shapes[index], layout.offsets[index]
        h_in = hs[index].mT
        block = jac_t[:, start : start + o * i].view(s, o, i, n)
        torch.mul(delta[:, :, None, :], h_in[:, None, :, :], out=block)
        jac_t[:, start + o * i : start + o * i + o] = delta
        if index > 0:
            delta = torch.bmm(layers[index][0].mT, delta) * ds[index - 1].mT
    return out, jac_t.mT


def net_numpy(
    params: Params, activation: str, x: np.ndarray, dtype: type = np.float64
) -> np.ndarray:
    """Evaluate per-layer ``(W, b)`` at ``x [N]`` in ``dtype`` (torch kernels, exact tanh)."""
    tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    h = torch.as_tensor(np.asarray(x, dtype=dtype)).to(tdtype)[:, None]
    for index, (w, b) in enumerate(params):
        wt = torch.as_tensor(np.asarray(w, dtype=dtype)).to(tdtype)
        bt = torch.as_tensor(np.asarray(b, dtype=dtype)).to(tdtype)
        h = torch.addmm(bt, h, wt.T) if wt.shape[1] > 1 else h * wt.T + bt
        if index < len(params) - 1:
            h = activate(activation, h)[0]
    return h[:, 0].double().numpy()
