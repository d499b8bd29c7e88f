"""The candidate band rule: capacity window, ReLU region bound, Arora depth, size cap."""

from __future__ import annotations

import math
from typing import Any

import pytest

from vashrink.bound.band import (
    BAND_MAX_SIZE,
    arora_depth,
    candidate_band,
    check_activation,
    region_capacity,
    within_params_factor,
)
from vashrink.errors import InputError
from vashrink.model.architecture import Architecture


def test_arora_depth_is_ceil_log2_plus_one() -> None:
    for n in range(1, 3000):
        assert arora_depth(n) == math.ceil(math.log2(n + 1)) + 1
    with pytest.raises(InputError, match="at least 1"):
        arora_depth(0)


def test_region_capacity_of_one_layer_is_p_plus_one() -> None:
    assert region_capacity(1, 44) == 45
    assert region_capacity(3, 4) == 125


def test_band_respects_size_cap_and_relaxes_when_empty() -> None:
    capped = candidate_band(7848, max_size=20)
    assert len(capped) == 20
    ratios = [abs(math.log(a.n_params / (1.3 * 7848))) for a in capped]
    full = candidate_band(7848)
    assert max(ratios) <= min(abs(math.log(a.n_params / (1.3 * 7848))) for a in full
                              if a not in capped) + 1e-12
    tiny = candidate_band(1)  # 1.3 parameters: nothing is within 2x, so the nearest
    assert tiny and all(a.n_params <= 8 for a in tiny)
    relu = candidate_band(7848, activation="relu")
    assert {a.activation for a in relu} == {"relu"}


def _rule_set(pieces: int, params: float) -> set[tuple[int, int]]:
    """All three rules checked directly on the 50 x 50 grid (linear ratios, no log)."""
    depth_cap = math.ceil(math.log2(pieces + 1)) + 1
    keep = set()
    for depth in range(1, 51):
        for width in range(1, 51):
            n_params = Architecture(depth, width).n_params
            if (params / 2 <= n_params <= 2 * params and (width + 1) ** depth >= pieces
                    and depth <= depth_cap):
                keep.add((depth, width))
    return keep


@pytest.mark.parametrize("pieces", [3, 60, 500, 2033, 7848, 40000])
def test_band_is_exactly_the_rule_set_cheapest_first(pieces: int) -> None:
    band = candidate_band(pieces)
    expected = _rule_set(pieces, 1.3 * pieces)
    assert expected, "these counts all have architectures within 2x"
    got = {(a.depth, a.width) for a in band}
    if len(expected) <= BAND_MAX_SIZE:
        assert got == expected
    else:
        assert len(got) == BAND_MAX_SIZE and got <= expected
    keys = [(a.macs_per_sample, a.depth, a.width) for a in band]
    assert keys == sorted(keys)


def test_talk_band_size() -> None:
    # docs/bounds.md: 225 architectures (9.0 % of the grid), depths 3-14, for N = 7848
    band = candidate_band(7848)
    assert len(band) == 225
    assert {a.depth for a in band} == set(range(3, 15))


def test_relaxed_band_holds_the_nearest_architecture() -> None:
    band = candidate_band(1)
    assert not any(within_params_factor(a, 1.3) for a in band)
    assert Architecture(1, 1) in band  # 4 parameters: the fewest there are


def test_params_factor_window_is_inclusive() -> None:
    one_by_three = Architecture(1, 3)  # 3 W + 1 = 10 parameters
    assert one_by_three.n_params == 10
    assert within_params_factor(one_by_three, 5.0)
    assert within_params_factor(one_by_three, 20.0)
    assert not within_params_factor(one_by_three, 4.9)
    assert not within_params_factor(one_by_three, 20.5)
    assert within_params_factor(one_by_three, 4.9, params_factor=3.0)


def test_activation_is_checked() -> None:
    assert check_activation("prelu") == "prelu"
    with pytest.raises(InputError, match="unknown activation 'gelu': use one of tanh"):
        check_activation("gelu")
    with pytest.raises(InputError, match="unknown activation"):
        candidate_band(10, activation="gelu")


@pytest.mark.parametrize(
    "kwargs", [{"params_factor": 1.0}, {"max_size": 0}, {"max_depth": 0}, {"max_width": 0}]
)
def test_bad_band_limits_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="band needs params_factor > 1"):
        candidate_band(10, **kwargs)
