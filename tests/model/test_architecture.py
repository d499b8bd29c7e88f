"""Architectures: parsing, parameter and MAC counts against torch, and the talk's lane score."""

from __future__ import annotations

import pytest

from vashrink.errors import InputError
from vashrink.model.architecture import ACTIVATIONS, Architecture, lane_score
from vashrink.model.mlp import build_mlp


def test_talk_winner_has_10033_parameters() -> None:
    arch = Architecture.parse("6x44")
    assert (arch.depth, arch.width, arch.activation) == (6, 44, "tanh")
    assert arch.n_params == 10033  # the talk's "1-44-(44x5)-1 tanh MLP"
    assert arch.macs_per_sample == 9768  # numbers.md
    assert arch.label == "6x44" and str(arch) == "6x44 tanh"


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("depth", "width"), [(1, 1), (2, 8), (3, 16), (6, 44)])
def test_parameter_count_matches_torch(depth: int, width: int, activation: str) -> None:
    arch = Architecture(depth, width, activation)
    model = build_mlp(arch)
    assert sum(p.numel() for p in model.parameters()) == arch.n_params


def test_macs_count_every_multiply() -> None:
    arch = Architecture(3, 16)
    assert arch.macs_per_sample == 16 + 2 * 16 * 16 + 16


@pytest.mark.parametrize("text", ["6x44", " 6 X 44 ", "6*44"])
def test_parse_accepts_common_spellings(text: str) -> None:
    assert Architecture.parse(text) == Architecture(6, 44)


@pytest.mark.parametrize("text", ["6x", "x44", "6x44x2", "-6x44", "six by 44", ""])
def test_parse_refuses_malformed(text: str) -> None:
    with pytest.raises(InputError, match="DEPTHxWIDTH"):
        Architecture.parse(text)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"depth": 0, "width": 4}, "depth must be"),
        ({"depth": 1001, "width": 4}, "depth must be"),
        ({"depth": 2, "width": 0}, "width must be"),
        ({"depth": 2.0, "width": 4}, "depth must be"),
        ({"depth": 2, "width": 4, "activation": "gelu"}, "unknown activation"),
    ],
)
def test_invalid_architectures_are_refused(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        Architecture(**kwargs)  # type: ignore[arg-type]


def test_lane_score_is_the_talks_formula() -> None:
    assert lane_score(6, 44, 4) == 66  # the talk's score for 6 x 44 (4 doubles per AVX register)
    assert lane_score(8, 24, 4) == 48
    assert lane_score(6, 44, 8) == 36  # AVX2 float32: 8 lanes
    with pytest.raises(InputError, match="lanes must be"):
        lane_score(1, 1, 0)


def test_architectures_order_by_depth_then_width() -> None:
    archs = sorted([Architecture(6, 44), Architecture(2, 50), Architecture(6, 8)])
    assert [a.label for a in archs] == ["2x50", "6x8", "6x44"]
