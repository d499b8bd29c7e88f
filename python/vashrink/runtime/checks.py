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
from .native import check_counts

__all__ = ["NativeRunner", "check_dense_layers", "dense_arrays", "np_dtype"]


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


class NativeRunner:
    """What both engine wrappers share: a loaded ``_native`` model of ``_np_dtype`` numbers, its
    input checks, one-sample ``forward`` and the per-sample path a plugin uses."""

    _native: Any
    _np_dtype: type[np.floating[Any]]

    @property
    def in_size(self) -> int:
        return int(self._native.in_size)

    @property
    def out_size(self) -> int:
        return int(self._native.out_size)

    def _input(self, x: Any, what: str = "x") -> np.ndarray:
        try:
            arr = np.asarray(x, dtype=self._np_dtype)
        except (TypeError, ValueError) as exc:
            msg = f"{what} must be an array of numbers ({exc})"
            raise InputError(msg) from None
        ok_1d = arr.ndim == 1 and self.in_size == 1
        ok_2d = arr.ndim == 2 and arr.shape[1] == self.in_size
        if not (ok_1d or ok_2d):
            want = f"(n, {self.in_size})" + (" or (n,)" if self.in_size == 1 else "")
            msg = f"{what} has shape {arr.shape}; this model takes {want}"
            raise InputError(msg)
        return np.ascontiguousarray(arr)

    def forward(self, x: float) -> float:
        """One sample through a one-input model (a recurrent one advances its state); the first
        output."""
        if self.in_size != 1:
            msg = f"forward(x) is for one-input models; this one has {self.in_size} inputs"
            raise InputError(msg)
        return float(self._native.forward(float(x)))

    def process_samples(self, x: Any) -> np.ndarray:
        """One ``forward`` per sample in C++ with the GIL released (the per-sample path a plugin
        uses); a recurrent model continues from its current state."""
        out: np.ndarray = self._native.process_samples(self._input(x))
        return out

    @property
    def backend(self) -> str:
        """Name timing reports use for this runtime."""
        return "vashrink"

    @property
    def lanes(self) -> int:
        """SIMD lanes the engine packs widths (per gate, for a recurrent layer) to."""
        return int(self._native.lanes)

    def time_samples(self, buffer: np.ndarray, repeats: int, warmup: int) -> list[float]:
        """Seconds for each of ``repeats`` per-sample passes over ``buffer`` (after ``warmup``);
        a recurrent model's state is reset before the first pass and after the last."""
        check_counts(repeats, warmup)
        seconds: list[float] = self._native.time_samples(
            self._input(buffer, "buffer"), int(repeats), int(warmup)
        )
        return seconds

    def time_blocks(
        self, buffer: np.ndarray, block_size: int, repeats: int, warmup: int
    ) -> list[float]:
        """Seconds for each of ``repeats`` passes with ``block_size`` samples per call (a
        recurrent model still runs them one by one: the state orders them)."""
        check_counts(repeats, warmup)
        if block_size < 1:
            msg = f"block_size must be at least 1, got {block_size}"
            raise InputError(msg)
        seconds: list[float] = self._native.time_blocks(
            self._input(buffer, "buffer"), int(block_size), int(repeats), int(warmup)
        )
        return seconds
