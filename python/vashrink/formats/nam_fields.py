"""Strict readers for ``.nam`` JSON: a field reader that names the field in every message, and
the weight cursor that hands out NeuralAmpModelerCore's flat weight list in order.

Messages name the field by its path in the file (``config.layers[1].kernel_size``) so one line
says where the problem is.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import numpy as np

from ..errors import ModelFormatError, UnsupportedModelError
from ..model.wavenet import ACTIVATIONS, Activation

__all__ = ["Fields", "WeightCursor", "activation", "fail", "unsupported"]


def fail(where: str, problem: str) -> NoReturn:
    msg = f"{where}: {problem}"
    raise ModelFormatError(msg)


def unsupported(where: str, feature: str) -> NoReturn:
    msg = f"{where}: {feature}, which vashrink does not verify or run yet"
    raise UnsupportedModelError(msg)


class Fields:
    """Typed access to one JSON object, ``where`` being its path in the file."""

    def __init__(self, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            fail(where, f"must be a JSON object, got {type(obj).__name__}")
        self.obj: dict[str, Any] = obj
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return key in self.obj and self.obj[key] is not None

    def raw(self, key: str) -> Any:
        if key not in self.obj:
            fail(self.path(key), "missing (NeuralAmpModelerCore needs it)")
        return self.obj[key]

    def whole(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        if default is not None and key not in self.obj:
            return default
        return as_int(self.raw(key), self.path(key), minimum)

    def flag(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self.obj:
            return default
        value = self.raw(key)
        if not isinstance(value, bool):
            fail(self.path(key), f"must be true or false, got {value!r}")
        return value

    def number(self, key: str) -> float:
        value = self.raw(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            fail(self.path(key), f"must be a finite number, got {value!r}")
        return float(value)

    def sub(self, key: str) -> Fields:
        return Fields(self.raw(key), self.path(key))

    def int_list(self, key: str) -> list[int]:
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            fail(self.path(key), "must be a non-empty list of whole numbers")
        return [as_int(v, f"{self.path(key)}[{i}]", 1) for i, v in enumerate(value)]


def as_int(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        fail(where, f"must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def activation(value: Any, where: str, channels: int) -> Activation:
    """An activation from its NAM form: a name, or ``{"type": name, params...}``."""
    if isinstance(value, str):
        name, params = value, Fields({}, where)
    elif isinstance(value, dict):
        params = Fields(value, where)
        name = params.raw("type")
    else:
        fail(where, f"must be an activation name or object, got {value!r}")
    if name == "LeakyHardTanh":
        name = "LeakyHardtanh"
    if not isinstance(name, str) or name not in ACTIVATIONS:
        msg = f"unknown activation {name!r}; NeuralAmpModelerCore's are {', '.join(ACTIVATIONS)}"
        fail(where, msg)
    if name == "LeakyHardtanh":
        def num(key: str, default: float) -> float:
            return params.number(key) if params.has(key) else default

        return Activation(name, min_val=num("min_val", -1.0), max_val=num("max_val", 1.0),
                          min_slope=num("min_slope", 0.01), max_slope=num("max_slope", 0.01))
    if name in ("LeakyReLU", "PReLU") and params.has("negative_slopes") and name == "PReLU":
        slopes = params.raw("negative_slopes")
        ok = isinstance(slopes, list) and all(
            isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s)
            for s in slopes)
        if not ok or len(slopes) != channels:
            fail(f"{where}.negative_slopes", f"must be {channels} finite numbers (one per channel)")
        return Activation(name, slopes=tuple(float(s) for s in slopes))
    if name in ("LeakyReLU", "PReLU") and params.has("negative_slope"):
        return Activation(name, negative_slope=params.number("negative_slope"))
    return Activation(name)


class WeightCursor:
    """NAM's flat weight list handed out in the order its loader reads it.

    Reading past the end does not fail at once: the walk continues so the final message can
    say how many weights the config needs (:meth:`finish`).
    """

    def __init__(self, values: np.ndarray, where: str) -> None:
        self.values = values
        self.pos = 0
        self.where = where

    def take(self, *shape: int) -> np.ndarray:
        n = math.prod(shape)
        start, self.pos = self.pos, self.pos + n
        if self.pos > self.values.size:
            return np.zeros(shape)
        return self.values[start:self.pos].reshape(shape).copy()

    def conv(self, out: int, inp: int, kernel: int, groups: int, where: str) -> np.ndarray:
        """A (grouped) conv's weights as a dense ``[out][in][K]`` array (zeros off the groups)."""
        if out % groups or inp % groups:
            fail(where, f"{groups} groups do not divide {inp} inputs and {out} outputs")
        opg, ipg = out // groups, inp // groups
        raw = self.take(groups, opg, ipg, kernel)
        dense = np.zeros((out, inp, kernel))
        for g in range(groups):
            dense[g * opg:(g + 1) * opg, g * ipg:(g + 1) * ipg, :] = raw[g]
        return dense

    def finish(self) -> None:
        if self.pos != self.values.size:
            fail(self.where, f"the config needs {self.pos} weights but the file has "
                 f"{self.values.size}; the file is truncated or does not match its config")


def read_weights(value: Any, where: str) -> np.ndarray:
    """The ``weights`` list as float64, refusing non-numbers and NaN/Inf with their index."""
    if not isinstance(value, list):
        fail(where, f"must be a list of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(value)
                   if isinstance(v, bool) or not isinstance(v, int | float))
        fail(f"{where}[{bad}]", f"must be a number, got {value[bad]!r}")
    if arr.ndim != 1:
        fail(where, "must be a flat list of numbers")
    bad_idx = np.flatnonzero(~np.isfinite(arr))
    if bad_idx.size:
        i = int(bad_idx[0])
        fail(f"{where}[{i}]", f"is {arr[i]} ({bad_idx.size} non-finite weights); the model "
             "diverged in training or the file is corrupt")
    return arr
