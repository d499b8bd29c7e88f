"""The one model form every part of vashrink shares: a torch ``nn.Sequential`` MLP.

``Linear`` layers, each optionally followed by one activation module (``Tanh``, ``ReLU``,
``Sigmoid``, ``ELU(alpha=1)``, ``Softmax(dim=-1)``, ``PReLU``). :func:`build_mlp` makes one from
an :class:`~vashrink.architecture.Architecture`; :func:`dense_layers` reads any such model back as
plain float64 arrays, validated, for the engine and the exporters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .architecture import Architecture
from .errors import ModelFormatError

__all__ = [
    "DenseLayer",
    "architecture_of",
    "architecture_of_layers",
    "build_mlp",
    "dense_layers",
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


def _activation_module(name: str, width: int) -> nn.Module | None:
    factories: dict[str, nn.Module | None] = {
        "tanh": nn.Tanh(),
        "relu": nn.ReLU(),
        "sigmoid": nn.Sigmoid(),
        "elu": nn.ELU(),
        "softmax": nn.Softmax(dim=-1),
        "prelu": nn.PReLU(width),
        "none": None,
    }
    return factories[name]


def build_mlp(arch: Architecture, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """A freshly initialised 1-input, 1-output MLP for ``arch`` (torch's default init)."""
    layers: list[nn.Module] = []
    in_size = 1
    for _ in range(arch.depth):
        layers.append(nn.Linear(in_size, arch.width))
        act = _activation_module(arch.activation, arch.width)
        if act is not None:
            layers.append(act)
        in_size = arch.width
    layers.append(nn.Linear(in_size, 1))
    return nn.Sequential(*layers).to(dtype)


def _activation_name(module: nn.Module, index: int) -> str:
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.ELU):
        if module.alpha != 1.0:
            msg = f"module {index}: ELU(alpha={module.alpha}) is not supported; use alpha=1"
            raise ModelFormatError(msg)
        return "elu"
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            msg = f"module {index}: Softmax(dim={module.dim}) must act on features (dim=-1)"
            raise ModelFormatError(msg)
        return "softmax"
    if isinstance(module, nn.PReLU):
        return "prelu"
    if isinstance(module, nn.Identity):
        return "none"
    msg = (
        f"module {index} ({type(module).__name__}) is not supported: use Linear layers with "
        "Tanh, ReLU, Sigmoid, ELU, Softmax, PReLU or no activation"
    )
    raise ModelFormatError(msg)


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
            activation = _activation_name(act, i + 1)
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
