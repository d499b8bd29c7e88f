"""Recurrent models: a stack of ``nn.GRU``/``nn.LSTM`` layers followed by a dense head.

:class:`RecurrentModel` is the form vashrink exports and imports for the usual amp model
(audio in, one or two recurrent layers, a few dense layers, audio out). It runs on
``[batch, time, features]`` whatever the wrapped layer's ``batch_first`` is, and applies the
head to every time step, as RTNeural does when it runs the model one sample at a time. A
uniform stack is one torch module with ``num_layers`` > 1 (fast, and what the trainer builds);
:class:`StackedRnn` chains layers that differ in cell or size (as an RTNeural file may).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import ModelFormatError
from .architecture import MAX_RNN_LAYERS
from .layers import GruLayer, LstmLayer, RecurrentLayer
from .mlp import dense_layers

__all__ = ["RecurrentModel", "StackedRnn", "recurrent_layers"]


class StackedRnn(nn.Module):
    """Single-layer GRUs/LSTMs run in turn, each on the previous one's output (``batch_first``).

    ``forward(x, state)`` returns ``(out, states)`` like a torch RNN, with one state (``h`` or
    ``(h, c)``) per layer in ``states``.
    """

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        for k, layer in enumerate(layers):
            _validate_rnn(layer)
            if layer.num_layers != 1 or not layer.batch_first:
                msg = f"StackedRnn layer {k} must be a batch_first, one-layer GRU/LSTM"
                raise ModelFormatError(msg)
            if k and layer.input_size != layers[k - 1].hidden_size:
                msg = (
                    f"recurrent layer {k} takes {layer.input_size} inputs but layer {k - 1} "
                    f"gives {layers[k - 1].hidden_size}; make them equal"
                )
                raise ModelFormatError(msg)
        self.layers = nn.ModuleList(layers)
        self.batch_first = True
        self.input_size = int(layers[0].input_size)
        self.hidden_size = int(layers[-1].hidden_size)

    def forward(self, x: torch.Tensor, state: list | None = None) -> tuple[torch.Tensor, list]:
        states = []
        for k, layer in enumerate(self.layers):
            x, s = layer(x, None if state is None else state[k])
            states.append(s)
        return x, states


class RecurrentModel(nn.Module):
    """``head(rnn(x))`` applied per time step; the model form for GRU/LSTM exports.

    Args:
        rnn: a unidirectional ``nn.GRU`` or ``nn.LSTM`` of up to 8 layers (``batch_first`` either
            way, no LSTM projection), or a :class:`StackedRnn`.
        head: an ``nn.Sequential`` of Linear + activation modules (see :mod:`vashrink.model.mlp`).
        skip: add the input to the output (one input, one output).

    Shape:
        input ``[batch, time, rnn.input_size]``, output ``[batch, time, head outputs]``; every
        sequence starts from a zero state.
    """

    def __init__(
        self, rnn: nn.GRU | nn.LSTM | StackedRnn, head: nn.Sequential, *, skip: bool = False
    ) -> None:
        super().__init__()
        if not isinstance(rnn, StackedRnn):
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
    if not 1 <= rnn.num_layers <= MAX_RNN_LAYERS:
        msg = f"{name} has num_layers={rnn.num_layers}; use 1 to {MAX_RNN_LAYERS}"
        raise ModelFormatError(msg)
    if rnn.dropout:
        msg = f"{name} has dropout={rnn.dropout}; a model run sample by sample has none: use 0"
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


def recurrent_layers(rnn: nn.Module) -> tuple[RecurrentLayer, ...]:
    """Read a validated ``nn.GRU``/``nn.LSTM`` (each of its layers) or :class:`StackedRnn` as
    float64 arrays (torch layout)."""
    if isinstance(rnn, StackedRnn):
        return tuple(layer for sub in rnn.layers for layer in recurrent_layers(sub))
    rnn = _validate_rnn(rnn)
    h = int(rnn.hidden_size)
    gates = 3 if isinstance(rnn, nn.GRU) else 4
    out: list[RecurrentLayer] = []
    for k in range(rnn.num_layers):
        n_in = int(rnn.input_size) if k == 0 else h
        w_ih = _array(getattr(rnn, f"weight_ih_l{k}"), (gates * h, n_in), f"weight_ih_l{k}")
        w_hh = _array(getattr(rnn, f"weight_hh_l{k}"), (gates * h, h), f"weight_hh_l{k}")
        b_ih = _array(getattr(rnn, f"bias_ih_l{k}", None), (gates * h,), f"bias_ih_l{k}")
        b_hh = _array(getattr(rnn, f"bias_hh_l{k}", None), (gates * h,), f"bias_hh_l{k}")
        if isinstance(rnn, nn.GRU):
            out.append(GruLayer(w_ih, w_hh, b_ih, b_hh))
        else:
            out.append(LstmLayer(w_ih, w_hh, b_ih + b_hh))
    return tuple(out)
