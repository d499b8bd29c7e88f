"""Starting points for Levenberg-Marquardt that already span the (normalised) input range.

All functions work in the normalised coordinates of the fit (inputs on [-1, 1]) and return
per-layer ``(W [out, in], b [out])`` lists of float64 numpy arrays.

- :func:`spread_layers`: unit ``j`` of the first layer has its transition ``w x + b = 0`` at a
  centre ``c_j`` on a uniform grid over [-1, 1] with slope ~ width / 2 (transitions of
  neighbouring units overlap a little), jittered per start; deeper layers start as the identity
  plus noise; the output layer is then solved by linear least squares on the hidden features
  (:func:`solve_output_layer`), which alone is often a good fit.
- :func:`pieces_layers`: a ReLU net equal to the greedy continuous piecewise-linear
  interpolant of the data (one unit per piece, ``f = b + sum_j c_j relu(x - k_j)``), so it meets
  the piecewise error it was built for before any training; deeper layers are exact identities
  (ReLU of non-negative inputs).
- :func:`grow_layers`: embed a trained smaller net into a bigger shape without changing its
  function (new units get zero outgoing weights; an inserted layer is an identity for ReLU and
  ELU and a small-gain linear regime, compensated in the next layer, for tanh and sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "greedy_knots",
    "grow_layers",
    "pieces_for_width",
    "pieces_layers",
    "random_layers",
    "solve_output_layer",
    "spread_layers",
]

Layers = list[tuple[np.ndarray, np.ndarray]]

_SLOPE_GAIN = {"tanh": 1.0, "sigmoid": 2.0, "elu": 1.0, "relu": 1.0}


def _first_layer(
    width: int, activation: str, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """Units with centres on the midpoints of ``width`` equal cells of [-1, 1]; ``rng`` jitters."""
    centres = -1.0 + (2.0 * np.arange(width) + 1.0) / width
    slopes = np.full(width, max(1.0, width / 2.0) * _SLOPE_GAIN[activation])
    signs = np.ones(width)
    if activation in ("relu", "elu"):
        signs = np.where(np.arange(width) % 2 == 0, 1.0, -1.0)
    if rng is not None:
        centres = centres + rng.uniform(-0.5, 0.5, width) * (2.0 / width)
        slopes = slopes * np.exp(rng.normal(0.0, 0.5, width))
        if activation in ("relu", "elu"):
            signs = rng.choice([-1.0, 1.0], width)
    w = (signs * slopes)[:, None]
    return w, -w[:, 0] * centres


def spread_layers(
    depth: int, width: int, activation: str, rng: np.random.Generator | None
) -> Layers:
    """Spread first layer, identity-plus-noise deeper layers, zero output layer (solve it next).

    ``rng=None`` gives the canonical, unjittered start.
    """
    layers = [_first_layer(width, activation, rng)]
    for _ in range(depth - 1):
        w = np.eye(width)
        if rng is not None:
            w = w + rng.normal(0.0, 0.3 / np.sqrt(width), (width, width))
        layers.append((w, np.zeros(width)))
    layers.append((np.zeros((1, width)), np.zeros(1)))
    return layers


def random_layers(depth: int, width: int, rng: np.random.Generator) -> Layers:
    """PyTorch's default ``nn.Linear`` init, U(-1/sqrt(in), 1/sqrt(in)): the baseline to beat."""
    sizes = [(width, 1)] + [(width, width)] * (depth - 1) + [(1, width)]
    return [
        (rng.uniform(-1, 1, (o, i)) / np.sqrt(i), rng.uniform(-1, 1, o) / np.sqrt(i))
        for o, i in sizes
    ]


def solve_output_layer(features: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares output layer ``(W [1, width], b [1])`` on last-hidden ``features [N,
    width]``."""
    a = np.concatenate([features, np.ones((features.shape[0], 1))], axis=1)
    coef = np.linalg.lstsq(a, t, rcond=1e-13)[0]
    return coef[None, :-1], coef[-1:]


def greedy_knots(x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """Indices of the knots of a continuous piecewise-linear interpolant within ``eps`` of ``y``.

    From each knot, the chord to the next knot is extended point by point while it stays within
    ``eps`` of every sample it spans (greedy; the first failure ends the piece). The chord error
    of a smooth ``f`` over a piece of length ``h`` is at most ``max|f''| h^2 / 8``. Returns
    ``[0, ..., n-1]``: ``len - 1`` pieces.
    """
    knots, start, n = [0], 0, len(x)
    while start < n - 1:
        end = start + 1
        while end + 1 < n:
            candidate = end + 1
            span = slice(start, candidate + 1)
            slope = (y[candidate] - y[start]) / (x[candidate] - x[start])
            err = np.abs(y[span] - (y[start] + slope * (x[span] - x[start]))).max()
            if err > eps:
                break
            end = candidate
        knots.append(end)
        start = end
    return np.asarray(knots)


def pieces_layers(
    x: np.ndarray, y: np.ndarray, knots: np.ndarray, depth: int, width: int
) -> Layers:
    """ReLU layers equal to the chord interpolant through ``(x, y)[knots]``; needs pieces <= width.

    ``f(x) = y_0 + sum_j c_j relu(x - k_j)`` with ``k_0`` left of the data (a linear unit),
    ``c_0`` the first slope and ``c_j`` the slope change at interior knot ``j``. Spare units sit
    at spread positions with zero output weight.
    """
    xk, yk = x[knots], y[knots]
    slopes = np.diff(yk) / np.diff(xk)
    pieces = len(slopes)
    if pieces > width:
        msg = f"{pieces} pieces need width >= {pieces}, got {width}"
        raise ValueError(msg)
    margin = 0.5 * (x[-1] - x[0])
    centres = np.concatenate([[x[0] - margin], xk[1:-1]])
    coef = np.concatenate([[slopes[0]], np.diff(slopes)])
    w1, b1 = _first_layer(width, "relu", None)
    w1, b1 = w1.copy(), b1.copy()
    w1[:pieces, 0], b1[:pieces] = 1.0, -centres
    w_out = np.zeros((1, width))
    w_out[0, :pieces] = coef
    b_out = np.array([yk[0] - slopes[0] * (xk[0] - centres[0])])
    return (
        [(w1, b1)] + [(np.eye(width), np.zeros(width)) for _ in range(depth - 1)] + [(w_out, b_out)]
    )


def pieces_for_width(
    x: np.ndarray, y: np.ndarray, width: int, steps: int = 40
) -> tuple[np.ndarray, float]:
    """Knots of the smallest ``eps`` (bisection in log space) whose greedy fit has <= width
    pieces."""
    if width >= len(x) - 1:
        return np.arange(len(x)), 0.0
    hi = float(np.abs(y - (y[0] + (y[-1] - y[0]) * (x - x[0]) / (x[-1] - x[0]))).max()) + 1e-300
    best = greedy_knots(x, y, hi)
    while len(best) - 1 > width:
        hi *= 2.0
        best = greedy_knots(x, y, hi)
    lo = hi * 1e-12
    for _ in range(steps):
        mid = float(np.sqrt(lo * hi))
        knots = greedy_knots(x, y, mid)
        if len(knots) - 1 <= width:
            hi, best = mid, knots
        else:
            lo = mid
        if hi / lo < 1.01:
            break
    return best, hi


def _insert_layer(layers: Layers, activation: str, gain: float) -> Layers:
    """Insert a width-preserving layer before the output, compensated in the output layer.

    ReLU: ``relu(h) = h`` for ``h >= 0``; ELU: ``elu(h + 1) - 1 = h`` for ``h > -1``; tanh:
    ``tanh(g h) / g = h - g^2 h^3 / 3 + ...``; sigmoid: ``4 (sigmoid(g h) - 1/2) / g = h - g^2 h^3
    / 12 + ...``.
    """
    width = layers[-2][0].shape[0]
    w_out, b_out = layers[-1]
    eye = np.eye(width)
    if activation == "relu":
        new, out = (eye, np.zeros(width)), (w_out, b_out)
    elif activation == "elu":
        new, out = (eye, np.ones(width)), (w_out, b_out - w_out.sum(axis=1))
    elif activation == "tanh":
        new, out = (gain * eye, np.zeros(width)), (w_out / gain, b_out)
    else:
        scaled = w_out * (4.0 / gain)
        new, out = (gain * eye, np.zeros(width)), (scaled, b_out - 0.5 * scaled.sum(axis=1))
    return [*layers[:-1], new, out]


def _widen(layers: Layers, width: int, activation: str, rng: np.random.Generator) -> Layers:
    """Pad every hidden layer to ``width``; new units have zero outgoing weights."""
    old = layers[0][0].shape[0]
    if width == old:
        return layers
    extra = width - old
    w1_new, b1_new = _first_layer(extra, activation, rng)
    out = [(np.concatenate([layers[0][0], w1_new]), np.concatenate([layers[0][1], b1_new]))]
    for w, b in layers[1:-1]:
        grown = np.zeros((width, width))
        grown[:old, :old] = w
        grown[old:, :] = rng.normal(0.0, 0.1 / np.sqrt(width), (extra, width))
        out.append((grown, np.concatenate([b, np.zeros(extra)])))
    w_out, b_out = layers[-1]
    out.append((np.concatenate([w_out, np.zeros((1, extra))], axis=1), b_out.copy()))
    return out


def grow_layers(
    layers: Layers,
    depth: int,
    width: int,
    activation: str,
    rng: np.random.Generator,
    max_error: Callable[[Layers], float],
    slack: float = 1e-2,
) -> Layers:
    """Embed ``layers`` into ``depth x width`` with max error at most ``(1 + slack)`` x the
    source's.

    Layers are inserted before the output; for tanh and sigmoid the gain ``g`` starts at 0.5 and
    is halved (down to 1e-6) until ``max_error`` of the grown net is within the slack.
    """
    src_depth, src_width = len(layers) - 1, layers[0][0].shape[0]
    if src_depth > depth or src_width > width:
        msg = f"cannot grow a {src_depth}x{src_width} net into {depth}x{width}"
        raise ValueError(msg)
    limit = max_error(layers) * (1.0 + slack)
    for _ in range(depth - src_depth):
        gain, grown = 0.5, layers
        while gain >= 1e-6:
            grown = _insert_layer(layers, activation, gain)
            if activation in ("relu", "elu") or max_error(grown) <= limit:
                break
            gain *= 0.5
        layers = grown
    return _widen(layers, width, activation, rng)
