"""A self-contained plugin C++ header for a WaveNet (:class:`~vashrink.model.wavenet.WaveNetSpec`).

The header needs only the C++17 standard library: the weights are embedded as ``constexpr``
arrays in torch layout, every size is a compile-time constant, and ``Model`` holds one ring
buffer per dilated layer (a power of two of ``(K - 1) d + 1`` rows of its input channels), so
``process`` allocates nothing and runs the maths of :mod:`vashrink.model.wavenet` sample by
sample. ``load`` validates the embedded weights (all finite) before the model plays; an unloaded
model outputs silence. ``prewarm`` runs the receptive field of silence through it after a reset
(as NAM's plugin does, and as training settled the head bias for). ``self_test`` streams the
snapshot's first samples from a reset state and compares them with the float64 reference.

Supported: any number of layer arrays, gated or not, with or without layer/head 1x1s, any head
kernel, NAM's activations (PReLU per channel included); not a condition DSP.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..model.wavenet import Activation, LayerArray, WaveNetLayer, WaveNetSpec
from ..model.wavenet_reference import wavenet_reference
from .cpp import _array, _literal, namespace_for
from .snapshot import Snapshot, write_export

__all__ = ["wavenet_cpp_header", "wavenet_snapshot", "wavenet_to_cpp"]

#: Samples of the snapshot beyond the receptive field (the self-test streams all of them).
_EXTRA_SAMPLES = 256


def _activation(act: Activation, slopes_name: str, dtype: str) -> str:
    """The activation of ``v`` (channel ``j``) as a C++ expression."""
    f = (lambda v: _literal(v, dtype))  # noqa: E731
    n = act.name
    one = f(1.0)
    if n == "Tanh":
        return "std::tanh(v)"
    if n == "Hardtanh":
        return f"(v < -{one} ? -{one} : (v > {one} ? {one} : v))"
    if n == "Fasttanh":
        return (f"(v * ({f(2.45550750702956)} + {f(2.45550750702956)} * std::fabs(v) + "
                f"({f(0.893229853513558)} + {f(0.821226666969744)} * std::fabs(v)) * v * v) / "
                f"({f(2.44506634652299)} + ({f(2.44506634652299)} + v * v) * "
                f"std::fabs(v + {f(0.814642734961073)} * v * std::fabs(v))))")
    if n == "ReLU":
        return f"(v > {f(0.0)} ? v : {f(0.0)})"
    if n in ("LeakyReLU", "PReLU"):
        slope = f"{slopes_name}[j]" if act.slopes is not None else f(act.negative_slope)
        return f"(v > {f(0.0)} ? v : {slope} * v)"
    if n == "Sigmoid":
        return f"({one} / ({one} + std::exp(-v)))"
    if n == "SiLU":
        return f"(v / ({one} + std::exp(-v)))"
    if n == "Hardswish":
        three, six, zero = f(3.0), f(6.0), f(0.0)
        return (f"(v * (v + {three} < {zero} ? {zero} : (v + {three} > {six} ? {six} : "
                f"v + {three})) / {six})")
    if n == "Softsign":
        return f"(v / ({one} + std::fabs(v)))"
    lo, hi, s_lo, s_hi = (f(p) for p in act.params)
    return (f"(v < {lo} ? (v - {lo}) * {s_lo} + {lo} : "
            f"(v > {hi} ? (v - {hi}) * {s_hi} + {hi} : v))")


def _ring_rows(span: int) -> int:
    rows = 1
    while rows < span + 1:
        rows *= 2
    return rows


def _layer_code(p: str, layer: WaveNetLayer, channels: int, dtype: str,
                arrays: list[str], members: list[str]) -> str:
    """Arrays, ring member and the statements of one dilated layer (prefix ``p``)."""
    z, c, k = layer.conv_weight.shape
    b = layer.bottleneck
    rows = _ring_rows((k - 1) * layer.dilation)
    arrays += [_array(f"{p}_conv_w", layer.conv_weight, dtype),
               _array(f"{p}_conv_b", layer.conv_bias, dtype),
               _array(f"{p}_mixin", layer.mixin_weight, dtype)]
    for act in (layer.activation, layer.gate_activation):
        if act is not None and act.slopes is not None:
            arrays.append(_array(f"{p}_slopes", np.asarray(act.slopes), dtype))
    members.append(f"{dtype} {p}_ring[{rows}][{c}] = {{}};")
    act = _activation(layer.activation, f"{p}_slopes", dtype)
    body = [f"conv<{z}, {c}, {k}, {layer.dilation}, {rows}>({p}_ring, t, h, {p}_conv_w, "
            f"{p}_conv_b, {p}_mixin, x, z);",
            f"{dtype} a[{b}];"]
    if layer.gate_activation is None:
        body.append(f"for (int j = 0; j < {b}; ++j) {{ const {dtype} v = z[j]; a[j] = {act}; }}")
    else:
        gate = _activation(layer.gate_activation, f"{p}_slopes", dtype)
        body.append(f"for (int j = 0; j < {b}; ++j) {{ {dtype} v = z[j]; const {dtype} g = {act}; "
                    f"v = z[{b} + j]; a[j] = g * {gate}; }}")
    if layer.head1x1_weight is None:
        body.append(f"for (int j = 0; j < {b}; ++j) head[j] += a[j];")
    else:
        arrays += [_array(f"{p}_h1_w", layer.head1x1_weight, dtype),
                   _array(f"{p}_h1_b", layer.head1x1_bias, dtype)]
        body.append(f"affine<{layer.head_size}, {b}, true>({p}_h1_w, {p}_h1_b, a, head);")
    if layer.layer1x1_weight is not None:
        arrays += [_array(f"{p}_l1_w", layer.layer1x1_weight, dtype),
                   _array(f"{p}_l1_b", layer.layer1x1_bias, dtype)]
        body.append(f"affine<{channels}, {b}, true>({p}_l1_w, {p}_l1_b, a, h);")
    return "        {\n            " + "\n            ".join(body) + "\n        }\n"


def _array_code(i: int, arr: LayerArray, last: bool, dtype: str,
                arrays: list[str], members: list[str]) -> str:
    c, h_size, hk = arr.channels, arr.layers[0].head_size, int(arr.head_weight.shape[2])
    first = i == 0
    src = "in" if first else f"h{i - 1}"
    arrays.append(_array(f"a{i}_rechannel", arr.rechannel, dtype))
    code = [f"        // layer array {i}: {c} channels, {len(arr.layers)} layers",
            f"        {dtype} h[{c}] = {{}};",
            f"        affine<{c}, {arr.input_size}, false>(a{i}_rechannel, nullptr, {src}, h);"]
    code.append(f"        {dtype} head[{h_size}] = {{}};" if first else
                f"        {dtype} head[{h_size}];\n        "
                f"for (int j = 0; j < {h_size}; ++j) head[j] = out{i - 1}[j];")
    z_max = max(int(layer.conv_weight.shape[0]) for layer in arr.layers)
    code.append(f"        {dtype} z[{z_max}];")
    for j, layer in enumerate(arr.layers):
        code.append(_layer_code(f"a{i}_l{j}", layer, c, dtype, arrays, members).rstrip("\n"))
    arrays.append(_array(f"a{i}_head_w", arr.head_weight, dtype))
    bias = "nullptr"
    if arr.head_bias is not None:
        arrays.append(_array(f"a{i}_head_b", arr.head_bias, dtype))
        bias = f"a{i}_head_b"
    rows = _ring_rows((hk - 1) * arr.head_dilation)
    members.append(f"{dtype} a{i}_head_ring[{rows}][{h_size}] = {{}};")
    code.append(f"        conv<{arr.head_size}, {h_size}, {hk}, {arr.head_dilation}, {rows}>("
                f"a{i}_head_ring, t, head, a{i}_head_w, {bias}, nullptr, x, out{i});")
    decl = f"        {dtype} out{i}[{arr.head_size}];\n"
    if not last:
        code.append(f"        for (int j = 0; j < {c}; ++j) h{i}[j] = h[j];")
        decl += f"        {dtype} h{i}[{c}];\n"
    return decl + "        {\n" + "\n".join(code) + "\n        }\n"


def _check(spec: WaveNetSpec, dtype: str) -> None:
    if dtype not in ("float", "double"):
        msg = f"dtype must be 'float' or 'double', got {dtype!r}"
        raise InputError(msg)
    if spec.condition is not None:
        msg = ("the C++ header runs WaveNets without a condition DSP; this model has one "
               "(export it as .nam for NAM's plugin)")
        raise InputError(msg)
    if spec.out_size != 1 or spec.arrays[0].input_size != 1:
        msg = (f"the C++ header runs 1-in/1-out WaveNets; this one has {spec.arrays[0].input_size} "
               f"input(s) and {spec.out_size} outputs")
        raise InputError(msg)
    for a, b in zip(spec.arrays, spec.arrays[1:], strict=False):
        if b.input_size != a.channels or b.layers[0].head_size != a.head_size:
            msg = "a layer array's input or head size does not match the previous array's"
            raise InputError(msg)


def wavenet_snapshot(spec: WaveNetSpec, *, seed: int = 0) -> Snapshot:
    """Test inputs (a seeded sweep of levels: noise and a tone, ``receptive_field + 256``
    samples) and the float64 reference's outputs from a zero history (a reset model)."""
    n = spec.receptive_field + _EXTRA_SAMPLES
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.linspace(0.05, 0.9, n) * (0.6 * np.sin(2 * np.pi * 220.0 * t / 48_000)
                                       + 0.4 * rng.uniform(-1.0, 1.0, n))
    y = wavenet_reference(spec, x)
    return Snapshot(x.reshape(-1, 1), np.asarray(y).reshape(-1, 1), recurrent=True,
                    atol=1e-4, rtol=1e-3)


def wavenet_cpp_header(spec: WaveNetSpec, *, dtype: str = "float",
                       namespace: str = "vashrink_model",
                       snapshot: Snapshot | None = None) -> str:
    """The header text; see :func:`wavenet_to_cpp`."""
    _check(spec, dtype)
    snap = snapshot if snapshot is not None else wavenet_snapshot(spec)
    arrays: list[str] = []
    members: list[str] = []
    body = "".join(_array_code(i, arr, i == len(spec.arrays) - 1, dtype, arrays, members)
                   for i, arr in enumerate(spec.arrays))
    last = len(spec.arrays) - 1
    names = [a.split(" = ")[0].rsplit(" ", 1)[-1].split("[")[0] for a in arrays]
    checks = "\n        && ".join(f"finite({n}, sizeof({n}) / sizeof({n}[0]))" for n in names)
    shape = ", ".join(f"{a.channels} channels x {len(a.layers)} layers (dilations "
                      f"{', '.join(str(layer.dilation) for layer in a.layers)})"
                      for a in spec.arrays)
    n_test = snap.inputs.shape[0]
    rings = [m.split(" ")[1].split("[")[0] for m in members]
    resets = "\n".join(f"        for (auto& row : {r}) for (auto& v : row) v = 0;" for r in rings)
    return f"""// Generated by vashrink (WaveNet, self-contained); do not edit.
// Model: WaveNet, {shape}; receptive field {spec.receptive_field} samples.
#pragma once

#include <cmath>
#include <cstddef>

namespace {namespace}
{{
using sample_t = {dtype};
inline constexpr int receptive_field = {spec.receptive_field};
inline constexpr {dtype} head_scale = {_literal(spec.head_scale, dtype)};

// Weights in torch layout, row-major: convs [out][in][kernel], 1x1s [out][in].
{"".join(arrays)}
namespace detail
{{
/** out[o] (+)= bias[o] + sum_i w[o][i] in[i]. */
template <int Out, int In, bool Accumulate>
inline void affine(const {dtype}* w, const {dtype}* bias, const {dtype}* in, {dtype}* out) noexcept
{{
    for (int o = 0; o < Out; ++o)
    {{
        {dtype} s = bias != nullptr ? bias[o] : {dtype}(0);
        for (int i = 0; i < In; ++i)
            s += w[o * In + i] * in[i];
        out[o] = Accumulate ? out[o] + s : s;
    }}
}}

/** Stores ``in`` at step ``t`` of ``ring``, then the dilated causal conv
    z[o] = bias[o] + mixin[o] x + sum_k sum_i w[o][i][k] ring[t - (K - 1 - k) D][i]. */
template <int Out, int In, int K, int D, int Rows>
inline void conv({dtype} (&ring)[Rows][In], std::size_t t, const {dtype}* in, const {dtype}* w,
                 const {dtype}* bias, const {dtype}* mixin, {dtype} x, {dtype}* z) noexcept
{{
    static_assert((Rows & (Rows - 1)) == 0 && Rows > (K - 1) * D, "ring too short");
    for (int i = 0; i < In; ++i)
        ring[t & (Rows - 1)][i] = in[i];
    for (int o = 0; o < Out; ++o)
        z[o] = (bias != nullptr ? bias[o] : {dtype}(0))
               + (mixin != nullptr ? mixin[o] * x : {dtype}(0));
    for (int k = 0; k < K; ++k)
    {{
        const {dtype}* past = ring[(t - static_cast<std::size_t>((K - 1 - k) * D)) & (Rows - 1)];
        for (int o = 0; o < Out; ++o)
        {{
            {dtype} s = 0;
            for (int i = 0; i < In; ++i)
                s += w[(o * In + i) * K + k] * past[i];
            z[o] += s;
        }}
    }}
}}

inline bool finite(const {dtype}* v, std::size_t n) noexcept
{{
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i]))
            return false;
    return true;
}}
}} // namespace detail

/** The WaveNet, streamed one sample at a time. Construct once (e.g. a plugin member; it holds
    its history, no allocation after construction), load(), prewarm(), then process(). */
struct Model
{{
    /** Zeroes the history (as a freshly constructed model). */
    void reset() noexcept
    {{
        t = 0;
{resets}
    }}

    /** The output for input ``x`` (silence until load() succeeded). */
    {dtype} process({dtype} x) noexcept
    {{
        using namespace detail;
        if (!ready)
            return {dtype}(0);
        const {dtype} in[1] = {{x}};
{body}        ++t;
        return head_scale * out{last}[0];
    }}

    /** ``n`` samples from ``input`` to ``output`` (may be the same buffer). */
    void process(const {dtype}* input, {dtype}* output, int n) noexcept
    {{
        for (int i = 0; i < n; ++i)
            output[i] = process(input[i]);
    }}

    bool ready = false;
    std::size_t t = 0;
    {chr(10).join("    " + m for m in members).strip()}
}};

/** Validates the embedded weights (every one finite) and readies ``model``; false (and the
    model stays silent) if any is not. Call off the audio thread, then prewarm(). */
inline bool load(Model& model) noexcept
{{
    using detail::finite;
    model.ready = {checks};
    model.reset();
    return model.ready;
}}

/** Resets ``model`` and runs receptive_field samples of silence through it (what NAM's plugin
    does, and what training set silence -> silence for): call after load() and on every reset. */
inline void prewarm(Model& model) noexcept
{{
    model.reset();
    for (int i = 0; i < receptive_field; ++i)
        (void)model.process({dtype}(0));
}}

inline constexpr int test_samples = {n_test};
{_array("test_inputs", snap.inputs, dtype)}{_array("test_outputs", snap.outputs, dtype)}
/** Streams test_inputs from a reset state and compares with the float64 reference's outputs
    within atol + rtol * |expected|; resets the model again. Not for the audio thread. */
inline bool self_test(Model& model, double atol = {snap.atol!r},
                      double rtol = {snap.rtol!r}) noexcept
{{
    model.reset();
    bool ok = model.ready;
    for (int i = 0; i < test_samples; ++i)
    {{
        const double expected = test_outputs[i];
        const double err = static_cast<double>(model.process(test_inputs[i])) - expected;
        const double tol = atol + rtol * (expected < 0 ? -expected : expected);
        if (!(err <= tol && -err <= tol))
            ok = false;
    }}
    model.reset();
    return ok;
}}
}} // namespace {namespace}
"""


def wavenet_to_cpp(spec: WaveNetSpec, path: str | Path, *, dtype: str = "float",
                   namespace: str | None = None, snapshot: bool = True) -> Path:
    """Write a self-contained C++ header for the WaveNet ``spec`` (and
    ``<name>.snapshot.json`` unless ``snapshot=False``).

    Args:
        dtype: ``"float"`` or ``"double"`` (the sample and weight type).
        namespace: C++ namespace of the generated names (default: from the file name).

    Raises:
        InputError: a condition DSP, more than one input or output, or a bad ``dtype``.
    """
    p = Path(path)
    snap = wavenet_snapshot(spec)
    text = wavenet_cpp_header(spec, dtype=dtype, namespace=namespace or namespace_for(p),
                              snapshot=snap)
    return write_export(p, text, snap if snapshot else None)
