"""The layers every model is made of, as plain float64 arrays in torch layout (no torch needed).

Every reader (our model file, RTNeural JSON, torch modules) produces these, and every writer and
the engine consume them, so a model's weights have one in-memory form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .architecture import Architecture

__all__ = [
    "DenseLayer",
    "GruLayer",
    "LstmLayer",
    "RecurrentLayer",
    "architecture_of_layers",
]


@dataclass(frozen=True)
class DenseLayer:
    """``y = act(W x + b)``. ``weight`` is ``[out][in]`` (torch layout), float64."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str  # one of ACTIVATIONS ("none" for linear)
    prelu_slopes: np.ndarray | None = None

    @property
    def in_size(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_size(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class _RecurrentWeights:
    """Input and recurrent kernels in torch layout, ``[gates * hidden][in]`` and
    ``[gates * hidden][hidden]``, float64."""

    weight_ih: np.ndarray
    weight_hh: np.ndarray

    @property
    def in_size(self) -> int:
        return int(self.weight_ih.shape[1])

    @property
    def hidden_size(self) -> int:
        return int(self.weight_hh.shape[1])

    @property
    def gates(self) -> int:
        return int(self.weight_hh.shape[0]) // self.hidden_size

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates of one step: ``gates * h * (in + h)``."""
        return self.gates * self.hidden_size * (self.in_size + self.hidden_size)


@dataclass(frozen=True)
class GruLayer(_RecurrentWeights):
    """A GRU in torch layout: gates r, z, n; ``weight_ih`` ``[3h][in]``, ``weight_hh`` ``[3h][h]``.

    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h`` (torch's
    definition, identical to Keras' ``reset_after=True``), float64.
    """

    bias_ih: np.ndarray
    bias_hh: np.ndarray
    cell: ClassVar[str] = "gru"


@dataclass(frozen=True)
class LstmLayer(_RecurrentWeights):
    """An LSTM in torch layout: gates i, f, g, o; one bias ``b = b_ih + b_hh``, float64."""

    bias: np.ndarray
    cell: ClassVar[str] = "lstm"


RecurrentLayer = GruLayer | LstmLayer



def architecture_of_layers(layers: Sequence[DenseLayer]) -> Architecture | None:
    """:func:`architecture_of` for layers already read (e.g. by the engine)."""
    hidden, out = layers[:-1], layers[-1]
    if not hidden or layers[0].in_size != 1 or out.out_size != 1 or out.activation != "none":
        return None
    widths = {layer.out_size for layer in hidden}
    acts = {layer.activation for layer in hidden}
    if len(widths) != 1 or len(acts) != 1:
        return None
    return Architecture(len(hidden), widths.pop(), acts.pop())
