"""The capture search over three families: WaveNet rungs (channels) beside GRU/LSTM rungs, in
order of measured cost, with the same choice rule.

A synthetic world stands in for training (as tests/search/test_capture_plan.py): each family
meets the target from some size up; costs grow with multiply-accumulates.
"""

from __future__ import annotations

import itertools

import pytest

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.wavenet_shape import WAVENET_CHANNELS, WaveNetShape
from vashrink.search.capture_plan import CaptureLimits, Shape, hidden_ladder, plan_capture
from vashrink.search.capture_score import CaptureScore, choose_capture


def _cost(arch: Shape) -> float:
    return arch.macs_per_sample * (1.05 if arch.cell == "lstm" else 1.0) + 20.0


def _score(arch: Shape, esr: float) -> CaptureScore:
    return CaptureScore(
        label=arch.label, cell=arch.cell, hidden=arch.hidden, skip=arch.skip, layers=arch.layers,
        dtype="float32", esr=esr, esr_plain=esr, dc=0.0, mse=esr, ns_per_sample=_cost(arch),
        sample_rate_hz=48000.0, n_params=arch.n_params, macs_per_sample=arch.macs_per_sample,
        model_path=f"models/{arch.label}", train_seconds=1.0, epochs=1, epoch_seconds=1.0)


class World:
    def __init__(self, need: dict[str, int]) -> None:
        self.need = need
        self.trained: list[str] = []

    def meets(self, arch: Shape) -> bool:
        return arch.layers == 1 and arch.hidden >= self.need[arch.cell]

    def train(self, arch: Shape) -> CaptureScore:
        self.trained.append(arch.label)
        return _score(arch, 0.005 if self.meets(arch) else 0.05)


def test_limits_ladder_channels_for_wavenet_and_hidden_sizes_for_cells() -> None:
    limits = CaptureLimits(cells=("gru", "wavenet"), hidden_max=16, wavenet_depth=6)
    assert limits.families == [("gru", 1), ("wavenet", 1), ("gru", 2)]
    assert limits.rungs(("wavenet", 1)) == list(WAVENET_CHANNELS)
    assert limits.rungs(("gru", 1)) == hidden_ladder(16)
    assert limits.arch(("wavenet", 1), 4) == WaveNetShape(4, 6)
    assert limits.arch(("gru", 2), 8) == RecurrentArchitecture("gru", 8, layers=2)
    labels = [a.label for a in limits.shapes()]
    assert "wavenet-16-d6" in labels and "wavenet-2-d6" in labels
    assert not any(x.startswith("wavenet") and "x" in x for x in labels)


@pytest.mark.parametrize(("need_gru", "need_wn", "start"),
                         list(itertools.product((2, 8, 40), (2, 4, 12), (2, 8))))
def test_finds_the_cheapest_of_three_families(need_gru: int, need_wn: int, start: int) -> None:
    world = World({"gru": need_gru, "lstm": need_gru, "wavenet": need_wn})
    limits = CaptureLimits(cells=("gru", "lstm", "wavenet"), hidden_max=40, trials=60,
                           layers=(1,), wavenet_depth=3)
    scores = plan_capture(limits, 0.01, world.train, _cost, start_hidden=start).scores
    choice = choose_capture(list(scores.values()), 0.01)
    best = min((a for a in limits.shapes() if world.meets(a)), key=_cost)
    assert choice.winner is not None and choice.winner.label == best.label
    assert len(world.trained) == len(set(world.trained))
    # Gallop (1, 2, 4 rungs) + bisect over the 7 channel rungs never trains all of them.
    assert sum(x.startswith("wavenet") for x in world.trained) <= 6


def test_a_wavenet_dearer_than_the_winner_is_never_trained() -> None:
    world = World({"gru": 4, "lstm": 4, "wavenet": 2})
    limits = CaptureLimits(cells=("gru", "wavenet"), hidden_max=40, layers=(1,),
                           wavenet_depth=10)
    plan_capture(limits, 0.01, world.train, _cost, start_hidden=4)
    assert _cost(WaveNetShape(2, 10)) > _cost(RecurrentArchitecture("gru", 4))
    assert world.trained == ["gru-4", "gru-2"]


def test_wavenet_alone_and_layers_without_one_are_refused() -> None:
    world = World({"gru": 4, "lstm": 4, "wavenet": 6})
    out = plan_capture(CaptureLimits(cells=("wavenet",), layers=(1,), wavenet_depth=4), 0.01,
                       world.train, _cost, start_hidden=8)
    assert choose_capture(list(out.scores.values()), 0.01).winner.label == "wavenet-6-d4"
    with pytest.raises(InputError, match="layer array"):
        plan_capture(CaptureLimits(cells=("wavenet",), layers=(2,)), 0.01, world.train, _cost)
    with pytest.raises(InputError, match="cells must be some of gru, lstm, wavenet"):
        CaptureLimits(cells=("tcn",))


def test_every_family_has_its_own_colour_in_the_pareto_plot() -> None:
    from vashrink.search.capture_plan import SEARCH_CELLS
    from vashrink.search.capture_report import FAMILY_STYLE

    assert set(FAMILY_STYLE) == set(SEARCH_CELLS)
    assert len({colour for _, colour, _ in FAMILY_STYLE.values()}) == len(SEARCH_CELLS)
    assert len({marker for marker, _, _ in FAMILY_STYLE.values()}) == len(SEARCH_CELLS)
