"""Engine speed against torch, TorchScript, onnxruntime and RTNeural on the talk's five shapes.

Two ways to run it:

- ``python -m pytest bench/bench_engine.py`` (pytest-benchmark groups, one per shape);
- ``python bench/bench_engine.py [--repeats 15]``: the table published in ``docs/engine.md``.
  Every runtime is measured in the same process, one thread each; our engine and RTNeural by
  their C++ timing loops over 48,000 samples (GIL released), the Python runtimes by timing
  calls on 512-sample blocks. Medians; compare by ratio within one run (the machine is shared).

Targets (``../shared/notes/numbers.md``): per sample at or below RTNeural's compile-time xsimd
model (6x44: 538 ns), block mode within 1.5x of the AVX2 FMA floor (6x44: ~200 ns at 3 GHz).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from vashrink.formats.runners import runner_for
from vashrink.model.architecture import Architecture
from vashrink.model.mlp import dense_layers
from vashrink.runtime import rtneural_backend as rtneural
from vashrink.runtime.engine import Mlp, random_model
from vashrink.runtime.timing import time_model, timing_buffer

SHAPES = ("6x44", "3x16", "2x8", "8x24", "4x64")
#: RTNeural compile-time xsimd, ns/sample, this CPU (numbers.md), for the "target" column.
RTNEURAL_CT_XSIMD_NS = {"6x44": 538.0, "3x16": 32.5, "2x8": 8.7, "8x24": 248.0, "4x64": 640.0}
BLOCK = 512
#: FMA floor: MACs / (16 float32 MACs per cycle) at 3 GHz.
FLOOR_GHZ = 3.0

torch.set_num_threads(1)


def model_of(shape: str) -> nn.Sequential:
    return random_model(Architecture.parse(shape, "tanh"), seed=0).eval()


def onnx_session(model: nn.Sequential) -> ort.InferenceSession:
    """The MLP as an ONNX graph (MatMul + Add + Tanh per layer), one intra-op thread."""
    nodes, inits = [], []
    prev = "x"
    layers = dense_layers(model)
    for k, layer in enumerate(layers):
        w = numpy_helper.from_array(layer.weight.T.astype(np.float32), f"w{k}")
        b = numpy_helper.from_array(layer.bias.astype(np.float32), f"b{k}")
        inits += [w, b]
        nodes.append(helper.make_node("MatMul", [prev, f"w{k}"], [f"m{k}"]))
        out = f"a{k}" if layer.activation == "tanh" else f"h{k}"
        nodes.append(helper.make_node("Add", [f"m{k}", f"b{k}"], [f"h{k}"]))
        if layer.activation == "tanh":
            nodes.append(helper.make_node("Tanh", [f"h{k}"], [out]))
        prev = out
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [None, 1])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def python_runners(model: nn.Sequential) -> dict[str, Callable[[], Any]]:
    """Callables that each process one 512-sample block (batch) in a Python runtime."""
    x32 = timing_buffer(BLOCK).reshape(-1, 1)
    xt = torch.from_numpy(x32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.freeze(torch.jit.trace(model, xt).eval())
    session = onnx_session(model)

    def eager() -> Any:
        with torch.inference_mode():
            return model(xt)

    def jit() -> Any:
        with torch.inference_mode():
            return traced(xt)

    return {
        "torch eager": eager,
        "torch.jit (frozen)": jit,
        "onnxruntime": lambda: session.run(None, {"x": x32}),
    }


def _median_ns_per_sample(fn: Callable[[], Any], samples: int, repeats: int) -> float:
    fn()
    per_call: list[float] = []
    for _ in range(repeats):
        n = 20
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        per_call.append((time.perf_counter() - t0) / n)
    return statistics.median(per_call) / samples * 1e9


def measure(shape: str, repeats: int) -> dict[str, float]:
    """ns/sample medians of every runtime for one shape."""
    model = model_of(shape)
    mlp = Mlp.from_torch(model)
    row: dict[str, float] = {}
    for t in time_model(mlp, block_sizes=(64, BLOCK), repeats=repeats):
        key = "vashrink sample" if t.mode == "sample" else f"vashrink block {t.block_size}"
        row[key] = t.ns_per_sample
    if rtneural.available():
        (t,) = time_model(runner_for(model, "rtneural"), modes=("sample",), repeats=repeats)
        row[f"{t.backend} sample"] = t.ns_per_sample
    for name, fn in python_runners(model).items():
        row[f"{name} block {BLOCK}"] = _median_ns_per_sample(fn, BLOCK, repeats)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    rows = {shape: measure(shape, args.repeats) for shape in SHAPES}
    columns = list(next(iter(rows.values())))
    print(f"load average before/after: {os.getloadavg()[0]:.1f} (2 cores)", file=sys.stderr)
    print("| shape | MACs | " + " | ".join(columns) + " | RTNeural CT xsimd (notes) | FMA floor |")
    print("|---" * (len(columns) + 4) + "|")
    for shape, row in rows.items():
        macs = Architecture.parse(shape).macs_per_sample
        floor = macs / 16 / FLOOR_GHZ
        cells = " | ".join(f"{row[c]:,.1f}" for c in columns)
        print(f"| {shape} | {macs:,} | {cells} | {RTNEURAL_CT_XSIMD_NS[shape]:g} | {floor:,.0f} |")
    return 0


# --- pytest-benchmark --------------------------------------------------------------------------


@pytest.fixture(scope="module", params=SHAPES)
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _bench(benchmark: Any, shape: str, name: str, fn: Callable[[], Any], samples: int) -> None:
    benchmark.group = shape
    benchmark.name = name
    benchmark.extra_info["samples_per_call"] = samples
    benchmark(fn)


# Every benchmark processes one 512-sample block per call, so times per call compare directly.


def test_vashrink_per_sample(benchmark: Any, shape: str) -> None:
    mlp = Mlp.from_torch(model_of(shape))
    x = timing_buffer(BLOCK)
    _bench(benchmark, shape, f"vashrink per sample, {BLOCK}", lambda: mlp.process_samples(x), BLOCK)


def test_vashrink_block(benchmark: Any, shape: str) -> None:
    mlp = Mlp.from_torch(model_of(shape))
    x = timing_buffer(BLOCK)
    _bench(benchmark, shape, f"vashrink block {BLOCK}", lambda: mlp.process_block(x, BLOCK), BLOCK)


@pytest.mark.parametrize("runtime", ["torch eager", "torch.jit (frozen)", "onnxruntime"])
def test_python_runtime_block(benchmark: Any, shape: str, runtime: str) -> None:
    fn = python_runners(model_of(shape))[runtime]
    _bench(benchmark, shape, f"{runtime} block {BLOCK}", fn, BLOCK)


@pytest.mark.skipif(not rtneural.available(), reason="built without RTNEURAL_DIR")
def test_rtneural_per_sample(benchmark: Any, shape: str) -> None:
    import json

    from vashrink.formats import rtneural_document

    runner = rtneural.RTNeuralModel.from_json(json.dumps(rtneural_document(model_of(shape))))
    x = timing_buffer(BLOCK)
    name = f"rtneural per sample, {BLOCK}"
    _bench(benchmark, shape, name, lambda: runner.process_samples(x), BLOCK)


if __name__ == "__main__":
    sys.exit(main())
