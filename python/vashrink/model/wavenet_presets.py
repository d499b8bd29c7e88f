"""WaveNets of NAM's "A1" preset shapes (standard, lite, feather, nano) with seeded random
weights: what the tests write as ``.nam`` files and the benchmark times (a shape's cost does not
depend on its weights).

The shapes are the NAM trainer's: two layer arrays, kernel 3, Tanh, not gated, head_scale 0.02;
standard has channels 16 then 8 and dilations 1..512 twice; lite/feather/nano have channels
12/6, 8/4, 4/2 and dilations 1..64, then 128..512 and 1..512.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .wavenet import Activation, LayerArray, WaveNetLayer, WaveNetSpec

__all__ = ["A1_PRESETS", "a1_wavenet", "random_wavenet"]

_FULL = tuple(2**i for i in range(10))
_SHORT = tuple(2**i for i in range(7))
_LONG = (128, 256, 512, *_FULL)
#: name -> ((channels, head_size, dilations) per layer array)
A1_PRESETS: dict[str, tuple[tuple[int, int, tuple[int, ...]], ...]] = {
    "standard": ((16, 8, _FULL), (8, 1, _FULL)),
    "lite": ((12, 6, _SHORT), (6, 1, _LONG)),
    "feather": ((8, 4, _SHORT), (4, 1, _LONG)),
    "nano": ((4, 2, _SHORT), (2, 1, _LONG)),
}


def random_wavenet(
    arrays: tuple[tuple[int, int, tuple[int, ...]], ...],
    *,
    kernel_size: int = 3,
    activation: str = "Tanh",
    gated: bool = False,
    head1x1: int = 0,
    head_kernel: int = 1,
    seed: int = 0,
    scale: float = 1.0,
    condition: WaveNetSpec | None = None,
) -> WaveNetSpec:
    """A WaveNet with ``(channels, head_size, dilations)`` per layer array and weights drawn
    from ``U(-s, s)``, ``s = scale / sqrt(fan_in)`` (torch's default range for ``scale=1``).

    ``head1x1 > 0`` gives every layer a head 1x1 of that many outputs; ``condition``: a
    condition DSP whose outputs feed the input mixins (they then take its ``out_size``).
    """
    rng = np.random.default_rng(seed)

    def u(fan_in: int, *shape: int) -> np.ndarray:
        bound = scale / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)

    act = Activation(activation)
    gate = Activation("Sigmoid") if gated else None
    out: list[LayerArray] = []
    prev_channels = 1
    cond = 1 if condition is None else condition.out_size
    for i, (channels, head_size, dilations) in enumerate(arrays):
        z = 2 * channels if gated else channels
        layers = []
        for d in dilations:
            h1w = u(channels, head1x1, channels) if head1x1 else None
            h1b = u(channels, head1x1) if head1x1 else None
            layers.append(WaveNetLayer(
                d, act, u(channels * kernel_size, z, channels, kernel_size), u(channels, z),
                u(1, z, cond), gate, u(channels, channels, channels), u(channels, channels),
                h1w, h1b))
        head_in = head1x1 or channels
        head_bias = u(head_in, head_size) if i == len(arrays) - 1 else None
        out.append(LayerArray(u(prev_channels, channels, prev_channels), tuple(layers),
                              u(head_in * head_kernel, head_size, head_in, head_kernel),
                              head_bias))
        prev_channels = channels
    return WaveNetSpec(tuple(out), 0.02, condition)


def a1_wavenet(preset: str, seed: int = 0) -> WaveNetSpec:
    """The NAM A1 ``preset`` (standard, lite, feather, nano) with random weights."""
    if preset not in A1_PRESETS:
        msg = f"unknown A1 preset {preset!r}; use one of {', '.join(A1_PRESETS)}"
        raise InputError(msg)
    return random_wavenet(A1_PRESETS[preset], seed=seed)
