"""Activation names <-> torch modules: the one place the mapping is written.

The names are :data:`~vashrink.model.architecture.ACTIVATIONS`; ``elu`` is ``ELU(alpha=1)`` and
``softmax`` acts on features (``dim=-1``), as RTNeural defines them.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..errors import ModelFormatError

__all__ = ["activation_module", "activation_name"]


def activation_module(name: str, width: int) -> nn.Module | None:
    """A fresh torch module for activation ``name`` on ``width`` units (None for ``"none"``)."""
    factories: dict[str, Callable[[], nn.Module]] = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "elu": nn.ELU,
        "softmax": lambda: nn.Softmax(dim=-1),
        "prelu": lambda: nn.PReLU(width),
    }
    if name == "none":
        return None
    if name not in factories:
        msg = f"unknown activation {name!r}: use one of tanh, relu, sigmoid, elu, softmax, prelu"
        raise ModelFormatError(msg)
    module: nn.Module = factories[name]()
    return module


def activation_name(module: nn.Module, index: int) -> str:
    """The activation name of torch ``module`` (at position ``index``, for messages)."""
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
