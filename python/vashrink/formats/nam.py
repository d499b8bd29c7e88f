"""Read Neural Amp Modeler ``.nam`` files (the JSON NeuralAmpModelerCore loads, versions
0.5.0 to 0.7.x) into vashrink's model types.

A file is ``{"version", "architecture", "config", "weights", "sample_rate"?, "metadata"?}``.
Each architecture registers its parser in :data:`ARCHITECTURES` (as NAM Core's
``NAM/registry.h`` does): ``WaveNet`` -> :class:`~vashrink.model.wavenet.WaveNetSpec`, ``LSTM``
-> a :class:`~vashrink.model.spec.ModelSpec` (the engine's LSTM stack and a dense head: NAM's
LSTM is torch's, its ``[W_ih | W_hh]`` split in two), ``Linear`` (read and checked; not run) and
``SlimmableContainer`` (its submodels, each a full ``.nam`` document; the last one, the full-size
model NAM Core plays by default, is what runs).

NAM's LSTM also stores a learned initial state (h0, c0); vashrink's engine starts from zero, and
the pre-warm (0.5 s of silence, NAM Core's) brings both to the same state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError, UnsupportedModelError
from ..model.file import ModelFile
from ..model.layers import DenseLayer, LstmLayer
from ..model.spec import ModelSpec
from ..model.wavenet import WaveNetSpec
from .nam_fields import Fields, WeightCursor, fail, read_weights, unsupported
from .nam_wavenet import parse_wavenet

__all__ = ["ARCHITECTURES", "EARLIEST_VERSION", "LATEST_VERSION", "NamFile", "NamLinear",
           "nam_model_file", "read_nam", "read_nam_document"]

EARLIEST_VERSION = (0, 5, 0)
#: Newest version fully supported; a later patch (0.7.x) is read, as NAM Core does.
LATEST_VERSION = (0, 7, 0)
#: Metadata shown by ``check`` (NAM's trainer writes these).
SHOWN_METADATA = ("name", "modeled_by", "gear_type", "gear_make", "gear_model", "tone_type",
                  "loudness", "gain", "input_level_dbu", "output_level_dbu")


@dataclass(frozen=True)
class NamLinear:
    """NAM's ``Linear``: an FIR filter, ``y[t] = b + sum_j w[j] x[t - j]`` (read, not run)."""

    weights: np.ndarray
    bias: float

    @property
    def receptive_field(self) -> int:
        return int(self.weights.size)

    @property
    def n_params(self) -> int:
        return int(self.weights.size) + 1


Model = WaveNetSpec | ModelSpec | NamLinear


@dataclass(frozen=True)
class NamFile:
    """One ``.nam`` document. ``model`` is what runs; a container keeps every submodel in
    ``submodels`` as (max_value, NamFile) and runs the last (full-size) one."""

    version: str
    architecture: str
    model: Model
    sample_rate_hz: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    submodels: tuple[tuple[float, NamFile], ...] = ()
    stored_weights: int | None = None

    @property
    def prewarm_samples(self) -> int:
        """Silence NAM Core plays through the model on reset (``DSP::GetPrewarmSamples``):
        a WaveNet's receptive field, half a second for an LSTM, none for Linear."""
        if isinstance(self.model, WaveNetSpec):
            return self.model.prewarm_samples
        if isinstance(self.model, ModelSpec):
            rate = self.sample_rate_hz or -1.0
            return max(int(0.5 * rate), 1)
        return 0

    @property
    def n_params(self) -> int:
        """Weights the file stores for the model that runs (a condition DSP's included; grouped
        convolutions counted as stored, not as the dense form the engine runs)."""
        if self.stored_weights is not None:
            return self.stored_weights
        if isinstance(self.model, ModelSpec):
            n = sum(r.weight_ih.size + r.weight_hh.size + r.bias.size + 2 * r.hidden_size
                    for r in self.model.rnn if isinstance(r, LstmLayer))
            return int(n + sum(d.weight.size + d.bias.size for d in self.model.dense))
        return self.model.n_params

    def describe(self) -> str:
        m = self.model
        if isinstance(m, WaveNetSpec):
            what = m.describe()
        elif isinstance(m, ModelSpec):
            sizes = "x".join(str(r.hidden_size) for r in m.rnn)
            what = (f"LSTM {len(m.rnn)} layer{'s' * (len(m.rnn) > 1)} of {sizes} -> dense 1, "
                    f"{m.macs_per_sample:,} MACs/sample")
        else:
            what = f"Linear, {m.receptive_field} taps"
        if self.submodels:
            what = (f"SlimmableContainer of {len(self.submodels)} models; runs the last "
                    f"(max_value {self.submodels[-1][0]:g}): {what}")
        return what


def _version(value: Any, where: str) -> tuple[int, int, int]:
    if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d+\.\d+", value):
        fail(where, f"must be a version such as \"0.5.4\", got {value!r}")
    v = tuple(int(p) for p in value.split("."))
    ver = (v[0], v[1], v[2])
    newest = ".".join(map(str, LATEST_VERSION[:2])) + ".x"
    if ver < EARLIEST_VERSION:
        fail(where, f"{value} is older than the oldest supported .nam version "
             f"{'.'.join(map(str, EARLIEST_VERSION))}; re-export it with a current NAM trainer")
    if ver[:2] > LATEST_VERSION[:2]:
        fail(where, f"{value} is newer than vashrink supports ({newest}); update vashrink or "
             "export with an older NAM trainer")
    return ver


def _sample_rate(doc: Fields) -> float | None:
    if not doc.has("sample_rate"):
        return None
    rate = doc.number("sample_rate")
    if rate <= 0:
        fail(doc.path("sample_rate"), f"must be positive, got {rate:g}")
    return rate


def _lstm(config: Any, weights: np.ndarray, where: str) -> ModelSpec:
    """NAM's LSTM: per layer ``[W_ih | W_hh]`` row-major ``[4H][I + H]``, bias ``[4H]``, h0, c0;
    then the head ``[1][H]`` and its bias (``NAM/lstm.cpp``)."""
    f = Fields(config, where)
    n_layers = f.whole("num_layers", minimum=0)
    if n_layers == 0:
        unsupported(f.path("num_layers"), "is 0 (a pass-through)")
    inp, hidden = f.whole("input_size"), f.whole("hidden_size")
    for key in ("in_channels", "out_channels"):
        if f.whole(key, default=1) != 1:
            unsupported(f.path(key), "is not 1 (multi-channel)")
    if inp != 1:
        fail(f.path("input_size"), f"is {inp} but the model has 1 input channel")
    cur = WeightCursor(weights, "weights")
    stack = []
    for k in range(n_layers):
        i = inp if k == 0 else hidden
        w, b = cur.take(4 * hidden, i + hidden), cur.take(4 * hidden)
        cur.take(2 * hidden)  # h0, c0: the pre-warm replaces them (module docstring)
        stack.append(LstmLayer(w[:, :i], w[:, i:], b))
    head = DenseLayer(cur.take(1, hidden), cur.take(1), "none")
    cur.finish()
    return ModelSpec(tuple(stack), (head,))


def _linear(config: Any, weights: np.ndarray, where: str) -> NamLinear:
    f = Fields(config, where)
    rf, bias = f.whole("receptive_field"), f.flag("bias")
    cur = WeightCursor(weights, "weights")
    w = cur.take(rf)
    b = float(cur.take(1)[0]) if bias else 0.0
    cur.finish()
    return NamLinear(w, b)


Parser = Callable[[Any, np.ndarray, str], Model]
#: Architecture name -> parser of (config, weights, field path prefix).
ARCHITECTURES: dict[str, Parser] = {"WaveNet": parse_wavenet, "LSTM": _lstm, "Linear": _linear}


def _container(doc: Fields, where: str) -> NamFile:
    config = doc.sub("config")
    subs = config.raw("submodels")
    if not isinstance(subs, list) or not subs:
        fail(config.path("submodels"), "must be a non-empty list")
    out: list[tuple[float, NamFile]] = []
    for i, entry in enumerate(subs):
        e = Fields(entry, f"{config.path('submodels')}[{i}]")
        max_value = e.number("max_value")
        if out and max_value <= out[-1][0]:
            fail(e.path("max_value"), "submodels must be sorted by ascending max_value")
        out.append((max_value, read_nam_document(e.raw("model"), e.path("model"))))
    if out[-1][0] < 1.0:
        fail(f"{config.path('submodels')}[{len(out) - 1}].max_value", "the last must be >= 1")
    rate = _sample_rate(doc)
    for i, (_, sub) in enumerate(out):
        if sub.sample_rate_hz is not None and rate is not None and sub.sample_rate_hz != rate:
            fail(f"{config.path('submodels')}[{i}].model.sample_rate",
                 f"is {sub.sample_rate_hz:g} Hz but the container's is {rate:g} Hz; every "
                 "submodel must run at the container's sample rate")
    last = out[-1][1]
    return NamFile(doc.obj["version"], "SlimmableContainer", last.model, rate,
                   _metadata(doc) or last.metadata, tuple(out), last.stored_weights)


def _metadata(doc: Fields) -> dict[str, Any]:
    meta = doc.obj.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        fail(doc.path("metadata"), "must be a JSON object")
    return dict(meta or {})


def _wavenet(doc: Fields, weights: np.ndarray, multi_output: bool) -> tuple[WaveNetSpec, int]:
    """A WaveNet document's model, its condition DSP (a nested WaveNet document) included, and
    the weights both store."""
    config = Fields(doc.obj["config"], doc.path("config"))
    condition = None
    stored = weights.size
    if config.has("condition_dsp"):
        sub = _document(config.obj["condition_dsp"], config.path("condition_dsp"), True)
        if not isinstance(sub.model, WaveNetSpec):
            unsupported(f"{config.path('condition_dsp')}.architecture",
                        f"is a {sub.architecture} condition DSP (vashrink runs WaveNet ones)")
        rate = _sample_rate(doc)
        if sub.sample_rate_hz is not None and rate is not None and sub.sample_rate_hz != rate:
            fail(f"{config.path('condition_dsp')}.sample_rate",
                 f"is {sub.sample_rate_hz:g} Hz but the model's is {rate:g} Hz; the condition "
                 "DSP must run at the model's sample rate")
        condition = sub.model
        stored += sub.n_params
    spec = parse_wavenet(doc.obj["config"], weights, doc.path("config"), condition, multi_output)
    return spec, int(stored)


def read_nam_document(obj: Any, where: str = "") -> NamFile:
    """A parsed ``.nam`` JSON document (``where``: its path inside an enclosing file).

    Raises:
        ModelFormatError: one line naming the field that is missing or wrong.
        UnsupportedModelError: a well-formed file using a feature vashrink does not run.
    """
    return _document(obj, where, False)


def _document(obj: Any, where: str, multi_output: bool) -> NamFile:
    doc = Fields(obj, where)
    for key in ("version", "architecture", "config"):
        doc.raw(key)
    _version(doc.obj["version"], doc.path("version"))
    arch = doc.obj["architecture"]
    if arch == "SlimmableContainer":
        return _container(doc, where)
    if arch not in ARCHITECTURES:
        known = ", ".join([*ARCHITECTURES, "SlimmableContainer"])
        if isinstance(arch, str) and arch in ("ConvNet", "CatLSTM", "CatWaveNet"):
            unsupported(doc.path("architecture"), f"is {arch}")
        fail(doc.path("architecture"), f"unknown architecture {arch!r}; .nam files use {known}")
    weights = read_weights(doc.raw("weights"), doc.path("weights"))
    stored = int(weights.size)
    if arch == "WaveNet":
        model, stored = _wavenet(doc, weights, multi_output)
    else:
        model = ARCHITECTURES[arch](doc.obj["config"], weights, doc.path("config"))
    return NamFile(doc.obj["version"], arch, model, _sample_rate(doc), _metadata(doc),
                   stored_weights=stored)


def read_nam(path: str | Path) -> NamFile:
    """Read and validate the ``.nam`` file at ``path``.

    Raises:
        ModelFormatError: unreadable, not JSON, truncated, a version outside 0.5.0-0.7.x, a
            missing or malformed field, a weight count that does not match the config, NaN or
            Inf weights, submodels at different sample rates. The message names the field.
        UnsupportedModelError: valid as far as vashrink can tell, but uses a feature it does
            not run (a non-WaveNet condition DSP, several channels, ConvNet, ...).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {p} ({type(exc).__name__}); give a .nam file"
        raise ModelFormatError(msg) from None
    try:
        obj = json.loads(text)
    except ValueError as exc:
        msg = f"{p} is not valid JSON ({exc}); the file is truncated or not a .nam file"
        raise ModelFormatError(msg) from None
    try:
        return read_nam_document(obj)
    except UnsupportedModelError as exc:
        msg = f"{p}: {exc}"
        raise UnsupportedModelError(msg) from None
    except ModelFormatError as exc:
        msg = f"{p}: {exc}"
        raise ModelFormatError(msg) from None


def nam_model_file(path: str | Path) -> ModelFile:
    """A ``.nam`` LSTM as a vashrink :class:`ModelFile` (what ``export`` converts); its
    metadata and sample rate go into the provenance.

    Raises:
        ModelFormatError: a WaveNet or Linear model (vashrink writes WaveNets only as
            ``.nam``; ``time`` and ``render`` run them), or any problem :func:`read_nam` finds.
    """
    nam = read_nam(path)
    if not isinstance(nam.model, ModelSpec):
        msg = (f"{path} holds a NAM {nam.architecture} ({nam.describe()}); only NAM LSTMs "
               "convert to RTNeural/ONNX/C++ (time and render run WaveNets)")
        raise ModelFormatError(msg)
    provenance = {"source": str(path), "source_kind": "nam", "nam_version": nam.version,
                  "sample_rate_hz": nam.sample_rate_hz, "nam_metadata": nam.metadata}
    return ModelFile(nam.model, provenance=provenance)
