"""Several GRU (or LSTM) candidates trained as one wider layer with block-diagonal weights.

Candidate ``k`` owns hidden units ``o_k .. o_k + h_k`` of every gate of every layer (the members
of a pack stack the same number of layers) and output ``k`` of the head. Every weight linking two
candidates starts at zero and its gradient is masked to zero, so under
Adam (element-wise) it stays exactly zero: each candidate trains as if alone (up to float32
summation order), while torch runs one recurrent loop instead of one per candidate. A pack of
one is the plain single-candidate case.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..model.architecture import RecurrentArchitecture
from ..model.layers import DenseLayer, GruLayer, LstmLayer
from ..model.recurrent import RecurrentModel
from ..model.spec import ModelSpec, spec_of

__all__ = ["PackedRecurrent", "embed_spec", "initial_spec", "rnn_seed"]


def rnn_seed(seed: int, arch: RecurrentArchitecture) -> int:
    """A 63-bit seed from ``(seed, cell, hidden, skip)`` alone: a candidate's start never
    depends on the candidates trained beside it."""
    text = f"{int(seed)}:{arch.label}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def initial_spec(arch: RecurrentArchitecture, seed: int) -> ModelSpec:
    """torch's default start, ``U(-1/sqrt(h), 1/sqrt(h))`` for the cell, seeded per candidate;
    the head starts 10x smaller, so the first output is near 0 (near the input with skip)."""
    gen = np.random.default_rng(rnn_seed(seed, arch))
    g, h = arch.gates, arch.hidden
    bound = 1.0 / math.sqrt(h)

    def u(*shape: int, scale: float = 1.0) -> np.ndarray:
        return gen.uniform(-bound * scale, bound * scale, size=shape)

    layers: list[GruLayer | LstmLayer] = []
    for k in range(arch.layers):
        w_ih, w_hh = u(g * h, 1 if k == 0 else h), u(g * h, h)
        layers.append(GruLayer(w_ih, w_hh, u(g * h), u(g * h)) if arch.cell == "gru"
                      else LstmLayer(w_ih, w_hh, u(g * h) + u(g * h)))
    head = DenseLayer(u(1, h, scale=0.1), u(1, scale=0.1), "none")
    return ModelSpec(tuple(layers), (head,), arch.skip)


def _check_warm(spec: ModelSpec, arch: RecurrentArchitecture) -> int:
    rec = spec.rnn[0] if len(spec.rnn) == 1 else None
    ok = (rec is not None and arch.layers == 1 and rec.cell == arch.cell and rec.in_size == 1
          and len(spec.dense) == 1 and spec.dense[0].out_size == 1
          and spec.dense[0].activation == "none" and spec.skip == arch.skip
          and rec.hidden_size <= arch.hidden)
    if not ok or rec is None:
        msg = (f"warm start for {arch} must be a one-layer {arch.cell.upper()} model (a stack "
               "starts cold) with a "
               f"Dense(h, 1) head, skip={arch.skip} and at most {arch.hidden} units; drop it or "
               "give one trained for this architecture")
        raise InputError(msg)
    return rec.hidden_size


def embed_spec(spec: ModelSpec, arch: RecurrentArchitecture, seed: int) -> ModelSpec:
    """``spec`` (same cell, ``h <= arch.hidden`` units) grown to ``arch`` with the same output:
    the new units start fresh, but nothing they compute reaches the old units or the head."""
    h_old = _check_warm(spec, arch)
    if h_old == arch.hidden:
        return spec
    base = initial_spec(arch, seed)
    old, new = spec.rnn[0], base.rnn[0]
    g, h = arch.gates, arch.hidden
    rows = np.concatenate([np.arange(k * h, k * h + h_old) for k in range(g)])
    w_ih, w_hh = new.weight_ih.copy(), new.weight_hh.copy()
    w_ih[rows] = old.weight_ih
    w_hh[rows] = 0.0
    w_hh[np.ix_(rows, np.arange(h_old))] = old.weight_hh
    head_w = np.zeros((1, h))
    head_w[:, :h_old] = spec.dense[0].weight
    head = DenseLayer(head_w, spec.dense[0].bias.copy(), "none")
    rec: GruLayer | LstmLayer
    if isinstance(old, GruLayer) and isinstance(new, GruLayer):
        b_ih, b_hh = new.bias_ih.copy(), new.bias_hh.copy()
        b_ih[rows], b_hh[rows] = old.bias_ih, old.bias_hh
        rec = GruLayer(w_ih, w_hh, b_ih, b_hh)
    else:
        assert isinstance(old, LstmLayer) and isinstance(new, LstmLayer)
        bias = new.bias.copy()
        bias[rows] = old.bias
        rec = LstmLayer(w_ih, w_hh, bias)
    return ModelSpec((rec,), (head,), arch.skip)


_CELL_WEIGHTS = ("weight_ih_l{}", "weight_hh_l{}", "bias_ih_l{}", "bias_hh_l{}")


def _weights(rnn: nn.Module, layer: int = 0) -> tuple[torch.Tensor, ...]:
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``layer`` of a torch GRU/LSTM."""
    out = tuple(getattr(rnn, name.format(layer)) for name in _CELL_WEIGHTS)
    assert all(isinstance(t, torch.Tensor) for t in out)
    return out


class PackedRecurrent(nn.Module):
    """``len(members)`` candidates of one cell as one block-diagonal layer and a ``[K, H]`` head.

    Shape:
        input ``[batch, time]``; output ``[batch, time, K]`` (candidate ``k``'s prediction in
        column ``k``, its input skip included).
    """

    hh_mask: torch.Tensor
    head_mask: torch.Tensor
    skip: torch.Tensor

    def __init__(self, members: Sequence[RecurrentArchitecture],
                 starts: Sequence[ModelSpec]) -> None:
        super().__init__()
        kinds = {(m.cell, m.layers) for m in members}
        if len(kinds) != 1 or len(starts) != len(members):
            msg = "a pack holds candidates of one cell and layer count, one start each"
            raise InputError(msg)
        self.members = tuple(members)
        self.cell, self.layers = kinds.pop()
        self.gates = members[0].gates
        sizes = [m.hidden for m in members]
        self.offsets = tuple(int(o) for o in np.cumsum([0, *sizes[:-1]]))
        total = int(sum(sizes))
        self.total_hidden = total
        rnn_type = nn.GRU if self.cell == "gru" else nn.LSTM
        self.rnn = rnn_type(1, total, num_layers=self.layers, batch_first=True)
        self.head = nn.Linear(total, len(members))
        hh_mask = torch.zeros(self.gates * total, total)
        head_mask = torch.zeros(len(members), total)
        for k in range(len(members)):
            rows, cols = self._rows(k), self._cols(k)
            hh_mask[np.ix_(rows, cols)] = 1.0
            head_mask[k, cols] = 1.0
        self.register_buffer("hh_mask", hh_mask)
        self.register_buffer("head_mask", head_mask)
        self.register_buffer("skip", torch.tensor([float(m.skip) for m in members]))
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()
        for k, spec in enumerate(starts):
            self.load_member(k, spec)
        # [G*total, total] kernels: every recurrent kernel, and the input kernel of layers > 0.
        square = [_weights(self.rnn, 0)[1]]
        for layer in range(1, self.layers):
            square += list(_weights(self.rnn, layer)[:2])
        for weight in square:
            weight.register_hook(lambda grad: grad * self.hh_mask)  # type: ignore[no-untyped-call]
        self.head.weight.register_hook(  # type: ignore[no-untyped-call]
            lambda grad: grad * self.head_mask)
        self._owners = self._owner_maps()

    def _owner_maps(self) -> list[tuple[nn.Parameter, torch.Tensor]]:
        """For every parameter, which candidate owns each element (``K``: nobody)."""
        k_all = len(self.members)
        maps = {name: torch.full_like(p, k_all, dtype=torch.long)
                for name, p in self.named_parameters()}
        for k in range(k_all):
            rows, cols = self._rows(k), self._cols(k)
            maps["rnn.weight_ih_l0"][rows] = k
            for layer in range(self.layers):
                for name in (f"rnn.bias_ih_l{layer}", f"rnn.bias_hh_l{layer}"):
                    maps[name][rows] = k
                maps[f"rnn.weight_hh_l{layer}"][np.ix_(rows, cols)] = k
                if layer:
                    maps[f"rnn.weight_ih_l{layer}"][np.ix_(rows, cols)] = k
            maps["head.weight"][k, cols] = k
            maps["head.bias"][k] = k
        return [(p, maps[name].view(-1)) for name, p in self.named_parameters()]

    def clip_member_grads(self, max_norm: float) -> None:
        """Scale each candidate's gradient to a norm of at most ``max_norm`` on its own (a
        global clip would couple the candidates)."""
        k_all = len(self.members)
        squares = torch.zeros(k_all + 1)
        for p, owner in self._owners:
            if p.grad is not None:
                squares.index_add_(0, owner, p.grad.detach().view(-1) ** 2)
        scale = (max_norm / (squares.sqrt() + 1e-12)).clamp(max=1.0)
        for p, owner in self._owners:
            if p.grad is not None:
                p.grad.view(-1).mul_(scale[owner])

    def _cols(self, k: int) -> np.ndarray:
        return np.arange(self.offsets[k], self.offsets[k] + self.members[k].hidden)

    def _rows(self, k: int) -> np.ndarray:
        cols = self._cols(k)
        return np.concatenate([g * self.total_hidden + cols for g in range(self.gates)])

    def load_member(self, k: int, spec: ModelSpec) -> None:
        """Write candidate ``k``'s weights from ``spec`` (its exact architecture)."""
        head = spec.dense[0]
        if len(spec.rnn) != self.layers or any(
            rec.hidden_size != self.members[k].hidden for rec in spec.rnn
        ):
            msg = f"start for {self.members[k]} has the wrong layers or hidden size"
            raise InputError(msg)
        rows, cols = self._rows(k), self._cols(k)
        with torch.no_grad():
            for layer, rec in enumerate(spec.rnn):
                if isinstance(rec, GruLayer):
                    b_ih, b_hh = rec.bias_ih, rec.bias_hh
                else:
                    b_ih, b_hh = rec.bias, np.zeros_like(rec.bias)
                w_ih, w_hh, bias_ih, bias_hh = _weights(self.rnn, layer)
                dtype = w_ih.dtype
                ih_at = rows if layer == 0 else np.ix_(rows, cols)
                w_ih[ih_at] = torch.as_tensor(rec.weight_ih, dtype=dtype)
                w_hh[np.ix_(rows, cols)] = torch.as_tensor(rec.weight_hh, dtype=dtype)
                bias_ih[rows] = torch.as_tensor(b_ih, dtype=dtype)
                bias_hh[rows] = torch.as_tensor(b_hh, dtype=dtype)
            self.head.weight[k, cols] = torch.as_tensor(head.weight[0], dtype=dtype)
            self.head.bias[k] = float(head.bias[0])

    def member_spec(self, k: int) -> ModelSpec:
        """Candidate ``k`` on its own, as a validated float64 :class:`ModelSpec`."""
        arch = self.members[k]
        rows, cols = self._rows(k), self._cols(k)
        rnn_type = nn.GRU if self.cell == "gru" else nn.LSTM
        single = rnn_type(1, arch.hidden, num_layers=self.layers, batch_first=True,
                          dtype=torch.float64)
        head = nn.Linear(arch.hidden, 1, dtype=torch.float64)
        with torch.no_grad():
            for layer in range(self.layers):
                w_ih, w_hh, bias_ih, bias_hh = _weights(self.rnn, layer)
                s_ih, s_hh, sb_ih, sb_hh = _weights(single, layer)
                s_ih.copy_(w_ih[rows] if layer == 0 else w_ih[rows][:, cols])
                s_hh.copy_(w_hh[rows][:, cols])
                sb_ih.copy_(bias_ih[rows])
                sb_hh.copy_(bias_hh[rows])
            head.weight.copy_(self.head.weight[k : k + 1, cols])
            head.bias.copy_(self.head.bias[k : k + 1])
        return spec_of(RecurrentModel(single, nn.Sequential(head), skip=arch.skip))

    def forward(self, x: torch.Tensor,
                state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        out, new_state = self.rnn(x.unsqueeze(-1), state)
        y: torch.Tensor = self.head(out) + x.unsqueeze(-1) * self.skip
        return y, new_state
