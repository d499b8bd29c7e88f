"""The engine's WaveNet (float32) against the float64 reference: every layer option, every
activation, streaming across calls, blocks longer than the engine's internal block, refusals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vashrink.errors import ModelFormatError
from vashrink.model.wavenet import ACTIVATIONS, Activation, LayerArray, WaveNetSpec
from vashrink.model.wavenet_presets import a1_wavenet, random_wavenet
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.runtime.families import family_of, runner_of
from vashrink.runtime.wavenet import WaveNet

#: float32 against float64, relative to the output's peak: sums of a few hundred float32
#: products over 20 layers (measured up to ~3e-6 on A1 standard; 1e-6 typical).
TOLERANCE = 2e-5


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, n).astype(np.float32)


def _close(spec: WaveNetSpec, x: np.ndarray, y: np.ndarray) -> float:
    ref = wavenet_reference(spec, x.astype(np.float64))
    err = float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-12))
    assert err < TOLERANCE, err
    return err


@pytest.mark.parametrize("preset", ["nano", "feather", "lite", "standard"])
def test_a1_presets_match_reference(preset: str) -> None:
    spec = a1_wavenet(preset, seed=3)
    x = _signal(3000)
    _close(spec, x, WaveNet.from_spec(spec).process_samples(x))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_gated_and_not(activation: str) -> None:
    for gated in (False, True):
        spec = random_wavenet(((5, 3, (1, 3)), (3, 1, (2, 1))), activation=activation,
                              gated=gated, kernel_size=2, seed=1, scale=3.0)
        x = _signal(500, seed=2)
        _close(spec, x, WaveNet.from_spec(spec).process_samples(x))


def test_head1x1_head_kernel_and_wide_gated_layers() -> None:
    # 20 channels gated: 40 pre-activation rows (5 registers: two chunks of the conv kernel)
    spec = random_wavenet(((20, 6, (1, 4, 9)), (9, 1, (2, 5))), gated=True, head1x1=6,
                          head_kernel=4, kernel_size=5, seed=4)
    x = _signal(1200, seed=5)
    _close(spec, x, WaveNet.from_spec(spec).process_samples(x))


def test_parameterised_activations_and_no_layer1x1() -> None:
    base = random_wavenet(((4, 4, (1, 2, 4)), (4, 1, (1,))), seed=6)
    slopes = Activation("PReLU", slopes=(0.1, -0.2, 0.3, 0.05))
    lht = Activation("LeakyHardtanh", min_val=-0.5, max_val=0.7, min_slope=0.1, max_slope=0.2)
    first = base.arrays[0]
    layers = (
        first.layers[0].__class__(**{**first.layers[0].__dict__, "activation": slopes}),
        first.layers[1].__class__(**{**first.layers[1].__dict__, "activation": lht,
                                     "layer1x1_weight": None, "layer1x1_bias": None}),
        first.layers[2],
    )
    spec = WaveNetSpec((LayerArray(first.rechannel, layers, first.head_weight, None),
                        base.arrays[1]), 0.5)
    x = 3 * _signal(800, seed=7)
    _close(spec, x, WaveNet.from_spec(spec).process_samples(x))


def test_small_arrays_with_frames_in_lanes() -> None:
    """A2's small shape (3 channels, kernels 6 and 15, LeakyReLU, head kernel 16) runs
    channel-major (wavenet_lanes.h): per sample and in blocks of every length, and next to an
    array on the general path (per-channel PReLU slopes keep the second one there)."""
    a2 = random_wavenet(((3, 1, (1, 3, 7, 17, 41)),), kernel_size=6, activation="LeakyReLU",
                        head_kernel=16, seed=31)
    longer = replace(a2.arrays[0].layers[2], conv_weight=np.random.default_rng(0).uniform(
        -0.2, 0.2, (3, 3, 15)))
    a2 = replace(a2, arrays=(replace(a2.arrays[0], layers=(*a2.arrays[0].layers[:2], longer,
                                                           *a2.arrays[0].layers[3:])),))
    nano = a1_wavenet("nano", seed=32)
    prelu = Activation("PReLU", slopes=(0.1, -0.2))
    second = replace(nano.arrays[1], layers=tuple(replace(x, activation=prelu)
                                                  for x in nano.arrays[1].layers))
    mixed = replace(nano, arrays=(nano.arrays[0], second))
    x = _signal(2000, seed=33)
    for spec in (a2, mixed):
        model = WaveNet.from_spec(spec)
        _close(spec, x, model.process_samples(x))
        model.reset()
        parts = [model.process_samples(x[i:j]) for i, j in
                 [(0, 1), (1, 9), (9, 10), (10, 73), (73, 600), (600, 2000)]]
        _close(spec, x, np.concatenate(parts))
        model.reset()
        _close(spec, x[:300], np.array([model.forward(float(v)) for v in x[:300]]))


def test_condition_dsp_feeds_every_mixin() -> None:
    """A condition DSP (a 3-output WaveNet, NAM Core's ``condition_dsp``) whose outputs are
    the mixin input of every layer, gated and not, per sample and per block."""
    condition = random_wavenet(((3, 2, (1, 2)), (2, 3, (4,))), activation="Softsign", seed=21)
    for gated in (False, True):
        spec = random_wavenet(((4, 5, (1, 3)), (5, 1, (8, 2))), gated=gated, seed=22,
                              condition=condition)
        x = _signal(1500)
        model = WaveNet.from_spec(spec)
        _close(spec, x, model.process_samples(x))
        model.reset()
        _close(spec, x[:40], np.array([model.forward(float(v)) for v in x[:40]]))
    rf = (1 + 6 + 8) + (2 + 6) + (16 + 4)  # the condition DSP's, then the arrays'
    assert WaveNet.from_spec(spec).receptive_field == spec.receptive_field == rf
    with pytest.raises(ModelFormatError, match="one output channel"):
        WaveNet.from_spec(condition)


def test_streaming_in_any_chunks_continues_the_stream() -> None:
    spec = a1_wavenet("nano", seed=8)
    x = _signal(5000, seed=9)
    net = WaveNet.from_spec(spec)
    whole = net.process_samples(x)  # 5000 > the engine's 256-sample internal block
    net.reset()
    parts, i = [], 0
    for n in [1, 63, 64, 300, 7, 1000, 2048]:
        parts.append(net.process_samples(x[i:i + n]))
        i += n
    parts.append(net.process_samples(x[i:]))
    # equal up to the summation order of the frame tiles (4 or 8 frames, or one)
    atol = 1e-6 * float(np.max(np.abs(whole)))
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=atol)
    net.reset()
    assert net.forward(float(x[0])) == pytest.approx(float(whole[0]), abs=atol)


def test_timing_runs_and_registry_picks_the_wavenet() -> None:
    spec = a1_wavenet("nano")
    assert family_of(spec).name == "wavenet"
    net = runner_of(spec)
    buf = _signal(2000)
    assert len(net.time_samples(buf, 2, 0)) == 2
    assert all(s > 0 for s in net.time_blocks(buf, 64, 2, 1))
    assert net.receptive_field == spec.receptive_field == 1 + 2 * (127 + 896 + 1023)


def test_refuses_non_finite_weights_and_float64() -> None:
    spec = a1_wavenet("nano")
    arr = spec.arrays[0]
    bad = arr.rechannel.copy()
    bad[0, 0] = np.nan
    broken = WaveNetSpec((LayerArray(bad, arr.layers, arr.head_weight, arr.head_bias),
                          spec.arrays[1]), spec.head_scale)
    with pytest.raises(ModelFormatError, match="NaN"):
        WaveNet.from_spec(broken)
    with pytest.raises(ModelFormatError, match="float32"):
        WaveNet.from_spec(spec, "float64")
