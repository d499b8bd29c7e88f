"""The latency trial: short GRU trainings at shifts from the causal estimate up choose the final
latency; never above the gear's true latency, never below the estimate, only in auto mode."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from vashrink.search import capture_align
from vashrink.search.capture_align import GUARD, align_by_trial, choose_shift, trial_esrs
from vashrink.target.capture_signal import test_signal as capture_test_signal
from vashrink.target.gear import gear_recording, to_recording
from vashrink.target.recording import recording_from_arrays

RATE = 48_000


def test_the_lowest_esr_before_the_rise_wins_and_a_tie_goes_to_the_smaller_shift() -> None:
    shifts = list(range(10, 20))
    esr = [0.08, 0.06, 0.05, 0.052, 0.07, 0.06, 0.09, 0.2, 0.3, 0.5]
    chosen, rise, _ = choose_shift(shifts, esr, 10)
    assert rise == 17
    # 12 is lowest, 13 within the 10 % tie: the smaller one; 14 and up are too close to the rise
    assert chosen == 12
    esr[13 - 10] = 0.04  # now 13 is lowest by more than the tie
    assert choose_shift(shifts, esr, 10)[0] == 13
    esr[15 - 10] = 0.01  # 15 lies within GUARD of the rise: never chosen, however low
    assert GUARD > 17 - 15
    assert choose_shift(shifts, esr, 10)[0] == 13


def test_a_spike_that_does_not_stay_is_no_rise_and_no_rise_keeps_the_estimate() -> None:
    shifts = list(range(0, 8))
    spike = [0.05, 0.06, 0.2, 0.05, 0.05, 0.06, 0.05, 0.05]
    assert choose_shift(shifts, spike, 0) == (0, None, choose_shift(shifts, spike, 0)[2])
    assert choose_shift(shifts, spike, 0)[1] is None
    # A model that fits too little cannot see the first samples past the truth
    poor = [0.4, 0.35, 0.3, 0.32, 0.9, 1.0, 1.0, 1.0]
    chosen, rise, reason = choose_shift(shifts, poor, 0)
    assert (chosen, rise) == (0, 4)
    assert "fits too little" in reason


def _fake_trials(curve: dict[int, float]):
    def fake(recording, extra, *, stop_at_rise=True):
        base = recording.latency_samples
        tried = [d for d in extra if base + d in curve]
        return tried, [curve[base + d] for d in tried], 7

    return fake


def test_the_chosen_shift_is_removed_from_the_pair_and_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = gear_recording("tube", seconds=13.0)
    rec = to_recording(pair, validation_s=3.0)
    est = rec.latency_samples
    curve = {est + d: e for d, e in enumerate([0.05, 0.02, 0.05, 0.05, 0.06, 0.5, 0.6, 0.7])}
    monkeypatch.setattr(capture_align, "trial_esrs", _fake_trials(curve))
    out, trial = align_by_trial(rec)
    assert trial is not None
    assert (trial.estimate_samples, trial.samples) == (est, est + 1)
    assert out.latency_samples == est + 1
    assert out.latency is not None and out.latency.method == "trial"
    assert out.latency.estimate_samples == est
    np.testing.assert_array_equal(out.input, rec.input[: rec.input.size - 1])
    np.testing.assert_array_equal(out.output, rec.output[1:])
    assert out.validation_samples == rec.validation_samples
    assert any(n.startswith("latency trial: ") for n in out.checks)
    assert any(f"delays its output by {est + 1} samples" in n for n in out.checks)
    assert not any(f"delays its output by {est} samples" in n for n in out.checks)
    # Refined once: the aligned recording is not tried again
    assert align_by_trial(out) == (out, None)


def test_a_given_or_disabled_latency_and_a_short_recording_bypass_the_trial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*_a: object, **_k: object) -> None:
        msg = "the trial ran"
        raise AssertionError(msg)

    monkeypatch.setattr(capture_align, "trial_esrs", fail)
    pair = gear_recording("fuzz", seconds=13.0)
    for latency in (0, 17):
        rec = recording_from_arrays(pair.input, pair.output, RATE, validation_s=3.0,
                                    latency=latency)
        assert align_by_trial(rec) == (rec, None)
    short = to_recording(gear_recording("fuzz", seconds=8.0), validation_s=2.0)
    said: list[str] = []
    assert align_by_trial(short, said.append) == (short, None)
    assert "skipped" in said[0]


@pytest.mark.slow
@pytest.mark.parametrize("gear", ["fuzz", "tube", "sag"])
def test_on_the_panel_gear_the_trial_lands_at_or_just_below_the_truth(gear: str) -> None:
    pair = gear_recording(gear, seconds=16.0)
    rec = to_recording(pair, validation_s=3.0)
    out, trial = align_by_trial(rec)
    assert trial is not None
    truth = pair.latency_samples
    assert trial.samples <= truth, f"{gear}: {trial.samples} above the true {truth}"
    # The rule keeps GUARD samples below the rise, so the trial's noise can land it that far
    # below (measured with every training sample in a row: fuzz 14, tube 1, sag 62).
    assert trial.samples >= truth - GUARD, f"{gear}: {trial.samples} far below the true {truth}"
    assert trial.samples >= trial.estimate_samples
    assert out.latency_samples == trial.samples


@pytest.mark.slow
def test_on_a_linear_chain_the_trial_stays_at_the_estimate_within_the_tie() -> None:
    x = capture_test_signal(RATE, seconds=14.0)
    y = np.concatenate([np.zeros(5), signal.lfilter([0.3], [1.0, -0.7], x)[:-5]])
    rec = recording_from_arrays(x, y, RATE, validation_s=3.0)
    out, trial = align_by_trial(rec)
    assert trial is not None
    assert rec.latency_samples <= out.latency_samples <= 5
    assert out.latency_samples - rec.latency_samples <= 1


@pytest.mark.slow
def test_the_trial_keeps_its_measured_recipe_when_the_training_default_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shift rule was measured with 1,000-sample TBPTT and a cosine to 5 %; the training
    default moved to 500 and 1 %, and the trial must not follow it."""
    from types import SimpleNamespace

    from vashrink.train import RecurrentTrainConfig, rnn_native

    seen = []

    def fake_train(archs, starts, data, config):  # type: ignore[no-untyped-def]
        seen.append(config)
        return [SimpleNamespace(best_val=0.5)]

    monkeypatch.setattr(rnn_native, "train_pack_native", fake_train)
    rec = to_recording(gear_recording("diode", seconds=12.0, seed=0), validation_s=2.0)
    trial_esrs(rec, range(2), stop_at_rise=False)
    default = RecurrentTrainConfig()
    assert len(seen) == 2
    for config in seen:
        assert (config.tbptt_samples, config.final_lr_fraction) == (1000, 0.05)
        assert config.max_updates == capture_align.TRIAL_UPDATES and config.patience is None
        assert config.batch_size == default.batch_size
        assert config.segment_samples == default.segment_samples


def test_the_trial_is_deterministic() -> None:
    rec = to_recording(gear_recording("tube", seconds=13.0), validation_s=3.0)
    first = trial_esrs(rec, range(2), stop_at_rise=False)
    assert trial_esrs(rec, range(2), stop_at_rise=False) == first
