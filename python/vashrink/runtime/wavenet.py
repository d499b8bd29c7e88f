"""WaveNets (NAM's architecture) in the C++ engine, per sample or per block, float32.

:class:`WaveNet` loads a :class:`~vashrink.model.wavenet.WaveNetSpec` into
``cpp/include/vashrink/wavenet.h``. Its state (the dilated convolutions' history) carries from
one call to the next, so ``process_samples(a)`` then ``process_samples(b)`` equals
``process_samples(concat(a, b))``; :meth:`WaveNet.reset` returns to silence history. It is a
:class:`~vashrink.runtime.timing.Runner`.

Numerics (tests/runtime/test_wavenet_engine.py): against the float64 reference
(:func:`vashrink.model.wavenet_reference.wavenet_reference`), float32 within 1e-5 of the output
level on random weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..model.wavenet import (
    ACTIVATIONS,
    FILM_POSITIONS,
    Activation,
    PostHead,
    WaveNetLayer,
    WaveNetSpec,
)
from .checks import NativeRunner
from .native import engine

__all__ = ["WaveNet"]


def _act(prefix: str, a: Activation) -> dict[str, Any]:
    slopes = None if a.slopes is None else np.asarray(a.slopes, np.float32)
    return {f"{prefix}_kind": ACTIVATIONS.index(a.name), f"{prefix}_params": list(a.params),
            f"{prefix}_slopes": slopes}


def _f32(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.ascontiguousarray(a, dtype=np.float32)


def _layer(layer: WaveNetLayer) -> dict[str, Any]:
    d: dict[str, Any] = {
        "kernel_size": layer.kernel_size, "dilation": layer.dilation,
        "gated": layer.gate_activation is not None,
        "conv_w": _f32(layer.conv_weight), "conv_b": _f32(layer.conv_bias),
        "mixin_w": _f32(layer.mixin_weight), "l1_w": _f32(layer.layer1x1_weight),
        "l1_b": _f32(layer.layer1x1_bias), **_act("act", layer.activation),
    }
    if layer.gate_activation is not None:
        d.update(_act("gate", layer.gate_activation), blended=layer.blended)
    for i, position in enumerate(FILM_POSITIONS):
        film = layer.film(position)  # what NAM Core applies (layer1x1_post: blended only)
        if film is not None:
            d.update({f"film_{i}_w": _f32(film.weight), f"film_{i}_b": _f32(film.bias),
                      f"film_{i}_shift": film.shift})
    if layer.head1x1_weight is not None:
        d.update(head1x1_out=int(layer.head1x1_weight.shape[0]), h1_w=_f32(layer.head1x1_weight),
                 h1_b=_f32(layer.head1x1_bias))
    return d


def _model(spec: WaveNetSpec) -> dict[str, Any]:
    """What the engine's ``load`` takes: the arrays, head_scale and the condition DSP's."""
    return {"arrays": _arrays(spec), "head_scale": float(np.float32(spec.head_scale)),
            "condition": None if spec.condition is None else _model(spec.condition),
            "head": None if spec.head is None else _post_head(spec.head)}


def _post_head(head: PostHead) -> dict[str, Any]:
    convs = [{"in": int(w.shape[1]), "out": int(w.shape[0]), "kernel": int(w.shape[2]),
              "w": _f32(w), "b": _f32(b)} for w, b in head.convs]
    return {"convs": convs, **_act("act", head.activation)}


def _arrays(spec: WaveNetSpec) -> list[dict[str, Any]]:
    out = []
    for arr in spec.arrays:
        values = [arr.rechannel, arr.head_weight, arr.head_bias]
        for layer in arr.layers:
            values += [layer.conv_weight, layer.conv_bias, layer.mixin_weight,
                       layer.layer1x1_weight, layer.layer1x1_bias, layer.head1x1_weight]
            values += [a for f in layer.films.values() for a in (f.weight, f.bias)]
        if not all(v is None or np.isfinite(np.asarray(v, np.float32)).all() for v in values):
            msg = "the WaveNet has NaN, Inf or float32-overflowing weights; repair the model"
            raise ModelFormatError(msg)
        out.append({
            "input_size": arr.input_size, "channels": arr.channels,
            "cond_size": int(arr.layers[0].mixin_weight.shape[1]),
            "bottleneck": arr.layers[0].bottleneck, "head_size": arr.head_size,
            "head_kernel": int(arr.head_weight.shape[2]), "head_dilation": arr.head_dilation,
            "rechannel": _f32(arr.rechannel), "head_w": _f32(arr.head_weight),
            "head_b": _f32(arr.head_bias), "layers": [_layer(x) for x in arr.layers],
        })
    return out


class WaveNet(NativeRunner):
    """A :class:`WaveNetSpec` loaded into the engine (float32). One input, one output.

    Shape:
        Inputs ``[n]``; outputs ``[n]``.
    """

    def __init__(self, spec: WaveNetSpec, dtype: str = "float32") -> None:
        if dtype != "float32":
            msg = f"the WaveNet engine runs float32 (NAM Core's precision), not {dtype}"
            raise ModelFormatError(msg)
        if not isinstance(spec, WaveNetSpec):
            msg = f"WaveNet takes a WaveNetSpec, got {type(spec).__name__}"
            raise ModelFormatError(msg)
        native = engine().WaveNetF32()
        m = _model(spec)
        error = native.load(m["arrays"], m["head_scale"], m["condition"], m["head"])
        if error:
            msg = f"the engine refused the WaveNet: {error}"
            raise ModelFormatError(msg)
        self._native = native
        self._np_dtype = np.float32
        self.dtype = dtype
        self.spec = spec

    @classmethod
    def from_spec(cls, spec: WaveNetSpec, dtype: str = "float32") -> WaveNet:
        """Load ``spec``.

        Raises:
            ModelFormatError: shapes that do not chain, non-finite weights, a dtype other than
                float32.
        """
        return cls(spec, dtype)

    @property
    def receptive_field(self) -> int:
        return int(self._native.receptive_field)

    def reset(self) -> None:
        """Zero the history (silence before the next sample)."""
        self._native.reset()

    def __repr__(self) -> str:
        return f"WaveNet({self.spec.describe()})"
