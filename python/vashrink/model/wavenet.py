"""A WaveNet (NAM's "A1"/"A2" architecture) as arrays, independent of any file format.

The maths, per layer array (NeuralAmpModelerCore ``NAM/wavenet``), for every time step t::

    h = R x[t]                                   rechannel (input_size -> channels, no bias)
    for each layer (kernel K, dilation d):
        z = b + sum_k W_k h[t - (K - 1 - k) d] + M c[t]      dilated causal conv + input mixin
        a = act(z)                      or, gated: act(z[:B]) * gate_act(z[B:])
                                        or, blended: g act(z[:B]) + (1 - g) z[:B],
                                                     g = gate_act(z[B:])
        head += a                       (or head += H1 a + h1b with a head 1x1)
        h = h + L a + lb                (the residual; h unchanged when there is no layer 1x1)
    out = sum_k P_k head[t - (Kh - 1 - k) dh] (+ pb)                   head rechannel

FiLM (feature-wise linear modulation, NAM Core's ``NAM/film.h``) may sit at eight positions
of a layer (:data:`FILM_POSITIONS`): ``x <- x * s + t`` per channel, where ``[s; t] = F c[t] + f``
is a 1x1 conv of the condition (``t`` absent without shift). ``conv_pre`` modulates the conv's
input (the residual still adds the unmodulated h), ``conv_post`` the conv's output (bias
included), ``input_mixin_pre`` the condition before the mixin, ``input_mixin_post`` the mixin's
output, ``activation_pre`` z, ``activation_post`` a (what the head and the layer 1x1 read),
``layer1x1_post`` the layer 1x1's output and ``head1x1_post`` the head 1x1's output. As in NAM
Core (checked at ``daae2d0``), ``layer1x1_post`` is applied only in a blended layer; elsewhere its
weights are read and unused (:meth:`WaveNetLayer.film`).

``c`` is the condition: the model input, or, when the model has a condition DSP (another
WaveNet run on the input, NAM Core's ``condition_dsp``), that model's scaled output channels.
``head`` starts at zero in the first array and at the
previous array's ``out`` in later ones, a later array's input is the previous array's final
``h``, and the model's output is ``head_scale * out`` of the last array. Weights are float64 in
torch layout: a conv ``[out][in][K]``, a 1x1 ``[out][in]`` (grouped convolutions expanded to
their block-diagonal dense form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelFormatError

__all__ = ["ACTIVATIONS", "FILM_POSITIONS", "Activation", "FiLM", "LayerArray", "PostHead",
           "WaveNetLayer", "WaveNetSpec"]

#: NAM Core's activation names (``NAM/activations.cpp``) that vashrink runs.
ACTIVATIONS = ("Tanh", "Hardtanh", "Fasttanh", "ReLU", "LeakyReLU", "PReLU", "Sigmoid", "SiLU",
               "Hardswish", "LeakyHardtanh", "Softsign")


@dataclass(frozen=True)
class Activation:
    """One of :data:`ACTIVATIONS` with its parameters.

    ``LeakyReLU``/``PReLU``: ``negative_slope`` (PReLU: or one slope per channel in ``slopes``);
    ``LeakyHardtanh``: ``min_val``, ``max_val``, ``min_slope``, ``max_slope``.
    """

    name: str
    negative_slope: float = 0.01
    slopes: tuple[float, ...] | None = None
    min_val: float = -1.0
    max_val: float = 1.0
    min_slope: float = 0.01
    max_slope: float = 0.01

    def __post_init__(self) -> None:
        if self.name not in ACTIVATIONS:
            msg = f"unknown activation {self.name!r}; NAM's are {', '.join(ACTIVATIONS)}"
            raise ModelFormatError(msg)

    @property
    def params(self) -> tuple[float, float, float, float]:
        """The four scalars the engine takes (slope first)."""
        if self.name == "LeakyHardtanh":
            return (self.min_val, self.max_val, self.min_slope, self.max_slope)
        return (self.negative_slope, 0.0, 0.0, 0.0)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """float64 reference of NAM Core's definition (channels on the last axis)."""
        y: np.ndarray = np.asarray(self._apply(np.asarray(x, dtype=np.float64)))
        return y

    def _apply(self, x: np.ndarray) -> object:
        n = self.name
        if n == "Tanh":
            return np.tanh(x)
        if n == "Fasttanh":
            ax, x2 = np.abs(x), x * x
            num = x * (2.45550750702956 + 2.45550750702956 * ax
                       + (0.893229853513558 + 0.821226666969744 * ax) * x2)
            return num / (2.44506634652299 + (2.44506634652299 + x2)
                          * np.abs(x + 0.814642734961073 * x * ax))
        if n == "Hardtanh":
            return np.clip(x, -1.0, 1.0)
        if n == "ReLU":
            return np.maximum(x, 0.0)
        if n in ("LeakyReLU", "PReLU"):
            slope = np.asarray(self.slopes if self.slopes is not None else self.negative_slope)
            return np.where(x > 0, x, slope * x)
        if n == "Sigmoid":
            return 1.0 / (1.0 + np.exp(-x))
        if n == "SiLU":
            return x / (1.0 + np.exp(-x))
        if n == "Hardswish":
            return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0
        if n == "Softsign":
            return x / (1.0 + np.abs(x))
        lo = (x - self.min_val) * self.min_slope + self.min_val
        hi = (x - self.max_val) * self.max_slope + self.max_val
        return np.where(x < self.min_val, lo, np.where(x > self.max_val, hi, x))


#: Where a layer may apply FiLM, in NAM Core's weight order (``conv_pre_film`` ... in the file).
FILM_POSITIONS = ("conv_pre", "conv_post", "input_mixin_pre", "input_mixin_post",
                  "activation_pre", "activation_post", "layer1x1_post", "head1x1_post")


@dataclass(frozen=True)
class FiLM:
    """``x * s + t`` with ``[s; t] = weight c + bias``: weight ``[D or 2 D][cond]`` (grouped
    convolutions expanded), bias likewise; ``shift`` False: scale only (``weight`` has D rows)."""

    weight: np.ndarray
    bias: np.ndarray
    shift: bool

    @property
    def dim(self) -> int:
        """Channels modulated."""
        rows = int(self.weight.shape[0])
        return rows // 2 if self.shift else rows

    def apply(self, x: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """float64: ``x`` ``[T][D]`` modulated by the condition ``[T][cond]``."""
        ss = cond @ self.weight.T + self.bias
        d = self.dim
        out: np.ndarray = x * ss[:, :d] + ss[:, d:] if self.shift else x * ss
        return out


@dataclass(frozen=True)
class PostHead:
    """NAM Core's post-stack head (``detail::Head``): after ``head_scale``, per conv
    ``x <- conv(act(x))`` (kernel ``K_i``, dilation 1, bias); ``convs`` are
    ``(weight [out][in][K], bias [out])``."""

    convs: tuple[tuple[np.ndarray, np.ndarray], ...]
    activation: Activation

    @property
    def in_size(self) -> int:
        return int(self.convs[0][0].shape[1])

    @property
    def out_size(self) -> int:
        return int(self.convs[-1][0].shape[0])

    @property
    def receptive_field(self) -> int:
        """Past samples the head adds: ``sum (K_i - 1)``."""
        return sum(int(w.shape[2]) - 1 for w, _ in self.convs)

    @property
    def n_params(self) -> int:
        return sum(int(w.size + b.size) for w, b in self.convs)


@dataclass(frozen=True)
class WaveNetLayer:
    """One dilated layer: conv ``[Z][C][K]`` + bias ``[Z]``, mixin ``[Z][cond]``, Z = B (2 B
    gated or blended); optional layer 1x1 ``[C][B]`` + ``[C]`` and head 1x1 ``[H][B]`` + ``[H]``.
    ``gate_activation`` set: gated, or blended when ``blended``; ``films``: position -> FiLM."""

    dilation: int
    activation: Activation
    conv_weight: np.ndarray
    conv_bias: np.ndarray
    mixin_weight: np.ndarray
    gate_activation: Activation | None = None
    layer1x1_weight: np.ndarray | None = None
    layer1x1_bias: np.ndarray | None = None
    head1x1_weight: np.ndarray | None = None
    head1x1_bias: np.ndarray | None = None
    blended: bool = False
    films: Mapping[str, FiLM] = field(default_factory=dict)

    def film(self, position: str) -> FiLM | None:
        """The FiLM applied at ``position``: NAM Core applies ``layer1x1_post`` only in a
        blended layer (``NAM/wavenet/model.cpp``, ``Layer::Process``)."""
        if position == "layer1x1_post" and not self.blended:
            return None
        return self.films.get(position)

    @property
    def film_params(self) -> int:
        return sum(int(f.weight.size + f.bias.size) for f in self.films.values())

    @property
    def kernel_size(self) -> int:
        return int(self.conv_weight.shape[2])

    @property
    def bottleneck(self) -> int:
        z = int(self.conv_weight.shape[0])
        return z // 2 if self.gate_activation is not None else z

    @property
    def head_size(self) -> int:
        """Channels this layer adds to the head accumulator."""
        return self.bottleneck if self.head1x1_weight is None else int(self.head1x1_weight.shape[0])

    @property
    def macs_per_sample(self) -> int:
        z, c, k = self.conv_weight.shape
        macs = z * c * k + self.mixin_weight.size
        for w in (self.layer1x1_weight, self.head1x1_weight):
            macs += 0 if w is None else w.size
        return int(macs + sum(f.weight.size for f in self.films.values()))


@dataclass(frozen=True)
class LayerArray:
    """Rechannel ``[C][input_size]``, the layers, head rechannel ``[head_size][H][Kh]`` (+ bias)."""

    rechannel: np.ndarray
    layers: tuple[WaveNetLayer, ...]
    head_weight: np.ndarray
    head_bias: np.ndarray | None
    head_dilation: int = 1

    @property
    def input_size(self) -> int:
        return int(self.rechannel.shape[1])

    @property
    def channels(self) -> int:
        return int(self.rechannel.shape[0])

    @property
    def head_size(self) -> int:
        return int(self.head_weight.shape[0])

    @property
    def receptive_field(self) -> int:
        """Past samples this array reads (NAM's ``LayerArray::get_receptive_field``)."""
        rf = sum(layer.dilation * (layer.kernel_size - 1) for layer in self.layers)
        return rf + self.head_dilation * (int(self.head_weight.shape[2]) - 1)

    @property
    def macs_per_sample(self) -> int:
        return int(self.rechannel.size + self.head_weight.size
                   + sum(layer.macs_per_sample for layer in self.layers))


@dataclass(frozen=True)
class WaveNetSpec:
    """A WaveNet: layer arrays in order and ``head_scale``; one input. ``condition``: a condition
    DSP whose output channels feed every layer's input mixin (NAM Core's ``condition_dsp``);
    such a WaveNet may have several output channels (its last array's ``head_size``)."""

    arrays: tuple[LayerArray, ...]
    head_scale: float
    condition: WaveNetSpec | None = None
    head: PostHead | None = None

    @property
    def in_size(self) -> int:
        return 1

    @property
    def out_size(self) -> int:
        return self.arrays[-1].head_size if self.head is None else self.head.out_size

    @property
    def is_recurrent(self) -> bool:
        return False

    @property
    def receptive_field(self) -> int:
        """Samples of history the output depends on, this one included."""
        first = 1 if self.condition is None else self.condition.receptive_field
        head = 0 if self.head is None else self.head.receptive_field
        return first + head + sum(a.receptive_field for a in self.arrays)

    @property
    def prewarm_samples(self) -> int:
        """Silence NAM Core runs through a fresh WaveNet before audio (``mPrewarmSamples``:
        the condition DSP's, or 1, plus every array's and the post-stack head's receptive field)."""
        return self.receptive_field

    @property
    def macs_per_sample(self) -> int:
        cond = 0 if self.condition is None else self.condition.macs_per_sample
        head = 0 if self.head is None else sum(int(w.size) for w, _ in self.head.convs)
        return cond + head + sum(a.macs_per_sample for a in self.arrays)

    @property
    def n_params(self) -> int:
        """Weights NAM stores for this model (head_scale included; a condition DSP's too)."""
        n = 1 if self.condition is None else 1 + self.condition.n_params
        n += 0 if self.head is None else self.head.n_params
        for arr in self.arrays:
            n += arr.rechannel.size + arr.head_weight.size
            n += 0 if arr.head_bias is None else arr.head_bias.size
            for layer in arr.layers:
                n += layer.film_params
                for a in (layer.conv_weight, layer.conv_bias, layer.mixin_weight,
                          layer.layer1x1_weight, layer.layer1x1_bias, layer.head1x1_weight,
                          layer.head1x1_bias):
                    n += 0 if a is None else a.size
        return int(n)

    def describe(self) -> str:
        """``WaveNet 16/8 ch, 20 layers, receptive field 4093``: what ``time`` prints."""
        chans = "/".join(str(a.channels) for a in self.arrays)
        n = sum(len(a.layers) for a in self.arrays)
        cond = "" if self.condition is None else \
            f", condition DSP ({self.condition.out_size} channels)"
        films = sum(len(x.films) for a in self.arrays for x in a.layers)
        cond += f", {films} FiLMs" if films else ""
        cond += "" if self.head is None else f", post-stack head of {len(self.head.convs)} convs"
        return (f"WaveNet {chans} ch, {n} layers{cond}, receptive field {self.receptive_field}, "
                f"{self.macs_per_sample:,} MACs/sample")
