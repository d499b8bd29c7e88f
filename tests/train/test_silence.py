"""Silence in gives silence out after the pre-warm a plugin runs (0.5 s of silence from reset)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from rnn_synthetic import synthetic_recording

from vashrink.runtime.recurrent import RecurrentNet
from vashrink.train import RecurrentTrainConfig, train_recurrent
from vashrink.train.rnn_fit import PREWARM_S, silence_to_silence

FAST = RecurrentTrainConfig(segment_samples=2048, warmup_samples=100, tbptt_samples=256,
                            max_updates=80, val_window_samples=2048, val_burn_in_samples=256)


@pytest.mark.parametrize("label", ["lstm-6", "gru-4+skip", "lstm-2x4"])
def test_trained_model_is_silent_after_prewarm(label: str) -> None:
    rec = synthetic_recording(3.0, 16_000, validation_s=1.0)
    [res] = train_recurrent(rec, [label], FAST)
    warm = round(PREWARM_S * rec.sample_rate_hz)
    level = float(np.sqrt(np.mean(np.square(rec.output))))
    for dtype, tol in (("float64", 1e-6), ("float32", 1e-5)):
        net = RecurrentNet.from_spec(res.spec, dtype=dtype)
        net.reset()
        out = np.asarray(net.process_samples(np.zeros(3 * warm)), dtype=np.float64)
        assert np.max(np.abs(out[warm:])) <= tol * max(level, 1.0), (label, dtype)


def test_offset_is_what_moves() -> None:
    """Only the output bias changes, by the settled silence output."""
    rec = synthetic_recording(3.0, 16_000, validation_s=1.0)
    [res] = train_recurrent(rec, ["lstm-4"], FAST)
    head = res.spec.dense[-1]
    shifted = replace(res.spec, dense=(*res.spec.dense[:-1],
                                       replace(head, bias=np.asarray(head.bias) + 0.25)))
    trimmed = silence_to_silence(shifted, 8000)
    np.testing.assert_allclose(trimmed.dense[-1].bias, head.bias, atol=1e-9)
    np.testing.assert_array_equal(trimmed.rnn[0].weight_hh, res.spec.rnn[0].weight_hh)
