"""FiLM, blended gating and the post-stack head (what NAM Core's ``wavenet_a2_max.nam`` uses):
the engine (float32) against the float64 reference, per sample and in blocks, in a condition
DSP and in the model it feeds; NAM Core's rule that ``layer1x1_post`` FiLM acts only in
blended layers; refusals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vashrink.errors import ModelFormatError
from vashrink.model.wavenet import FiLM, WaveNetSpec
from vashrink.model.wavenet_presets import film_wavenet, with_post_head
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.runtime.wavenet import WaveNet

#: as tests/runtime/test_wavenet_engine.py: float32 against float64, relative to the peak.
TOLERANCE = 2e-5


def _signal(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)


def _err(spec: WaveNetSpec, x: np.ndarray, y: np.ndarray) -> float:
    ref = wavenet_reference(spec, x.astype(np.float64))
    return float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-12))


@pytest.mark.parametrize("shift", [True, False])
def test_film_blending_and_post_head_match_reference(shift: bool) -> None:
    spec = film_wavenet(shift=shift, seed=1)
    assert spec.condition is not None and spec.head is not None
    assert any(x.blended for a in spec.arrays for x in a.layers)
    x = 2 * _signal(1500, seed=2)
    engine = WaveNet.from_spec(spec)
    assert _err(spec, x, engine.process_samples(x)) < TOLERANCE
    for block in (1, 7, 64, 300):
        engine.reset()
        y = np.concatenate([engine.process_samples(x[i:i + block])
                            for i in range(0, x.size, block)])
        assert _err(spec, x, y) < TOLERANCE, block
    engine.reset()
    y1 = np.array([engine.forward(float(v)) for v in x[:200]], dtype=np.float32)
    assert _err(spec, x[:200], y1) < TOLERANCE
    assert engine.receptive_field == spec.receptive_field


def test_each_feature_changes_the_output() -> None:
    """The reference is not blind to them: removing FiLM, blending or the head changes it."""
    spec = film_wavenet(seed=3)
    x = _signal(400, seed=4).astype(np.float64)
    ref = wavenet_reference(spec, x)
    no_head = replace(spec, head=None)
    assert not np.allclose(wavenet_reference(with_post_head(no_head, 5, (3, 2), seed=9), x), ref)
    arr = spec.arrays[0]
    unblended = replace(arr.layers[1], blended=False)
    no_films = replace(arr.layers[0], films={})
    for layer, i in ((unblended, 1), (no_films, 0)):
        layers = tuple(layer if j == i else y for j, y in enumerate(arr.layers))
        other = replace(spec, arrays=(replace(arr, layers=layers), spec.arrays[1]))
        assert not np.allclose(wavenet_reference(other, x), ref)


def test_layer1x1_post_film_acts_only_in_blended_layers() -> None:
    """NAM Core (``Layer::Process`` at daae2d0) applies ``layer1x1_post`` FiLM only when the
    layer is blended; its weights are read either way."""
    spec = film_wavenet(seed=5)
    arr = spec.arrays[0]
    x = _signal(300, seed=6).astype(np.float64)
    ref = wavenet_reference(spec, x)
    for i, layer in enumerate(arr.layers):
        film = layer.films["layer1x1_post"]
        films = {**layer.films, "layer1x1_post": FiLM(3 * film.weight, film.bias, film.shift)}
        layers = tuple(replace(y, films=films) if j == i else y for j, y in enumerate(arr.layers))
        other = replace(spec, arrays=(replace(arr, layers=layers), spec.arrays[1]))
        changed = not np.allclose(wavenet_reference(other, x), ref)
        assert changed == layer.blended, i
        assert _err(other, x.astype(np.float32), WaveNet.from_spec(other).process_samples(
            x.astype(np.float32))) < TOLERANCE


def test_bad_film_and_head_refused() -> None:
    spec = film_wavenet(seed=7)
    arr = spec.arrays[0]
    layer = arr.layers[0]
    film = layer.films["activation_pre"]
    bad_w = film.weight.copy()
    bad_w[0, 0] = np.nan
    films = {**layer.films, "activation_pre": FiLM(bad_w, film.bias, film.shift)}
    nan_spec = replace(spec, arrays=(replace(arr, layers=(replace(layer, films=films),
                                                          *arr.layers[1:])), spec.arrays[1]))
    with pytest.raises(ModelFormatError, match="NaN"):
        WaveNet.from_spec(nan_spec)
    assert spec.head is not None
    two_out = with_post_head(replace(spec, head=None), 5, (3, 2), out_size=2)
    with pytest.raises(ModelFormatError, match="one output channel"):
        WaveNet.from_spec(two_out)
