"""ONNX export, built node by node with ``onnx.helper`` (deterministic, no tracing).

An MLP maps ``x [batch, in]`` to ``y [batch, out]``; a :class:`RecurrentModel` maps
``x [batch, time, in]`` to ``y [batch, time, out]`` from a zero state, using ONNX's ``GRU``
(gates z, r, h; ``linear_before_reset=1`` is torch's GRU) and ``LSTM`` (gates i, o, f, c) ops;
an input skip is an ``Add`` of ``x`` to the head's output.
Weights are float32 initializers; opset 17.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from ..errors import ModelFormatError
from ..model.layers import GruLayer, LstmLayer
from ..model.spec import ModelSpec, prelu_slopes, spec_of
from .snapshot import make_snapshot, write_export

__all__ = ["OPSET", "onnx_model", "run_onnx", "to_onnx"]

OPSET = 17
_ACT_OPS = {
    "tanh": "Tanh",
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "elu": "Elu",
    "softmax": "Softmax",
    "prelu": "PRelu",
}


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        arr = value.astype(np.int64) if value.dtype.kind == "i" else value.astype(np.float32)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def _recurrent(g: _Graph, layer: GruLayer | LstmLayer, x: str, stateful: bool) -> str:
    h = layer.hidden_size
    seq = g.node("Transpose", [x], "rnn_input", perm=[1, 0, 2])
    if isinstance(layer, GruLayer):
        order = np.r_[h : 2 * h, 0:h, 2 * h : 3 * h]  # torch r, z, n -> ONNX z, r, h
        bias = np.concatenate([layer.bias_ih[order], layer.bias_hh[order]])
        op, extra = "GRU", {"linear_before_reset": 1}  # torch applies r after the recurrent bias
    else:
        order = np.r_[
            0:h, 3 * h : 4 * h, h : 2 * h, 2 * h : 3 * h
        ]  # torch i, f, g, o -> ONNX i, o, f, c
        bias = np.concatenate([layer.bias[order], np.zeros(4 * h)])
        op, extra = "LSTM", {}
    w = g.const("rnn_W", layer.weight_ih[order][None])
    r = g.const("rnn_R", layer.weight_hh[order][None])
    b = g.const("rnn_B", bias[None])
    attrs: dict[str, Any] = {"hidden_size": h, **extra}
    inputs, outputs = [seq, w, r, b], ["rnn_Y"]
    if stateful:  # initial state in, final state out: stream a signal block by block
        inputs += ["", "h0"] + (["c0"] if op == "LSTM" else [])
        outputs += ["hn"] + (["cn"] if op == "LSTM" else [])
    g.nodes.append(helper.make_node(op, inputs, outputs, name="rnn", **attrs))
    axes = g.const("rnn_axes", np.array([1], dtype=np.int64))
    y = g.node("Squeeze", ["rnn_Y", axes], "rnn_Y_squeezed")
    return g.node("Transpose", [y], "rnn_output", perm=[1, 0, 2])


def _state_names(spec: ModelSpec, stateful: bool) -> list[str]:
    if not stateful or not spec.is_recurrent:
        return []
    return ["h"] if isinstance(spec.rnn[0], GruLayer) else ["h", "c"]


def onnx_model(model: nn.Module | ModelSpec, *, stateful: bool = False) -> onnx.ModelProto:
    """The checked ONNX model for an MLP or :class:`RecurrentModel`.

    With ``stateful`` (recurrent models), the graph also takes the initial state ``h0``
    (and ``c0`` for an LSTM), shape ``[1, batch, hidden]``, and returns the final state ``hn``
    (``cn``), so a signal can be processed block by block as a plugin does.
    """
    spec = spec_of(model)
    if stateful and not spec.is_recurrent:
        msg = "stateful=True is for GRU/LSTM models; an MLP has no state"
        raise ModelFormatError(msg)
    g = _Graph()
    x = "x"
    dims: list[str | int] = ["batch", "time"] if spec.is_recurrent else ["batch"]
    if spec.is_recurrent:
        x = _recurrent(g, spec.rnn[0], x, stateful)
    hidden = spec.rnn[0].hidden_size if spec.is_recurrent else 0
    state_dims: list[str | int] = [1, "batch", hidden]
    states = _state_names(spec, stateful)
    for i, layer in enumerate(spec.dense):
        x = g.node("MatMul", [x, g.const(f"dense{i}_kernel", layer.weight.T)], f"dense{i}_matmul")
        x = g.node("Add", [x, g.const(f"dense{i}_bias", layer.bias)], f"dense{i}_out")
        if layer.activation == "prelu":
            slopes = g.const(f"dense{i}_slopes", prelu_slopes(layer))
            x = g.node("PRelu", [x, slopes], f"dense{i}_prelu")
        elif layer.activation == "elu":
            x = g.node("Elu", [x], f"dense{i}_elu", alpha=1.0)
        elif layer.activation == "softmax":
            x = g.node("Softmax", [x], f"dense{i}_softmax", axis=-1)
        elif layer.activation != "none":
            x = g.node(_ACT_OPS[layer.activation], [x], f"dense{i}_{layer.activation}")
    if spec.skip:  # output = net + input, one Add (also in a stateful graph)
        x = g.node("Add", [x, "x"], "skip_out")
    g.nodes.append(helper.make_node("Identity", [x], ["y"], name="y"))
    graph = helper.make_graph(
        g.nodes,
        "vashrink_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [*dims, spec.in_size])]
        + [helper.make_tensor_value_info(f"{s}0", TensorProto.FLOAT, state_dims) for s in states],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [*dims, spec.out_size])]
        + [helper.make_tensor_value_info(f"{s}n", TensorProto.FLOAT, state_dims) for s in states],
        g.inits,
    )
    proto = helper.make_model(
        graph, producer_name="vashrink", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    proto.ir_version = 8
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(
    model: nn.Module | ModelSpec, path: str | Path, *, stateful: bool = False, snapshot: bool = True
) -> Path:
    """Write ``model`` as ONNX (and ``<name>.snapshot.json`` unless ``snapshot=False``).

    ``stateful``: see :func:`onnx_model` (GRU/LSTM state inputs and outputs).
    """
    content = onnx_model(model, stateful=stateful).SerializeToString()
    return write_export(Path(path), content, make_snapshot(model) if snapshot else None)


def run_onnx(path: str | Path, inputs: np.ndarray, *, recurrent: bool = False) -> np.ndarray:
    """Run an exported file with onnxruntime: ``inputs [n, in]`` (a sequence if ``recurrent``,
    from a zero state also for a stateful file)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.asarray(inputs, dtype=np.float32)
    feed = {"x": x[None] if recurrent else x}
    for arg in session.get_inputs()[1:]:  # h0 / c0 of a stateful file
        feed[arg.name] = np.zeros((1, 1, int(arg.shape[-1])), dtype=np.float32)
    (y,) = session.run(["y"], feed)
    out: np.ndarray = np.asarray(y, dtype=np.float64).reshape(x.shape[0], -1)
    return out
