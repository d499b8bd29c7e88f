"""``vashrink shrink --model GEAR.nam --esr E``: an existing model as the gear, end to end on a
tiny LSTM the test writes; the summary reports the original's cost next to the chosen one's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vashrink.cli import main
from vashrink.formats.gear import gear_recording
from vashrink.formats.nam_write import write_nam
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.spec import random_spec
from vashrink.model.wavenet_presets import a1_wavenet
from vashrink.model.wavenet_reference import wavenet_reference


def test_gear_recording_is_the_models_render(tmp_path: Path) -> None:
    spec = a1_wavenet("nano", seed=2)
    path = write_nam(tmp_path / "g.nam", spec)
    rec, gear = gear_recording(path, seconds=6.0, validation_s=2.0, timing_repeats=2)
    assert rec.sample_rate_hz == 48000 and rec.input.size == 6 * 48000
    warm = -(-spec.prewarm_samples // 64) * 64
    ref = wavenet_reference(spec, np.concatenate([np.zeros(warm), rec.input]))[warm:]
    silence = wavenet_reference(spec, np.zeros(warm + 64))[-1]
    assert abs(gear.silence_offset - silence) < 2e-5 * np.max(np.abs(ref))
    assert abs(silence) > 1e-3  # a random-weight model's offset, removed from the target
    assert np.max(np.abs(rec.output - (ref - silence))) < 2e-5 * np.max(np.abs(ref))
    assert any("outputs" in c and "for silence" in c for c in rec.checks)
    assert gear.family == "wavenet" and gear.ns_per_sample > 0


def test_shrink_model_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gear = write_nam(tmp_path / "gear.nam",
                     random_spec(RecurrentArchitecture.parse("lstm-1x12"), seed=5))
    out = tmp_path / "run"
    code = main(["shrink", "--model", str(gear), "--esr", "0.05", "--cells", "lstm",
                 "--layers", "1", "--hidden-max", "2", "--epochs", "2", "--validation-s", "5",
                 "--repeats", "2", "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert code in (0, 1)  # met or not, the run completes and reports
    assert "original gear.nam (gru/lstm):" in text and "ns/sample" in text
    y, rate = sf.read(str(out / "gear_original.wav"), dtype="float32")
    assert rate == 48000 and y.size == 30 * 48000
    assert (out / "model.vashrink.json").is_file()
    assert main(["shrink", "--model", str(gear), "--output", "x.wav", "--esr", "0.1"]) == 2
    assert "drop --output" in capsys.readouterr().err
