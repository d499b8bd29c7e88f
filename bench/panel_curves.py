"""A panel of memoryless waveshaper curves for the training-quality benchmarks.

Smooth symmetric saturators, an odd polynomial, soft and hard clippers, an asymmetric diode, a
biased tube stage, oscillatory folders and a triangle wavefolder: what plugins shape with. Each
curve is a safe vashrink expression where the expression language can say it (exact
derivatives for the bound), else a numpy callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PANEL", "PanelCurve"]


@dataclass(frozen=True)
class PanelCurve:
    """``target`` on ``[a, b]``; ``kinked``: a ReLU net can represent it exactly."""

    name: str
    target: str | Callable[[np.ndarray], np.ndarray]
    a: float
    b: float
    kinked: bool = False


def _foldback(x: np.ndarray) -> np.ndarray:
    """Triangle wavefolder: identity on ``|x| <= 0.4``, reflected at ``+-0.4`` beyond."""
    t = 0.4
    return t - np.abs(np.mod(np.asarray(x, dtype=np.float64) + t, 4 * t) - 2 * t)


PANEL: tuple[PanelCurve, ...] = (
    PanelCurve("tanh2x", "tanh(2*x)", -1.0, 1.0),
    PanelCurve("softclip", "x / sqrt(1 + x**2)", -3.0, 3.0),
    PanelCurve("cubic", "x**3 / 8", -2.0, 2.0),
    PanelCurve("hardclip", "clip(x, -0.5, 0.5)", -1.0, 1.0, kinked=True),
    PanelCurve("diode", "(1 - exp(-3*max(x, 0))) + 2*(exp(1.5*min(x, 0)) - 1)", -1.5, 1.5),
    PanelCurve("tube", "tanh(x + 0.3) - tanh(0.3)", -2.0, 2.0),
    PanelCurve("sin5x", "sin(5*x)", 0.0, float(np.pi)),
    PanelCurve("sinefold", "sin(2*pi*x)", -1.0, 1.0),
    PanelCurve("foldback", _foldback, -2.0, 2.0, kinked=True),
    PanelCurve("softclip_abs", "x / (1 + abs(x))", -3.0, 3.0),
)
