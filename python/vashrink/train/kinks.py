"""Merge ReLU kinks that fall into the same gap between two training samples (depth 1 only).

Samples cannot see where inside a gap a one-hidden-layer ReLU net bends, and LM happily splits
one kink of the target into two nearby kinks in one gap: exact on every sample, a spike of up to
``|slope change| x gap`` between them (1.7e-4 on a 1x3 fit of clip(x, -0.5, 0.5), 1,000 points).
Units ``c_j relu(w_j (x - k_j))`` facing the same way with kinks in the same gap sum to the
line ``S (x - K)`` on their common active side, with ``S = sum c_j w_j`` and
``K = sum c_j w_j k_j / S``; when ``K`` lies in the gap too, one unit ``S s relu(s (x - K))``
(``s = sign w``) is the same function outside the gap and has no spike. Freed units keep
their input weights and get a
zero output weight, so the merged net equals the original on every sample.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["merge_gap_kinks"]

Layers = list[tuple[np.ndarray, np.ndarray]]


def _net(layers: Layers, u: np.ndarray) -> np.ndarray:
    (w1, b1), (w2, b2) = layers
    out: np.ndarray = np.maximum(u[:, None] * w1[:, 0] + b1, 0.0) @ w2[0] + b2[0]
    return out


def _clusters(
    kink: np.ndarray, members: np.ndarray, u_sorted: np.ndarray, tol: float
) -> list[np.ndarray]:
    """Runs of ``members`` (sorted by kink) with no sample strictly between consecutive kinks."""
    order = members[np.argsort(kink[members])]
    runs, current = [], [order[0]] if len(order) else []
    for prev, nxt in itertools.pairwise(order):
        between = np.searchsorted(u_sorted, kink[nxt] - tol) - np.searchsorted(
            u_sorted, kink[prev] + tol, "right"
        )
        if between > 0:
            runs.append(np.asarray(current))
            current = []
        current.append(nxt)
    runs.append(np.asarray(current))
    return [r for r in runs if len(r) > 1]


def merge_gap_kinks(layers: Layers, u_sorted: np.ndarray, t: np.ndarray) -> Layers:
    """``layers`` (a 1-hidden-layer ReLU net) with same-gap, same-direction kinks merged.

    Kinks group when no training sample lies strictly between them (a kink sitting on a sample
    joins the gap next to it); the merged net is returned only if its max abs error on
    ``(u_sorted, t)`` is no worse than the original's.
    """
    (w1, b1), (w2, b2) = layers
    w1, b1, w2 = w1.copy(), b1.copy(), w2.copy()
    slope = w1[:, 0]
    live = (slope != 0) & (w2[0] != 0)
    kink = np.where(live, -b1 / np.where(live, slope, 1.0), np.nan)
    tol = 1e-9 * float(u_sorted[-1] - u_sorted[0])
    inside = live & (kink > u_sorted[0]) & (kink < u_sorted[-1])
    changed = False
    for direction in (-1.0, 1.0):
        members = np.flatnonzero(inside & (np.sign(slope) == direction))
        for group in _clusters(kink, members, u_sorted, tol):
            contrib = w2[0, group] * slope[group]
            total = contrib.sum()
            if total == 0:
                continue
            merged = float((contrib * kink[group]).sum() / total)
            if not kink[group].min() - tol <= merged <= kink[group].max() + tol:
                continue
            keep, free = group[0], group[1:]
            w1[keep, 0], b1[keep] = direction, -direction * merged
            w2[0, keep], w2[0, free] = total * direction, 0.0
            changed = True
    out = [(w1, b1), (w2, b2.copy())]
    if not changed:
        return layers
    before = np.abs(_net(layers, u_sorted) - t).max()
    return out if np.abs(_net(out, u_sorted) - t).max() <= before * (1 + 1e-6) + 1e-15 else layers
