"""compute_bounds: the talk's table, hand-derived cases, derivatives, notes and bad input.

The counts and the band rule on their own: test_pieces.py and test_band.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import vashrink.bound.bounds as vb
from vashrink.errors import ExpressionError, InputError, VashrinkError
from vashrink.model.architecture import Architecture

M_TANH2 = 16 / (3 * math.sqrt(3))  # max |d^2/dx^2 tanh(2x)|, at tanh(2x) = +-1/sqrt(3)
TALK_MODULUS = 8.333506943243284e-05  # the talk's w(delta) on np.linspace(-1, 1, 48000)


@pytest.fixture(scope="module")
def talk() -> vb.Bounds:
    return vb.compute_bounds("tanh(2*x)", -1, 1, 1e-7)


# --- the talk's worked example (shared/notes/numbers.md) ------------------------------------


def test_talk_second_derivative_is_exact(talk: vb.Bounds) -> None:
    assert talk.max_second_derivative is not None
    assert talk.max_second_derivative == pytest.approx(M_TANH2, rel=1e-9)
    assert talk.max_second_derivative_at is not None
    peak = math.atanh(1 / math.sqrt(3)) / 2
    assert abs(talk.max_second_derivative_at) == pytest.approx(peak, abs=1e-6)


def test_second_derivative_is_refined_beyond_a_coarse_grid() -> None:
    coarse = vb.compute_bounds("tanh(2*x)", -1, 1, 1e-7, samples=101)
    grid = np.linspace(-1, 1, 101)
    t = np.tanh(2 * grid)
    grid_max = float(np.max(np.abs(-8 * t * (1 - t**2))))
    assert abs(grid_max - M_TANH2) > 1e-6  # the grid alone is visibly off...
    assert coarse.max_second_derivative == pytest.approx(M_TANH2, rel=1e-9)  # ...the result not


def test_talk_lipschitz(talk: vb.Bounds) -> None:
    assert talk.lipschitz == pytest.approx(2.0, rel=1e-6)
    assert talk.lipschitz <= 2.0 + 1e-12
    assert abs(talk.lipschitz_at) < 1e-4


def test_talk_modulus_of_continuity(talk: vb.Bounds) -> None:
    grid = np.linspace(-1, 1, 48000)
    reference = float(np.max(np.abs(np.diff(np.tanh(2 * grid)))))
    assert talk.modulus_of_continuity == pytest.approx(TALK_MODULUS, rel=1e-12)
    assert talk.modulus_of_continuity == pytest.approx(reference, rel=1e-12)
    assert talk.delta == pytest.approx(2 / 47999, rel=1e-15)
    assert talk.samples == 48000


def test_talk_piece_counts_and_parameters(talk: vb.Bounds) -> None:
    assert talk.pieces_taylor == 7848
    assert talk.taylor_step == pytest.approx(math.sqrt(2e-7 / M_TANH2), rel=1e-9)
    assert talk.taylor_step == pytest.approx(2.549e-4, rel=1e-3)  # the talk's h
    assert talk.pieces_interpolation == math.ceil(2 * math.sqrt(M_TANH2 / 8e-7)) == 3924
    assert talk.params_estimate == pytest.approx(10202.4, rel=1e-12)
    assert talk.pieces_basis == "taylor"
    assert talk.arora_depth == math.ceil(math.log2(7848 + 1)) + 1 == 14


def test_talk_greedy_beats_the_classical_counts(talk: vb.Bounds) -> None:
    # A best line on a piece of length w errs by ~M w^2 / 16 < M w^2 / 8: fewer pieces than
    # interpolation, and never more than it on a grid.
    assert talk.pieces_interpolation is not None
    assert 0.3 * talk.pieces_interpolation < talk.pieces_greedy <= talk.pieces_interpolation


def test_talk_band_holds_the_talks_winner_and_is_narrow(talk: vb.Bounds) -> None:
    assert Architecture(6, 44, "tanh") in talk.band
    assert 0 < len(talk.band) <= 250  # at most 10 % of the 50 x 50 grid
    macs = [arch.macs_per_sample for arch in talk.band]
    assert macs == sorted(macs)
    for arch in talk.band:
        assert 1 <= arch.depth <= min(50, talk.arora_depth) and arch.width <= 50
        assert 0.5 <= arch.n_params / talk.params_estimate <= 2.0
        assert (arch.width + 1) ** arch.depth >= talk.pieces_taylor


def test_talk_notes_name_the_error_kind_and_float32(talk: vb.Bounds) -> None:
    text = " ".join(talk.notes)
    assert "maximum absolute error" in text and "not the MSE" in text
    assert "edge of float32" in text
    assert talk.max_abs_value == pytest.approx(math.tanh(2.0), rel=1e-15)


def test_to_dict_is_json_ready(talk: vb.Bounds) -> None:
    import json

    data = json.loads(json.dumps(talk.to_dict()))
    assert data["pieces_taylor"] == 7848
    assert {"depth": 6, "width": 44, "n_params": 10033, "macs_per_sample": 9768} in data["band"]


# --- hand-derived cases ----------------------------------------------------------------------


def test_sine_on_zero_to_pi() -> None:
    r = vb.compute_bounds("sin(x)", 0, math.pi, 1e-4, samples=4000)
    assert r.lipschitz == pytest.approx(1.0, rel=1e-12)  # |cos| at the ends
    assert r.max_second_derivative == pytest.approx(1.0, rel=1e-12)  # |sin| at pi/2
    assert r.max_second_derivative_at == pytest.approx(math.pi / 2, abs=1e-6)
    assert r.pieces_taylor == math.ceil(math.pi / math.sqrt(2e-4))
    assert r.modulus_of_continuity == pytest.approx(math.sin(math.pi / 3999), rel=1e-9)


def test_cubic_interior_lipschitz_between_grid_points() -> None:
    # f = x^3 - 3x: f' = 3x^2 - 3 peaks at |f'(0)| = 3 (0 is not a grid point), f'' = 6x
    r = vb.compute_bounds("x**3 - 3*x", -1.2, 1.2, 1e-5, samples=1000)
    assert r.lipschitz == pytest.approx(3.0, rel=1e-12)
    assert abs(r.lipschitz_at) < 1e-6
    assert r.max_second_derivative == pytest.approx(7.2, rel=1e-12)
    assert abs(r.max_second_derivative_at or 0) == pytest.approx(1.2)


def test_straight_line_is_one_piece() -> None:
    r = vb.compute_bounds("3*x + 1", -1, 1, 1e-9)
    assert r.pieces_greedy == 1
    assert r.max_second_derivative == 0.0
    assert r.pieces_taylor == r.pieces_interpolation == 1
    assert r.lipschitz == pytest.approx(3.0)
    assert r.modulus_of_continuity == pytest.approx(3 * r.delta, rel=1e-9)


@pytest.mark.parametrize(
    ("expr", "kink"),
    [("clip(2*x, -0.5, 0.5)", 0.25), ("abs(x - 0.3)", 0.3), ("max(x, 0) + x**2", 0.0)],
)
def test_kinks_have_no_second_derivative(expr: str, kink: float) -> None:
    r = vb.compute_bounds(expr, -1, 1, 1e-4, samples=2001)
    assert r.max_second_derivative is None
    assert r.pieces_taylor is None and r.pieces_interpolation is None and r.taylor_step is None
    assert r.pieces_basis == "greedy"
    assert r.params_estimate == pytest.approx(1.3 * r.pieces_greedy)
    assert r.singular_points == pytest.approx((-kink, kink) if expr.startswith("clip") else (kink,),
                                              abs=1e-9)
    assert any("f' jumps" in n for n in r.notes)


def test_hard_clip_numbers() -> None:
    r = vb.compute_bounds("clip(2*x, -0.5, 0.5)", -1, 1, 1e-4)
    assert r.lipschitz == pytest.approx(2.0)
    assert r.pieces_greedy == 3  # flat, ramp, flat


def test_continuous_first_derivative_keeps_m() -> None:
    # x|x| has f' = 2|x| (continuous) and |f''| = 2 except at 0: the Taylor bound holds.
    r = vb.compute_bounds("x*abs(x)", -1, 1, 1e-4, samples=2001)
    assert r.max_second_derivative == pytest.approx(2.0)


def test_jump_makes_lipschitz_infinite() -> None:
    r = vb.compute_bounds("sign(x)", -1, 1, 1e-3, samples=2000)
    assert math.isinf(r.lipschitz) and abs(r.lipschitz_at) < 1e-9
    assert r.singular_points == pytest.approx((0.0,), abs=1e-9)
    assert r.max_second_derivative is None
    assert r.pieces_greedy == 2
    assert any("f jumps" in n for n in r.notes)


def test_unbounded_derivative_is_reported() -> None:
    r = vb.compute_bounds("sqrt(x)", 0, 1, 1e-3, samples=2000)
    assert math.isinf(r.lipschitz) and r.max_second_derivative is None
    assert any("unbounded" in n for n in r.notes)


def test_callable_uses_finite_differences() -> None:
    r = vb.compute_bounds(np.sin, 0, math.pi, 1e-4, samples=4000)
    assert r.lipschitz == pytest.approx(1.0, rel=1e-7)
    assert r.max_second_derivative == pytest.approx(1.0, rel=1e-7)
    steep = vb.compute_bounds(lambda x: np.tanh(50 * x), -1, 1, 1e-4)
    assert steep.lipschitz == pytest.approx(50.0, rel=1e-7)
    assert steep.max_second_derivative == pytest.approx(50**2 * M_TANH2 / 4, rel=1e-7)
    assert "finite differences" in r.derivatives
    assert any("finite differences" in n for n in r.notes)


def test_callable_kink_is_detected() -> None:
    r = vb.compute_bounds(lambda x: np.clip(2 * x, -0.5, 0.5), -1, 1, 1e-4, samples=2000)
    assert r.max_second_derivative is None
    assert r.pieces_greedy == 3


def test_samples_give_the_same_numbers_as_the_expression(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 20001)
    y = np.tanh(2 * x)
    r = vb.compute_bounds((x, y), -1, 1, 1e-5)
    assert r.max_second_derivative == pytest.approx(M_TANH2, rel=1e-5)
    assert r.lipschitz == pytest.approx(2.0, rel=1e-6)
    assert r.samples == 20001
    path = tmp_path / "tanh.npy"
    np.save(path, np.stack([x, y], axis=1))
    from_file = vb.compute_bounds(str(path), -1, 1, 1e-5)
    assert from_file.pieces_greedy == r.pieces_greedy
    assert from_file.max_second_derivative == r.max_second_derivative


def test_noisy_samples_are_smoothed_before_their_second_derivative() -> None:
    x = np.linspace(-1, 1, 20001)
    y = np.tanh(2 * x) + 1e-6 * np.random.default_rng(0).standard_normal(x.size)
    r = vb.compute_bounds((x, y), -1, 1, 1e-4)
    assert r.noise_sigma == pytest.approx(1e-6, rel=0.15)
    assert r.max_second_derivative == pytest.approx(M_TANH2, rel=0.1)


def test_coarse_grid_warns_that_greedy_is_grid_limited() -> None:
    r = vb.compute_bounds("tanh(1000*x)", -1, 1, 1e-4, samples=2000)
    assert r.max_second_derivative == pytest.approx(1000**2 * M_TANH2 / 4, rel=1e-9)
    assert any("under-resolves" in n for n in r.notes)


def test_band_falls_back_to_the_nearest_sizes_with_a_note(talk: vb.Bounds) -> None:
    line = vb.compute_bounds("3*x + 1", -1, 1, 1e-6, samples=100)  # 1 piece: 1.3 parameters
    assert line.band and all(a.n_params > 2 * line.params_estimate for a in line.band)
    assert any("the band holds the nearest ones" in n for n in line.notes)
    assert not any("nearest ones" in n for n in talk.notes)


# --- the derivative profile --------------------------------------------------------------------


def test_profile_of_an_expression_is_exact_on_the_grid() -> None:
    prof = vb.measure_derivatives("sin(x)", 0, math.pi, samples=101)
    grid = np.linspace(0, math.pi, 101)
    np.testing.assert_array_equal(prof.x, grid)
    np.testing.assert_allclose(prof.y, np.sin(grid), rtol=0, atol=1e-15)
    np.testing.assert_allclose(prof.d1, np.cos(grid), rtol=0, atol=1e-15)
    np.testing.assert_allclose(prof.d2, -np.sin(grid), rtol=0, atol=1e-15)
    assert prof.exact and "autograd" in prof.method


def test_profile_of_a_callable_uses_finite_differences() -> None:
    prof = vb.measure_derivatives(lambda x: np.exp(2 * x), -1, 1, samples=1001)
    ref = np.exp(2 * prof.x)
    np.testing.assert_allclose(prof.d1, 2 * ref, rtol=1e-7)
    np.testing.assert_allclose(prof.d2, 4 * ref, rtol=1e-6)
    assert not prof.exact and "finite differences" in prof.method


def test_profile_of_samples_keeps_their_points_inside_the_range() -> None:
    x = np.linspace(-2, 2, 401)
    prof = vb.measure_derivatives((x, x**3), -1, 1)
    np.testing.assert_array_equal(prof.x, x[(x >= -1 - 1e-12) & (x <= 1 + 1e-12)])
    inner = slice(2, -2)
    np.testing.assert_allclose(prof.d2[inner], 6 * prof.x[inner], rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("args", "samples", "text"),
    [(("x", -1, 1), 2, "samples must be from 3"), (("x", 1, -1), 100, "lower end"),
     (("log(x)", -1, 1), 100, "not finite on"), (("x.real", -1, 1), 100, "attribute access")],
)
def test_profile_refuses_bad_input(args: tuple[object, float, float], samples: int,
                                   text: str) -> None:
    with pytest.raises(VashrinkError) as info:
        vb.measure_derivatives(*args, samples=samples)
    assert text in str(info.value)


# --- bad input -------------------------------------------------------------------------------


X = np.linspace(-1, 1, 50)
BAD = [
    ("__import__('os')", -1, 1, 1e-3, 100, ExpressionError, "'__import__' is not allowed"),
    ("x.real", -1, 1, 1e-3, 100, ExpressionError, "attribute access"),
    ("y + 1", -1, 1, 1e-3, 100, ExpressionError, "unknown name 'y'"),
    ("x y", -1, 1, 1e-3, 100, ExpressionError, "not valid syntax"),
    ("x", 1, 1, 1e-3, 100, InputError, "empty"),
    ("x", 2, -1, 1e-3, 100, InputError, "lower end must be below"),
    ("x", -1, 1, 0.0, 100, InputError, "above 0"),
    ("x", -1, 1, -1e-3, 100, InputError, "above 0"),
    ("x", math.nan, 1, 1e-3, 100, InputError, "not finite"),
    ("x", -1, math.inf, 1e-3, 100, InputError, "not finite"),
    ("x", -1, 1, math.nan, 100, InputError, "finite number above 0"),
    ("x", -1, 1, math.inf, 100, InputError, "finite number above 0"),
    ("x", -1, 1, 1e-3, 2, InputError, "samples must be from 3"),
    ("x", -1, 1, 1e-3, 3.5, InputError, "whole number"),
    ("log(x)", -1, 1, 1e-3, 100, InputError, "not finite on"),
    ((X[::-1], X), -1, 1, 1e-3, 100, InputError, "strictly increasing"),
    ((X, X[:-1]), -1, 1, 1e-3, 100, InputError, "must match"),
    ((X, X), -2, 1, 1e-3, 100, InputError, "sampled on"),
]


@pytest.mark.parametrize(("target", "a", "b", "eps", "samples", "error", "text"), BAD)
def test_bad_input_raises_a_clear_error(
    target: object, a: float, b: float, eps: float, samples: int, error: type, text: str
) -> None:
    with pytest.raises(error, match=None) as info:
        vb.compute_bounds(target, a, b, eps, samples=samples)
    assert isinstance(info.value, VashrinkError)
    assert text in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_activation_is_refused() -> None:
    with pytest.raises(InputError, match="unknown activation 'gelu'"):
        vb.compute_bounds("x", -1, 1, 1e-3, samples=100, activation="gelu")
