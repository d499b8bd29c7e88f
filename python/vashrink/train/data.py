"""Training data for :mod:`.candidates`: samples, a validation split and normalisation.

Inputs are mapped to [-1, 1] and targets to zero mean and unit variance while training; the
trained network is mapped back exactly (folded into its first and last layer) on export, so
the saved model takes raw ``x`` and returns raw ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..target.samples import Target, check_range

__all__ = ["TrainData", "prepare_data"]


@dataclass(frozen=True)
class TrainData:
    """Float64 training and validation samples and the affine maps used while training."""

    a: float
    b: float
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_center: float
    x_half: float
    y_mean: float
    y_std: float

    def norm_x(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_center) / self.x_half

    def norm_y(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_mean) / self.y_std


def _check_finite(x: np.ndarray, y: np.ndarray, name: str) -> None:
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        where = float(x[np.argmax(bad)])
        msg = (f"target {name!r} has NaN or Inf values (first at x = {where:.6g}); "
               "choose a range where it is finite or clean the data")
        raise InputError(msg)


def prepare_data(target: Target, a: float | None, b: float | None, *, samples: int,
                 val_fraction: float, seed: int) -> TrainData:
    """Training and validation samples on ``[a, b]``.

    A function target gets ``samples`` evenly spaced training points and ``val_fraction *
    samples`` independent uniform random validation points; sampled ``(x, y)`` data inside
    ``[a, b]`` is split at random. ``a``/``b`` default to the data's extent for sampled targets.
    """
    if not 0.0 <= val_fraction < 1.0:
        msg = f"val_fraction must be in [0, 1), got {val_fraction}"
        raise InputError(msg)
    rng = np.random.default_rng(seed)
    if target.x is not None and target.y is not None:
        lo = float(target.x[0]) if a is None else a
        hi = float(target.x[-1]) if b is None else b
        lo, hi = check_range(lo, hi)
        inside = (target.x >= lo) & (target.x <= hi)
        x, y = target.x[inside], target.y[inside]
        n_val = round(val_fraction * x.size)
        if x.size - n_val < 3:
            msg = (f"only {x.size} samples of {target.name!r} lie in [{lo}, {hi}]; "
                   "need at least 3 for training: widen the range or give more samples")
            raise InputError(msg)
        order = rng.permutation(x.size)
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        x_train, y_train, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    else:
        if a is None or b is None:
            msg = f"target {target.name!r} is a function: give the input range a, b"
            raise InputError(msg)
        lo, hi = check_range(a, b)
        x_train, y_train = target.sample(lo, hi, int(samples))
        x_val = np.sort(rng.uniform(lo, hi, round(val_fraction * samples)))
        y_val = target.evaluate(x_val)
    _check_finite(x_train, y_train, target.name)
    _check_finite(x_val, y_val, target.name)
    std = float(np.std(y_train))
    return TrainData(
        a=lo, b=hi, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
        x_center=0.5 * (lo + hi), x_half=0.5 * (hi - lo),
        y_mean=float(np.mean(y_train)), y_std=std if std > 1e-12 else 1.0,
    )
