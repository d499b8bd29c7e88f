"""Behaviour of the Levenberg-Marquardt trainer: exact Jacobian, quality on nets that can
represent the target, multi-start, minimax, warm start, ReLU pieces, weight folding, stopping."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import torch

from vashrink.train import starts as inits
from vashrink.train.kinks import merge_gap_kinks
from vashrink.train.levenberg import FitResult, Scaling, fit_mlps
from vashrink.train.lm_core import LMConfig, levenberg_marquardt
from vashrink.train.lm_network import ACTIVATIONS, Layout, forward, jacobian, net_numpy

torch.set_num_threads(1)


def _curve(
    f: Callable[[np.ndarray], np.ndarray], a: float, b: float, n: int = 1000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = np.linspace(a, b, n)
    cx = np.linspace(a, b, 20001).astype(np.float32).astype(np.float64)
    return x, f(x), cx, f(cx)


def _train_score(result: FitResult, x: np.ndarray, y: np.ndarray) -> float:
    """The selection rule: the worse of the float64 and float32 max errors on training points."""
    errors = (
        net_numpy(result.weights, result.activation, x, d) - y for d in (np.float64, np.float32)
    )
    return max(float(np.abs(e).max()) for e in errors)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("depth", "width"), [(1, 1), (1, 7), (3, 5)])
def test_jacobian_matches_autograd(activation: str, depth: int, width: int) -> None:
    layout = Layout(depth, width)
    gen = torch.Generator().manual_seed(depth * 100 + width)
    theta = torch.randn(3, layout.size, dtype=torch.float64, generator=gen)
    u = torch.linspace(-1, 1, 37, dtype=torch.float64) + 1e-3
    out, jac = jacobian(layout, activation, theta, u)
    ref = torch.func.vmap(
        torch.func.jacrev(lambda p: forward(layout, activation, p[None], u)[0][0])
    )(theta)
    assert jac.shape == (3, 37, layout.size)
    torch.testing.assert_close(jac, ref, rtol=0, atol=1e-10)
    torch.testing.assert_close(out, forward(layout, activation, theta, u)[0], rtol=0, atol=0)


def test_dual_step_equals_primal_step() -> None:
    """The sample-space solve (used when P > N) is the same LM step as the parameter-space one."""
    x, y, _, _ = _curve(lambda v: np.sin(3 * v), -1, 1, n=40)
    layout = Layout(2, 6)
    theta = torch.as_tensor(np.random.default_rng(1).normal(0, 0.5, (2, layout.size)))
    u, t = torch.as_tensor(x), torch.as_tensor(y)
    runs = [
        levenberg_marquardt(layout, "tanh", u, t, theta, LMConfig(max_iters=8, dual=d))
        for d in (False, True)
    ]
    torch.testing.assert_close(runs[0].theta, runs[1].theta, rtol=1e-7, atol=1e-9)


def test_one_unit_reaches_float32_floor_on_tanh2x() -> None:
    """1x1 tanh represents tanh(2x) exactly: float64 to rounding, float32 below one ulp of 1."""
    x, y, cx, cy = _curve(lambda v: np.tanh(2 * v), -1, 1)
    (r,) = fit_mlps(x, y, [(1, 1)], "tanh", starts=1, check_x=cx, check_y=cy)
    assert r.max_abs_error < 1e-14  # measured 2.2e-16
    assert r.max_abs_error_f32 < 6e-8  # measured 3.2e-8; float32 spacing near 1 is 1.19e-7
    assert r.iterations < 250


def test_small_nets_beat_the_adam_reference_numbers() -> None:
    """notes/numbers.md: LM best of 3 reached 1.5e-6 (1x8, tanh2x) and 2.1e-4 (1x4, x^3/8)."""
    x, y, cx, cy = _curve(lambda v: np.tanh(2 * v), -1, 1)
    (r,) = fit_mlps(x, y, [(1, 8)], "tanh", starts=2, check_x=cx, check_y=cy)
    assert r.max_abs_error_f32 < 3e-7  # measured 1.4e-7
    x, y, cx, cy = _curve(lambda v: v**3 / 8, -2, 2)
    (r,) = fit_mlps(x, y, [(1, 4)], "tanh", starts=2, check_x=cx, check_y=cy)
    assert r.max_abs_error_f32 < 1.5e-5  # measured 6.0e-6


@pytest.mark.parametrize(
    ("f", "a", "b", "shape"),
    [
        (lambda v: np.sin(5 * v), 0.0, np.pi, (1, 6)),
        (lambda v: v / np.sqrt(1 + v * v), -3.0, 3.0, (2, 3)),
        (lambda v: np.clip(v, -0.5, 0.5), -1.0, 1.0, (1, 4)),
    ],
)
def test_multistart_never_worse_than_its_start_zero(
    f: Callable[[np.ndarray], np.ndarray], a: float, b: float, shape: tuple[int, int]
) -> None:
    x, y, _, _ = _curve(f, a, b, n=400)
    (single,) = fit_mlps(x, y, [shape], "tanh", starts=1, max_iters=60, minimax_stages=3)
    (multi,) = fit_mlps(x, y, [shape], "tanh", starts=4, max_iters=60, minimax_stages=3)
    assert multi.start_max_errors[0] == single.start_max_errors[0]
    assert _train_score(multi, x, y) <= _train_score(single, x, y)


def test_minimax_lowers_max_error() -> None:
    """1x3 tanh on sin(3x): least squares 2.0e-4, Lawson reweighting 7.4e-5 (measured)."""
    x, y, _, _ = _curve(lambda v: np.sin(3 * v), -1, 1)
    (lsq,) = fit_mlps(x, y, [(1, 3)], "tanh", starts=1, minimax=False)
    (mm,) = fit_mlps(x, y, [(1, 3)], "tanh", starts=1, minimax=True)
    assert lsq.max_abs_error > 1.8e-4
    assert mm.max_abs_error < 0.45 * lsq.max_abs_error
    assert mm.mse > lsq.mse  # it trades mean squared error for max error


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    ("source", "target"), [((1, 3), (1, 6)), ((1, 3), (2, 3)), ((1, 3), (3, 5))]
)
def test_warm_start_is_no_worse(
    activation: str, source: tuple[int, int], target: tuple[int, int]
) -> None:
    f = (
        (lambda v: np.sin(3 * v))
        if activation != "relu"
        else (lambda v: np.abs(v) - 0.3 * np.clip(v, 0, None))
    )
    x, y, _, _ = _curve(f, -1, 1, n=300)
    (small,) = fit_mlps(x, y, [source], activation, starts=1, max_iters=40, minimax=False)
    scaling = Scaling(0.0, 1.0, float(y.mean()), float(y.std()))
    u, t = x, (y - scaling.y_mean) / scaling.y_scale

    def err(layers: list[tuple[np.ndarray, np.ndarray]]) -> float:
        return float(np.abs(net_numpy(tuple(layers), activation, u) - t).max())

    grown = inits.grow_layers(
        scaling.to_unit(small.weights), *target, activation, np.random.default_rng(0), err
    )
    assert [w.shape for w, _ in grown] == [s for s in Layout(*target).layer_shapes]
    slack = 1e-9 if activation in ("relu", "elu") or source[0] == target[0] else 1e-2
    assert err(grown) <= err(scaling.to_unit(small.weights)) * (1 + slack) + 1e-15
    (big,) = fit_mlps(
        x,
        y,
        [target],
        activation,
        starts=0,
        max_iters=20,
        minimax=False,
        warm={source: small.weights},
    )
    assert big.best_start == -1
    # Exact fits end at rounding level (a few 1e-16), where "no worse" is within 1e-15.
    assert big.max_abs_error <= small.max_abs_error * (1 + slack) + 1e-15


@pytest.mark.parametrize("eps", [1e-1, 1e-2, 1e-3])
def test_relu_pieces_init_meets_its_eps_before_training(eps: float) -> None:
    x = np.linspace(-3, 3, 1000)
    y = x / np.sqrt(1 + x * x) + 0.1 * np.sin(4 * x)
    knots = inits.greedy_knots(x, y, eps)
    layers = inits.pieces_layers(x, y, knots, depth=2, width=len(knots) - 1 + 2)
    assert float(np.abs(net_numpy(tuple(layers), "relu", x) - y).max()) <= eps * (1 + 1e-9)
    fewer, eps_w = inits.pieces_for_width(x, y, 5)
    assert len(fewer) - 1 <= 5
    net = tuple(inits.pieces_layers(x, y, fewer, 1, 5))
    assert float(np.abs(net_numpy(net, "relu", x) - y).max()) <= eps_w * (1 + 1e-9)


def test_relu_fit_represents_the_hard_clipper_between_samples_too() -> None:
    """1x3 ReLU: exact on the samples; merging split kinks keeps the dense float32 check exact."""
    x, y, cx, cy = _curve(lambda v: np.clip(v, -0.5, 0.5), -1, 1)
    (r,) = fit_mlps(
        x, y, [(1, 3)], "relu", starts=4, init="pieces", minimax=False, check_x=cx, check_y=cy
    )
    assert r.max_abs_error < 1e-12
    assert r.max_abs_error_f32 < 2e-7  # measured 1.2e-7; 1.7e-4 without the merge


def test_split_kinks_in_one_gap_are_merged() -> None:
    u = np.linspace(-1, 1, 11)
    t = np.maximum(u - 0.05, 0.0)
    split = [
        (np.array([[1.0], [1.0]]), np.array([-0.02, -0.044 / 0.7])),
        (np.array([[0.3, 0.7]]), np.zeros(1)),
    ]
    np.testing.assert_allclose(net_numpy(tuple(split), "relu", u), t, atol=1e-15)
    merged = merge_gap_kinks(split, u, t)
    dense = np.linspace(-1, 1, 2001)
    assert (
        np.abs(net_numpy(tuple(merged), "relu", dense) - np.maximum(dense - 0.05, 0)).max() < 1e-15
    )
    assert np.abs(net_numpy(tuple(split), "relu", dense) - np.maximum(dense - 0.05, 0)).max() > 5e-3


def test_folded_weights_on_raw_x_equal_the_normalised_net() -> None:
    rng = np.random.default_rng(3)
    scaling = Scaling(x_mid=1.5, x_half=2.5, y_mean=-0.7, y_scale=3.0)
    layers = inits.random_layers(3, 4, rng)
    x = np.linspace(-1.0, 4.0, 101)
    raw = scaling.to_raw(layers)
    inner = net_numpy(tuple(layers), "tanh", (x - scaling.x_mid) / scaling.x_half)
    np.testing.assert_allclose(
        net_numpy(raw, "tanh", x), scaling.y_mean + scaling.y_scale * inner, rtol=0, atol=1e-13
    )
    for (w, b), (w0, b0) in zip(scaling.to_unit(raw), layers, strict=True):
        np.testing.assert_allclose(w, w0, atol=1e-14)
        np.testing.assert_allclose(b, b0, atol=1e-14)


def test_reported_error_on_raw_x_equals_the_internal_one() -> None:
    x, y, _, _ = _curve(lambda v: 5 + 3 * np.tanh(v - 1), 0.0, 4.0, n=500)
    (r,) = fit_mlps(x, y, [(2, 3)], "tanh", starts=1, max_iters=50, minimax=False)
    assert r.max_abs_error == pytest.approx(r.lsq_max_abs_error, rel=1e-9)


def test_deadline_returns_every_shape_quickly() -> None:
    x, y, _, _ = _curve(lambda v: np.sin(5 * v), 0, np.pi)
    shapes = [(1, 4), (2, 8), (3, 8), (4, 8)]
    start = time.perf_counter()
    results = fit_mlps(x, y, shapes, "tanh", starts=2, deadline_s=0.3)
    assert time.perf_counter() - start < 3.0
    assert [(r.depth, r.width) for r in results] == shapes
    assert results[-1].stop_reason == "deadline"
    assert all(np.isfinite(r.max_abs_error) for r in results)


def test_target_stops_early() -> None:
    x, y, _, _ = _curve(lambda v: np.tanh(2 * v), -1, 1)
    (r,) = fit_mlps(x, y, [(1, 4)], "tanh", starts=2, target_max_error=1e-3)
    assert r.stop_reason == "target"
    assert r.max_abs_error <= 1e-3
    assert r.iterations < 40
