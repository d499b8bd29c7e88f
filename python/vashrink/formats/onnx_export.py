"""ONNX export, built node by node with ``onnx.helper`` (deterministic, no tracing).

An MLP maps ``x [batch, in]`` to ``y [batch, out]``; a :class:`RecurrentModel` maps
``x [batch, time, in]`` to ``y [batch, time, out]`` from a zero state, using ONNX's ``GRU``
(gates z, r, h; ``linear_before_reset=1`` is torch's GRU) and ``LSTM`` (gates i, o, f, c) ops,
one node per layer of a stack; an input skip is an ``Add`` of ``x`` to the head's output.
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


def _suffix(k: int) -> str:
    """Layer 0's names carry no suffix (a one-layer model keeps its names), layer k ``_l{k}``."""
    return f"_l{k}" if k else ""


def _recurrent(g: _Graph, k: int, layer: GruLayer | LstmLayer, seq: str, stateful: bool) -> str:
    """One ONNX GRU/LSTM node for recurrent layer ``k``, on and to ``[time, batch, features]``."""
    h, sfx = layer.hidden_size, _suffix(k)
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
    w = g.const(f"rnn_W{sfx}", layer.weight_ih[order][None])
    r = g.const(f"rnn_R{sfx}", layer.weight_hh[order][None])
    b = g.const(f"rnn_B{sfx}", bias[None])
    attrs: dict[str, Any] = {"hidden_size": h, **extra}
    inputs, outputs = [seq, w, r, b], [f"rnn_Y{sfx}"]
    if stateful:  # initial state in, final state out: stream a signal block by block
        states = _layer_states(layer)
        inputs += ["", *(f"{s}0{sfx}" for s in states)]
        outputs += [f"{s}n{sfx}" for s in states]
    g.nodes.append(helper.make_node(op, inputs, outputs, name=f"rnn{sfx}", **attrs))
    axes = g.const(f"rnn_axes{sfx}", np.array([1], dtype=np.int64))
    return g.node("Squeeze", [f"rnn_Y{sfx}", axes], f"rnn_Y_squeezed{sfx}")


def _layer_states(layer: GruLayer | LstmLayer) -> list[str]:
    return ["h"] if isinstance(layer, GruLayer) else ["h", "c"]


def _state_values(spec: ModelSpec, stateful: bool, when: str) -> list[onnx.ValueInfoProto]:
    """The graph's state inputs (``when="0"``) or outputs (``"n"``), layer by layer."""
    if not stateful:
        return []
    return [
        helper.make_tensor_value_info(
            f"{s}{when}{_suffix(k)}", TensorProto.FLOAT, [1, "batch", layer.hidden_size]
        )
        for k, layer in enumerate(spec.rnn)
        for s in _layer_states(layer)
    ]


def onnx_model(model: nn.Module | ModelSpec, *, stateful: bool = False) -> onnx.ModelProto:
    """The checked ONNX model for an MLP or :class:`RecurrentModel`.

    A stack of recurrent layers is one ONNX ``GRU``/``LSTM`` node per layer. With ``stateful``
    (recurrent models), the graph also takes each layer's initial state and returns its final
    state, shape ``[1, batch, hidden of that layer]``, so a signal can be processed block by
    block as a plugin does: layer 0's are ``h0`` (and ``c0`` for an LSTM) in, ``hn`` (``cn``)
    out, as for a one-layer model; layer k > 0's carry torch's suffix: ``h0_l1``, ``c0_l1``
    in, ``hn_l1``, ``cn_l1`` out for layer 1. Inputs are ``x`` then the states in layer order,
    outputs ``y`` then the states in the same order.
    """
    spec = spec_of(model)
    if stateful and not spec.is_recurrent:
        msg = "stateful=True is for GRU/LSTM models; an MLP has no state"
        raise ModelFormatError(msg)
    g = _Graph()
    x = "x"
    dims: list[str | int] = ["batch", "time"] if spec.is_recurrent else ["batch"]
    if spec.rnn:  # time-major from the first recurrent layer to the last
        x = g.node("Transpose", [x], "rnn_input", perm=[1, 0, 2])
        for k, rec in enumerate(spec.rnn):
            x = _recurrent(g, k, rec, x, stateful)
        x = g.node("Transpose", [x], "rnn_output", perm=[1, 0, 2])
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
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [*dims, spec.in_size]),
            *_state_values(spec, stateful, "0"),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [*dims, spec.out_size]),
            *_state_values(spec, stateful, "n"),
        ],
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
    from a zero state also for a stateful file, every layer's state inputs set to zero)."""
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
