"""Validation is spread over the recording; training rows never cross a validation span."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vashrink.target.recording import recording_from_arrays
from vashrink.target.spans import VALIDATION_PIECE_S, spread_spans
from vashrink.train import RecurrentTrainConfig
from vashrink.train.rnn_data import prepare_recurrent_data

RATE = 8_000


@pytest.mark.parametrize(("seconds", "validation_s"), [(20.0, 5.0), (30.0, 10.0), (4.0, 1.5),
                                                       (60.0, 2.0)])
def test_spans_are_spread_disjoint_and_sum_to_the_validation_time(seconds: float,
                                                                  validation_s: float) -> None:
    n = round(seconds * RATE)
    spans = spread_spans(n, RATE, validation_s)
    assert sum(b - a for a, b in spans) == round(validation_s * RATE)
    assert len(spans) == max(1, int(np.ceil(validation_s / VALIDATION_PIECE_S - 1e-9)))
    assert spans[-1][1] == n
    assert all(0 <= a < b for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    if len(spans) > 1:  # one span in each part of the recording, not all at its end
        assert spans[0][1] <= n / len(spans) + 1


def test_validation_covers_the_start_of_a_recording_not_only_its_end() -> None:
    """A recording whose last seconds are quiet plucks still validates on its loud start."""
    rng = np.random.default_rng(0)
    x = np.concatenate([0.5 * rng.uniform(-1, 1, 10 * RATE), 0.01 * rng.uniform(-1, 1, 10 * RATE)])
    rec = recording_from_arrays(x, np.tanh(2 * x), RATE, validation_s=5.0, latency=0)
    loud = [a for a, _ in rec.validation_spans if a < 10 * RATE]
    assert loud, rec.validation_spans
    assert float(np.std(rec.validation_output)) > 0.1


def test_training_rows_avoid_validation_spans() -> None:
    n = 12 * RATE
    x = np.arange(n, dtype=np.float64) / n  # the sample index, recoverable from the rows
    rec = recording_from_arrays(x - 0.5, np.tanh(x - 0.5), RATE, validation_s=5.0, latency=0)
    config = RecurrentTrainConfig(segment_samples=1024, warmup_samples=64, tbptt_samples=256,
                                  val_window_samples=1024, val_burn_in_samples=256)
    data = prepare_recurrent_data(rec, config)
    index = np.round((data.x_rows.numpy().astype(np.float64) + 0.5) * n).astype(int)
    in_val = np.zeros(n, dtype=bool)
    for a, b in rec.validation_spans:
        in_val[a:b] = True
    assert not in_val[np.clip(index, 0, n - 1)].any()
    # every validation sample is scored exactly once by the per-epoch windows
    assert int(data.val_mask.sum()) == rec.validation_samples
