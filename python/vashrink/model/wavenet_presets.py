"""WaveNets of NAM's "A1" preset shapes (standard, lite, feather, nano) with seeded random
weights: what the tests write as ``.nam`` files and the benchmark times (a shape's cost does not
depend on its weights).

The shapes are the NAM trainer's: two layer arrays, kernel 3, Tanh, not gated, head_scale 0.02;
standard has channels 16 then 8 and dilations 1..512 twice; lite/feather/nano have channels
12/6, 8/4, 4/2 and dilations 1..64, then 128..512 and 1..512.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError
from .wavenet import (
    FILM_POSITIONS,
    Activation,
    FiLM,
    LayerArray,
    PostHead,
    WaveNetLayer,
    WaveNetSpec,
)

__all__ = ["A1_PRESETS", "a1_wavenet", "film_wavenet", "random_wavenet", "with_films",
           "with_post_head"]

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


def _film_dims(layer: WaveNetLayer, channels: int, cond: int) -> dict[str, int]:
    z = int(layer.conv_weight.shape[0])
    dims = {"conv_pre": channels, "conv_post": z, "input_mixin_pre": cond,
            "input_mixin_post": z, "activation_pre": z, "activation_post": layer.bottleneck}
    if layer.layer1x1_weight is not None:
        dims["layer1x1_post"] = channels
    if layer.head1x1_weight is not None:
        dims["head1x1_post"] = int(layer.head1x1_weight.shape[0])
    return dims


def with_films(spec: WaveNetSpec, *, shift: bool = True, blended: tuple[int, ...] = (),
               seed: int = 0, scale: float = 0.3) -> WaveNetSpec:
    """``spec`` with FiLM at every position each layer allows (scales near 1, shifts near 0,
    conditioned on the layer's condition) and, per array, the gated layers whose index is in
    ``blended`` blended instead; what the tests run ``wavenet_a2_max``-like features with."""
    rng = np.random.default_rng(seed)
    arrays = []
    for arr in spec.arrays:
        layers = []
        for i, layer in enumerate(arr.layers):
            cond = int(layer.mixin_weight.shape[1])
            films = {}
            for position, dim in _film_dims(layer, arr.channels, cond).items():
                assert position in FILM_POSITIONS
                w = rng.uniform(-scale, scale, ((2 if shift else 1) * dim, cond))
                b = np.concatenate([1.0 + rng.uniform(-scale, scale, dim),
                                    rng.uniform(-scale, scale, dim if shift else 0)])
                films[position] = FiLM(w, b, shift)
            mix = layer.gate_activation is not None and i in blended
            layers.append(replace(layer, films=films, blended=mix))
        arrays.append(replace(arr, layers=tuple(layers)))
    return replace(spec, arrays=tuple(arrays))


def with_post_head(spec: WaveNetSpec, channels: int, kernel_sizes: tuple[int, ...],
                   activation: str = "Tanh", out_size: int = 1, seed: int = 0) -> WaveNetSpec:
    """``spec`` with a post-stack head of ``kernel_sizes`` convs (``channels`` wide, the last
    ``out_size``) and random weights (torch's default range)."""
    rng = np.random.default_rng(seed)
    convs = []
    cin = spec.arrays[-1].head_size
    for i, k in enumerate(kernel_sizes):
        cout = out_size if i + 1 == len(kernel_sizes) else channels
        bound = 1.0 / np.sqrt(cin * k)
        convs.append((rng.uniform(-bound, bound, (cout, cin, k)), rng.uniform(-bound, bound, cout)))
        cin = cout
    return replace(spec, head=PostHead(tuple(convs), Activation(activation)))


def film_wavenet(shift: bool = True, seed: int = 0) -> WaveNetSpec:
    """Every feature of NAM Core's ``wavenet_a2_max.nam`` with random weights: a condition DSP
    (two arrays, SiLU, head 1x1s, gated and blended layers, FiLM everywhere) feeding a model of
    two arrays with gated, blended and plain layers, FiLM everywhere and a post-stack head of two
    convs (Softsign). ``shift`` False: scale-only FiLMs."""
    cond = random_wavenet(((3, 4, (1, 2)), (4, 3, (1, 3, 5))), gated=True, head1x1=4,
                          activation="SiLU", kernel_size=2, seed=seed)
    cond = with_films(cond, shift=shift, blended=(0, 2), seed=seed + 1)
    model = random_wavenet(((4, 3, (1, 2, 4)), (3, 2, (1, 8))), condition=cond, gated=True,
                           head1x1=3, head_kernel=2, kernel_size=3, seed=seed + 2)
    first = model.arrays[0]
    last = first.layers[2]
    plain = replace(last, gate_activation=None, conv_weight=last.conv_weight[:4],
                    conv_bias=last.conv_bias[:4], mixin_weight=last.mixin_weight[:4])
    model = replace(model, arrays=(replace(first, layers=(*first.layers[:2], plain)),
                                   *model.arrays[1:]))
    model = with_films(model, shift=shift, blended=(1,), seed=seed + 3)
    return with_post_head(model, channels=5, kernel_sizes=(3, 2), activation="Softsign",
                          seed=seed + 4)
