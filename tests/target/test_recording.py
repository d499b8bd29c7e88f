"""Loading recorded gear input/output pairs: refusals, latency, checks, split and segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vashrink.errors import InputError
from vashrink.target.recording import Recording, load_recording
from vashrink.target.spans import segments

RATE = 8_000


def _noise(seconds: float, seed: int = 0, level: float = 0.3) -> np.ndarray:
    return level * np.random.default_rng(seed).uniform(-1, 1, round(seconds * RATE))


def _write(path: Path, data: np.ndarray, rate: int = RATE, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def _pair(
    tmp_path: Path, x: np.ndarray, y: np.ndarray, rate: int = RATE, out_rate: int | None = None
) -> tuple[Path, Path]:
    return (
        _write(tmp_path / "in.wav", x, rate),
        _write(tmp_path / "out.wav", y, out_rate or rate),
    )


def test_clean_pair_loads_and_splits(tmp_path: Path) -> None:
    x = _noise(4.0)
    rec = load_recording(*_pair(tmp_path, x, np.tanh(2 * x)), validation_s=1.5)
    assert isinstance(rec, Recording)
    assert rec.sample_rate_hz == RATE and rec.latency_samples == 0 and not rec.aligned
    assert rec.duration_s == pytest.approx(4.0)
    assert rec.validation_input.size == rec.validation_output.size == round(1.5 * RATE)
    assert rec.train_input.size == rec.train_output.size == round(2.5 * RATE)
    np.testing.assert_allclose(rec.input, x, atol=1e-7)
    assert any("latency: none" in c for c in rec.checks)
    assert any(c.startswith("input: peak") for c in rec.checks)
    assert not any("clipping" in c for c in rec.checks)
    with pytest.raises(ValueError, match="read-only"):
        rec.input[0] = 1.0


def test_latency_is_detected_and_removed(tmp_path: Path) -> None:
    x = _noise(4.0, seed=2)
    delay = 37
    y = np.concatenate([np.zeros(delay), 0.8 * x[:-delay]])
    y += 1e-3 * np.random.default_rng(5).standard_normal(y.size)
    rec = load_recording(*_pair(tmp_path, x, y), validation_s=1.0)
    lag = rec.latency_samples
    assert delay - 4 <= lag <= delay  # never later than the gear: a model can add delay only
    assert rec.latency_ms == pytest.approx(1000 * lag / RATE)
    assert rec.input.size == rec.output.size == x.size - lag
    rest = delay - lag
    np.testing.assert_allclose(rec.output[rest:], 0.8 * rec.input[:-rest or None], atol=6e-3)
    assert any(f"latency: {lag} samples" in c and "found from sample 37" in c for c in rec.checks)
    assert any(f"delays its output by {lag} samples" in c for c in rec.checks)

    given = load_recording(*_pair(tmp_path, x, y), validation_s=1.0, latency=delay)
    assert given.latency_samples == delay and given.latency_method == "given"
    np.testing.assert_allclose(given.output, 0.8 * given.input, atol=6e-3)
    kept = load_recording(*_pair(tmp_path, x, y), validation_s=1.0, latency=0)
    assert kept.latency_samples == 0 and not kept.aligned and kept.input.size == x.size
    assert any("not removed (--latency 0)" in c for c in kept.checks)


def test_latency_at_the_limit_is_refused(tmp_path: Path) -> None:
    x = _noise(3.0, seed=3)
    delay = 200
    y = np.concatenate([np.zeros(delay), x[:-delay]])
    with pytest.raises(InputError, match=r"starts at least \d+ samples.*more than the 10 ms"):
        load_recording(*_pair(tmp_path, x, y), validation_s=1.0, max_latency_s=0.01)


def test_output_ahead_of_input_is_refused_not_trained(tmp_path: Path) -> None:
    """Gear cannot answer before it is played: an output that leads is a misaligned pair."""
    x = _noise(3.0, seed=7)
    y = np.concatenate([-x[5:], np.zeros(5)])
    with pytest.raises(InputError, match=r"leads the input by about 5 samples.*--latency 0"):
        load_recording(*_pair(tmp_path, x, y), validation_s=1.0)
    rec = load_recording(*_pair(tmp_path, x, y), validation_s=1.0, latency=0)
    assert rec.latency_samples == 0


def test_inverted_polarity_is_noted(tmp_path: Path) -> None:
    x = _noise(3.0, seed=7)
    rec = load_recording(*_pair(tmp_path, x, -0.5 * x), validation_s=1.0)
    assert any("inverted" in c for c in rec.checks)


def test_clipping_and_dc_are_noted(tmp_path: Path) -> None:
    x = _noise(3.0, seed=4)
    y = np.clip(5 * x, -1.0, 1.0) * 0.9995 + 0.0
    y_dc = y * 0.9 + 0.05
    rec = load_recording(*_pair(tmp_path, x, y), validation_s=1.0)
    clip_notes = [c for c in rec.checks if "clipping" in c]
    assert len(clip_notes) == 1 and clip_notes[0].startswith("output:")
    rec_dc = load_recording(*_pair(tmp_path, x, y_dc), validation_s=1.0)
    assert any(c.startswith("output: DC offset +0.0") and "removed" in c for c in rec_dc.checks)
    assert abs(float(np.mean(rec_dc.output))) < 1e-9 and rec_dc.dc_removed[1] > 0.04


def test_pcm_and_channel_selection(tmp_path: Path) -> None:
    x = _noise(3.0, seed=6)
    stereo = np.stack([np.zeros_like(x), x], axis=1)
    inp = _write(tmp_path / "in.wav", stereo, subtype="PCM_16")
    out = _write(tmp_path / "out.flac", stereo, subtype="PCM_24")
    rec = load_recording(inp, out, channel=1, validation_s=1.0)
    np.testing.assert_allclose(rec.input, x, atol=1e-4)
    with pytest.raises(InputError, match=r"has 2 channels.*--channel N"):
        load_recording(inp, out, validation_s=1.0)
    with pytest.raises(InputError, match="channel 2 is out of range"):
        load_recording(inp, out, channel=2, validation_s=1.0)
    with pytest.raises(InputError, match="silent"):
        load_recording(inp, out, channel=0, validation_s=1.0)


def test_mismatched_rates(tmp_path: Path) -> None:
    x = _noise(3.0)
    with pytest.raises(InputError, match=r"input .* is 8000 Hz, output .* is 16000 Hz"):
        load_recording(*_pair(tmp_path, x, x, out_rate=16_000), validation_s=1.0)


def test_mismatched_lengths(tmp_path: Path) -> None:
    x = _noise(3.0)
    with pytest.raises(InputError, match=r"24000 samples \(3.000 s\).*23000 samples.*trim"):
        load_recording(*_pair(tmp_path, x, x[:-1000]), validation_s=1.0)


def test_silent_files(tmp_path: Path) -> None:
    x = _noise(3.0)
    with pytest.raises(InputError, match=r"output file .*out.wav is silent"):
        load_recording(*_pair(tmp_path, x, np.zeros_like(x)), validation_s=1.0)
    with pytest.raises(InputError, match=r"input file .*in.wav is silent"):
        load_recording(*_pair(tmp_path, np.full_like(x, 1e-8), x), validation_s=1.0)


def test_not_audio_and_missing(tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio\n")
    real = _write(tmp_path / "out.wav", _noise(3.0))
    with pytest.raises(InputError, match=r"input file .*notes.wav is not readable audio"):
        load_recording(fake, real)
    with pytest.raises(InputError, match="does not exist"):
        load_recording(tmp_path / "nope.wav", real)


def test_too_short_for_validation(tmp_path: Path) -> None:
    x = _noise(2.5)
    with pytest.raises(InputError, match=r"2.50 s long but needs at least 3.00 s"):
        load_recording(*_pair(tmp_path, x, x), validation_s=2.0)
    with pytest.raises(InputError, match="validation_s"):
        load_recording(*_pair(tmp_path, x, x), validation_s=0.0)


def test_segments_shapes_and_refusals() -> None:
    x = np.arange(1003, dtype=np.float64)
    y = -x
    xs, ys = segments(x, y, 100)
    assert xs.shape == ys.shape == (11, 100)
    np.testing.assert_array_equal(xs[1], x[100:200])
    np.testing.assert_array_equal(ys[-2], y[900:1000])
    # the 3 samples left over get a last row ending at the signal's end
    np.testing.assert_array_equal(ys[-1], y[903:1003])
    xw, _ = segments(x, y, 100, warmup_samples=50)
    assert xw.shape == (10, 100) and xw[0, 0] == 50 and xw[-1, -1] == 1002
    exact, _ = segments(x[:1000], y[:1000], 100)
    assert exact.shape == (10, 100)  # no extra row when the rows fit exactly
    with pytest.raises(InputError, match="segment_samples"):
        segments(x, y, 0)
    with pytest.raises(InputError, match="segment_samples"):
        segments(x, y, 2000)
    with pytest.raises(InputError, match="equal length"):
        segments(x, y[:-1], 10)
    with pytest.raises(InputError, match="warmup_samples"):
        segments(x, y, 10, warmup_samples=-1)
