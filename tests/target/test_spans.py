"""Validation is spread over the recording; training rows never cross a validation span."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vashrink.target.recording import recording_from_arrays
from vashrink.target.spans import (
    MIN_TRAIN_GAP_S,
    MIN_TRAIN_GAP_SAMPLES,
    VALIDATION_PIECE_S,
    spread_spans,
)
from vashrink.train import RecurrentTrainConfig
from vashrink.train.rnn_data import prepare_recurrent_data

RATE = 8_000


@pytest.mark.parametrize(("seconds", "validation_s"), [(20.0, 5.0), (30.0, 10.0), (4.0, 1.5),
                                                       (60.0, 2.0), (10.0, 4.0), (3.0, 1.5)])
def test_spans_are_spread_disjoint_and_sum_to_the_validation_time(seconds: float,
                                                                  validation_s: float) -> None:
    n = round(seconds * RATE)
    spans = spread_spans(n, RATE, validation_s)
    assert sum(b - a for a, b in spans) == round(validation_s * RATE)
    wanted = int(np.ceil(validation_s / VALIDATION_PIECE_S - 1e-9))
    gap_s = max(MIN_TRAIN_GAP_S, MIN_TRAIN_GAP_SAMPLES / RATE)
    room = int(np.floor((seconds - validation_s) / gap_s + 1e-9))
    assert len(spans) == max(1, min(wanted, room))
    assert spans[-1][1] == n
    gaps = [a2 - b1 for (_, b1), (a2, _) in itertools.pairwise(spans)]
    assert all(g >= gap_s * RATE - 1 for g in gaps), gaps
    assert all(0 <= a < b for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    if len(spans) > 1:  # one span in each part of the recording, not all at its end
        assert spans[0][1] <= n / len(spans) + 1


def test_interleaved_pieces_validate_every_kind_of_material_that_trains() -> None:
    """On the 20 s capture test signal, every part (sweep, four noise bursts, four plucks,
    between its silent gaps) trains, and validation holds both halves of the sweep (its low and
    high octaves) and at least three of the four bursts and of the four plucks."""
    from vashrink.target.capture_signal import test_signal

    rate = 48_000  # the capture default (at 8 kHz the stretches are longer, the pieces fewer)
    x = test_signal(rate, seconds=20.0)
    in_val = np.zeros(x.size, dtype=bool)
    for a, b in spread_spans(x.size, rate, 5.0):
        in_val[a:b] = True
    sound = np.flatnonzero(x != 0.0)
    breaks = np.flatnonzero(np.diff(sound) > rate // 5)
    parts = list(zip([sound[0], *sound[breaks + 1]], [*sound[breaks], sound[-1]], strict=True))
    assert len(parts) == 9, parts
    assert all(not in_val[a:b].all() for a, b in parts)
    (s0, s1), bursts, plucks = parts[0], parts[1:5], parts[5:]
    middle = (s0 + s1) // 2
    assert in_val[s0:middle].any() and in_val[middle:s1].any()
    assert sum(in_val[a:b].any() for a, b in bursts) >= 3
    assert sum(in_val[a:b].any() for a, b in plucks) >= 3


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


@pytest.mark.parametrize("rate", [8_000, 11_025, 16_000, 48_000])
def test_training_rows_cover_all_of_the_training_part_at_every_rate(rate: int) -> None:
    """Between interleaved validation pieces the default rows (8,192 samples) still fit (at
    8 kHz 1 s stretches held none, and at 16 kHz half of the training audio was dropped), and
    no stretch's remainder is dropped (15 % of it at 48 kHz)."""
    n = 30 * rate
    x = 0.5 * np.arange(n) / n  # the sample index, recoverable from the float32 rows
    rec = recording_from_arrays(x, np.tanh(2 * x), rate, validation_s=10.0, latency=0)
    data = prepare_recurrent_data(rec, RecurrentTrainConfig())
    seen = np.zeros(n, dtype=bool)
    first, step = rec.input[0], rec.input[1] - rec.input[0]  # the DC is removed on loading
    seen[np.rint((data.x_rows.numpy().astype(np.float64) - first) / step).astype(int)] = True
    in_train = np.zeros(n, dtype=bool)
    for a, b in rec.train_spans:
        in_train[a:b] = True
    assert seen[in_train].all() and not seen[~in_train].any()
