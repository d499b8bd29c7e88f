"""What a model must learn: an expression, a Python callable, or sampled ``(x, y)`` data.

Every entry point (bounds, train, shrink) turns its input into a :class:`Target` with
:func:`as_target`, so validation and error messages are the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .expression import Expression, parse_expression

if TYPE_CHECKING:
    import torch

__all__ = ["Target", "as_target", "check_eps", "check_range", "load_samples"]


def check_range(a: float, b: float) -> tuple[float, float]:
    """Validate an input range ``[a, b]``: finite numbers with ``a < b``."""
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        msg = f"range must be two numbers, got {a!r} and {b!r}"
        raise InputError(msg) from None
    if not (math.isfinite(a) and math.isfinite(b)):
        msg = f"range [{a}, {b}] is not finite: give two finite numbers, e.g. --range -1 1"
        raise InputError(msg)
    if a >= b:
        msg = f"range [{a}, {b}] is empty: the lower end must be below the upper end"
        raise InputError(msg)
    return a, b


def check_eps(eps: float) -> float:
    """Validate a target error: a finite number above zero."""
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        msg = f"eps must be a number, got {eps!r}"
        raise InputError(msg) from None
    if not math.isfinite(eps) or eps <= 0:
        msg = f"eps must be a finite number above 0 (the allowed max abs error), got {eps}"
        raise InputError(msg)
    return eps


@dataclass(frozen=True)
class Target:
    """A function on an interval. Exactly one of ``fn`` or (``x``, ``y``) is set.

    ``expression`` is kept when the target came from text: it gives exact derivatives.
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray] | None = None
    expression: Expression | None = None
    x: np.ndarray | None = field(default=None, repr=False)
    y: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_sampled(self) -> bool:
        return self.x is not None

    @property
    def span(self) -> tuple[float, float]:
        """The first and last sample's x (sampled targets only)."""
        if self.x is None:
            msg = f"target {self.name!r} is a function: give its range"
            raise InputError(msg)
        return float(self.x[0]), float(self.x[-1])

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Values at ``x`` (float64). Sampled targets are linearly interpolated."""
        x = np.asarray(x, dtype=np.float64)
        if self.x is not None and self.y is not None:
            lo, hi = self.span
            # Within half a sample step of the data's ends the end value holds (a range written
            # with fewer digits than the data is not an error); farther out would be a guess.
            slack_lo = 0.5 * float(self.x[1] - self.x[0])
            slack_hi = 0.5 * float(self.x[-1] - self.x[-2])
            if x.size and (x.min() < lo - slack_lo or x.max() > hi + slack_hi):
                msg = (
                    f"target {self.name!r} is sampled on [{lo:.9g}, {hi:.9g}] only; choose a "
                    "range inside it, or omit --range to use the data's span"
                )
                raise InputError(msg)
            return np.asarray(np.interp(x, self.x, self.y), dtype=np.float64)
        assert self.fn is not None
        with np.errstate(all="ignore"):
            try:
                y = np.asarray(self.fn(x), dtype=np.float64)
            except InputError:
                raise
            except Exception as exc:
                msg = f"target {self.name!r} failed when evaluated: {type(exc).__name__}: {exc}"
                raise InputError(msg) from exc
        if y.shape != x.shape:
            y = np.broadcast_to(y, x.shape).copy() if y.size == 1 else y
        if y.shape != x.shape:
            msg = f"target {self.name!r} returned shape {y.shape} for input shape {x.shape}"
            raise InputError(msg)
        return y

    def sample(self, a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` evenly spaced points on ``[a, b]`` and the target there, checked finite."""
        a, b = check_range(a, b)
        if int(n) < 3:
            msg = f"need at least 3 samples, got {n}"
            raise InputError(msg)
        x = np.linspace(a, b, int(n))
        y = self.evaluate(x)
        bad = ~np.isfinite(y)
        if bad.any():
            where = float(x[np.argmax(bad)])
            msg = (
                f"target {self.name!r} is not finite on [{a}, {b}] (first at x = {where:.6g}); "
                "choose a range where it is defined"
            )
            raise InputError(msg)
        return x, y

    def torch_fn(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """A differentiable float64 implementation, when the target has one (expressions)."""
        return self.expression.torch if self.expression is not None else None


def _from_samples(x: Any, y: Any, name: str) -> Target:
    try:
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"samples {name!r} are not numeric arrays: {exc}"
        raise InputError(msg) from None
    if xa.ndim != 1 or ya.ndim != 1:
        msg = f"samples {name!r} must be 1-D arrays, got shapes {xa.shape} and {ya.shape}"
        raise InputError(msg)
    if xa.shape != ya.shape:
        msg = f"samples {name!r}: x has {xa.size} values but y has {ya.size}; they must match"
        raise InputError(msg)
    if xa.size < 3:
        msg = f"samples {name!r}: need at least 3 points, got {xa.size}"
        raise InputError(msg)
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        msg = f"samples {name!r} contain NaN or Inf; remove those points"
        raise InputError(msg)
    if np.any(np.diff(xa) <= 0):
        msg = f"samples {name!r}: x must be strictly increasing; sort the points and drop repeats"
        raise InputError(msg)
    return Target(name=name, x=xa, y=ya)


def _is_header(line: str) -> bool:
    """A first row such as ``x,y`` (any non-numeric field) is a header, not data."""
    for cell in line.split(","):
        try:
            float(cell)
        except ValueError:
            return True
    return False


def _read_csv(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    rows = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if rows and _is_header(rows[0]):
        rows = rows[1:]
    if not rows:
        msg = f"sample file {str(path)!r} holds no data rows; write one x,y pair per line"
        raise InputError(msg)
    return np.loadtxt(rows, delimiter=",", ndmin=2)


def load_samples(path: str | Path) -> Target:
    """Load ``x, y`` samples from ``.npy`` (shape (n, 2) or (2, n)) or ``.csv`` (two columns)."""
    p = Path(path)
    if not p.is_file():
        msg = f"sample file {str(p)!r} does not exist"
        raise InputError(msg)
    try:
        if p.suffix == ".npy":
            data = np.load(p, allow_pickle=False)
        elif p.suffix in (".csv", ".txt"):
            data = _read_csv(p)
        else:
            msg = f"sample file {str(p)!r}: use .npy or .csv with two columns x, y"
            raise InputError(msg)
    except (OSError, ValueError) as exc:
        msg = f"could not read samples from {str(p)!r}: {exc}"
        raise InputError(msg) from None
    data = np.asarray(data)
    if data.ndim == 2 and data.shape[1] == 2:
        x, y = data[:, 0], data[:, 1]
    elif data.ndim == 2 and data.shape[0] == 2:
        x, y = data[0], data[1]
    else:
        msg = f"sample file {str(p)!r} has shape {data.shape}; expected two columns x, y"
        raise InputError(msg)
    return _from_samples(x, y, p.name)


def as_target(obj: Any, name: str | None = None) -> Target:
    """Turn an expression string, a callable, an ``(x, y)`` pair or a sample file into a Target."""
    if isinstance(obj, Target):
        return obj
    if isinstance(obj, str):
        if obj.endswith((".npy", ".csv")):
            return load_samples(obj)
        expr = parse_expression(obj)
        return Target(name=name or expr.text, fn=expr, expression=expr)
    if isinstance(obj, Path):
        return load_samples(obj)
    if callable(obj):
        return Target(name=name or str(getattr(obj, "__name__", "callable")), fn=obj)
    if isinstance(obj, tuple | list) and len(obj) == 2:
        return _from_samples(obj[0], obj[1], name or "samples")
    msg = (
        f"cannot use {type(obj).__name__} as a target: give an expression string, "
        "a callable, an (x, y) pair of arrays, or a .npy/.csv file"
    )
    raise InputError(msg)
