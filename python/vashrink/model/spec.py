"""One in-memory description of every exportable model, independent of any file format.

A :class:`ModelSpec` is a stack of zero or more recurrent layers followed by dense layers, all
float64 in torch layout. Every exporter reads models through :func:`spec_of`; every importer
builds torch modules through :func:`spec_to_torch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelFormatError
from .architecture import MAX_RNN_LAYERS, RecurrentArchitecture
from .layers import DenseLayer, GruLayer, LstmLayer, RecurrentLayer

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["PREWARM_S", "ModelSpec", "prelu_slopes", "random_spec", "spec_of", "spec_to_torch"]

#: Seconds of silence a plugin runs a recurrent model through after a reset, before playing
#: (NAM pre-warms the same): capture training moves the settled output for it out of the output
#: bias, and ``render`` and the exported C++ headers' ``prewarm()`` run it.
PREWARM_S = 0.5


@dataclass(frozen=True)
class ModelSpec:
    """``dense[-1](... dense[0](rnn[-1](... rnn[0](x)))) (+ x with skip)``; no ``rnn``: an MLP.

    ``rnn`` is the stack of GRU/LSTM layers, each fed the previous one's hidden state (NAM's
    "lite" LSTM is two layers of 8). ``skip`` adds the input to the output (one input, one
    output), as AIDA-X's ``in_skip`` and NAM's LSTM do, so the net learns only what the gear adds
    to its input.
    """

    rnn: tuple[RecurrentLayer, ...]
    dense: tuple[DenseLayer, ...]
    skip: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.rnn, tuple):
            msg = f"rnn must be a tuple of GRU/LSTM layers (() for an MLP), got {type(self.rnn)}"
            raise ModelFormatError(msg)
        if len(self.rnn) > MAX_RNN_LAYERS:
            msg = f"{len(self.rnn)} recurrent layers; at most {MAX_RNN_LAYERS} are supported"
            raise ModelFormatError(msg)
        for k in range(1, len(self.rnn)):
            if self.rnn[k].in_size != self.rnn[k - 1].hidden_size:
                msg = (
                    f"recurrent layer {k} takes {self.rnn[k].in_size} inputs but layer {k - 1} "
                    f"gives {self.rnn[k - 1].hidden_size}; make them equal"
                )
                raise ModelFormatError(msg)
        if self.skip and (self.in_size != 1 or self.out_size != 1):
            msg = (
                f"an input skip adds the input to the output, so both must be one value; "
                f"this model maps {self.in_size} to {self.out_size}"
            )
            raise ModelFormatError(msg)

    @property
    def in_size(self) -> int:
        return self.rnn[0].in_size if self.rnn else self.dense[0].in_size

    @property
    def out_size(self) -> int:
        return self.dense[-1].out_size

    @property
    def is_recurrent(self) -> bool:
        return bool(self.rnn)

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates of one sample through every layer."""
        return sum(r.macs_per_sample for r in self.rnn) + sum(
            d.in_size * d.out_size for d in self.dense)

    @property
    def hidden_size(self) -> int:
        """Units the dense head reads: the last recurrent layer's (0 for an MLP)."""
        return self.rnn[-1].hidden_size if self.rnn else 0


def random_spec(arch: RecurrentArchitecture, seed: int = 0) -> ModelSpec:
    """A model of ``arch``'s shape (stack, ``Dense(hidden, 1)`` head, skip) with weights drawn
    from ``U(-1/sqrt(h), 1/sqrt(h))``, torch's default: what timing runs, since the cost of a
    shape does not depend on its weights."""
    rng = np.random.default_rng(seed)
    g, h = arch.gates, arch.hidden
    bound = 1.0 / np.sqrt(h)

    def u(*shape: int) -> np.ndarray:
        return rng.uniform(-bound, bound, shape)

    stack: list[RecurrentLayer] = []
    for k in range(arch.layers):
        w_ih, w_hh = u(g * h, 1 if k == 0 else h), u(g * h, h)
        stack.append(GruLayer(w_ih, w_hh, u(g * h), u(g * h)) if arch.cell == "gru"
                     else LstmLayer(w_ih, w_hh, u(g * h)))
    return ModelSpec(tuple(stack), (DenseLayer(u(1, h), u(1), "none"),), arch.skip)


def prelu_slopes(layer: DenseLayer) -> np.ndarray:
    """The PReLU slopes of ``layer``, or torch's initial 0.25 per unit when it carries none."""
    if layer.prelu_slopes is not None:
        return layer.prelu_slopes
    return np.full(layer.out_size, 0.25)


def spec_of(model: nn.Module | ModelSpec) -> ModelSpec:
    """Read an MLP ``nn.Sequential`` or a :class:`RecurrentModel` (validated, float64)."""
    if isinstance(model, ModelSpec):
        return model
    from torch import nn

    from .mlp import dense_layers
    from .recurrent import RecurrentModel, recurrent_layers

    if isinstance(model, RecurrentModel):
        return ModelSpec(
            recurrent_layers(model.rnn), tuple(dense_layers(model.head)), bool(model.skip)
        )
    if isinstance(model, nn.Sequential):
        return ModelSpec((), tuple(dense_layers(model)))
    msg = (
        f"cannot export a {type(model).__name__}: give an nn.Sequential MLP or a "
        "vashrink.formats.RecurrentModel(rnn, head)"
    )
    raise ModelFormatError(msg)


def _param(values: np.ndarray, dtype: torch.dtype) -> nn.Parameter:
    import torch
    from torch import nn

    return nn.Parameter(torch.tensor(np.ascontiguousarray(values), dtype=dtype))


def _dense_to_torch(layers: tuple[DenseLayer, ...], dtype: torch.dtype) -> nn.Sequential:
    from torch import nn

    from .activations import activation_module

    modules: list[nn.Module] = []
    for layer in layers:
        lin = nn.Linear(layer.in_size, layer.out_size, dtype=dtype)
        lin.weight = _param(layer.weight, dtype)
        lin.bias = _param(layer.bias, dtype)
        modules.append(lin)
        act = activation_module(layer.activation, layer.out_size)
        if isinstance(act, nn.PReLU):
            act = act.to(dtype)
            act.weight = _param(prelu_slopes(layer), dtype)
        if act is not None:
            modules.append(act)
    return nn.Sequential(*modules)


def _rnn_to_torch(layers: tuple[RecurrentLayer, ...], dtype: torch.dtype) -> nn.Module:
    """One multi-layer ``nn.GRU``/``nn.LSTM`` when the stack is uniform (as trained), else a
    :class:`~.recurrent.StackedRnn` of single layers."""
    from torch import nn

    from .recurrent import StackedRnn

    first = layers[0]
    cell = nn.GRU if isinstance(first, GruLayer) else nn.LSTM
    uniform = all(
        type(layer) is type(first) and layer.hidden_size == first.hidden_size
        for layer in layers[1:]
    )
    if not uniform:
        return StackedRnn([_rnn_to_torch((layer,), dtype) for layer in layers])
    rnn = cell(first.in_size, first.hidden_size, num_layers=len(layers), batch_first=True,
               dtype=dtype)
    for k, layer in enumerate(layers):
        if isinstance(layer, GruLayer):
            b_ih, b_hh = layer.bias_ih, layer.bias_hh
        else:
            b_ih, b_hh = layer.bias, np.zeros_like(layer.bias)
        setattr(rnn, f"weight_ih_l{k}", _param(layer.weight_ih, dtype))
        setattr(rnn, f"weight_hh_l{k}", _param(layer.weight_hh, dtype))
        setattr(rnn, f"bias_ih_l{k}", _param(b_ih, dtype))
        setattr(rnn, f"bias_hh_l{k}", _param(b_hh, dtype))
    return rnn


def spec_to_torch(spec: ModelSpec, dtype: torch.dtype | None = None) -> nn.Module:
    """An eval-mode ``nn.Sequential`` (MLP) or :class:`RecurrentModel` holding ``spec``'s weights.

    An imported LSTM keeps its single summed bias in ``bias_ih_lK`` (``bias_hh_lK`` is zero).
    """
    import torch

    from .recurrent import RecurrentModel

    if dtype is None:
        dtype = torch.float32
    head = _dense_to_torch(spec.dense, dtype)
    model: nn.Module = head
    if spec.skip and not spec.rnn:
        msg = "an input skip is supported on GRU/LSTM models only; an MLP learns x itself"
        raise ModelFormatError(msg)
    if spec.rnn:
        model = RecurrentModel(_rnn_to_torch(spec.rnn, dtype), head, skip=spec.skip)
    return model.eval()
