"""The safe expression parser: whitelisted maths evaluates like numpy, the rest is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vashrink.errors import ExpressionError, InputError
from vashrink.target.expression import FUNCTIONS, parse_expression

X = np.linspace(-0.9, 0.9, 37)

CASES = [
    ("tanh(2*x)", np.tanh(2 * X)),
    ("sin(x) + cos(x)", np.sin(X) + np.cos(X)),
    ("exp(x) - 1", np.expm1(X)),
    ("log(x + 2) / log10(10)", np.log(X + 2)),
    ("sqrt(x**2 + 1)", np.sqrt(X**2 + 1)),
    ("abs(x) - x", np.abs(X) - X),
    ("atan(x) * sinh(x) / cosh(x)", np.arctan(X) * np.tanh(X)),
    ("clip(3*x, -1, 1)", np.clip(3 * X, -1, 1)),
    ("min(x, 0.2) + max(x, -0.1)", np.minimum(X, 0.2) + np.maximum(X, -0.1)),
    ("pi * x + e", math.pi * X + math.e),
    ("-x**2", -(X**2)),
    ("+x - -x", 2 * X),
    ("2", np.full_like(X, 2.0)),
    ("sigmoid(x) + softsign(x)", 1 / (1 + np.exp(-X)) + X / (1 + np.abs(X))),
    ("atan2(x, 2) + asinh(x) + asin(x) + acos(x)",
     np.arctan2(X, 2) + np.arcsinh(X) + np.arcsin(X) + np.arccos(X)),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_whitelisted_maths_matches_numpy(text: str, expected: np.ndarray) -> None:
    out = parse_expression(text)(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-14, atol=1e-15)


def test_autograd_gives_exact_derivatives() -> None:
    expr = parse_expression("tanh(2*x)")
    t = torch.tensor(X, requires_grad=True)
    (d1,) = torch.autograd.grad(expr.torch(t).sum(), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), t)
    th = np.tanh(2 * X)
    np.testing.assert_allclose(d1.detach().numpy(), 2 * (1 - th**2), rtol=1e-14)
    np.testing.assert_allclose(d2.numpy(), -8 * th * (1 - th**2), rtol=1e-13, atol=1e-15)


def test_abs_has_unit_slopes_and_zero_curvature() -> None:
    expr = parse_expression("abs(x)")
    t = torch.tensor([-0.5, 0.5], dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(expr.torch(t).sum(), t)
    assert d1.tolist() == [-1.0, 1.0]


def test_every_function_is_tested_or_listed() -> None:
    used = " ".join(text for text, _ in CASES)
    missing = [name for name in FUNCTIONS if f"{name}(" not in used]
    assert set(missing) <= {"tan", "sign", "erf"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "'__import__' is not allowed"),
        ("x.real", "attribute access"),
        ("(x).__class__", "attribute access"),
        ("y", "unknown name 'y'"),
        ("x y", "not valid syntax"),
        ("", "empty"),
        ("   ", "empty"),
        ("'abc'", "constant 'abc'"),
        ("True", "constant True"),
        ("1j * x", "constant 1j"),
        ("x[0]", "Subscript"),
        ("lambda: x", "Lambda"),
        ("sin", "without arguments"),
        ("sin(x, 1)", "takes 1 argument"),
        ("clip(x, lo=0, hi=1)", "keyword arguments"),
        ("eval('1')", "'eval' is not allowed"),
        ("x if x else 1", "IfExp"),
        ("x % 2", "the operator % is not allowed"),
        ("x ^ 2", "write ** for powers"),
        ("x" + "+x" * 200, "nested more than"),
        ("-" * 1500 + "x", "nested more than"),
        ("x" * 2001, "limit is 2000"),
    ],
)
def test_refused_expressions_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, InputError)


def test_error_lists_allowed_functions() -> None:
    with pytest.raises(ExpressionError, match="tanh") as info:
        parse_expression("foo(x)")
    assert "'foo' is not allowed" in str(info.value)
