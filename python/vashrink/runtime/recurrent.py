"""GRU/LSTM models in the C++ engine, streamed one sample at a time as a plugin runs them.

:class:`RecurrentNet` loads a :class:`~vashrink.model.spec.ModelSpec` with recurrent layers
(a stack of 1..8 GRU/LSTM layers, each fed the previous one's state, then dense layers,
optionally ``y += x``) into the run-time ``vashrink::Model<T>``
(``cpp/include/vashrink/recurrent_stack.h``, ``gru.h``, ``lstm.h``). Its state is carried from one
call to the next, so ``process_samples(a)`` then ``process_samples(b)`` equals
``process_samples(concat(a, b))``; :meth:`RecurrentNet.reset` returns to the zero state torch
starts every sequence from. It is a :class:`~vashrink.runtime.timing.Runner`, so ``time_model``
and ``time_runner`` time it (block mode is the same per-sample loop: the state makes every sample
depend on the one before).

Numerics (tests/runtime/test_recurrent_engine.py): over 48,000 streamed samples, float64 is
within 1e-10 of a float64 torch reference (measured ~2e-16) and float32 within 2e-5 of the
signal level (measured up to 1.4e-7: float32 rounding of the state, which a stable recurrence
carries but does not amplify). As in torch, a NaN input makes that output and every later one
NaN until :meth:`reset`; an infinite input saturates the gates and later outputs stay finite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..model.architecture import MAX_RNN_LAYERS
from ..model.layers import GruLayer, LstmLayer, RecurrentLayer
from ..model.spec import ModelSpec
from .checks import NativeRunner, check_dense_layers, dense_arrays, np_dtype
from .native import engine

__all__ = ["RecurrentNet"]


def _cell_name(layer: RecurrentLayer) -> str:
    return layer.cell.upper()


def _label(spec: ModelSpec, k: int, *, noun: bool = False) -> str:
    """How messages name recurrent layer ``k``: "GRU" alone ("the GRU layer" as a ``noun``),
    "recurrent layer 1 (LSTM)" in a stack."""
    name = _cell_name(spec.rnn[k])
    if len(spec.rnn) > 1:
        return f"recurrent layer {k} ({name})"
    return f"the {name} layer" if noun else name


def _biases(layer: RecurrentLayer) -> tuple[Any, ...]:
    return (layer.bias_ih, layer.bias_hh) if isinstance(layer, GruLayer) else (layer.bias,)


def _check_layer(layer: RecurrentLayer, label: str, noun: str) -> None:
    """Shapes and finiteness of one GRU/LSTM layer in torch layout."""
    gates = 3 if isinstance(layer, GruLayer) else 4
    w_ih, w_hh = np.asarray(layer.weight_ih), np.asarray(layer.weight_hh)
    if w_hh.ndim != 2 or w_hh.shape[1] < 1 or w_hh.shape != (gates * w_hh.shape[1], w_hh.shape[1]):
        msg = f"{label} weight_hh has shape {w_hh.shape}; expected [{gates} * hidden][hidden]"
        raise ModelFormatError(msg)
    hidden = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != gates * hidden or w_ih.shape[1] < 1:
        msg = f"{label} weight_ih has shape {w_ih.shape}; expected [{gates * hidden}][inputs]"
        raise ModelFormatError(msg)
    biases = _biases(layer)
    for b in biases:
        if np.asarray(b).shape != (gates * hidden,):
            msg = f"{label} bias has shape {np.asarray(b).shape}; expected ({gates * hidden},)"
            raise ModelFormatError(msg)
    if not all(np.isfinite(np.asarray(a, np.float64)).all() for a in (w_ih, w_hh, *biases)):
        msg = f"{noun} contains NaN or Inf weights; retrain or repair the model"
        raise ModelFormatError(msg)


def _check_recurrent(spec: ModelSpec) -> None:
    """Everything the engine needs of a recurrent spec, with a message naming the layer."""
    n = len(spec.rnn)
    if not 1 <= n <= MAX_RNN_LAYERS:
        msg = f"this model stacks {n} recurrent layers; the engine runs 1 to {MAX_RNN_LAYERS}"
        raise ModelFormatError(msg)
    for k, layer in enumerate(spec.rnn):
        if not isinstance(layer, GruLayer | LstmLayer):
            msg = (
                f"RecurrentNet needs GruLayer or LstmLayer recurrent layers, got "
                f"{type(layer).__name__} (recurrent layer {k}); use vashrink.runtime.engine.Mlp "
                "for MLPs"
            )
            raise ModelFormatError(msg)
        _check_layer(layer, _label(spec, k), _label(spec, k, noun=True))
        if k > 0 and layer.in_size != spec.rnn[k - 1].hidden_size:
            msg = (
                f"{_label(spec, k)} takes {layer.in_size} inputs but {_label(spec, k - 1)} gives "
                f"{spec.rnn[k - 1].hidden_size}; make them equal"
            )
            raise ModelFormatError(msg)
    last = _cell_name(spec.rnn[-1])
    if n > 1:
        last = f"last {last} (recurrent layer {n - 1})"
    if not spec.dense:
        msg = f"the {last} needs at least one dense layer after it (e.g. hidden -> 1)"
        raise ModelFormatError(msg)
    hidden = spec.rnn[-1].hidden_size
    if spec.dense[0].in_size != hidden:
        msg = (
            f"layer {n} takes {spec.dense[0].in_size} inputs but the {last} gives {hidden}; "
            "make them equal"
        )
        raise ModelFormatError(msg)
    check_dense_layers(spec.dense, first=n)


def _rnn_arrays(spec: ModelSpec, dtype: str) -> list[tuple[Any, ...]]:
    """Per layer (cell, weight_ih, weight_hh, bias_ih, bias_hh or None) as contiguous ``dtype``
    arrays for the binding, checked to stay finite after the cast."""
    t = np_dtype(dtype)
    out: list[tuple[Any, ...]] = []
    for k, layer in enumerate(spec.rnn):
        with np.errstate(over="ignore", invalid="ignore"):
            arrays = [np.ascontiguousarray(a, dtype=t)
                      for a in (layer.weight_ih, layer.weight_hh, *_biases(layer))]
        if not all(np.isfinite(a).all() for a in arrays):
            msg = (
                f"{_label(spec, k, noun=True)} has values beyond the {dtype} range; "
                "use dtype='float64'"
            )
            raise ModelFormatError(msg)
        bias_hh = arrays[3] if len(arrays) == 4 else None
        out.append((_cell_name(layer).lower(), arrays[0], arrays[1], arrays[2], bias_hh))
    return out


class RecurrentNet(NativeRunner):
    """A stack of 1..8 GRU/LSTM layers + dense head (+ input skip) loaded into the C++ engine.

    Create with :meth:`from_spec`. Outputs of one call continue the previous call's stream.

    Shape:
        Inputs are ``[n]`` for one-input models or ``[n, in_size]``; outputs ``[n]`` for
        one-output models or ``[n, out_size]``.
    """

    def __init__(self, spec: ModelSpec, dtype: str = "float32") -> None:
        t = np_dtype(dtype)
        if not isinstance(spec, ModelSpec):
            msg = f"RecurrentNet takes a vashrink ModelSpec, got {type(spec).__name__}"
            raise ModelFormatError(msg)
        if not spec.rnn:
            msg = "this spec has no GRU/LSTM layer; run MLPs with vashrink.runtime.engine.Mlp"
            raise ModelFormatError(msg)
        _check_recurrent(spec)
        rnn = _rnn_arrays(spec, dtype)
        dense = dense_arrays(spec.dense, dtype, first=len(spec.rnn))
        eng = engine()
        native = eng.RecurrentF32() if dtype == "float32" else eng.RecurrentF64()
        error = native.load_stack(rnn, dense, bool(spec.skip))
        if error:
            msg = f"the engine refused the model: {error}"
            raise ModelFormatError(msg)
        self._native = native
        self._np_dtype = t
        self.dtype = dtype
        self.spec = spec

    @classmethod
    def from_spec(cls, spec: ModelSpec, dtype: str = "float32") -> RecurrentNet:
        """Load ``spec`` (``spec.rnn``: 1..8 GRU/LSTM layers; any dense head; ``spec.skip``).

        Raises:
            ModelFormatError: no recurrent layer or more than 8, mismatched shapes (within a
                layer or between layers), non-finite weights, unknown activation, missing PReLU
                slopes.
            InputError: an unknown dtype.
        """
        return cls(spec, dtype)

    @property
    def hidden_size(self) -> int:
        """Units of the last recurrent layer (what the dense head reads)."""
        return int(self._native.hidden_size)

    @property
    def n_layers(self) -> int:
        """Recurrent layers in the stack."""
        return int(self._native.n_recurrent)

    @property
    def cell(self) -> str:
        """``"gru"`` or ``"lstm"``: the first layer's cell (see :attr:`cells` for a stack)."""
        return str(self._native.cell)

    @property
    def cells(self) -> tuple[str, ...]:
        """Each recurrent layer's cell, first to last."""
        return tuple(str(c) for c in self._native.cells)

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """Each recurrent layer's hidden units, first to last."""
        return tuple(int(h) for h in self._native.hidden_sizes)

    @property
    def skip(self) -> bool:
        """Whether the input is added to the output."""
        return bool(self._native.skip)

    def reset(self) -> None:
        """Zero every layer's state (h, and c for an LSTM), as at the start of a torch sequence."""
        self._native.reset()

    def __repr__(self) -> str:
        head = "-".join(str(d.out_size) for d in self.spec.dense)
        stack = "-".join(f"{c}-{h}" for c, h in zip(self.cells, self.hidden_sizes, strict=True))
        skip = "+skip" if self.skip else ""
        return f"RecurrentNet({stack}{skip} -> {head}, {self.dtype})"
