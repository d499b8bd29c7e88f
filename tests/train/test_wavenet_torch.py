"""The trainable torch WaveNet computes the engine's maths: equal to the float64 reference
(:func:`vashrink.model.wavenet_reference.wavenet_reference`) where its receptive field is in the
row, and its export runs in the engine to float32 precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vashrink.errors import InputError
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.model.wavenet_shape import WaveNetShape, depth_for_memory
from vashrink.runtime.families import runner_of
from vashrink.train.wavenet_torch import WaveNetTorch


@pytest.mark.parametrize(("channels", "depth", "kernel"), [(2, 3, 3), (5, 6, 3), (8, 4, 4)])
def test_torch_forward_equals_the_float64_reference(channels: int, depth: int,
                                                    kernel: int) -> None:
    shape = WaveNetShape(channels, depth, kernel)
    model = WaveNetTorch(shape, seed=3, dtype=torch.float64)
    with torch.no_grad():  # weights far from the initial range, so every term matters
        for p in model.parameters():
            p.mul_(2.0)
    x = np.random.default_rng(1).uniform(-1, 1, 3 * shape.receptive_field + 50)
    out = model(torch.from_numpy(x).view(1, -1))[0].detach().numpy()
    ref = wavenet_reference(model.to_spec(), x)[shape.receptive_field - 1 :]
    assert out.shape == ref.shape
    assert np.max(np.abs(out - ref)) <= 1e-12 * max(1.0, np.max(np.abs(ref)))


def test_exported_spec_has_the_shape_and_runs_in_the_engine() -> None:
    shape = WaveNetShape(4, 5)
    spec = WaveNetTorch(shape, seed=0).to_spec()
    assert spec.receptive_field == shape.receptive_field
    assert spec.n_params == shape.n_params + 1  # NAM also stores head_scale
    assert spec.macs_per_sample == shape.macs_per_sample
    x = np.random.default_rng(2).uniform(-1, 1, 400)
    net = runner_of(spec)
    net.reset()
    got = np.asarray(net.process_samples(x), dtype=np.float64)
    ref = wavenet_reference(spec, x)
    assert np.max(np.abs(got - ref)) <= 1e-5 * max(1.0, np.max(np.abs(ref)))


def test_shape_labels_parse_and_bad_shapes_are_refused() -> None:
    assert WaveNetShape.parse("wavenet-8-d10") == WaveNetShape(8, 10)
    assert WaveNetShape.parse("wavenet-6-d4-k4") == WaveNetShape(6, 4, 4)
    assert WaveNetShape(6, 4, 4).label == "wavenet-6-d4-k4"
    assert WaveNetShape(8, 10).receptive_field == 2047
    with pytest.raises(InputError, match="wavenet-CHANNELS-dDEPTH"):
        WaveNetShape.parse("wavenet-8")
    with pytest.raises(InputError, match="channels"):
        WaveNetShape(0, 4)


@pytest.mark.parametrize(("memory", "depth"), [(1, 3), (15, 3), (16, 4), (511, 8), (512, 9),
                                               (10**9, 16)])
def test_depth_covers_the_memory(memory: int, depth: int) -> None:
    assert depth_for_memory(memory) == depth
    assert WaveNetShape(2, depth).receptive_field >= min(memory, WaveNetShape(2, 16)
                                                         .receptive_field)
