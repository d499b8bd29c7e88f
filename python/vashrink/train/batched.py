"""Many MLPs of one depth trained as one: stacked parameters, batched matrix products.

A group holds ``M`` candidates of equal depth and activation. Widths differ, so every
candidate is zero-padded to the group's width ``W``; its parameters are one row of a
``[M, P]`` tensor, so Adam is a handful of element-wise passes over the whole group and each
candidate keeps its own moments. Padded units start at exactly zero and their gradients are
masked to exactly zero, so they stay zero and change nothing: a candidate follows the same
trajectory as when it is trained alone (up to float32 summation order in the matrix
products).

Forward and backward are written out by hand (``baddbmm`` / ``bmm`` plus torch's fused
activation-backward kernels) into preallocated buffers: no autograd graph, no per-step
allocation of activations. Layout: a layer computes ``h @ W + b`` with ``W`` as ``[in, out]``.
tanh layers store ``s = sigmoid(2 z)`` (``tanh z = 2 s - 1``) and the next layer absorbs the
affine map, so each layer costs one element-wise pass forward and one backward.

Shape:
    inputs ``x``: ``[N]`` (shared by all candidates), targets ``y``: ``[N]``,
    activations: ``[M, N, W]``, losses: ``[M]``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..model.architecture import Architecture

__all__ = ["ADAM_BETAS", "ADAM_EPS", "WIDTH_ALIGN", "BatchedGroup", "Layer", "candidate_seed",
           "group_bytes", "init_layers", "padded_width"]

#: One dense layer as ``(weight [out, in], bias [out], PReLU slopes [out] or None)``.
Layer = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
#: Hidden-weight gain per activation (std = gain / sqrt(fan_in)): near the edge of chaos for
#: tanh, He for the ReLU family; keeps the signal alive in deep stacks.
_GAINS = {"tanh": 1.0, "relu": math.sqrt(2.0), "prelu": math.sqrt(2.0), "elu": 1.2,
          "sigmoid": 3.6, "softmax": 1.0, "none": 1.0}
_PRELU_INIT = 0.25


def candidate_seed(seed: int, arch: Architecture) -> int:
    """A 63-bit seed from ``(seed, depth, width, activation)``: a candidate's initial weights
    never depend on which other candidates are trained beside it."""
    text = f"{int(seed)}:{arch.depth}:{arch.width}:{arch.activation}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def init_layers(arch: Architecture, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Initial ``(weight [out, in], bias [out])`` float64 pairs for ``arch`` (inputs in [-1, 1]).

    The first layer spreads its units' kinks over the input range (weights ~ N(0, 2^2), biases
    ~ U(-2, 2)); hidden layers use N(0, gain^2 / width); the output layer starts small
    (N(0, 0.1^2 / width)) so the initial fit is near the target mean.
    """
    gen = torch.Generator().manual_seed(candidate_seed(seed, arch))
    w, gain = arch.width, _GAINS[arch.activation]
    f64 = torch.float64
    layers = [(torch.randn(w, 1, generator=gen, dtype=f64) * 2.0,
               (torch.rand(w, generator=gen, dtype=f64) * 2.0 - 1.0) * 2.0)]
    for _ in range(arch.depth - 1):
        layers.append((torch.randn(w, w, generator=gen, dtype=f64) * (gain / math.sqrt(w)),
                       torch.zeros(w, dtype=f64)))
    layers.append((torch.randn(1, w, generator=gen, dtype=f64) * (0.1 / math.sqrt(w)),
                   torch.zeros(1, dtype=f64)))
    return layers


@dataclass(frozen=True)
class _Slot:
    offset: int
    rows: int
    cols: int


_Slots = tuple[_Slot, _Slot, _Slot | None]


def _layout(depth: int, width: int, prelu: bool) -> tuple[list[_Slots], int]:
    """Offsets of (weight [in, out], bias [1, out], PReLU slopes [1, out]) per layer in one row."""
    slots: list[_Slots] = []
    offset = 0

    def take(rows: int, cols: int) -> _Slot:
        nonlocal offset
        slot = _Slot(offset, rows, cols)
        offset += rows * cols
        return slot

    for layer in range(depth + 1):
        rows = 1 if layer == 0 else width
        cols = 1 if layer == depth else width
        weight, bias = take(rows, cols), take(1, cols)
        slopes = take(1, cols) if prelu and layer < depth else None
        slots.append((weight, bias, slopes))
    return slots, offset


#: Group widths are rounded up to a multiple of this: MKL's batched products run much faster
#: on aligned widths (measured: width 11 takes 3.4x as long as 12, 31 1.9x as long as 32).
WIDTH_ALIGN = 8


def padded_width(width: int) -> int:
    """The width a batch of candidates at most ``width`` wide is padded to."""
    return -(-width // WIDTH_ALIGN) * WIDTH_ALIGN


def group_bytes(n_models: int, depth: int, width: int, n_samples: int, prelu: bool = False) -> int:
    """Memory a group needs: activations (kept for backward) plus parameter-sized buffers."""
    width = padded_width(width)
    _, n_params = _layout(depth, width, prelu)
    activations = n_models * n_samples * width * (depth * (2 if prelu else 1) + 3)
    return 4 * (activations + 7 * n_models * n_params)


class BatchedGroup:
    """``M`` candidates of one depth and activation, padded to a common width, float32.

    Args:
        archs: the candidates (same depth and activation).
        seed: the run seed; each candidate derives its own with :func:`candidate_seed`.
        n_samples: the largest number of samples one step sees (sizes the buffers).
    """

    def __init__(self, archs: Sequence[Architecture], seed: int, n_samples: int,
                 dtype: torch.dtype = torch.float32) -> None:
        self.archs = list(archs)
        self.depth = archs[0].depth
        self.activation = archs[0].activation
        self.width = padded_width(max(a.width for a in archs))
        self.dtype = dtype
        prelu = self.activation == "prelu"
        self._slots, self.n_params = _layout(self.depth, self.width, prelu)
        m = len(self.archs)
        self.theta = torch.zeros(m, self.n_params, dtype=dtype)
        self.mask = torch.zeros(m, self.n_params, dtype=dtype)
        for i, arch in enumerate(self.archs):
            self._place(i, init_layers(arch, seed))
        self.grad = torch.zeros_like(self.theta)
        self.exp_avg = torch.zeros_like(self.theta)
        self.exp_avg_sq = torch.zeros_like(self.theta)
        self._denom = torch.zeros_like(self.theta)
        self.n_samples = n_samples
        self._alloc()

    # parameters -----------------------------------------------------------------------------
    def _view(self, t: torch.Tensor, slot: _Slot) -> torch.Tensor:
        return t[:, slot.offset:slot.offset + slot.rows * slot.cols].view(-1, slot.rows, slot.cols)

    def _place(self, i: int, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        for (weight, bias), (ws, bs, ss) in zip(layers, self._slots, strict=True):
            out_size, in_size = weight.shape
            self._view(self.theta, ws)[i, :in_size, :out_size] = weight.T.to(self.dtype)
            self._view(self.theta, bs)[i, 0, :out_size] = bias.to(self.dtype)
            self._view(self.mask, ws)[i, :in_size, :out_size] = 1.0
            self._view(self.mask, bs)[i, 0, :out_size] = 1.0
            if ss is not None:
                self._view(self.theta, ss)[i, 0, :out_size] = _PRELU_INIT
                self._view(self.mask, ss)[i, 0, :out_size] = 1.0

    def _params(self, t: torch.Tensor) -> list[Layer]:
        return [(self._view(t, w), self._view(t, b), None if s is None else self._view(t, s))
                for w, b, s in self._slots]

    def export(self, i: int, source: torch.Tensor | None = None) -> list[Layer]:
        """Candidate ``i`` unpadded, float64: ``(weight [out, in], bias [out], slopes | None)``
        per layer, read from ``source`` (``[M, P]``, e.g. :attr:`grad`; default the weights)."""
        width = self.archs[i].width
        out: list[Layer] = []
        src = self.theta if source is None else source
        for layer, (w, b, s) in enumerate(self._params(src)):
            in_size = 1 if layer == 0 else width
            out_size = 1 if layer == self.depth else width
            f64 = torch.float64
            out.append((w[i, :in_size, :out_size].T.to(f64).clone(),
                        b[i, 0, :out_size].to(f64).clone(),
                        None if s is None else s[i, 0, :out_size].to(f64).clone()))
        return out

    def keep(self, index: torch.Tensor) -> None:
        """Drop every candidate not in ``index`` (finished ones), with their optimizer state."""
        self.archs = [self.archs[int(i)] for i in index]
        for name in ("theta", "mask", "grad", "exp_avg", "exp_avg_sq", "_denom"):
            setattr(self, name, getattr(self, name).index_select(0, index).contiguous())
        self._alloc()

    def _alloc(self) -> None:
        m, n, w = len(self.archs), self.n_samples, self.width
        keep_z = self.activation == "prelu"
        self._h = [torch.empty(m, n, w, dtype=self.dtype) for _ in range(self.depth)]
        self._z = ([torch.empty(m, n, w, dtype=self.dtype) for _ in range(self.depth)]
                   if keep_z else [])
        self._g = [torch.empty(m, n, w, dtype=self.dtype) for _ in range(2)]
        self._out = torch.empty(m, n, 1, dtype=self.dtype)
        # contiguous: bmm is faster into it, and about 10 % faster reading a contiguous W
        # (or W^T) than a strided view of theta (measured at widths 40 and 48)
        self._gw = torch.empty(m, w, w, dtype=self.dtype)
        self._wc = torch.empty(m, w, w, dtype=self.dtype)
        unit = self._view(self.mask, self._slots[0][1])  # [M, 1, W]: 1 on real units
        self._softmax_mask = torch.where(unit > 0, 0.0, -math.inf).to(self.dtype)
        self._theta_views = self._params(self.theta)
        self._grad_views = self._params(self.grad)

    # forward / backward ---------------------------------------------------------------------
    def _activate(self, z: torch.Tensor, h: torch.Tensor, slopes: torch.Tensor | None) -> None:
        """``h = act(z)``; ``z`` and ``h`` are the same buffer except for PReLU. For tanh the
        buffer holds ``2 z`` and keeps ``s = sigmoid(2 z)``: ``tanh z = 2 s - 1`` is never
        formed, the next layer absorbs the affine map (:meth:`_tanh_bias`)."""
        act = self.activation
        if act in ("tanh", "sigmoid"):
            h.sigmoid_()
        elif act == "relu":
            h.relu_()
        elif act == "elu":
            torch.nn.functional.elu(h, inplace=True)
        elif act == "softmax":
            h.copy_(torch.softmax(h.add_(self._softmax_mask), dim=-1))
        elif act == "prelu":
            assert slopes is not None
            torch.where(z > 0, z, z * slopes, out=h)

    @staticmethod
    def _tanh_bias(w: torch.Tensor, b: torch.Tensor, factor: float) -> torch.Tensor:
        """``factor * (b - 1^T W)`` ``[M, 1, out]``: with ``h = 2 s - 1``,
        ``h @ W + b = 2 s @ W + (b - 1^T W)``, so a layer reads the stored sigmoids directly
        (one element-wise pass per layer instead of three)."""
        return torch.sub(b, w.sum(1, keepdim=True)).mul_(factor)

    def forward(self, x: torch.Tensor, *, keep: bool = False) -> torch.Tensor:
        """Outputs ``[M, N]`` for inputs ``x`` ``[N]``; ``keep`` stores activations for backward.
        Without ``keep`` the gradient buffers hold the activations (fresh multi-megabyte
        tensors cost page faults: an evaluation took 0.7 of a training step at depth 6)."""
        n = x.shape[0]
        m = len(self.archs)
        params = self._theta_views
        xs = x.to(self.dtype).view(1, n, 1)
        tanh = self.activation == "tanh"
        h: torch.Tensor | None = None
        for layer in range(self.depth):
            w, b, s = params[layer]
            if keep:
                hl = self._h[layer][:, :n]
                z = self._z[layer][:, :n] if self._z else hl
            elif s is None and n <= self.n_samples:  # the backward's buffers are free
                hl = self._g[layer % 2].view(-1)[:m * n * self.width].view(m, n, self.width)
                z = hl
            else:
                hl = torch.empty(m, n, self.width, dtype=self.dtype)
                z = torch.empty_like(hl) if s is not None else hl
            if layer == 0:  # tanh: z holds 2 (x w + b), exactly (scaling by 2 is exact)
                torch.addcmul(b * 2.0 if tanh else b, xs, w, value=2.0 if tanh else 1.0, out=z)
            else:
                assert h is not None
                wc = self._wc.copy_(w)
                if tanh:  # 2 (h W + b) = 4 s W + 2 (b - 1^T W)
                    torch.baddbmm(self._tanh_bias(wc, b, 2.0), h, wc, alpha=4.0, out=z)
                else:
                    torch.baddbmm(b, h, wc, out=z)
            self._activate(z, hl, s)
            h = hl
        assert h is not None
        w, b, _ = params[self.depth]
        out = self._out[:, :n] if keep else torch.empty(m, n, 1, dtype=self.dtype)
        if tanh:
            torch.baddbmm(self._tanh_bias(w, b, 1.0), h, w, alpha=2.0, out=out)
        else:
            torch.baddbmm(b, h, w, out=out)
        return out.view(m, n)

    def _activation_backward(self, g: torch.Tensor, layer: int, n: int,
                             slopes: torch.Tensor | None, g_slopes: torch.Tensor | None) -> None:
        """``g`` (gradient w.r.t. the layer's output) becomes the gradient w.r.t. its input;
        for tanh a quarter of it: ``dh/dz = 1 - h^2 = 4 s (1 - s)``, the 4 goes into the
        products that read ``g``."""
        h = self._h[layer][:, :n]
        act = self.activation
        if act in ("tanh", "sigmoid"):
            torch.ops.aten.sigmoid_backward.grad_input(g, h, grad_input=g)
        elif act == "relu":
            torch.ops.aten.threshold_backward.grad_input(g, h, 0.0, grad_input=g)
        elif act == "elu":
            torch.ops.aten.elu_backward.grad_input(g, 1.0, 1.0, 1.0, True, h, grad_input=g)
        elif act == "softmax":
            dot = (g * h).sum(-1, keepdim=True)
            g.sub_(dot).mul_(h)
        elif act == "prelu":
            assert slopes is not None and g_slopes is not None
            z = self._z[layer][:, :n]
            neg = z <= 0
            g_slopes.copy_((g * z * neg).sum(1, keepdim=True))
            g.mul_(torch.where(neg, slopes, 1.0))

    def loss_and_grad(self, x: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
        """Losses ``scale * sum((out - y)^2)`` per candidate ``[M]`` (summed in float64, like
        an evaluation); fills :attr:`grad`.

        For tanh the stored activations are ``s`` with ``h = 2 s - 1`` and the backward works
        with ``G = g s (1 - s)`` (a quarter of the pre-activation gradient):
        ``dW = h^T (4 G) = 8 s^T G - 4 (1^T G)``, ``db = 4 (1^T G)``, ``g_in = 4 G W^T``.
        """
        n = x.shape[0]
        m = len(self.archs)
        tanh = self.activation == "tanh"
        out = self.forward(x, keep=True)
        err = out - y.to(self.dtype).view(1, n)
        loss = err.double().square().sum(1).mul_(scale)
        params = self._theta_views
        grads = self._grad_views
        g_out = (err * (2.0 * scale)).view(m, n, 1)
        w_out, _, _ = params[self.depth]
        gw_out, gb_out, _ = grads[self.depth]
        h_last = self._h[-1][:, :n].transpose(1, 2)
        torch.sum(g_out, dim=1, keepdim=True, out=gb_out)
        if tanh:
            torch.baddbmm(gb_out, h_last, g_out, beta=-1.0, alpha=2.0, out=gw_out)
        else:
            torch.bmm(h_last, g_out, out=gw_out)
        g = self._g[0][:, :n]
        torch.mul(g_out, w_out.transpose(1, 2), out=g)
        spare = self._g[1][:, :n]
        k = 4.0 if tanh else 1.0
        for layer in range(self.depth - 1, -1, -1):
            w, _, s = params[layer]
            gw, gb, gs = grads[layer]
            self._activation_backward(g, layer, n, s, gs)
            torch.sum(g, dim=1, keepdim=True, out=gb)
            if tanh:
                gb.mul_(k)
            if layer == 0:
                xs = x.to(self.dtype).view(1, 1, n).expand(m, 1, n)
                torch.baddbmm(gw, xs, g, beta=0.0, alpha=k, out=gw)
            else:
                h_prev = self._h[layer - 1][:, :n].transpose(1, 2)
                if tanh:
                    torch.baddbmm(gb, h_prev, g, beta=-1.0, alpha=2.0 * k, out=self._gw)
                else:
                    torch.bmm(h_prev, g, out=self._gw)
                gw.copy_(self._gw)
                w_t = self._wc.copy_(w.transpose(1, 2))
                torch.baddbmm(spare, g, w_t, beta=0.0, alpha=k, out=spare)
                g, spare = spare, g
        self.grad.mul_(self.mask)
        return loss

    def adam_step(self, lr: float, step: int) -> None:
        """One Adam update (Kingma & Ba 2015), the same arithmetic as ``torch.optim.Adam``."""
        beta1, beta2 = ADAM_BETAS
        self.exp_avg.lerp_(self.grad, 1.0 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(self.grad, self.grad, value=1.0 - beta2)
        bias1 = 1.0 - beta1**step
        bias2_sqrt = math.sqrt(1.0 - beta2**step)
        torch.sqrt(self.exp_avg_sq, out=self._denom)
        self._denom.div_(bias2_sqrt).add_(ADAM_EPS)
        self.theta.addcdiv_(self.exp_avg, self._denom, value=-lr / bias1)
