"""Recordings from arrays: the same checks, notes and split as recordings from files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vashrink.errors import InputError
from vashrink.target.recording import Recording, load_recording, recording_from_arrays

RATE = 8_000


def _noise(seconds: float, seed: int = 0, level: float = 0.3) -> np.ndarray:
    return level * np.random.default_rng(seed).uniform(-1, 1, round(seconds * RATE))


def test_arrays_split_and_note_like_files(tmp_path: Path) -> None:
    x = _noise(4.0)
    y = np.tanh(2 * x)
    rec = recording_from_arrays(x, y, RATE, validation_s=1.5, name="tanh box")
    assert isinstance(rec, Recording)
    assert rec.name == "tanh box" and rec.input_path is None and rec.output_path is None
    assert rec.validation_input.size == round(1.5 * RATE)
    assert rec.train_output.size == round(2.5 * RATE)
    sf.write(str(tmp_path / "in.wav"), x, RATE, subtype="DOUBLE")
    sf.write(str(tmp_path / "out.wav"), y, RATE, subtype="DOUBLE")
    from_files = load_recording(tmp_path / "in.wav", tmp_path / "out.wav", validation_s=1.5)
    assert rec.checks == from_files.checks
    assert rec.validation_spans == from_files.validation_spans
    np.testing.assert_array_equal(rec.output, from_files.output)
    assert from_files.name.endswith("out.wav")


def test_arrays_are_copied_and_read_only() -> None:
    x = _noise(3.0, seed=1)
    y = 0.5 * x
    rec = recording_from_arrays(x, y, RATE, validation_s=1.0)
    x[:] = 0.0
    assert np.any(rec.input != 0.0)
    with pytest.raises(ValueError, match="read-only"):
        rec.output[0] = 1.0


def test_latency_is_found_and_removed_unless_told_not_to() -> None:
    x = _noise(4.0, seed=2)
    delay = 37
    y = np.concatenate([np.zeros(delay), 0.8 * x[:-delay]])
    rec = recording_from_arrays(x, y, RATE, validation_s=1.0)
    lag = rec.latency_samples
    assert delay - 4 <= lag <= delay and rec.aligned and rec.input.size == x.size - lag
    kept = recording_from_arrays(x, y, RATE, validation_s=1.0, latency=0)
    assert kept.latency_samples == 0 and not kept.aligned and kept.input.size == x.size
    assert any("not removed" in c for c in kept.checks)


@pytest.mark.parametrize(
    ("x", "y", "rate", "validation_s", "message"),
    [
        (_noise(3.0), _noise(3.0)[:-1000], RATE, 1.0, r"input array has 24000 samples.*trim"),
        (_noise(3.0), np.zeros(24_000), RATE, 1.0, "output array is silent"),
        (np.full(24_000, 1e-8), _noise(3.0), RATE, 1.0, "input array is silent"),
        (_noise(2.5), _noise(2.5), RATE, 2.0, r"2.50 s long but needs at least 3.00 s"),
        (_noise(3.0), _noise(3.0), RATE, 0.0, "validation_s must be"),
        (_noise(3.0), _noise(3.0), 4_000, 1.0, "4000 Hz is outside 8000..192000"),
        (_noise(3.0), _noise(3.0), 8000.5, 1.0, "whole number of Hz"),
        (np.stack([_noise(3.0)] * 2, 1), _noise(3.0), RATE, 1.0, r"input array must be 1-D"),
        (_noise(3.0), np.full(24_000, np.nan), RATE, 1.0, "output array has NaN"),
        (_noise(3.0), "loud", RATE, 1.0, "output array must be a 1-D array of numbers"),
    ],
)
def test_bad_arrays_are_refused(
    x: object, y: object, rate: object, validation_s: float, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        recording_from_arrays(x, y, rate, validation_s=validation_s)  # type: ignore[arg-type]


def test_swapped_pair_and_quiet_validation_are_warned() -> None:
    rng = np.random.default_rng(3)
    clean = 0.3 * rng.standard_normal(8 * RATE)
    driven = np.tanh(8 * clean)
    swapped = recording_from_arrays(driven, 0.3 * clean, RATE, validation_s=1.0, latency=0)
    assert any("swapped" in c for c in swapped.checks)
    right = recording_from_arrays(clean, driven, RATE, validation_s=1.0, latency=0)
    assert not any("swapped" in c or "quieter" in c for c in right.checks)
    # loud playing, then near silence exactly where the validation spans sit
    x = clean.copy()
    for a, b in right.validation_spans:
        x[a:b] *= 1e-3
    quiet = recording_from_arrays(x, np.tanh(2 * x), RATE, validation_s=1.0, latency=0)
    assert any("validation spans are" in c and "quieter" in c for c in quiet.checks)
