"""Same output as NeuralAmpModelerCore: its ``render`` tool and ``vashrink render`` on the same
WAV, for ``.nam`` files vashrink writes (WaveNets of several shapes, one with FiLM, blended
gating and a post-stack head, one with per-channel PReLU slopes in its head, an exported
LSTM) and every example model of the checkout that ``vashrink check`` calls valid; its
``loadmodel`` loads what vashrink writes.

Needs ``NAM_CORE_DIR``: a NeuralAmpModelerCore checkout with its tools built (``render`` and
``loadmodel`` are looked up under it); skipped without it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_nam_head_prelu import head_prelu_wavenet

from vashrink.formats.nam_check import check_nam
from vashrink.formats.nam_write import write_nam
from vashrink.formats.render import render_file
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.spec import random_spec
from vashrink.model.wavenet_presets import a1_wavenet, film_wavenet, random_wavenet

#: |ours - NAM Core| over the output's peak: float32 rounding of two different summation orders
#: (measured at most 4.3e-6 on NAM Core's example models).
TOLERANCE = 2e-5

ROOT = Path(os.environ.get("NAM_CORE_DIR", ""))
if not os.environ.get("NAM_CORE_DIR") or not ROOT.is_dir():
    pytest.skip("set NAM_CORE_DIR to a built NeuralAmpModelerCore checkout",
                allow_module_level=True)


def _tool(name: str) -> Path:
    found = [p for p in ROOT.rglob(name) if p.is_file() and os.access(p, os.X_OK)]
    if not found:
        pytest.skip(f"no built {name} under {ROOT} (build its tools)")
    return found[0]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nam") / "in.wav"
    n = 24000
    t = np.arange(n) / 48000
    rng = np.random.default_rng(0)
    x = 0.5 * np.sin(2 * np.pi * 110 * t) * np.linspace(0, 1, n) + 0.1 * rng.standard_normal(n)
    sf.write(str(path), x.astype(np.float32), 48000, subtype="FLOAT")
    return path


def _compare(model: Path, wav: Path, tmp: Path) -> float:
    core_out, ours_out = tmp / f"core_{model.stem}.wav", tmp / f"ours_{model.stem}.wav"
    subprocess.run([str(_tool("render")), str(model), str(wav), str(core_out)], check=True,
                   capture_output=True, timeout=300)
    render_file(model, wav, ours_out)
    core, _ = sf.read(str(core_out), dtype="float64")
    ours, _ = sf.read(str(ours_out), dtype="float64")
    assert core.shape == ours.shape
    err = float(np.max(np.abs(core - ours)) / max(np.max(np.abs(core)), 1e-12))
    assert err < TOLERANCE, f"{model.name}: relative error {err:.3g}"
    return err


@pytest.mark.parametrize("name", ["nano", "standard", "gated", "lstm", "conditioned", "small",
                                  "film", "head_prelu"])
def test_our_files_load_and_match(name: str, wav: Path, tmp_path: Path) -> None:
    if name == "gated":
        model = random_wavenet(((6, 4, (1, 2, 8)), (4, 1, (16, 3))), gated=True, head1x1=4,
                               head_kernel=3, activation="LeakyReLU", kernel_size=4, seed=7)
    elif name == "conditioned":  # a condition DSP of 3 outputs feeding every mixin
        condition = random_wavenet(((3, 2, (1, 2)), (2, 3, (4,))), seed=11)
        model = random_wavenet(((4, 5, (1, 3)), (5, 1, (8,))), condition=condition, seed=12)
    elif name == "small":  # 3 channels, kernel 6, LeakyReLU: A2's small shape (fused kernel)
        model = random_wavenet(((3, 1, (1, 3, 7, 17, 41)),), kernel_size=6,
                               activation="LeakyReLU", head_kernel=16, seed=13)
    elif name == "film":  # FiLM everywhere, blended gating, a post-stack head (wavenet_a2_max's)
        model = film_wavenet(seed=14)
    elif name == "head_prelu":  # a post-stack head with per-channel PReLU slopes
        model = head_prelu_wavenet(seed=15)
    elif name == "lstm":
        model = random_spec(RecurrentArchitecture.parse("lstm-2x8"), seed=8)
    else:
        model = a1_wavenet(name, seed=9)
    path = write_nam(tmp_path / f"{name}.nam", model)
    subprocess.run([str(_tool("loadmodel")), str(path)], check=True, capture_output=True,
                   timeout=120)
    _compare(path, wav, tmp_path)


def test_every_example_model_that_checks_valid(wav: Path, tmp_path: Path) -> None:
    examples = sorted((ROOT / "example_models").glob("*.nam"))
    if not examples:
        pytest.skip(f"no example_models/*.nam under {ROOT}")
    compared = [m.name for m in examples if check_nam(m).status == "valid"]
    for name in compared:
        _compare(ROOT / "example_models" / name, wav, tmp_path)
    assert compared
