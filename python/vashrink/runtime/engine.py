"""The C++ MLP engine from Python: load a model once, run it per sample or per block.

:class:`Mlp` wraps the header-only engine in ``cpp/include/vashrink`` (``vashrink::Model<T>``):
weights are validated and packed for the SIMD lanes at load time, and nothing allocates or can
fail afterwards. ``process_samples`` runs one ``forward`` per sample in C++ (what a plugin does in
its audio callback); ``process_block`` pushes each block through every layer as one matrix
product. Both release the GIL. See ``docs/engine.md`` for the C++ API and measured speed.

Numerics: outputs match a float64 torch reference to within ~1e-6 absolute for float32 (the
activations' vector approximations are within 2.4e-7 of exact; the rest is float32 rounding of
the sums) and ~1e-12 for float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import EngineError, InputError, ModelFormatError
from ..model.architecture import Architecture
from ..model.file import DTYPES
from ..model.layers import DenseLayer, architecture_of_layers
from ..model.mlp import build_mlp, dense_layers
from .checks import NativeRunner, dense_arrays
from .checks import check_dense_layers as _check_layers
from .checks import np_dtype as _np_dtype
from .native import engine

__all__ = ["DTYPES", "Mlp", "as_mlp", "random_model"]


def random_model(arch: Architecture, *, seed: int = 0) -> nn.Sequential:
    """``build_mlp(arch)`` with torch's default initialisation drawn from ``seed`` (repeatable)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_mlp(arch)


class Mlp(NativeRunner):
    """An MLP loaded into the C++ engine (float32 by default, float64 optional).

    Create with :meth:`from_torch`, :meth:`from_layers` or :meth:`from_architecture`.

    Shape:
        Inputs are ``[n]`` for one-input models or ``[n, in_size]``; outputs ``[n]`` for
        one-output models or ``[n, out_size]``.
    """

    def __init__(self, layers: Sequence[DenseLayer], dtype: str = "float32") -> None:
        np_dtype = _np_dtype(dtype)
        _check_layers(layers)
        eng = engine()
        native = eng.MlpF32() if dtype == "float32" else eng.MlpF64()
        packed = dense_arrays(layers, dtype)
        error = native.load(packed)
        if error:
            msg = f"the engine refused the model: {error}"
            raise ModelFormatError(msg)
        self._native = native
        self._np_dtype = np_dtype
        self.dtype = dtype
        self.layers: tuple[DenseLayer, ...] = tuple(layers)

    @classmethod
    def from_layers(cls, layers: Sequence[DenseLayer], dtype: str = "float32") -> Mlp:
        """Load dense layers (``weight [out][in]``, ``bias``, activation, PReLU slopes).

        Raises:
            ModelFormatError: mismatched shapes, non-finite values, unknown activation,
                missing PReLU slopes.
        """
        return cls(layers, dtype)

    @classmethod
    def from_torch(cls, model: nn.Module, dtype: str = "float32") -> Mlp:
        """Load an ``nn.Sequential`` of ``Linear`` + activation modules (the shared model form)."""
        return cls(dense_layers(model), dtype)

    @classmethod
    def from_architecture(cls, arch: Architecture, *, seed: int = 0, dtype: str = "float32") -> Mlp:
        """A randomly initialised model of ``arch`` (torch's default init, seeded): for timing."""
        return cls.from_torch(random_model(arch, seed=seed), dtype)

    @property
    def architecture(self) -> Architecture | None:
        """The uniform 1-in/1-out :class:`Architecture`, or None for other shapes."""
        return architecture_of_layers(self.layers)

    def process_block(self, x: Any, block_size: int = 512) -> np.ndarray:
        """The samples in blocks of ``block_size``, each block one matrix product per layer."""
        if block_size < 1:
            msg = f"block_size must be at least 1, got {block_size}"
            raise InputError(msg)
        out: np.ndarray = self._native.process_block(self._input(x), int(block_size))
        return out

    def reset(self) -> None:
        """No state to clear (MLPs are memoryless); kept for the runner interface."""

    def __repr__(self) -> str:
        sizes = [self.layers[0].in_size] + [layer.out_size for layer in self.layers]
        acts = ",".join(layer.activation for layer in self.layers)
        return f"Mlp({'-'.join(map(str, sizes))}, {acts}, {self.dtype})"


def as_mlp(model: Mlp | nn.Module | Architecture, dtype: str = "float32", seed: int = 0) -> Mlp:
    """An engine model from an :class:`Mlp`, a torch MLP or an :class:`Architecture`."""
    if isinstance(model, Mlp):
        return model
    if isinstance(model, Architecture):
        return Mlp.from_architecture(model, seed=seed, dtype=dtype)
    if isinstance(model, nn.Module):
        return Mlp.from_torch(model, dtype)
    msg = (
        f"cannot run a {type(model).__name__} in the engine; "
        "give an nn.Sequential MLP or an Architecture"
    )
    raise EngineError(msg)

