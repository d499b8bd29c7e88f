"""One in-memory description of every exportable model, independent of any file format.

A :class:`ModelSpec` is an optional recurrent layer followed by dense layers, all float64 in
torch layout. Every exporter reads models through :func:`spec_of`; every importer builds torch
modules through :func:`spec_to_torch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelFormatError
from .layers import DenseLayer, GruLayer, RecurrentLayer

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["ModelSpec", "prelu_slopes", "spec_of", "spec_to_torch"]


@dataclass(frozen=True)
class ModelSpec:
    """``dense[-1](... dense[0](recurrent(x))) (+ x with skip)``; ``recurrent`` None: an MLP.

    ``skip`` adds the input to the output (one input, one output), as AIDA-X's ``in_skip`` and
    NAM's LSTM do, so the net learns only what the gear adds to its input.
    """

    recurrent: RecurrentLayer | None
    dense: tuple[DenseLayer, ...]
    skip: bool = False

    def __post_init__(self) -> None:
        if self.skip and (self.in_size != 1 or self.out_size != 1):
            msg = (
                f"an input skip adds the input to the output, so both must be one value; "
                f"this model maps {self.in_size} to {self.out_size}"
            )
            raise ModelFormatError(msg)

    @property
    def in_size(self) -> int:
        return self.recurrent.in_size if self.recurrent is not None else self.dense[0].in_size

    @property
    def out_size(self) -> int:
        return self.dense[-1].out_size

    @property
    def is_recurrent(self) -> bool:
        return self.recurrent is not None


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
    from .recurrent import RecurrentModel, recurrent_layer

    if isinstance(model, RecurrentModel):
        return ModelSpec(
            recurrent_layer(model.rnn), tuple(dense_layers(model.head)), bool(model.skip)
        )
    if isinstance(model, nn.Sequential):
        return ModelSpec(None, tuple(dense_layers(model)))
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


def _rnn_to_torch(layer: RecurrentLayer, dtype: torch.dtype) -> nn.GRU | nn.LSTM:
    from torch import nn

    rnn: nn.GRU | nn.LSTM
    if isinstance(layer, GruLayer):
        rnn = nn.GRU(layer.in_size, layer.hidden_size, batch_first=True, dtype=dtype)
        b_ih, b_hh = layer.bias_ih, layer.bias_hh
    else:
        rnn = nn.LSTM(layer.in_size, layer.hidden_size, batch_first=True, dtype=dtype)
        b_ih, b_hh = layer.bias, np.zeros_like(layer.bias)
    rnn.weight_ih_l0 = _param(layer.weight_ih, dtype)
    rnn.weight_hh_l0 = _param(layer.weight_hh, dtype)
    rnn.bias_ih_l0 = _param(b_ih, dtype)
    rnn.bias_hh_l0 = _param(b_hh, dtype)
    return rnn


def spec_to_torch(spec: ModelSpec, dtype: torch.dtype | None = None) -> nn.Module:
    """An eval-mode ``nn.Sequential`` (MLP) or :class:`RecurrentModel` holding ``spec``'s weights.

    An imported LSTM keeps its single summed bias in ``bias_ih_l0`` (``bias_hh_l0`` is zero).
    """
    import torch

    from .recurrent import RecurrentModel

    if dtype is None:
        dtype = torch.float32
    head = _dense_to_torch(spec.dense, dtype)
    model: nn.Module = head
    if spec.skip and spec.recurrent is None:
        msg = "an input skip is supported on GRU/LSTM models only; an MLP learns x itself"
        raise ModelFormatError(msg)
    if spec.recurrent is not None:
        model = RecurrentModel(_rnn_to_torch(spec.recurrent, dtype), head, skip=spec.skip)
    return model.eval()
