"""The slope of an MLP over an interval of its input, by interval arithmetic.

Used by :mod:`vashrink.search.certify` to bound the error between two checked points.
"""

from __future__ import annotations

import numpy as np

from ..model.layers import DenseLayer

__all__ = ["model_slope_bound", "model_slope_range"]


def _slope_range(act: str, lo: np.ndarray, hi: np.ndarray,
                 slopes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest activation slope for pre-activations in ``[lo, hi]``."""
    near = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    far = np.maximum(np.abs(lo), np.abs(hi))
    if act == "tanh":
        return 1 - np.tanh(far) ** 2, 1 - np.tanh(near) ** 2
    if act == "sigmoid":
        def ds(z: np.ndarray) -> np.ndarray:
            s = 1 / (1 + np.exp(-z))
            out: np.ndarray = s * (1 - s)
            return out
        return ds(far), ds(near)
    if act == "elu":
        # slope e^z below 0, 1 above: increasing in z
        return np.exp(np.minimum(lo, 0)), np.exp(np.minimum(hi, 0))
    if act in ("relu", "prelu"):
        neg = np.zeros_like(lo) if slopes is None else np.broadcast_to(slopes, lo.shape)
        pos = np.ones_like(lo)
        s_lo = np.where(hi <= 0, neg, np.where(lo >= 0, pos, np.minimum(neg, pos)))
        s_hi = np.where(hi <= 0, neg, np.where(lo >= 0, pos, np.maximum(neg, pos)))
        return s_lo, s_hi
    return np.ones_like(lo), np.ones_like(lo)  # "none"


def _activate(act: str, lo: np.ndarray, hi: np.ndarray,
              slopes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Range of the activation's output for inputs in ``[lo, hi]``."""
    if act == "tanh":
        return np.tanh(lo), np.tanh(hi)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))
    if act == "elu":
        return np.where(lo > 0, lo, np.expm1(np.minimum(lo, 0))), np.where(
            hi > 0, hi, np.expm1(np.minimum(hi, 0)))
    if act in ("relu", "prelu"):
        s = np.zeros_like(lo) if slopes is None else np.broadcast_to(slopes, lo.shape)
        ends = np.stack([np.where(lo > 0, lo, s * lo), np.where(hi > 0, hi, s * hi)])
        zero = np.where((lo < 0) & (hi > 0), 0.0, ends[0])
        return np.minimum(ends.min(0), zero), np.maximum(ends.max(0), zero)
    return lo, hi


def _affine(lo: np.ndarray, hi: np.ndarray, wp: np.ndarray, wn: np.ndarray,
            b: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """``W [lo, hi] + b`` in interval arithmetic (``wp``/``wn``: W's positive/negative parts,
    transposed); one input is a broadcast, not a matrix product."""
    if lo.shape[1] == 1:
        return lo * wp + hi * wn + b, hi * wp + lo * wn + b
    return lo @ wp + hi @ wn + b, hi @ wp + lo @ wn + b


def model_slope_range(
    layers: list[DenseLayer], u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of ``model'(x)`` on each ``[u_i, v_i]`` (one-input, one-output
    MLP; -inf/inf where the arithmetic overflows).

    Interval arithmetic carries each unit's pre-activation range ``[lo, hi]`` and its slope
    range ``[dlo, dhi]`` (d pre-activation / dx) through the layers; an activation multiplies
    the slope range by its own slope range on ``[lo, hi]``. Softmax gets the crude bound
    ``|d out_i| <= 2 max_j |d z_j|`` (outputs in [0, 1]).
    """
    lo, hi = u[:, None], v[:, None]
    dlo = dhi = np.ones_like(lo)
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in layers:
            w = np.asarray(layer.weight, dtype=np.float64)
            wp, wn = np.maximum(w, 0).T, np.minimum(w, 0).T
            b = np.asarray(layer.bias, dtype=np.float64)
            lo, hi = _affine(lo, hi, wp, wn, b)
            dlo, dhi = _affine(dlo, dhi, wp, wn, 0.0)
            act = layer.activation
            if act == "softmax":
                d = 2 * np.max(np.maximum(np.abs(dlo), np.abs(dhi)), axis=1, keepdims=True)
                dlo, dhi = np.broadcast_to(-d, lo.shape), np.broadcast_to(d, lo.shape)
                lo, hi = np.zeros_like(lo), np.ones_like(hi)
                continue
            slopes = None if layer.prelu_slopes is None else np.asarray(layer.prelu_slopes)
            s_lo, s_hi = _slope_range(act, lo, hi, slopes)
            if act == "prelu":  # a slope range may be negative: all four products
                p1, p2, p3, p4 = s_lo * dlo, s_lo * dhi, s_hi * dlo, s_hi * dhi
                dlo = np.minimum(np.minimum(p1, p2), np.minimum(p3, p4))
                dhi = np.maximum(np.maximum(p1, p2), np.maximum(p3, p4))
            else:  # 0 <= s_lo <= s_hi
                dlo, dhi = (np.where(dlo >= 0, s_lo, s_hi) * dlo,
                            np.where(dhi >= 0, s_hi, s_lo) * dhi)
            lo, hi = _activate(act, lo, hi, slopes)
    lo_out = np.where(np.isfinite(dlo[:, 0]), dlo[:, 0], -np.inf)
    hi_out = np.where(np.isfinite(dhi[:, 0]), dhi[:, 0], np.inf)
    return lo_out, hi_out


def model_slope_bound(layers: list[DenseLayer], u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """An upper bound of ``|model'(x)|`` on each ``[u_i, v_i]`` (see :func:`model_slope_range`)."""
    lo, hi = model_slope_range(layers, u, v)
    out: np.ndarray = np.maximum(np.abs(lo), np.abs(hi))
    return out
