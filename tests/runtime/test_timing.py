"""Timing policy: statistics from raw per-repeat seconds, and the runners it drives."""

from __future__ import annotations

import numpy as np
import pytest

from vashrink.errors import EngineError, InputError
from vashrink.formats.runners import runner_for
from vashrink.model.architecture import Architecture
from vashrink.runtime import rtneural_backend as rtneural
from vashrink.runtime.engine import Mlp, random_model
from vashrink.runtime.timing import NOISY_SPREAD, summarise, time_model, time_runner


class FixedRunner:
    """A runner whose passes take known times (the policy must report exactly these)."""

    backend = "fixed"

    def __init__(self, seconds: list[float]) -> None:
        self.seconds = seconds
        self.calls: list[tuple[str, int, int, int]] = []

    def time_samples(self, buffer: np.ndarray, repeats: int, warmup: int) -> list[float]:
        self.calls.append(("sample", len(buffer), repeats, warmup))
        return self.seconds[:repeats]

    def time_blocks(
        self, buffer: np.ndarray, block_size: int, repeats: int, warmup: int
    ) -> list[float]:
        self.calls.append(("block", block_size, repeats, warmup))
        return [s / 2 for s in self.seconds[:repeats]]


def test_statistics_follow_their_definitions() -> None:
    secs = [0.010, 0.012, 0.011, 0.030, 0.011]
    t = summarise(secs, backend="x", mode="sample", block_size=1, buffer_samples=48_000,
                  sample_rate_hz=48_000.0)
    ns = np.array(secs) / 48_000 * 1e9
    assert t.ns_per_sample == pytest.approx(np.median(ns))
    assert t.ns_per_sample_min == pytest.approx(ns.min())
    assert t.ns_per_sample_max == pytest.approx(ns.max())
    assert t.spread == pytest.approx((ns.max() - ns.min()) / np.median(ns))
    # 11 ms per second of audio: 1/0.011 times real time, 1.1 % of one core.
    assert t.realtime_factor == pytest.approx(1 / 0.011)
    assert t.core_percent == pytest.approx(1.1)
    assert t.noisy and t.repeats == 5


def test_agreeing_repeats_are_not_noisy() -> None:
    secs = [0.0100, 0.0101, 0.0102]
    t = summarise(secs, backend="x", mode="block", block_size=64, buffer_samples=1000,
                  sample_rate_hz=44_100.0)
    assert t.spread < NOISY_SPREAD and not t.noisy
    assert t.to_dict()["seconds"] == secs


def test_unusable_timings_are_refused() -> None:
    for bad in ([], [0.0], [float("nan")], [-1.0]):
        with pytest.raises(EngineError, match="unusable timings"):
            summarise(bad, backend="x", mode="sample", block_size=1, buffer_samples=10,
                      sample_rate_hz=48_000.0)


def test_policy_times_sample_mode_once_and_each_block_size() -> None:
    runner = FixedRunner([0.02, 0.02, 0.02])
    timings = time_runner(runner, block_sizes=(64, 512), repeats=3, warmup=2, buffer_samples=4800)
    modes = [(t.mode, t.block_size) for t in timings]
    assert modes == [("sample", 1), ("block", 64), ("block", 512)]
    assert runner.calls == [("sample", 4800, 3, 2), ("block", 64, 3, 2), ("block", 512, 3, 2)]
    assert timings[0].ns_per_sample == pytest.approx(0.02 / 4800 * 1e9)
    assert timings[1].ns_per_sample == pytest.approx(0.01 / 4800 * 1e9)
    assert {t.backend for t in timings} == {"fixed"}


def test_engine_timing_of_an_architecture() -> None:
    timings = time_model(Architecture(2, 8), block_sizes=(32,), repeats=3, buffer_samples=4800)
    assert [(t.backend, t.mode, t.block_size) for t in timings] == [
        ("vashrink", "sample", 1), ("vashrink", "block", 32)]
    for t in timings:
        assert t.repeats == 3 and len(t.seconds) == 3
        assert 0 < t.ns_per_sample_min <= t.ns_per_sample <= t.ns_per_sample_max
        assert t.realtime_factor * t.core_percent == pytest.approx(100.0)


def test_torch_model_and_mlp_are_timed_alike() -> None:
    model = random_model(Architecture(1, 4), seed=0)
    for m in (model, Mlp.from_torch(model)):
        (t,) = time_model(m, modes=("block",), block_sizes=(16,), repeats=1, buffer_samples=256)
        assert t.mode == "block" and t.buffer_samples == 256


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"modes": ("frame",)}, "unknown mode"),
    ({"block_sizes": (0,)}, "block sizes must be"),
    ({"repeats": 0}, "repeats >= 1"),
    ({"sample_rate_hz": 0.0}, "sample_rate_hz must be a positive"),
    ({"buffer_samples": 0}, "buffer_samples must be at least 1"),
])
def test_bad_policy_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        time_model(Architecture(1, 2), **kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif(rtneural.available(), reason="this build wraps RTNeural")
def test_rtneural_backend_absent_says_how_to_build() -> None:
    with pytest.raises(EngineError, match="RTNEURAL_DIR"):
        runner_for(Architecture(1, 2), "rtneural")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(InputError, match="unknown backend 'onnx'"):
        runner_for(Architecture(1, 2), "onnx")


@pytest.mark.skipif(not rtneural.available(), reason="built without RTNEURAL_DIR")
def test_rtneural_backend_is_timed_on_the_same_weights() -> None:
    timings = time_model(runner_for(Architecture(2, 8), "rtneural"), block_sizes=(64,),
                         repeats=2, buffer_samples=4800)
    assert all(t.backend.startswith("rtneural") for t in timings)
