"""Checks shared by the engine wrappers (:mod:`.engine`, :mod:`.recurrent`), without torch.

Python validates what it hands the C++ engine so that mistakes get a message naming the layer
and the fix; the C++ loaders check the same again and report a status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError, ModelFormatError
from ..model.architecture import ACTIVATIONS
from ..model.layers import DenseLayer

__all__ = ["check_dense_layers", "dense_arrays", "np_dtype"]


def np_dtype(dtype: str) -> type[np.floating[Any]]:
    """The numpy type of an engine dtype name."""
    if dtype == "float32":
        return np.float32
    if dtype == "float64":
        return np.float64
    msg = f"unknown dtype {dtype!r}: use 'float32' or 'float64'"
    raise InputError(msg)


def check_dense_layers(layers: Sequence[DenseLayer], first: int = 0) -> None:
    """Shapes, chaining, activations, PReLU slopes and finiteness of dense layers.

    ``first`` numbers the layers in messages (1 when a recurrent layer comes first).
    """
    if len(layers) == 0:
        msg = "the model has no layers; give at least one DenseLayer"
        raise ModelFormatError(msg)
    for j, layer in enumerate(layers):
        k = j + first
        if not isinstance(layer, DenseLayer):
            msg = f"layer {k} is a {type(layer).__name__}, not a vashrink.DenseLayer"
            raise ModelFormatError(msg)
        w = np.asarray(layer.weight)
        b = np.asarray(layer.bias)
        if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
            msg = f"layer {k}: weight must be a non-empty 2-D [out][in] array, got shape {w.shape}"
            raise ModelFormatError(msg)
        if b.shape != (w.shape[0],):
            msg = f"layer {k}: bias has shape {b.shape}, expected ({w.shape[0]},) (one per output)"
            raise ModelFormatError(msg)
        if layer.activation not in ACTIVATIONS:
            msg = (
                f"layer {k}: unknown activation {layer.activation!r}; "
                f"use one of {', '.join(ACTIVATIONS)}"
            )
            raise ModelFormatError(msg)
        if layer.activation == "prelu":
            slopes = None if layer.prelu_slopes is None else np.asarray(layer.prelu_slopes)
            if slopes is None or slopes.shape != (w.shape[0],):
                got = None if slopes is None else slopes.shape
                msg = f"layer {k}: PReLU needs {w.shape[0]} slopes (one per output), got {got}"
                raise ModelFormatError(msg)
        if j > 0 and w.shape[1] != layers[j - 1].out_size:
            msg = (
                f"layer {k} expects {w.shape[1]} inputs but layer {k - 1} gives "
                f"{layers[j - 1].out_size}"
            )
            raise ModelFormatError(msg)
        arrays = [w, b] + ([np.asarray(layer.prelu_slopes)] if layer.activation == "prelu" else [])
        if not all(np.isfinite(a.astype(np.float64)).all() for a in arrays):
            msg = f"layer {k} contains NaN or Inf weights; retrain or repair the model"
            raise ModelFormatError(msg)


def dense_arrays(
    layers: Sequence[DenseLayer], dtype: str, first: int = 0
) -> list[tuple[np.ndarray, np.ndarray, str, np.ndarray | None]]:
    """The layers as contiguous arrays of ``dtype`` for the binding, checked to stay finite
    after the cast (1e300 is inf in float32)."""
    t = np_dtype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        packed = [
            (
                np.ascontiguousarray(layer.weight, dtype=t),
                np.ascontiguousarray(layer.bias, dtype=t),
                layer.activation,
                None
                if layer.activation != "prelu"
                else np.ascontiguousarray(layer.prelu_slopes, dtype=t),
            )
            for layer in layers
        ]
    for j, (w, b, _, slopes) in enumerate(packed):
        arrays = (w, b) if slopes is None else (w, b, slopes)
        if not all(np.isfinite(a).all() for a in arrays):
            msg = f"layer {j + first} has values beyond the {dtype} range; use dtype='float64'"
            raise ModelFormatError(msg)
    return packed
