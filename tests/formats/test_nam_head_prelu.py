"""A post-stack head with per-channel PReLU slopes. NAM Core's ``detail::Head`` applies its one
activation before every conv and indexes the slopes by position % count in each conv's input
(channels x frames, column-major): the slope of a channel exactly when every conv takes as many
channels as there are slopes. That case is read, written and run; other widths stay UNVERIFIED.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vashrink import ModelFormatError
from vashrink.cli import main
from vashrink.formats.nam import read_nam
from vashrink.formats.nam_check import check_nam
from vashrink.formats.nam_write import nam_document, write_nam
from vashrink.model.wavenet import Activation, WaveNetSpec
from vashrink.model.wavenet_presets import random_wavenet, with_post_head
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.runtime.wavenet import WaveNet

SLOPES = (0.05, -0.4, 0.7)  # one per channel of the head's input (the last head_size, 3)


def head_prelu_wavenet(channels: int = 3, seed: int = 0) -> WaveNetSpec:
    """Two arrays (last head_size 3) and a head of convs 3 -> ``channels`` -> 1 (kernels 3, 2)
    after PReLU with SLOPES."""
    base = random_wavenet(((4, 3, (1, 2)), (3, 3, (1, 4))), seed=seed)
    spec = with_post_head(base, channels=channels, kernel_sizes=(3, 2), seed=seed + 1)
    assert spec.head is not None
    return replace(spec, head=replace(spec.head, activation=Activation("PReLU", slopes=SLOPES)))


def _err(spec: WaveNetSpec, x: np.ndarray, y: np.ndarray) -> float:
    ref = wavenet_reference(spec, x.astype(np.float64))
    return float(np.max(np.abs(y - ref)) / np.max(np.abs(ref)))


def test_round_trip_and_engine(tmp_path: Path) -> None:
    spec = head_prelu_wavenet(seed=5)
    path = write_nam(tmp_path / "p.nam", spec)
    doc = json.loads(path.read_text())
    assert doc["config"]["head"]["activation"] == {"type": "PReLU", "negative_slopes": list(SLOPES)}
    assert check_nam(path).status == "valid"
    model = read_nam(path).model
    assert isinstance(model, WaveNetSpec) and model.head is not None
    assert model.head.activation.slopes == SLOPES
    x = np.random.default_rng(6).uniform(-1, 1, 600).astype(np.float32)
    # The slopes matter here: one shared slope gives another output.
    shared = replace(model, head=replace(model.head, activation=Activation("PReLU", 0.05)))
    ref = wavenet_reference(model, x.astype(np.float64))
    other = wavenet_reference(shared, x.astype(np.float64))
    assert np.max(np.abs(other - ref)) > 0.05 * np.max(np.abs(ref))
    for block in (1, 7, 64, 600):
        engine = WaveNet.from_spec(model)
        y = np.concatenate([engine.process_samples(x[i:i + block])
                            for i in range(0, x.size, block)])
        assert _err(model, x, y) < 2e-5, block


def test_unequal_widths_stay_unverified(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.nam"
    path.write_text(json.dumps(nam_document(head_prelu_wavenet(channels=4))))
    assert main(["check", str(path)]) == 3
    out = capsys.readouterr()
    assert ("config.head.activation: has per-channel slopes for 3 channels while the later convs "
            "take 4, which vashrink does not verify or run yet") in out.out + out.err


def test_engine_refuses_unequal_widths() -> None:
    with pytest.raises(ModelFormatError, match="per-channel PReLU slopes for 3 channels, but this "
                                               "conv takes 4"):
        WaveNet.from_spec(head_prelu_wavenet(channels=4))
