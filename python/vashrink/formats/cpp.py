"""Plugin C++ headers with the weights embedded: no model file to ship, sizes at compile time.

``runtime="vashrink"`` instantiates the engine's compile-time ``vashrink::ModelT`` (MLPs, and
GRU/LSTM models as one ``GruLayerT`` / ``LstmLayerT`` per recurrent layer + ``DenseT`` layers,
``SkipModelT`` with an input skip; ``docs/engine.md``) and embeds the weights in torch layout;
``runtime="rtneural"`` declares an ``RTNeural::ModelT`` alias (MLPs and GRU/LSTM stacks) and
embeds the RTNeural JSON, loaded by RTNeural's own parser (RTNeural has no input skip, so a skip
model's ``Model`` wraps the ``ModelT`` and adds the input to its output). Both headers also embed
the first rows of the snapshot and a ``self_test`` that runs them, so a plugin can prove at
start-up that it computes what torch did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..model.layers import DenseLayer, GruLayer
from ..model.spec import PREWARM_S, ModelSpec, prelu_slopes, spec_of
from ..runtime.compiled import RUNTIMES
from .rtneural_json import rtneural_document
from .snapshot import Snapshot, make_snapshot, write_export

if TYPE_CHECKING:
    from torch import nn

__all__ = ["RUNTIMES", "cpp_header", "namespace_for", "to_cpp"]

_SELF_TEST_ROWS = 16
_ENGINE_ACT = {
    "none": "none",
    "tanh": "tanh",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "elu": "elu",
    "softmax": "softmax",
    "prelu": "prelu",
}
_RT_ACT = {
    "tanh": "TanhActivationT",
    "relu": "ReLuActivationT",
    "sigmoid": "SigmoidActivationT",
    "elu": "ELuActivationT",
    "softmax": "SoftmaxActivationT",
    "prelu": "PReLUActivationT",
}


def namespace_for(path: str | Path) -> str:
    """A C++ identifier from a file name: ``amp-v2.h`` -> ``amp_v2``."""
    name = re.sub(r"\W", "_", Path(path).stem)
    if not name or name[0].isdigit():
        name = "model_" + name
    return name


def _literal(v: float, dtype: str) -> str:
    x = float(np.float32(v)) if dtype == "float" else float(v)
    text = f"{x:.9g}" if dtype == "float" else f"{x:.17g}"
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + ("f" if dtype == "float" else "")


def _array(name: str, values: np.ndarray, dtype: str) -> str:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    items = [_literal(v, dtype) for v in flat]
    rows = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
    body = ",\n    ".join(rows)
    return f"alignas(32) inline constexpr {dtype} {name}[{flat.size}] = {{\n    {body}}};\n"


def _self_test(snapshot: Snapshot, dtype: str, in_size: int, out_size: int, forward: str) -> str:
    n = min(_SELF_TEST_ROWS, snapshot.inputs.shape[0])
    return (
        f"inline constexpr int test_rows = {n};\n"
        + _array("test_inputs", snapshot.inputs[:n], dtype)
        + _array("test_outputs", snapshot.outputs[:n], dtype)
        + f"""
/** Runs the first snapshot rows (from a reset state) and compares with torch's float64
    outputs within atol + rtol * |expected|; resets the model again. Not for the audio thread. */
inline bool self_test(Model& model, double atol = {snapshot.atol!r},
                      double rtol = {snapshot.rtol!r}) noexcept
{{
    model.reset();
    bool ok = true;
    alignas(32) {dtype} input[{in_size}];
    for (int row = 0; row < test_rows; ++row)
    {{
        for (int i = 0; i < {in_size}; ++i)
            input[i] = test_inputs[row * {in_size} + i];
        const {dtype}* y = {forward};
        for (int o = 0; o < {out_size}; ++o)
        {{
            const double expected = test_outputs[row * {out_size} + o];
            const double err = static_cast<double>(y[o]) - expected;
            if (!(err <= atol + rtol * (expected < 0 ? -expected : expected)
                  && -err <= atol + rtol * (expected < 0 ? -expected : expected)))
                ok = false;
        }}
    }}
    model.reset();
    return ok;
}}
"""
    )


def _prewarm(spec: ModelSpec, dtype: str, forward: str) -> str:
    if not spec.is_recurrent:
        return ""
    return f"""
/** Seconds of silence to run after reset() before playing: training made the output silent
    for silence after this pre-warm (as NAM's plugin pre-warms its models). */
inline constexpr double prewarm_seconds = {PREWARM_S!r};

/** Resets ``model`` and runs it through prewarm_seconds of silence at ``sample_rate``: call it
    after load() and on every reset (prepareToPlay), not per audio block. */
inline void prewarm(Model& model, double sample_rate) noexcept
{{
    model.reset();
    alignas(32) {dtype} input[{spec.in_size}] = {{}};
    const long samples = static_cast<long>(prewarm_seconds * sample_rate + 0.5);
    for (long i = 0; i < samples; ++i)
        (void){forward};
}}
"""


def _recurrent_parts(spec: ModelSpec, dtype: str) -> tuple[list[str], list[str], list[str]]:
    """Per recurrent layer its type, weight arrays and load call: ``rnn_*`` arrays for one
    layer (the names plugins already use), ``rnn<k>_*`` in a stack."""
    types: list[str] = []
    arrays: list[str] = []
    loads: list[str] = []
    for k, r in enumerate(spec.rnn):
        p = "rnn" if len(spec.rnn) == 1 else f"rnn{k}"
        arrays += [
            _array(f"{p}_weight_ih", r.weight_ih, dtype),
            _array(f"{p}_weight_hh", r.weight_hh, dtype),
        ]
        if isinstance(r, GruLayer):
            arrays += [_array(f"{p}_bias_ih", r.bias_ih, dtype),
                       _array(f"{p}_bias_hh", r.bias_hh, dtype)]
            loads.append(
                f"model.layer<{k}>().load({p}_weight_ih, {p}_weight_hh, {p}_bias_ih, {p}_bias_hh)"
            )
        else:
            arrays.append(_array(f"{p}_bias", r.bias, dtype))
            loads.append(f"model.layer<{k}>().load({p}_weight_ih, {p}_weight_hh, {p}_bias)")
        cls = "GruLayerT" if isinstance(r, GruLayer) else "LstmLayerT"
        types.append(f"vashrink::{cls}<{dtype}, {r.in_size}, {r.hidden_size}>")
    return types, arrays, loads


def _engine_header(spec: ModelSpec, dtype: str, ns: str, snapshot: Snapshot) -> str:
    types = []
    arrays = []
    loads = []
    first = len(spec.rnn)
    if spec.is_recurrent:
        types, arrays, loads = _recurrent_parts(spec, dtype)
    types += [
        f"vashrink::DenseT<{dtype}, {d.in_size}, {d.out_size}, "
        f"vashrink::Activation::{_ENGINE_ACT[d.activation]}>"
        for d in spec.dense
    ]
    for j, d in enumerate(spec.dense):
        i = j + first
        arrays.append(_array(f"layer{i}_weight", d.weight, dtype))
        arrays.append(_array(f"layer{i}_bias", d.bias, dtype))
        slopes = ""
        if d.activation == "prelu":
            arrays.append(_array(f"layer{i}_slopes", prelu_slopes(d), dtype))
            slopes = f", layer{i}_slopes"
        loads.append(f"model.layer<{i}>().load(layer{i}_weight, layer{i}_bias{slopes})")
    load_body = "\n        && ".join(loads)
    forward = "model.forward(input)"
    type_list = ",\n    ".join(types)
    model_t = "vashrink::SkipModelT" if spec.skip else "vashrink::ModelT"
    note = ""
    layout = "Weights in torch layout [out][in], row-major."
    if len(spec.rnn) == 1:
        note = "\n    Stateful: reset() zeroes the GRU/LSTM state."
        layout = (
            "Weights in torch layout, row-major: rnn_* as nn.GRU/nn.LSTM's weight_ih_l0 "
            "[gates*H][in],\n// weight_hh_l0 [gates*H][H] and biases; dense layers [out][in]."
        )
    elif spec.rnn:
        note = "\n    Stateful: reset() zeroes every GRU/LSTM layer's state."
        layout = (
            "Weights in torch layout, row-major: rnn<k>_* as nn.GRU/nn.LSTM's weight_ih_l<k> "
            "[gates*H][in],\n// weight_hh_l<k> [gates*H][H] and biases; dense layers [out][in]."
        )
    if spec.skip:
        note += " The input is added to the output (y = net(x) + x)."
    return f"""#include <vashrink/model_t.h>

namespace {ns}
{{
/** The model's compile-time type: construct once (e.g. a plugin member), then load().{note} */
using Model = {model_t}<{dtype},
    {type_list}>;

inline constexpr int in_size = {spec.in_size};
inline constexpr int out_size = {spec.out_size};

// {layout}
{"".join(arrays)}
/** Copies the embedded weights into ``model``; false if the engine refused them. */
inline bool load(Model& model) noexcept
{{
    return {load_body};
}}
{_prewarm(spec, dtype, forward)}
{_self_test(snapshot, dtype, spec.in_size, spec.out_size, forward)}}} // namespace {ns}
"""


def _rtneural_types(spec: ModelSpec, dtype: str) -> list[str]:
    types: list[str] = []
    for r in spec.rnn:
        cls = "GRULayerT" if isinstance(r, GruLayer) else "LSTMLayerT"
        types.append(f"RTNeural::{cls}<{dtype}, {r.in_size}, {r.hidden_size}>")
    for d in spec.dense:
        types.append(f"RTNeural::DenseT<{dtype}, {d.in_size}, {d.out_size}>")
        if d.activation != "none":
            types.append(f"RTNeural::{_RT_ACT[d.activation]}<{dtype}, {d.out_size}>")
    return types


def _string_chunks(text: str) -> Iterable[str]:
    """Raw string literal pieces under MSVC's 16 KB limit per literal."""
    for i in range(0, len(text), 12000):
        yield f'R"vashrink_json({text[i : i + 12000]})vashrink_json"'


def _rtneural_skip_wrapper(dtype: str) -> str:
    return f"""/** RTNeural has no input skip: Model runs ModelT and adds the input to its output,
    y = net(x) + x (as the model was trained). */
struct Model
{{
    ModelT net;
    void reset() {{ net.reset(); }}
    {dtype} forward(const {dtype}* input) noexcept
    {{
        output[0] = net.forward(input) + input[0];
        return output[0];
    }}
    const {dtype}* getOutputs() const noexcept {{ return output; }}
    alignas(32) {dtype} output[1] = {{}};
}};"""


def _rtneural_header(spec: ModelSpec, dtype: str, ns: str, snapshot: Snapshot) -> str:
    types = ",\n    ".join(_rtneural_types(spec, dtype))
    text = json.dumps(rtneural_document(spec), allow_nan=False)
    chunks = "\n    ".join(_string_chunks(text))
    forward = "(model.forward(input), model.getOutputs())"
    model = _rtneural_skip_wrapper(dtype) if spec.skip else "using Model = ModelT;"
    loader = (
        "/** Loads the embedded weights with RTNeural's parser (allocates: call off the audio "
        """thread). */
inline void load(ModelT& model)
{
    model.parseJson(nlohmann::json::parse(model_json), false);
    model.reset();
}"""
        + (
            """

/** The same for the skip wrapper. */
inline void load(Model& model) { load(model.net); }"""
            if spec.skip
            else ""
        )
    )
    return f"""#include <RTNeural/RTNeural.h>

namespace {ns}
{{
/** RTNeural's compile-time model for this file (sizes must match the JSON, or RTNeural would
    silently leave weights at zero: they do, by construction, and self_test() proves it). */
using ModelT = RTNeural::ModelT<{dtype}, {spec.in_size}, {spec.out_size},
    {types}>;
{model}

inline constexpr int in_size = {spec.in_size};
inline constexpr int out_size = {spec.out_size};

/** The RTNeural JSON model, embedded (no file to ship). */
inline constexpr const char* model_json =
    {chunks};

{loader}
{_prewarm(spec, dtype, forward)}
{_self_test(snapshot, dtype, spec.in_size, spec.out_size, forward)}}} // namespace {ns}
"""


def cpp_header(
    model: nn.Module | ModelSpec,
    *,
    runtime: str = "vashrink",
    dtype: str = "float",
    namespace: str = "vashrink_model",
    snapshot: Snapshot | None = None,
) -> str:
    """The header text; see :func:`to_cpp`."""
    if runtime not in RUNTIMES:
        msg = f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}"
        raise InputError(msg)
    if dtype not in ("float", "double"):
        msg = f"dtype must be 'float' or 'double', got {dtype!r}"
        raise InputError(msg)
    if not re.fullmatch(r"[A-Za-z_]\w*", namespace):
        msg = (
            f"namespace {namespace!r} is not a C++ identifier; use letters, digits and _, "
            "not starting with a digit"
        )
        raise InputError(msg)
    spec = spec_of(model)
    snap = snapshot if snapshot is not None else make_snapshot(model)
    parts = [str(spec.in_size)]
    for r in spec.rnn:
        parts.append(f"{r.hidden_size} {r.cell}")
    layers = " -> ".join(parts + [_describe(d) for d in spec.dense])
    head = (
        f"// Generated by vashrink (runtime={runtime}); do not edit.\n// Model: "
        f"{layers}\n#pragma once\n\n"
    )
    body = _engine_header if runtime == "vashrink" else _rtneural_header
    return head + body(spec, dtype, namespace, snap)


def _describe(d: DenseLayer) -> str:
    return f"{d.out_size}" + ("" if d.activation == "none" else f" {d.activation}")


def to_cpp(
    model: nn.Module | ModelSpec,
    path: str | Path,
    *,
    runtime: str = "vashrink",
    dtype: str = "float",
    namespace: str | None = None,
    snapshot: bool = True,
) -> Path:
    """Write a C++ header for ``model`` (and ``<name>.snapshot.json`` unless ``snapshot=False``).

    Args:
        runtime: ``"vashrink"`` (our engine's ``vashrink::ModelT``; MLPs, GRU, LSTM, skip) or
            ``"rtneural"`` (an ``RTNeural::ModelT`` alias + ``load``; MLPs, GRU, LSTM, skip).
        dtype: ``"float"`` or ``"double"``.
        namespace: C++ namespace of the generated names (default: from the file name).
    """
    p = Path(path)
    snap = make_snapshot(model)
    text = cpp_header(
        model, runtime=runtime, dtype=dtype, namespace=namespace or namespace_for(p), snapshot=snap
    )
    return write_export(p, text, snap if snapshot else None)
