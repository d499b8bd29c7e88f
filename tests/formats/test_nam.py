"""``.nam`` files: written by vashrink and read back, checked by ``vashrink check`` (valid,
UNVERIFIED), and every bad input as one line naming the field with exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vashrink.cli import main
from vashrink.errors import ModelFormatError, UnsupportedModelError
from vashrink.formats.nam import read_nam
from vashrink.formats.nam_write import nam_document, write_nam
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.spec import random_spec
from vashrink.model.wavenet import WaveNetSpec
from vashrink.model.wavenet_presets import a1_wavenet, random_wavenet


def _arrays(spec: WaveNetSpec) -> list[np.ndarray]:
    out = []
    for arr in spec.arrays:
        out += [arr.rechannel, arr.head_weight]
        for x in arr.layers:
            out += [a for a in (x.conv_weight, x.conv_bias, x.mixin_weight, x.layer1x1_weight,
                                x.head1x1_weight) if a is not None]
    return out


@pytest.mark.parametrize("spec", [
    a1_wavenet("standard", seed=1),
    random_wavenet(((6, 4, (1, 2)), (4, 1, (3,))), gated=True, head1x1=4, head_kernel=3,
                   activation="LeakyReLU", seed=2),
])
def test_wavenet_round_trip(tmp_path: Path, spec: WaveNetSpec) -> None:
    path = write_nam(tmp_path / "m.nam", spec, metadata={"gear_make": "Acme", "loudness": -20.5})
    nam = read_nam(path)
    assert isinstance(nam.model, WaveNetSpec)
    for a, b in zip(_arrays(spec), _arrays(nam.model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert nam.model.head_scale == spec.head_scale
    assert nam.metadata["gear_make"] == "Acme" and nam.sample_rate_hz == 48000
    assert nam.n_params == len(json.loads(path.read_text())["weights"])


def test_lstm_round_trip(tmp_path: Path) -> None:
    spec = random_spec(RecurrentArchitecture.parse("lstm-2x8"), seed=3)
    nam = read_nam(write_nam(tmp_path / "l.nam", spec))
    assert nam.prewarm_samples == 24000 and not nam.model.skip  # type: ignore[union-attr]
    for a, b in zip(spec.rnn, nam.model.rnn, strict=True):  # type: ignore[union-attr]
        np.testing.assert_array_equal(a.weight_ih, b.weight_ih)
        np.testing.assert_array_equal(a.weight_hh, b.weight_hh)
    with pytest.raises(ModelFormatError, match="GRU"):
        nam_document(random_spec(RecurrentArchitecture.parse("gru-8"), seed=0))
    with pytest.raises(ModelFormatError, match="skip"):
        nam_document(random_spec(RecurrentArchitecture.parse("lstm-8+skip"), seed=0))


def _doc() -> dict[str, Any]:
    return nam_document(a1_wavenet("nano", seed=4), metadata={"gear_model": "Amp X"})


def _check(tmp_path: Path, doc: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "m.nam"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    code = main(["check", str(path)])
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_check_valid_shows_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(tmp_path, _doc(), capsys)
    assert code == 0
    assert "valid (NAM 0.5.4 WaveNet" in out and "gear_model Amp X" in out
    assert "pre-warm 4,093 samples" in out


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    obj = doc
    keys = path.split(".")
    for k in keys[:-1]:
        obj = obj[int(k)] if isinstance(obj, list) else obj[k]
    if value is _DELETE:
        del obj[keys[-1]]
    else:
        obj[keys[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "message"), [
    ("version", "0.8.0", "version: 0.8.0 is newer than vashrink supports (0.7.x)"),
    ("version", "0.4.9", "older than the oldest supported"),
    ("version", "latest", "version: must be a version"),
    ("architecture", "Transformer", "architecture: unknown architecture 'Transformer'"),
    ("config.layers.0.channels", _DELETE, "config.layers[0].channels: missing"),
    ("config.layers.1.activation", "Swish", "config.layers[1].activation: unknown activation"),
    ("config.layers.0.dilations", [1, 0], "config.layers[0].dilations[1]: must be a whole number"),
    ("config.head_scale", _DELETE, "config.head_scale: missing"),
    ("sample_rate", -1, "sample_rate: must be positive"),
    ("config.layers.1.input_size", 3, "config.layers[1].input_size: is 3 but the array before"),
    ("config.layers.1.channels", 4, "config.layers[1].channels: is 4 but NeuralAmpModelerCore "
     "needs the head_size of the array before it (2)"),
])
def test_bad_fields_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        path: str, value: Any, message: str) -> None:
    code, out = _check(tmp_path, _set(_doc(), path, value), capsys)
    assert code == 2
    assert message in out and len(out.strip().splitlines()) == 1


def test_weight_count_nan_and_truncation(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    doc = _doc()
    n = len(doc["weights"])
    code, out = _check(tmp_path, {**doc, "weights": doc["weights"][:-3]}, capsys)
    assert code == 2 and f"the config needs {n} weights but the file has {n - 3}" in out
    code, out = _check(tmp_path, {**doc, "weights": [*doc["weights"], 0.5]}, capsys)
    assert code == 2 and f"needs {n} weights but the file has {n + 1}" in out
    text = json.dumps({**doc, "weights": [*doc["weights"][:5], "NaN"]}).replace('"NaN"', "NaN")
    code, out = _check(tmp_path, text, capsys)
    assert code == 2 and "weights[5]: is nan" in out
    code, out = _check(tmp_path, json.dumps(doc)[:-40], capsys)
    assert code == 2 and "is not valid JSON" in out and len(out.strip().splitlines()) == 1
    code, out = _check(tmp_path, "not json at all", capsys)
    assert code == 2 and "is not valid JSON" in out


def test_unsupported_features_are_unverified(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    stereo = _set(_doc(), "config.in_channels", 2)
    code, out = _check(tmp_path, stereo, capsys)
    assert code == 3 and "UNVERIFIED" in out and "config.in_channels: is not 1" in out
    lstm = nam_document(random_spec(RecurrentArchitecture.parse("lstm-4"), seed=0))
    cond = _set(_doc(), "config.condition_dsp", lstm)
    code, out = _check(tmp_path, cond, capsys)
    assert code == 3 and "config.condition_dsp.architecture: is a LSTM condition DSP" in out
    with pytest.raises(UnsupportedModelError):
        read_nam(tmp_path / "m.nam")


def test_container_runs_the_last_and_checks_rates(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    small, big = _doc(), nam_document(a1_wavenet("feather", seed=5))
    container = {"version": "0.7.0", "architecture": "SlimmableContainer", "sample_rate": 48000,
                 "weights": [], "config": {"submodels": [{"max_value": 0.5, "model": small},
                                                         {"max_value": 1.0, "model": big}]}}
    path = tmp_path / "c.nam"
    path.write_text(json.dumps(container))
    nam = read_nam(path)
    assert len(nam.submodels) == 2 and nam.model.arrays[0].channels == 8  # type: ignore[union-attr]
    small["sample_rate"] = 44100
    code, out = _check(tmp_path, container, capsys)
    assert code == 2
    assert "submodels[0].model.sample_rate: is 44100 Hz but the container's is 48000 Hz" in out


def _conditioned() -> WaveNetSpec:
    condition = random_wavenet(((3, 2, (1, 2)), (2, 3, (4,))), seed=11)
    return random_wavenet(((4, 2, (1, 3)), (2, 1, (8,))), condition=condition, seed=12)


def test_condition_dsp_round_trip_check_and_render(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    spec = _conditioned()
    doc = nam_document(spec)
    assert doc["config"]["condition_dsp"]["config"]["layers"][1]["head_size"] == 3
    assert doc["config"]["layers"][0]["condition_size"] == 3
    nam = read_nam(write_nam(tmp_path / "c.nam", spec))
    assert isinstance(nam.model, WaveNetSpec) and nam.model.condition is not None
    for a, b in zip(_arrays(spec.condition), _arrays(nam.model.condition), strict=True):
        np.testing.assert_array_equal(a, b)
    # NAM Core: the condition DSP's pre-warm (1 + its receptive field) + every array's
    assert nam.prewarm_samples == 1 + (2 * 1 + 2 * 2 + 2 * 4) + (2 * 1 + 2 * 3 + 2 * 8) == 39
    code, out = _check(tmp_path, doc, capsys)
    assert code == 0 and "condition DSP (3 channels)" in out
    bad = _set(nam_document(spec), "config.layers.1.condition_size", 1)
    code, out = _check(tmp_path, bad, capsys)
    assert code == 2
    assert "config.layers[1].condition_size: is 1 but the condition DSP gives 3" in out
    rate = _set(nam_document(spec), "config.condition_dsp.sample_rate", 44100)
    code, out = _check(tmp_path, rate, capsys)
    assert code == 2 and "config.condition_dsp.sample_rate: is 44100 Hz but the model's is" in out
    wide = nam_document(spec.condition)
    code, out = _check(tmp_path, wide, capsys)
    assert code == 3 and "more than one output channel" in out


@pytest.mark.parametrize(("slim", "code", "message"), [
    ({"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2, 4]}}, 0, "valid"),
    ({"method": "slice_channels_uniform"}, 0, "valid"),
    ({"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 1, 4]}}, 2,
     "allowed_channels: must be sorted ascending"),
    ({"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2]}}, 2,
     "allowed_channels: must end at the array's channels (4), not 2"),
    ({"method": "prune_random"}, 3, "slimmable.method: is 'prune_random'"),
])
def test_slimmable_layer_arrays_run_at_full_size(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 slim: dict[str, Any], code: int,
                                                 message: str) -> None:
    doc = _set(_doc(), "config.layers.0.slimmable", slim)
    got, out = _check(tmp_path, doc, capsys)
    assert got == code and message in out
    if code == 0:  # the full-size model, weight for weight (NAM Core's default size)
        for a, b in zip(_arrays(read_nam(tmp_path / "m.nam").model),  # type: ignore[arg-type]
                        _arrays(a1_wavenet("nano", seed=4)), strict=True):
            np.testing.assert_array_equal(a, b)
