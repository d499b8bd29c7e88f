"""``.nam`` files with FiLM, blended gating and a post-stack head (NAM Core's
``wavenet_a2_max.nam`` features): written by vashrink, read back weight for weight, checked
valid, rendered as the float64 reference says; malformed fields are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from vashrink.cli import main
from vashrink.formats.nam import read_nam
from vashrink.formats.nam_write import nam_document, write_nam
from vashrink.model.wavenet import FILM_POSITIONS, WaveNetSpec
from vashrink.model.wavenet_presets import film_wavenet
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.runtime.wavenet import WaveNet


def _weights(spec: WaveNetSpec) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for arr in spec.arrays:
        for x in arr.layers:
            out += [x.conv_weight, x.mixin_weight]
            out += [a for p in FILM_POSITIONS if p in x.films
                    for a in (x.films[p].weight, x.films[p].bias)]
    if spec.head is not None:
        out += [a for pair in spec.head.convs for a in pair]
    return out


@pytest.mark.parametrize("shift", [True, False])
def test_round_trip_and_engine(tmp_path: Path, shift: bool) -> None:
    spec = film_wavenet(shift=shift, seed=2)
    path = write_nam(tmp_path / "f.nam", spec)
    doc = json.loads(path.read_text())
    assert doc["version"] == "0.6.0" and doc["config"]["head"]["kernel_sizes"] == [3, 2]
    assert doc["config"]["layers"][0]["gating_mode"] == ["gated", "blended", "none"]
    nam = read_nam(path)
    model = nam.model
    assert isinstance(model, WaveNetSpec) and model.condition is not None
    assert model.head is not None and model.head.activation.name == "Softsign"
    assert spec.condition is not None
    for a, b in zip(_weights(spec) + _weights(spec.condition),
                    _weights(model) + _weights(model.condition), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [x.blended for x in model.condition.arrays[1].layers] == [True, False, True]
    assert nam.n_params == len(doc["weights"]) + len(doc["config"]["condition_dsp"]["weights"])
    # NAM Core: 1 + the condition's receptive field, every array's, the head's sum(K - 1)
    assert nam.prewarm_samples == spec.receptive_field == (
        spec.condition.receptive_field + (2 * 1 + 2 * 2 + 2 * 4 + 1) + (2 * 1 + 2 * 8 + 1) + 3)
    x = np.random.default_rng(3).uniform(-1, 1, 700).astype(np.float32)
    ref = wavenet_reference(spec, x.astype(np.float64))
    y = WaveNet.from_spec(model).process_samples(x)
    assert float(np.max(np.abs(y - ref)) / np.max(np.abs(ref))) < 2e-5


def _check(tmp_path: Path, doc: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "m.nam"
    path.write_text(json.dumps(doc))
    code = main(["check", str(path)])
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_check_says_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(tmp_path, nam_document(film_wavenet(seed=4)), capsys)
    assert code == 0, out
    assert "valid (NAM 0.6.0 WaveNet" in out and "FiLMs" in out and "post-stack head" in out


def _layer(doc: dict[str, Any]) -> dict[str, Any]:
    layer: dict[str, Any] = doc["config"]["layers"][0]
    return layer


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: _layer(d).update(conv_pre_film=True),
     "config.layers[0].conv_pre_film: must be a JSON object"),
    (lambda d: _layer(d)["conv_post_film"].update(shift="yes"),
     "config.layers[0].conv_post_film.shift: must be true or false"),
    (lambda d: _layer(d)["activation_pre_film"].update(groups=0),
     "config.layers[0].activation_pre_film.groups: must be a whole number >= 1"),
    (lambda d: _layer(d)["activation_post_film"].update(groups=2),
     "2 groups do not divide 3 inputs"),
    (lambda d: _layer(d).update(layer1x1={"active": False, "groups": 1}),
     "config.layers[0].layer1x1_post_film: cannot be active when layer1x1 is not"),
    (lambda d: _layer(d).update(head1x1={"active": False, "out_channels": 3, "groups": 1}),
     "config.layers[0].head1x1_post_film: cannot be active when head1x1 is not"),
    (lambda d: _layer(d).update(gating_mode=["gated", "blend", "none"]),
     "config.layers[0].gating_mode[1]: unknown gating mode 'blend' (gated, blended, none)"),
    (lambda d: d["config"]["head"].update(in_channels=5),
     "config.head.in_channels: is 5 but the last layer array's head_size is 2"),
    (lambda d: d["config"]["head"].update(kernel_sizes=[]),
     "config.head.kernel_sizes: must be a non-empty list"),
    (lambda d: d["config"]["head"].pop("activation"), "config.head.activation: missing"),
    (lambda d: d["config"]["head"].update(kernel_sizes=[3, 2, 1]),
     "the config needs"),
    (lambda d: _layer(d).update(input_mixin_pre_film={"active": False}), "the config needs"),
])
def test_malformed_fields_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 edit: Any, message: str) -> None:
    doc = nam_document(film_wavenet(seed=5))
    edit(doc)
    code, out = _check(tmp_path, doc, capsys)
    assert code == 2 and message in out and len(out.strip().splitlines()) == 1, out


def test_cli_time_and_render_with_prewarm(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``vashrink render`` pre-warms (silence in blocks of 64 until the receptive field,
    condition DSP and post-stack head included, has gone through) and then plays the WAV: the
    float64 reference of the same silence + signal, within float32 rounding."""
    spec = film_wavenet(seed=6)
    model = write_nam(tmp_path / "f.nam", spec)
    x = (0.5 * np.sin(np.arange(3000) * 0.03)).astype(np.float32)
    sf.write(str(tmp_path / "in.wav"), x, 48000, subtype="FLOAT")
    assert main(["render", str(model), str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 0
    assert main(["time", str(model), "--block-size", "64", "--repeats", "1"]) == 0
    capsys.readouterr()
    y, _ = sf.read(str(tmp_path / "out.wav"), dtype="float64")
    warm = -(-spec.prewarm_samples // 64) * 64
    ref = wavenet_reference(spec, np.concatenate([np.zeros(warm), x]))[warm:]
    assert float(np.max(np.abs(y - ref)) / np.max(np.abs(ref))) < 2e-5
