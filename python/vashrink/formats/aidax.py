"""AIDA-X model files: RTNeural JSON plus the keys AIDA-X's plugin applies around the net.

AIDA-X (``AidaDSP/AIDA-X``, ``src/aidadsp-plugin.cpp``) reads ``in_skip`` (a number, 0 or 1;
above 1 it refuses the file), ``in_gain`` and ``out_gain`` (numbers in dB, converted with
``10^(dB/20)``, and -90 dB or less is silence) and per sample computes
``y = out_gain * (net(in_gain * x) + in_gain * x)`` (without the ``+`` term when ``in_skip`` is
0). Keys that are not numbers are ignored there (a boolean ``in_skip: true`` means no skip), so
they are errors here. Its trainer also writes ``metadata`` (name, samplerate, style, author, ...)
and ``input_batch``/``output_batch``: the first 2,048 test samples of the audio input (for a
conditioned model its other inputs are assumed 0) and the net's output for them, skip
included, gains not, from a zero state.

:func:`parse_aidax` turns these keys into findings and an :class:`AidaxFields`;
:func:`fold_gains` folds the gains into the weights (exact in real arithmetic) where that is
possible and refuses where it is not; :func:`batch_snapshot` makes the batch a snapshot.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelFormatError
from ..model.layers import DenseLayer
from ..model.spec import ModelSpec
from .reference import reference_forward
from .rtmodel import AidaxFields, Collector, Finding, RtLayer

if TYPE_CHECKING:
    from .rtmodel import RtModel
    from .snapshot import Snapshot

__all__ = [
    "AIDAX_HIDDEN_SIZES",
    "AIDAX_KEYS",
    "MAX_DB",
    "MUTE_DB",
    "aidax_provenance",
    "aidax_refusal",
    "batch_snapshot",
    "check_batch",
    "fold_gains",
    "parse_aidax",
]

#: The keys AIDA-X or its trainer add to an RTNeural file.
AIDAX_KEYS = ("in_skip", "in_gain", "out_gain", "metadata", "input_batch", "output_batch")
#: AIDA-X treats a gain at or below this many dB as silence (its ``DB_CO``).
MUTE_DB = -90.0
#: Larger gains are refused as not real (10^(200/20) = 1e10).
MAX_DB = 200.0
#: Recurrent sizes AIDA-X's compile-time model variants exist for (``model_variant.hpp``).
AIDAX_HIDDEN_SIZES = (8, 12, 16, 20, 24, 32, 40, 64, 80)
_MAX_BATCH = 1_000_000


def _number(value: Any) -> bool:
    """A finite JSON number (not a bool; an int too large for a float is not finite)."""
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is int and abs(value) < 1e300


def _skip(c: Collector, doc: dict[str, Any], n_in: int, n_out: int | None) -> bool:
    if "in_skip" not in doc:
        return False
    value = doc["in_skip"]
    if isinstance(value, bool) or not _number(value) or float(value) not in (0.0, 1.0):
        why = (
            "AIDA-X reads only a number here and would ignore it (no skip)"
            if not _number(value) or isinstance(value, bool)
            else "AIDA-X reads a whole number and refuses one above 1; the skip is 0 or 1"
        )
        c.error("aidax-in-skip", f"in_skip must be 0 or 1, got {value!r:.30}: {why}; write 1 or 0")
        return False
    skip = float(value) == 1.0
    if skip and n_out is not None and n_out != 1:
        c.error(
            "aidax-in-skip",
            f"in_skip adds the input to the output, but the model has {n_out} outputs; "
            "AIDA-X uses one output: remove in_skip or the extra outputs",
        )
        return False
    if skip and n_in != 1:
        c.warning(
            "aidax-skip-conditioned",
            f"in_skip on a model with {n_in} inputs (AIDA-X adds the first, the audio): "
            "vashrink imports an input skip only for one-input models",
        )
    return skip


def _gain(c: Collector, doc: dict[str, Any], key: str) -> float:
    if key not in doc:
        return 0.0
    value = doc[key]
    if isinstance(value, bool) or not _number(value):
        c.error(
            "aidax-gain",
            f"{key} must be a number in dB, got {value!r:.30}: AIDA-X would ignore it and play "
            "at 0 dB; write the gain in dB (e.g. -6.0)",
        )
        return 0.0
    if float(value) > MAX_DB:
        c.error(
            "aidax-gain",
            f"{key} is {value:.3g} dB, more than +{MAX_DB:g} dB: not a real gain (AIDA-X "
            "multiplies by 10^(dB/20)); write the gain in dB (e.g. -6.0)",
        )
        return 0.0
    if float(value) <= MUTE_DB:
        c.warning(
            "aidax-gain-mute",
            f"{key} is {value} dB: AIDA-X treats {MUTE_DB:g} dB and below as silence, so the "
            "model outputs nothing; set a real gain",
        )
    return float(value)


def _batch(c: Collector, doc: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    has_in, has_out = "input_batch" in doc, "output_batch" in doc
    if not has_in and not has_out:
        return None, None
    if has_in != has_out:
        missing = "output_batch" if has_in else "input_batch"
        c.warning("aidax-batch", f"{missing} is missing, so the reference batch cannot be run")
        return None, None
    arrays = []
    for key in ("input_batch", "output_batch"):
        value = doc[key]
        ok = isinstance(value, list) and 0 < len(value) <= _MAX_BATCH
        if not ok or not all(_number(v) and not isinstance(v, bool) for v in value):
            c.error(
                "aidax-batch",
                f"{key} must be a flat list of up to {_MAX_BATCH} finite numbers (one per "
                "sample), as AIDA-X's trainer writes it; re-export it or remove it",
            )
            return None, None
        arrays.append(np.array(value, dtype=np.float64))
    if arrays[0].size != arrays[1].size:
        c.error(
            "aidax-batch",
            f"input_batch has {arrays[0].size} samples but output_batch {arrays[1].size}; "
            "they must pair up sample by sample",
        )
        return None, None
    return arrays[0], arrays[1]


def _architecture(c: Collector, layers: tuple[RtLayer, ...], n_in: int) -> None:
    """AIDA-X runs only ``gru|lstm(h) -> dense(h, 1)`` with h in its variant list, 1-3 inputs.

    Its plugin picks a compile-time variant from layer 0's type and size and ``in_shape`` alone
    (``custom_model_creator``), so a stack of recurrent layers is loaded into a one-layer
    variant, whose parser skips the layers that do not fit: AIDA-X plays a wrong output.
    """
    kinds = [layer.kind for layer in layers]
    n_rnn = next((k for k, kind in enumerate(kinds) if kind not in ("gru", "lstm")), len(kinds))
    if n_rnn > 1:
        c.warning(
            "aidax-stacked",
            f"the file stacks {n_rnn} recurrent layers ({' -> '.join(kinds[:n_rnn])}), but "
            "AIDA-X's plugin runs one gru or lstm layer: it would refuse the file or load only "
            "layer 0 and play a wrong output; vashrink and RTNeural's run-time parser run it",
        )
        return
    first = layers[0] if layers else None
    fits = (
        kinds in (["gru", "dense"], ["lstm", "dense"])
        and first is not None
        and first.out_size in AIDAX_HIDDEN_SIZES
        and 1 <= n_in <= 3
        and layers[1].out_size == 1
        and layers[1].activation == ""
    )
    if not fits:
        sizes = ", ".join(map(str, AIDAX_HIDDEN_SIZES))
        c.warning(
            "aidax-architecture",
            "the file has AIDA-X keys but AIDA-X loads only one gru or lstm layer of "
            f"{sizes} units with 1 to 3 inputs followed by one linear dense layer to 1 "
            f"output; this one ({' -> '.join(kinds) or 'no layers'}) is refused or mis-loaded",
        )


def parse_aidax(
    c: Collector, doc: dict[str, Any], n_in: int, layers: tuple[RtLayer, ...]
) -> tuple[bool, AidaxFields | None]:
    """The file's input skip and AIDA-X fields (None when it has none), findings into ``c``."""
    n_out = layers[-1].out_size if layers else None
    broken = any(f.severity == "error" for f in c.findings)  # the layers are not all there
    skip = _skip(c, doc, n_in, n_out)
    if not any(key in doc for key in AIDAX_KEYS):
        return skip, None
    metadata = doc.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        c.warning("aidax-metadata", f"metadata should be an object, got {type(metadata).__name__}")
        metadata = None
    in_db, out_db = _gain(c, doc, "in_gain"), _gain(c, doc, "out_gain")
    inputs, outputs = _batch(c, doc)
    fields = AidaxFields(in_db, out_db, metadata, inputs, outputs)
    if broken or not layers:
        return skip, fields
    _architecture(c, layers, n_in)
    why = aidax_refusal(fields, skip, n_in, layers[-1].activation)
    if why:
        c.warning("aidax-not-importable", f"{why}; AIDA-X itself plays the file")
    return skip, fields


def _db(value: float) -> float:
    return float(10.0 ** (value / 20.0))


def aidax_refusal(fields: AidaxFields, skip: bool, n_in: int, last_activation: str) -> str:
    """Why vashrink cannot fold the file's skip and gains into a :class:`ModelSpec` ("" if it can).

    ``last_activation`` is the last layer's (``""`` or ``"none"`` for linear).
    """
    in_db, out_db = fields.in_gain_db, fields.out_gain_db
    if in_db <= MUTE_DB or out_db <= MUTE_DB:
        return "a gain of -90 dB or less silences the model; there is nothing to import"
    if in_db > MAX_DB or out_db > MAX_DB:
        return f"a gain above +{MAX_DB:g} dB is not a real gain; fix in_gain/out_gain"
    if skip and n_in != 1:
        return (
            f"vashrink's input skip needs a one-input model; this one has {n_in} inputs (a "
            "conditioned model): retrain it without in_skip to import it"
        )
    if skip and abs(in_db + out_db) > 1e-9:
        return (
            f"with in_skip, out_gain * in_gain scales the skipped input by {in_db + out_db:+.3g} "
            "dB, which no weight can hold (vashrink's skip adds the input unscaled); make "
            "in_gain + out_gain 0 dB or fold the gains into the audio path yourself"
        )
    if out_db != 0.0 and last_activation not in ("", "none", "relu", "prelu"):
        return (
            f"out_gain cannot be folded through the last layer's {last_activation} (only "
            "linear, relu and prelu commute with a positive gain); apply it in the plugin"
        )
    return ""


def _scale_input(spec: ModelSpec, gain: float) -> ModelSpec:
    """Multiply input 0 (the audio) by ``gain``: column 0 of the first kernel."""
    if spec.rnn:
        w = spec.rnn[0].weight_ih.copy()
        w[:, 0] *= gain
        return replace(spec, rnn=(replace(spec.rnn[0], weight_ih=w), *spec.rnn[1:]))
    first = spec.dense[0]
    w = first.weight.copy()
    w[:, 0] *= gain
    return replace(spec, dense=(replace(first, weight=w), *spec.dense[1:]))


def _scale_output(spec: ModelSpec, gain: float) -> ModelSpec:
    """Multiply the net's output by ``gain`` > 0: the last layer's kernel and bias."""
    last: DenseLayer = spec.dense[-1]
    scaled = replace(last, weight=last.weight * gain, bias=last.bias * gain)
    return replace(spec, dense=(*spec.dense[:-1], scaled))


def fold_gains(spec: ModelSpec, fields: AidaxFields, skip: bool) -> ModelSpec:
    """``spec`` (the file's layers) with AIDA-X's gains and skip folded in.

    ``y = g_out * (net(g_in * x) [+ g_in * x])`` becomes ``net'(x) [+ x]``: ``g_in`` scales
    column 0 of the first kernel, ``g_out`` the last layer's kernel and bias (it commutes with a
    linear, relu or prelu last layer); with the skip, ``g_out * g_in`` must be 1.

    Raises:
        ModelFormatError: the gains cannot be folded exactly (see :func:`aidax_refusal`).
    """
    n_in = spec.in_size
    why = aidax_refusal(fields, skip, n_in, spec.dense[-1].activation)
    if why:
        raise ModelFormatError(why)
    if fields.in_gain_db != 0.0:
        spec = _scale_input(spec, _db(fields.in_gain_db))
    if fields.out_gain_db != 0.0:
        spec = _scale_output(spec, _db(fields.out_gain_db))
    return replace(spec, skip=skip)


def batch_snapshot(fields: AidaxFields, in_size: int) -> Snapshot | None:
    """The trainer's ``input_batch``/``output_batch`` as a recurrent snapshot (None if absent).

    Inputs other than the audio (a conditioned model's parameters) are 0, as AIDA-X's trainer
    assumes; the outputs are the net's with its skip and without the gains.
    """
    from .snapshot import Snapshot

    if fields.input_batch is None or fields.output_batch is None:
        return None
    x = np.zeros((fields.input_batch.size, in_size))
    x[:, 0] = fields.input_batch
    y = fields.output_batch.reshape(-1, 1)
    scale = max(1.0, float(np.max(np.abs(y), initial=0.0)))
    return Snapshot(x, y, True, atol=1e-4 * scale, rtol=1e-4)


def aidax_provenance(model: RtModel) -> dict[str, Any]:
    """What a model file keeps of an AIDA-X file: its keys (not the batch) and what was folded."""
    fields = model.aidax or AidaxFields()
    return {
        "format": "aida-x",
        "aidax": {
            "in_skip": int(model.skip),
            "in_gain_db": fields.in_gain_db,
            "out_gain_db": fields.out_gain_db,
            "gains_folded_into_weights": fields.in_gain_db != 0.0 or fields.out_gain_db != 0.0,
            "has_reference_batch": fields.input_batch is not None,
        },
        "metadata": dict(fields.metadata or {}),
    }


def check_batch(model: RtModel) -> tuple[list[Finding], float | None]:
    """Run an AIDA-X file's own ``input_batch`` and compare with its ``output_batch``.

    Returns the findings (none when it matches or there is no batch) and the max error.
    """
    snap = batch_snapshot(model.aidax, model.in_size) if model.aidax is not None else None
    if snap is None or model.unverified:
        return [], None
    actual = reference_forward(model, snap.inputs)
    err = snap.max_abs_error(actual)
    if snap.matches(actual):
        return [], err
    if model.in_size > 1:  # the trainer saved only the audio input; the parameters are unknown
        message = (
            f"output_batch differs from the reference (max |error| {err:.3g}) with the "
            f"parameter inputs at 0, as AIDA-X's trainer assumes; the file cannot say which "
            "parameters made it"
        )
        return [Finding("warning", "aidax-batch-conditioned", message)], err
    message = (
        f"output_batch differs from the float64 reference run of input_batch (max |error| "
        f"{err:.3g}, tolerance {snap.atol:.2g}): a wrong in_skip, gates in torch order or a "
        "kernel in PyTorch layout are the usual causes; re-export the model"
    )
    return [Finding("error", "aidax-batch-mismatch", message)], err
