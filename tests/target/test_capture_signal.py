"""The capture test signal: deterministic, normalised, with a sweep, noise, plucks and silences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vashrink.errors import InputError
from vashrink.target import capture_signal as ts

RATE = 48_000


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return ts.test_signal(RATE, seconds=8.0, seed=3)


def test_length_and_determinism(signal: np.ndarray) -> None:
    assert signal.dtype == np.float64 and signal.shape == (8 * RATE,)
    np.testing.assert_array_equal(signal, ts.test_signal(RATE, seconds=8.0, seed=3))
    assert not np.array_equal(signal, ts.test_signal(RATE, seconds=8.0, seed=4))


def test_peak_is_minus_one_dbfs(signal: np.ndarray) -> None:
    peak_db = 20 * np.log10(np.max(np.abs(signal)))
    assert abs(peak_db + 1.0) < 0.01
    quiet = ts.test_signal(RATE, seconds=6.0, peak_dbfs=-6.0)
    assert abs(20 * np.log10(np.max(np.abs(quiet))) + 6.0) < 0.01


def test_contains_silences(signal: np.ndarray) -> None:
    gap = int(0.2 * RATE)
    silent = np.abs(signal) < 1e-9
    runs, count = 0, 0
    for s in silent:
        count = count + 1 if s else 0
        if count == gap:
            runs += 1
    assert runs >= 8


def test_sweep_spreads_energy_over_the_spectrum(signal: np.ndarray) -> None:
    sweep = signal[int(0.3 * RATE) : int(2.5 * RATE)]
    spectrum = np.abs(np.fft.rfft(sweep)) ** 2
    freqs = np.fft.rfftfreq(sweep.size, 1 / RATE)
    bands = [(30, 100), (100, 1000), (1000, 5000), (5000, 18000)]
    energies = [spectrum[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in bands]
    assert all(e > 0.01 * max(energies) for e in energies)
    # exponential sweep: equal energy per octave, so 1-5 kHz (2.3 oct) ~ 100-1000 Hz (3.3 oct)
    ratio = energies[2] / energies[1]
    assert 0.4 < ratio < 1.2


def test_write_test_signal(tmp_path: Path) -> None:
    path = ts.write_test_signal(tmp_path / "capture.wav", 44_100, seconds=5.0)
    info = sf.info(str(path))
    assert info.samplerate == 44_100 and info.channels == 1 and info.subtype == "PCM_24"
    data, _ = sf.read(str(path))
    np.testing.assert_allclose(data, ts.test_signal(44_100, seconds=5.0), atol=1e-6)


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="seconds must be at least"):
        ts.test_signal(seconds=1.0)
    with pytest.raises(InputError, match="sample_rate_hz"):
        ts.test_signal(1000)
    with pytest.raises(InputError, match="peak_dbfs"):
        ts.test_signal(seconds=6.0, peak_dbfs=3.0)
    with pytest.raises(InputError, match="cannot write"):
        ts.write_test_signal(tmp_path / "missing" / "x.wav", seconds=5.0)
