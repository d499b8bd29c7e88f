"""Safe target expressions such as ``"tanh(2*x)"``: parsed with :mod:`ast`, never ``eval``-ed.

Only numbers, the variable ``x``, the constants ``pi`` and ``e``, arithmetic (``+ - * / **``)
and the functions in :data:`FUNCTIONS` are accepted. The parsed tree evaluates on float64 torch
tensors, so the same object gives values (numpy in, numpy out) and exact derivatives (autograd).
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ExpressionError

if TYPE_CHECKING:
    import torch

__all__ = ["FUNCTIONS", "Expression", "parse_expression"]

_Fn = Callable[..., "torch.Tensor"]

#: name -> number of arguments. Parsing needs only this table, so a mistyped expression is
#: refused without importing torch; the implementations are looked up on first evaluation.
FUNCTIONS: dict[str, int] = {
    "tanh": 1, "sin": 1, "cos": 1, "tan": 1, "exp": 1, "log": 1, "log10": 1, "sqrt": 1,
    "abs": 1, "sign": 1, "atan": 1, "asin": 1, "acos": 1, "sinh": 1, "cosh": 1, "asinh": 1,
    "erf": 1, "sigmoid": 1, "softsign": 1, "clip": 3, "min": 2, "max": 2, "atan2": 2,
}
_TORCH_NAMES = {"min": "minimum", "max": "maximum"}
_BINARY_NAMES: dict[type[ast.operator], str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
}

#: How the operators vashrink refuses are written, for messages.
_OPERATOR_TEXT: dict[type[ast.operator], str] = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
    ast.LShift: "<<", ast.RShift: ">>",
}


@functools.cache
def _implementation(name: str) -> _Fn:
    """The float64 torch implementation of function or operator ``name``."""
    import torch

    if name == "abs":
        # Same values as torch.abs; its second derivative avoids torch's sgn double-backward,
        # whose first use imports torch's Python decompositions (several seconds).
        return lambda t: torch.where(t >= 0, t, -t)
    if name == "softsign":
        return lambda t: t / (1 + torch.where(t >= 0, t, -t))
    if name == "clip":
        return lambda t, lo, hi: torch.minimum(torch.maximum(t, lo), hi)
    fn: _Fn = getattr(torch, _TORCH_NAMES.get(name, name))
    return fn


def _full_like(x: Any, value: float) -> Any:
    import torch

    return torch.full_like(x, value)


_CONSTANTS = {"pi": math.pi, "e": math.e}
_MAX_LENGTH = 2000
_MAX_DEPTH = 100

_Node = Callable[["torch.Tensor"], "torch.Tensor"]


def _fail(text: str, node: ast.AST | None, problem: str) -> ExpressionError:
    column = getattr(node, "col_offset", None)
    where = f" at column {column + 1}" if isinstance(column, int) else ""
    allowed = ", ".join(sorted(FUNCTIONS))
    msg = (
        f"expression {text!r}: {problem}{where}; use x, numbers, pi, e, + - * / ** "
        f"and the functions {allowed}"
    )
    return ExpressionError(msg)


def _compile(node: ast.AST, text: str) -> _Node:
    if isinstance(node, ast.Expression):
        return _compile(node.body, text)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(
        node.value, bool
    ):
        value = float(node.value)
        return lambda x: _full_like(x, value)
    if isinstance(node, ast.Name):
        if node.id == "x":
            return lambda x: x
        if node.id in _CONSTANTS:
            const = _CONSTANTS[node.id]
            return lambda x: _full_like(x, const)
        if node.id in FUNCTIONS:
            raise _fail(text, node, f"function {node.id!r} used without arguments")
        raise _fail(text, node, f"unknown name {node.id!r} (the variable is called x)")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _compile(node.operand, text)
        if isinstance(node.op, ast.USub):
            return lambda x: -inner(x)
        return inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_NAMES:
        op = _BINARY_NAMES[type(node.op)]
        left, right = _compile(node.left, text), _compile(node.right, text)
        return lambda x: _implementation(op)(left(x), right(x))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise _fail(text, node, f"function {name!r} is not allowed")
        if node.keywords:
            raise _fail(text, node, "keyword arguments are not allowed")
        name, n_args = node.func.id, FUNCTIONS[node.func.id]
        if len(node.args) != n_args:
            raise _fail(
                text, node, f"{node.func.id}() takes {n_args} argument(s), got {len(node.args)}"
            )
        args = [_compile(arg, text) for arg in node.args]
        return lambda x: _implementation(name)(*(a(x) for a in args))
    what = type(node).__name__
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        raise _fail(text, node, "^ is not a power: write ** for powers (x**2 for x squared)")
    if isinstance(node, ast.BinOp):
        what = f"the operator {_OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)}"
        raise _fail(text, node, f"{what} is not allowed")
    if isinstance(node, ast.Attribute):
        what = "attribute access"
    elif isinstance(node, ast.Constant):
        what = f"constant {node.value!r}"
    raise _fail(text, node, f"{what} is not allowed")


@dataclass(frozen=True)
class Expression:
    """A parsed target ``f(x)``: call it on numpy arrays, or use :meth:`torch` for autograd."""

    text: str
    _fn: _Node

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
            return self.torch(t).numpy().copy()

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate on a float64 tensor (differentiable)."""
        return self._fn(x)

    def __str__(self) -> str:
        return self.text


def _depth(tree: ast.AST) -> int:
    """Nesting depth of ``tree``, computed without recursion (deep trees would overflow)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse_expression(text: str) -> Expression:
    """Parse ``text`` into an :class:`Expression`, refusing anything outside the whitelist.

    Raises:
        ExpressionError: empty or too long text, syntax errors, unknown names or functions,
            attribute access, subscripts, strings, keyword arguments and the like.
    """
    if not isinstance(text, str) or not text.strip():
        msg = "expression is empty: give f(x) such as 'tanh(2*x)'"
        raise ExpressionError(msg)
    if len(text) > _MAX_LENGTH:
        msg = f"expression is {len(text)} characters long; the limit is {_MAX_LENGTH}"
        raise ExpressionError(msg)
    too_deep = (
        f"expression {text[:40]!r}... is nested more than {_MAX_DEPTH} levels deep; "
        "simplify it (e.g. use 100*x instead of x+x+...+x)"
    )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        msg = (
            f"expression {text!r} is not valid syntax{col} "
            "(write products as 2*x, powers as x**2)"
        )
        raise ExpressionError(msg) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(too_deep) from None
    if _depth(tree) > _MAX_DEPTH:
        raise ExpressionError(too_deep)
    return Expression(text.strip(), _compile(tree, text))
