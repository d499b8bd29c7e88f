"""The one model form every part of vashrink shares: a torch ``nn.Sequential`` MLP.

``Linear`` layers, each optionally followed by one activation module (``Tanh``, ``ReLU``,
``Sigmoid``, ``ELU(alpha=1)``, ``Softmax(dim=-1)``, ``PReLU``). :func:`build_mlp` makes one from
an :class:`Architecture`; :func:`dense_layers` reads any such model back as
plain float64 arrays, validated, for the engine and the exporters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import ModelFormatError
from .activations import activation_module, activation_name
from .architecture import Architecture
from .layers import DenseLayer, architecture_of_layers

__all__ = [
    "DenseLayer",
    "architecture_of",
    "architecture_of_layers",
    "build_mlp",
    "dense_layers",
]


def build_mlp(arch: Architecture, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """A freshly initialised 1-input, 1-output MLP for ``arch`` (torch's default init)."""
    layers: list[nn.Module] = []
    in_size = 1
    for _ in range(arch.depth):
        layers.append(nn.Linear(in_size, arch.width))
        act = activation_module(arch.activation, arch.width)
        if act is not None:
            layers.append(act)
        in_size = arch.width
    layers.append(nn.Linear(in_size, 1))
    return nn.Sequential(*layers).to(dtype)


def _array(t: torch.Tensor, what: str) -> np.ndarray:
    a = t.detach().to("cpu", torch.float64).numpy().copy()
    if not np.isfinite(a).all():
        msg = f"{what} contains NaN or Inf; the model cannot be run or exported"
        raise ModelFormatError(msg)
    return a


def dense_layers(model: nn.Module) -> list[DenseLayer]:
    """Read an MLP ``nn.Sequential`` as validated dense layers.

    Raises:
        ModelFormatError: unsupported modules, two activations in a row, mismatched sizes,
            PReLU with a slope count that is neither 1 nor the width, non-finite weights.
    """
    if not isinstance(model, nn.Sequential):
        kind = type(model).__name__
        msg = f"expected an nn.Sequential of Linear and activation modules, got {kind}"
        raise ModelFormatError(msg)
    modules = list(model)
    layers: list[DenseLayer] = []
    i = 0
    while i < len(modules):
        lin = modules[i]
        if not isinstance(lin, nn.Linear):
            msg = f"module {i} ({type(lin).__name__}) must be nn.Linear (one activation per layer)"
            raise ModelFormatError(msg)
        if layers and lin.in_features != layers[-1].out_size:
            msg = (
                f"module {i}: Linear expects {lin.in_features} inputs but the previous layer "
                f"gives {layers[-1].out_size}"
            )
            raise ModelFormatError(msg)
        weight = _array(lin.weight, f"module {i} weight")
        bias = (
            _array(lin.bias, f"module {i} bias")
            if lin.bias is not None
            else np.zeros(lin.out_features)
        )
        activation, slopes = "none", None
        if i + 1 < len(modules) and not isinstance(modules[i + 1], nn.Linear):
            act = modules[i + 1]
            activation = activation_name(act, i + 1)
            if isinstance(act, nn.PReLU):
                raw = _array(act.weight, f"module {i + 1} PReLU slopes").reshape(-1)
                if raw.size == 1:
                    raw = np.full(lin.out_features, raw[0])
                if raw.size != lin.out_features:
                    msg = (
                        f"module {i + 1}: PReLU has {raw.size} slopes for {lin.out_features} units"
                    )
                    raise ModelFormatError(msg)
                slopes = raw
            i += 1
        layers.append(DenseLayer(weight, bias, activation, slopes))
        i += 1
    if not layers:
        msg = "the model has no Linear layer"
        raise ModelFormatError(msg)
    return layers


def architecture_of(model: nn.Module) -> Architecture | None:
    """The :class:`Architecture` of a 1-in/1-out uniform MLP, or None if it is not one."""
    return architecture_of_layers(dense_layers(model))
