"""Targets: expressions, callables and samples become one validated Target, with clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vashrink.errors import ExpressionError, InputError
from vashrink.target.samples import Target, as_target, check_eps, check_range, load_samples


def test_expression_target_keeps_its_expression() -> None:
    t = as_target("sin(x)")
    assert t.name == "sin(x)" and t.expression is not None and t.torch_fn() is not None
    x = np.linspace(0, 1, 5)
    np.testing.assert_allclose(t.evaluate(x), np.sin(x), rtol=1e-15)
    assert not t.is_sampled


def test_callable_target_and_scalar_broadcast() -> None:
    t = as_target(np.cos, name="cosine")
    assert t.name == "cosine" and t.torch_fn() is None
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(t.evaluate(x), np.cos(x))
    constant = as_target(lambda x: 3.0)
    np.testing.assert_array_equal(constant.evaluate(x), np.full(4, 3.0))


def test_sampled_target_interpolates_linearly() -> None:
    t = as_target(([0.0, 1.0, 2.0], [0.0, 10.0, 0.0]))
    assert t.is_sampled
    np.testing.assert_allclose(t.evaluate(np.array([0.5, 1.5])), [5.0, 5.0])
    with pytest.raises(InputError, match="sampled on"):
        t.evaluate(np.array([2.6]))


def test_a_range_a_hair_outside_the_data_holds_the_end_value() -> None:
    t = as_target(([0.0, 1.0, 2.0], [0.0, 10.0, 4.0]))
    np.testing.assert_allclose(t.evaluate(np.array([-0.4, 2.4])), [0.0, 4.0])
    assert t.span == (0.0, 2.0)


def test_csv_with_a_header_row_is_read(tmp_path: Path) -> None:
    path = tmp_path / "curve.csv"
    path.write_text("x,y\n# a comment\n0,0\n0.5,0.25\n1,1\n")
    t = load_samples(path)
    np.testing.assert_allclose(t.evaluate(np.array([0.5])), [0.25])
    assert t.span == (0.0, 1.0)


def test_csv_with_only_a_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("x,y\n")
    with pytest.raises(InputError, match="no data rows"):
        load_samples(path)


def test_target_instance_passes_through() -> None:
    t = as_target("x")
    assert as_target(t) is t


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_load_npy_in_both_layouts(tmp_path: Path, layout: str) -> None:
    x = np.linspace(-1, 1, 11)
    data = np.stack([x, x**2], axis=1 if layout == "rows" else 0)
    path = tmp_path / "s.npy"
    np.save(path, data)
    t = as_target(str(path))
    assert t.name == "s.npy"
    np.testing.assert_array_equal(t.x, x)
    np.testing.assert_array_equal(t.y, x**2)


def test_load_csv_with_comment(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("# x, y\n0, 1\n1, 2\n2, 5\n")
    t = load_samples(path)
    np.testing.assert_array_equal(t.y, [1.0, 2.0, 5.0])
    assert as_target(path).name == "s.csv"


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        (([0.0, 2.0, 1.0], [0.0, 1.0, 2.0]), "strictly increasing"),
        (([0.0, 1.0, 1.0], [0.0, 1.0, 2.0]), "strictly increasing"),
        (([0.0, 1.0, 2.0], [0.0, 1.0]), "must match"),
        (([0.0, 1.0], [0.0, 1.0]), "at least 3"),
        (([0.0, 1.0, math.nan], [0.0, 1.0, 2.0]), "NaN or Inf"),
        (([0.0, 1.0, 2.0], [0.0, math.inf, 2.0]), "NaN or Inf"),
        (([[0.0, 1.0, 2.0]], [[0.0, 1.0, 2.0]]), "1-D"),
        ((["a", "b", "c"], [0.0, 1.0, 2.0]), "not numeric"),
        (42, "cannot use int"),
        ("missing.npy", "does not exist"),
    ],
)
def test_bad_targets_are_refused(obj: object, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        as_target(obj)
    assert fragment in str(info.value)


def test_bad_sample_files(tmp_path: Path) -> None:
    bad_shape = tmp_path / "three.npy"
    np.save(bad_shape, np.zeros((4, 3)))
    with pytest.raises(InputError, match="expected two columns"):
        load_samples(bad_shape)
    wrong_suffix = tmp_path / "s.json"
    wrong_suffix.write_text("{}")
    with pytest.raises(InputError, match=r"use \.npy or \.csv"):
        load_samples(wrong_suffix)
    garbage = tmp_path / "g.csv"
    garbage.write_text("a,b\nc,d\n")
    with pytest.raises(InputError, match="could not read"):
        load_samples(garbage)


def test_bad_expression_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        as_target("x +* 2")


@pytest.mark.parametrize(
    ("a", "b", "fragment"),
    [(1, 1, "empty"), (2, 1, "empty"), (math.nan, 1, "not finite"), (0, math.inf, "not finite"),
     ("a", 1, "two numbers")],
)
def test_check_range(a: object, b: object, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        check_range(a, b)  # type: ignore[arg-type]


def test_check_range_and_eps_accept_numbers_given_as_text() -> None:
    assert check_range("-1", "1") == (-1.0, 1.0)  # type: ignore[arg-type]
    assert check_eps("1e-7") == 1e-7  # type: ignore[arg-type]


@pytest.mark.parametrize("eps", [0.0, -1e-3, math.nan, math.inf, "x"])
def test_check_eps(eps: object) -> None:
    with pytest.raises(InputError, match="eps must be"):
        check_eps(eps)  # type: ignore[arg-type]


def test_sample_refuses_non_finite_values_and_tiny_grids() -> None:
    with pytest.raises(InputError, match=r"not finite on \[-1.0, 1.0\] \(first at x = -1\)"):
        as_target("log(x)").sample(-1, 1, 100)
    with pytest.raises(InputError, match="at least 3 samples"):
        as_target("x").sample(-1, 1, 2)


def test_callable_failures_become_input_errors() -> None:
    def broken(x: np.ndarray) -> np.ndarray:
        msg = "boom"
        raise ZeroDivisionError(msg)

    with pytest.raises(InputError, match="ZeroDivisionError: boom"):
        Target(name="broken", fn=broken).evaluate(np.zeros(3))
    with pytest.raises(InputError, match="returned shape"):
        as_target(lambda x: np.zeros(2)).evaluate(np.zeros(3))
