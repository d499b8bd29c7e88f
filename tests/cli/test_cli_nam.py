"""``time``, ``render`` and ``export`` on ``.nam`` files the tests write: timings like any model,
render with NAM's pre-warm, LSTM export both ways, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vashrink.cli import main
from vashrink.formats.load import load_model
from vashrink.formats.nam import read_nam
from vashrink.formats.nam_write import write_nam
from vashrink.formats.render import PREWARM_BLOCK
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.file import write_model_file
from vashrink.model.spec import PREWARM_S, random_spec
from vashrink.model.wavenet_presets import a1_wavenet
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.runtime.recurrent import RecurrentNet


def _wav(path: Path, n: int = 4000, rate: int = 48000, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, n).astype(np.float32)
    sf.write(str(path), x, rate, subtype="FLOAT")
    return x


def test_time_nam_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_nam(tmp_path / "nano.nam", a1_wavenet("nano"))
    assert main(["time", str(path), "--block-size", "64", "--repeats", "2",
                 "--buffer-samples", "2400", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(t["mode"], t["block_size"]) for t in data["timings"]] == [("sample", 1),
                                                                       ("block", 64)]
    assert "WaveNet 4/2 ch" in data["description"]
    assert main(["time", str(path), "--backend", "rtneural"]) == 2
    assert "timed in vashrink's engine" in capsys.readouterr().err


def test_render_wavenet_prewarms_like_nam_core(tmp_path: Path) -> None:
    spec = a1_wavenet("feather", seed=1)
    model = write_nam(tmp_path / "f.nam", spec)
    x = _wav(tmp_path / "in.wav")
    assert main(["render", str(model), str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 0
    y, rate = sf.read(str(tmp_path / "out.wav"), dtype="float64")
    assert rate == 48000 and y.shape == x.shape
    warm = -(-spec.prewarm_samples // PREWARM_BLOCK) * PREWARM_BLOCK
    ref = wavenet_reference(spec, np.concatenate([np.zeros(warm), x]))[warm:]
    assert np.max(np.abs(y - ref)) < 2e-5 * np.max(np.abs(ref))


def test_render_other_formats_and_errors(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    spec = random_spec(RecurrentArchitecture.parse("gru-6"), seed=2)
    model = write_model_file(tmp_path / "g.vashrink.json", spec)
    x = _wav(tmp_path / "in.wav", n=500)
    assert main(["render", str(model), str(tmp_path / "in.wav"), str(tmp_path / "o.wav"),
                 "--no-prewarm"]) == 0
    y, _ = sf.read(str(tmp_path / "o.wav"), dtype="float32")
    np.testing.assert_allclose(y, RecurrentNet.from_spec(spec).process_samples(x), atol=1e-7)
    assert main(["render", str(model), str(tmp_path / "in.wav"), str(tmp_path / "o.wav")]) == 0
    y, _ = sf.read(str(tmp_path / "o.wav"), dtype="float32")
    warm = round(PREWARM_S * 48000)
    ref = RecurrentNet.from_spec(spec).process_samples(
        np.concatenate([np.zeros(warm, np.float32), x]))[warm:]
    np.testing.assert_allclose(y, ref, atol=1e-7)
    nam = write_nam(tmp_path / "n.nam", a1_wavenet("nano"), sample_rate_hz=44100)
    capsys.readouterr()
    assert main(["render", str(nam), str(tmp_path / "in.wav"), str(tmp_path / "o.wav")]) == 2
    err = capsys.readouterr().err
    assert "is at 48000 Hz but n.nam was trained at 44100 Hz" in err
    assert len(err.strip().splitlines()) == 1
    sf.write(str(tmp_path / "st.wav"), np.zeros((10, 2), np.float32), 48000)
    assert main(["render", str(nam), str(tmp_path / "st.wav"), str(tmp_path / "o.wav")]) == 2
    assert "render takes a mono WAV" in capsys.readouterr().err


def test_lstm_export_both_ways(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = random_spec(RecurrentArchitecture.parse("lstm-2x6"), seed=3)
    src = write_model_file(tmp_path / "l.vashrink.json", spec)
    assert main(["export", str(src), "--to", str(tmp_path / "l.nam")]) == 0
    nam = read_nam(tmp_path / "l.nam")
    x = np.random.default_rng(4).uniform(-1, 1, 300).astype(np.float32)
    ours = RecurrentNet.from_spec(spec).process_samples(x)
    np.testing.assert_array_equal(RecurrentNet.from_spec(nam.model).process_samples(x), ours)
    # and back out of .nam: RTNeural JSON and a vashrink model file
    assert main(["export", str(tmp_path / "l.nam"), "--to", str(tmp_path / "l.json")]) == 0
    assert main(["export", str(tmp_path / "l.nam"), "--to", str(tmp_path / "m.vashrink.json")]) == 0
    back = load_model(tmp_path / "m.vashrink.json")
    assert back.provenance["source_kind"] == "nam"
    np.testing.assert_array_equal(RecurrentNet.from_spec(back.spec).process_samples(x), ours)
    wavenet = write_nam(tmp_path / "w.nam", a1_wavenet("nano"))
    capsys.readouterr()
    assert main(["export", str(wavenet), "--to", str(tmp_path / "w.json")]) == 2
    assert "only NAM LSTMs convert" in capsys.readouterr().err
    gru = write_model_file(tmp_path / "g.vashrink.json",
                           random_spec(RecurrentArchitecture.parse("gru-4"), seed=0))
    assert main(["export", str(gru), "--to", str(tmp_path / "g.nam")]) == 2
    assert "NAM runs LSTM and WaveNet models only" in capsys.readouterr().err


def test_render_gives_a_captured_gru_silence_for_silence(tmp_path: Path) -> None:
    """A capture-trained model is silent for silence after the 0.5 s pre-warm its training
    assumed; render runs that pre-warm (without it the output starts away from zero)."""
    from vashrink.train.rnn_fit import silence_to_silence

    raw = random_spec(RecurrentArchitecture.parse("lstm-4"), seed=3)
    spec = silence_to_silence(raw, round(PREWARM_S * 48000))
    model = write_model_file(tmp_path / "l.vashrink.json", spec)
    sf.write(str(tmp_path / "z.wav"), np.zeros(2000, np.float32), 48000, subtype="FLOAT")
    assert main(["render", str(model), str(tmp_path / "z.wav"), str(tmp_path / "o.wav")]) == 0
    y, _ = sf.read(str(tmp_path / "o.wav"), dtype="float64")
    assert np.max(np.abs(y)) < 1e-5
    assert main(["render", str(model), str(tmp_path / "z.wav"), str(tmp_path / "o.wav"),
                 "--no-prewarm"]) == 0
    cold, _ = sf.read(str(tmp_path / "o.wav"), dtype="float64")
    assert np.max(np.abs(cold)) > 1e-3
