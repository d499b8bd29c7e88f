"""Recurrent models: one ``nn.GRU`` or ``nn.LSTM`` layer followed by a dense head.

:class:`RecurrentModel` is the form vashrink exports and imports for the usual amp model
(audio in, one recurrent layer, a few dense layers, audio out). It runs on
``[batch, time, features]`` whatever the wrapped layer's ``batch_first`` is, and applies the
head to every time step, as RTNeural does when it runs the model one sample at a time.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import ModelFormatError
from .layers import GruLayer, LstmLayer, RecurrentLayer
from .mlp import dense_layers

__all__ = ["RecurrentModel", "recurrent_layer"]


class RecurrentModel(nn.Module):
    """``head(rnn(x))`` applied per time step; the model form for GRU/LSTM exports.

    Args:
        rnn: a one-layer, unidirectional ``nn.GRU`` or ``nn.LSTM`` (``batch_first`` either way,
            no LSTM projection).
        head: an ``nn.Sequential`` of Linear + activation modules (see :mod:`vashrink.model.mlp`).
        skip: add the input to the output (one input, one output).

    Shape:
        input ``[batch, time, rnn.input_size]``, output ``[batch, time, head outputs]``; every
        sequence starts from a zero state.
    """

    def __init__(self, rnn: nn.GRU | nn.LSTM, head: nn.Sequential, *, skip: bool = False) -> None:
        super().__init__()
        _validate_rnn(rnn)
        layers = dense_layers(head)
        if skip and (rnn.input_size != 1 or layers[-1].out_size != 1):
            msg = "an input skip needs one input and one output"
            raise ModelFormatError(msg)
        if layers[0].in_size != rnn.hidden_size:
            msg = (
                f"the head's first Linear takes {layers[0].in_size} inputs but the "
                f"{type(rnn).__name__} gives {rnn.hidden_size}; make them equal"
            )
            raise ModelFormatError(msg)
        self.rnn = rnn
        self.head = head
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            msg = f"RecurrentModel takes [batch, time, features], got shape {tuple(x.shape)}"
            raise ModelFormatError(msg)
        if not self.rnn.batch_first:
            out, _ = self.rnn(x.transpose(0, 1))
            out = out.transpose(0, 1)
        else:
            out, _ = self.rnn(x)
        # The head sees [batch * time, hidden], so per-unit layers (PReLU) see units as channels.
        b, t, h = out.shape
        result: torch.Tensor = self.head(out.reshape(b * t, h)).reshape(b, t, -1)
        return result + x if self.skip else result


def _validate_rnn(rnn: nn.Module) -> nn.GRU | nn.LSTM:
    if not isinstance(rnn, nn.GRU | nn.LSTM):
        msg = f"expected nn.GRU or nn.LSTM, got {type(rnn).__name__}"
        raise ModelFormatError(msg)
    name = type(rnn).__name__
    if rnn.num_layers != 1:
        msg = (
            f"{name} has num_layers={rnn.num_layers}; RTNeural layers are single: "
            "stack RecurrentModels or use num_layers=1"
        )
        raise ModelFormatError(msg)
    if rnn.bidirectional:
        msg = f"bidirectional {name} cannot run one sample at a time; use bidirectional=False"
        raise ModelFormatError(msg)
    if isinstance(rnn, nn.LSTM) and rnn.proj_size:
        msg = "LSTM with proj_size is not supported by RTNeural; use proj_size=0"
        raise ModelFormatError(msg)
    return rnn


def _array(t: torch.Tensor | nn.Module | None, shape: tuple[int, ...], what: str) -> np.ndarray:
    if not isinstance(t, torch.Tensor):
        return np.zeros(shape)
    a = t.detach().to("cpu", torch.float64).numpy().copy()
    if not np.isfinite(a).all():
        msg = f"{what} contains NaN or Inf; the model cannot be run or exported"
        raise ModelFormatError(msg)
    return a


def recurrent_layer(rnn: nn.Module) -> RecurrentLayer:
    """Read a validated ``nn.GRU``/``nn.LSTM`` as float64 arrays (torch layout)."""
    rnn = _validate_rnn(rnn)
    h = int(rnn.hidden_size)
    gates = 3 if isinstance(rnn, nn.GRU) else 4
    w_ih = _array(rnn.weight_ih_l0, (gates * h, int(rnn.input_size)), "weight_ih_l0")
    w_hh = _array(rnn.weight_hh_l0, (gates * h, h), "weight_hh_l0")
    b_ih = _array(getattr(rnn, "bias_ih_l0", None), (gates * h,), "bias_ih_l0")
    b_hh = _array(getattr(rnn, "bias_hh_l0", None), (gates * h,), "bias_hh_l0")
    if isinstance(rnn, nn.GRU):
        return GruLayer(w_ih, w_hh, b_ih, b_hh)
    return LstmLayer(w_ih, w_hh, b_ih + b_hh)
