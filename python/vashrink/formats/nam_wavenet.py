"""NAM's ``WaveNet`` config and weights -> :class:`~vashrink.model.wavenet.WaveNetSpec`.

Follows NeuralAmpModelerCore's parser (``NAM/wavenet/model.cpp``): per layer array the
rechannel 1x1, then per layer the dilated conv (weights, bias), the input mixin, the layer 1x1
(weights, bias; when active), the head 1x1 (when active), then the head rechannel (weights, bias
when ``head_bias``); after every array, ``head_scale`` (the file's value, which replaces the
config's). Legacy keys (``head_size``/``head_bias``, ``kernel_size``, ``gated``) and the newer ones
(``head``, ``kernel_sizes``, ``gating_mode``, ``bottleneck``, groups, per-layer activations) are
read, and so are FiLM (its 1x1 conv weights and bias after the layer's head 1x1, one per active
position in :data:`~vashrink.model.wavenet.FILM_POSITIONS` order), blended gating and the
post-stack ``head`` (its convs' weights and biases after the last array, before
``head_scale``). A condition DSP (parsed by the caller, :mod:`vashrink.formats.nam`) feeds the
input mixins; slimmable layer arrays are checked and run at full size (NAM Core's default).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from ..model.wavenet import (
    FILM_POSITIONS,
    Activation,
    FiLM,
    LayerArray,
    PostHead,
    WaveNetLayer,
    WaveNetSpec,
)
from .nam_fields import Fields, WeightCursor, activation, fail, unsupported

__all__ = ["parse_wavenet"]

_FILMS = tuple(f"{p}_film" for p in FILM_POSITIONS)
_KNOWN = {"input_size", "condition_size", "head_size", "head_bias", "head", "channels",
          "bottleneck", "kernel_size", "kernel_sizes", "dilations", "activation", "gated",
          "gating_mode", "secondary_activation", "groups_input", "groups_input_mixin",
          "layer1x1", "head1x1", "slimmable", *_FILMS}


def _per_layer(f: Fields, key: str, n: int) -> list[Any]:
    value = f.raw(key)
    if isinstance(value, list):
        if len(value) != n:
            fail(f.path(key), f"has {len(value)} entries but dilations has {n}")
        return value
    return [value] * n


def _gating(f: Fields, n: int, bottleneck: int) -> list[tuple[Activation | None, bool]]:
    """Per layer: (the gate or blend activation, or None for a plain layer; blended)."""
    if f.has("gating_mode"):
        modes = _per_layer(f, "gating_mode", n)
        for i, m in enumerate(modes):
            if m not in ("gated", "blended", "none"):
                fail(f"{f.path('gating_mode')}[{i}]",
                     f"unknown gating mode {m!r} (gated, blended, none)")
        second = _per_layer(f, "secondary_activation", n) if f.has("secondary_activation") \
            else ["Sigmoid"] * n
        return [(activation(s if s is not None else "Sigmoid",
                            f"{f.path('secondary_activation')}[{i}]", bottleneck)
                 if m != "none" else None, m == "blended")
                for i, (m, s) in enumerate(zip(modes, second, strict=True))]
    gated = f.flag("gated", default=False)
    return [(Activation("Sigmoid") if gated else None, False)] * n


def _head(f: Fields) -> tuple[int, int, bool, int]:
    """(head_size, kernel_size, bias, dilation) from ``head`` or legacy ``head_size``."""
    if f.has("head"):
        h = f.sub("head")
        return (h.whole("out_channels"), h.whole("kernel_size"), h.flag("bias"),
                h.whole("head_dilation", default=1))
    if "head_size" not in f.obj:
        fail(f.where, "needs a 'head' object or the legacy 'head_size' and 'head_bias'")
    return f.whole("head_size"), 1, f.flag("head_bias"), 1


def _one_by_one(f: Fields, key: str) -> tuple[bool, int, int | None]:
    if key not in f.obj:
        return key == "layer1x1", 1, None
    s = f.sub(key)
    out = s.whole("out_channels") if key == "head1x1" and s.flag("active") else None
    return s.flag("active"), s.whole("groups"), out


def _check_supported(f: Fields) -> None:
    for key in f.obj:
        if key not in _KNOWN:
            unsupported(f.path(key), "is a key NeuralAmpModelerCore's WaveNet does not read here")


def _film_configs(f: Fields) -> dict[str, tuple[bool, int]]:
    """Active FiLM positions -> (shift, groups); absent, ``false`` or ``"active": false``: off."""
    out = {}
    for position, key in zip(FILM_POSITIONS, _FILMS, strict=True):
        if f.obj.get(key, False) in (False, None):
            continue
        s = f.sub(key)
        if s.flag("active", default=True):
            out[position] = (s.flag("shift", default=True), s.whole("groups", default=1))
    return out


def _films(cur: WeightCursor, configs: dict[str, tuple[bool, int]], dims: dict[str, int],
           cond: int, where: str) -> dict[str, FiLM]:
    """One layer's FiLMs, in the file's order; ``dims``: channels modulated per position."""
    films = {}
    for position, (shift, groups) in configs.items():
        rows = (2 if shift else 1) * dims[position]
        weight = cur.conv(rows, cond, 1, groups, f"{where} {position}_film")[:, :, 0]
        films[position] = FiLM(weight, cur.take(rows), shift)
    return films


def _check_slimmable(f: Fields, channels: int) -> None:
    """NAM Core's ``slice_channels_uniform``: allowed channel counts ascending, ending at
    ``channels`` (the full size, which is what runs until a host picks a smaller one)."""
    if not f.has("slimmable"):
        return
    s = f.sub("slimmable")
    if s.obj.get("method") != "slice_channels_uniform":
        unsupported(s.path("method"), f"is {s.obj.get('method')!r} (NAM Core slims only with "
                    "'slice_channels_uniform')")
    kwargs = s.obj.get("kwargs")
    if isinstance(kwargs, dict) and "allowed_channels" in kwargs:
        allowed = Fields(kwargs, s.path("kwargs")).int_list("allowed_channels")
        where = f"{s.path('kwargs')}.allowed_channels"
        if any(b <= a for a, b in pairwise(allowed)):
            fail(where, "must be sorted ascending without repeats")
        if allowed[-1] != channels:
            fail(where, f"must end at the array's channels ({channels}), not {allowed[-1]}")


def _layer_array(f: Fields, cur: WeightCursor, condition_width: int) -> LayerArray:
    _check_supported(f)
    channels = f.whole("channels")
    _check_slimmable(f, channels)
    bottleneck = f.whole("bottleneck", default=channels)
    input_size, condition_size = f.whole("input_size"), f.whole("condition_size")
    if condition_size != condition_width:
        source = "the condition DSP gives" if condition_width != 1 else \
            "without a condition DSP the condition is the input, of"
        fail(f.path("condition_size"), f"is {condition_size} but {source} {condition_width} "
             "channel(s)")
    dilations = f.int_list("dilations")
    n = len(dilations)
    if "kernel_size" in f.obj and "kernel_sizes" in f.obj:
        fail(f.where, "gives both kernel_size and kernel_sizes; keep one")
    if "kernel_sizes" in f.obj:
        kernels = f.int_list("kernel_sizes")
    else:
        kernels = [f.whole("kernel_size")] * n
    if len(kernels) != n:
        fail(f.path("kernel_sizes"), f"has {len(kernels)} entries but dilations has {n}")
    acts = [activation(a, f"{f.path('activation')}[{i}]" if isinstance(f.raw("activation"), list)
                       else f.path("activation"), bottleneck)
            for i, a in enumerate(_per_layer(f, "activation", n))]
    gates = _gating(f, n, bottleneck)
    film_configs = _film_configs(f)
    head_size, head_kernel, head_bias, head_dilation = _head(f)
    groups_in = f.whole("groups_input", default=1)
    groups_mix = f.whole("groups_input_mixin", default=1)
    l1_active, l1_groups, _ = _one_by_one(f, "layer1x1")
    h1_active, h1_groups, h1_out = _one_by_one(f, "head1x1")
    if not l1_active and bottleneck != channels:
        fail(f.where, f"layer1x1 is inactive, so bottleneck ({bottleneck}) must equal "
             f"channels ({channels})")
    for position, needs, active in (("layer1x1_post", "layer1x1", l1_active),
                                    ("head1x1_post", "head1x1", h1_active)):
        if position in film_configs and not active:
            fail(f.path(f"{position}_film"), f"cannot be active when {needs} is not "
                 "(NeuralAmpModelerCore refuses it)")
    rechannel = cur.conv(channels, input_size, 1, 1, f.path("input_size"))[:, :, 0]
    layers = []
    for i, (k, d, act, (gate, blended)) in enumerate(zip(kernels, dilations, acts, gates,
                                                         strict=True)):
        where = f"{f.where} layer {i}"
        z = 2 * bottleneck if gate is not None else bottleneck
        conv = cur.conv(z, channels, k, groups_in, where)
        conv_bias = cur.take(z)
        mixin = cur.conv(z, condition_size, 1, groups_mix, where)[:, :, 0]
        l1w = l1b = h1w = h1b = None
        if l1_active:
            l1w = cur.conv(channels, bottleneck, 1, l1_groups, where)[:, :, 0]
            l1b = cur.take(channels)
        if h1_active:
            assert h1_out is not None
            h1w, h1b = cur.conv(h1_out, bottleneck, 1, h1_groups, where)[:, :, 0], cur.take(h1_out)
        dims = {"conv_pre": channels, "conv_post": z, "input_mixin_pre": condition_size,
                "input_mixin_post": z, "activation_pre": z, "activation_post": bottleneck,
                "layer1x1_post": channels, "head1x1_post": h1_out or 0}
        films = _films(cur, film_configs, dims, condition_size, where)
        layers.append(WaveNetLayer(d, act, conv, conv_bias, mixin, gate, l1w, l1b, h1w, h1b,
                                   blended, films))
    head_in = h1_out if h1_out is not None else bottleneck
    head_w = cur.conv(head_size, head_in, head_kernel, 1, f.path("head"))
    head_b = cur.take(head_size) if head_bias else None
    return LayerArray(rechannel, tuple(layers), head_w, head_b, head_dilation)


def parse_wavenet(config: Any, weights: np.ndarray, where: str,
                  condition: WaveNetSpec | None = None, multi_output: bool = False) -> WaveNetSpec:
    """The WaveNet of ``config`` with ``weights``; ``where`` prefixes field paths.
    ``condition``: its parsed ``condition_dsp``; ``multi_output``: more than one output channel
    is allowed (a condition DSP's)."""
    f = Fields(config, where)
    if f.has("condition_dsp") and condition is None:
        unsupported(f.path("condition_dsp"), "uses a condition DSP")
    if f.whole("in_channels", default=1) != 1:
        unsupported(f.path("in_channels"), "is not 1 (multi-channel input)")
    f.number("head_scale")  # required by NAM Core's parser; the weights' last value replaces it
    raw_layers = f.raw("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        fail(f.path("layers"), "must be a non-empty list of layer arrays")
    cur = WeightCursor(weights, "weights")
    arrays: list[LayerArray] = []
    for i, obj in enumerate(raw_layers):
        width = 1 if condition is None else condition.out_size
        arr = _layer_array(Fields(obj, f"{f.path('layers')}[{i}]"), cur, width)
        if arrays:
            prev = arrays[-1]
            here = f"{f.path('layers')}[{i}]"
            if arr.input_size != prev.channels:
                fail(f"{here}.input_size", f"is {arr.input_size} but the array before it has "
                     f"{prev.channels} channels")
            if arr.channels != prev.head_size:  # NAM Core's WaveNet constructor refuses it
                fail(f"{here}.channels", f"is {arr.channels} but NeuralAmpModelerCore needs the "
                     f"head_size of the array before it ({prev.head_size})")
            if arr.layers[0].head_size != prev.head_size:
                fail(f"{here}.channels", f"the head input ({arr.layers[0].head_size}) must equal "
                     f"the head_size of the array before it ({prev.head_size})")
        arrays.append(arr)
    if arrays[0].input_size != 1:
        fail(f"{f.path('layers')}[0].input_size", f"is {arrays[0].input_size}; the input is 1")
    head = _post_head(f, cur, arrays[-1].head_size) if f.has("head") else None
    out_size = arrays[-1].head_size if head is None else head.out_size
    if out_size != 1 and not multi_output:
        where_out = f.path("head") if head else f"{f.path('layers')}[{len(arrays) - 1}]"
        unsupported(where_out, "has more than one output channel")
    head_scale = float(cur.take(1)[0])
    cur.finish()
    return WaveNetSpec(tuple(arrays), head_scale, condition, head)


def _post_head(f: Fields, cur: WeightCursor, in_size: int) -> PostHead:
    """The post-stack ``head`` (NAM Core's ``detail::Head``): ``kernel_sizes`` convs of
    ``channels`` channels (the last: ``out_channels``) with bias, each after ``activation``."""
    h = f.sub("head")
    if h.has("in_channels") and h.whole("in_channels") != in_size:
        fail(h.path("in_channels"), f"is {h.obj['in_channels']} but the last layer array's "
             f"head_size is {in_size}")
    channels, out = h.whole("channels"), h.whole("out_channels")
    kernels = h.int_list("kernel_sizes")
    raw = h.raw("activation")
    per_channel = isinstance(raw, dict) and "negative_slopes" in raw
    if per_channel and len(kernels) > 1 and channels != in_size:
        # NAM Core indexes the slopes by position % count in each conv's input: a channel's
        # slope only when every conv takes as many channels as there are slopes.
        unsupported(h.path("activation"), f"has per-channel slopes for {in_size} channels while "
                    f"the later convs take {channels}")
    act = activation(raw, h.path("activation"), in_size)
    convs = []
    cin = in_size
    for i, k in enumerate(kernels):
        cout = out if i + 1 == len(kernels) else channels
        convs.append((cur.conv(cout, cin, k, 1, f"{h.path('kernel_sizes')}[{i}]"), cur.take(cout)))
        cin = cout
    return PostHead(tuple(convs), act)
