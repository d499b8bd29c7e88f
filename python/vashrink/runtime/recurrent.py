"""GRU/LSTM models in the C++ engine, streamed one sample at a time as a plugin runs them.

:class:`RecurrentNet` loads a :class:`~vashrink.model.spec.ModelSpec` with a recurrent layer
(one GRU or LSTM, then dense layers, optionally ``y += x``) into the run-time
``vashrink::Model<T>`` (``cpp/include/vashrink/gru.h``, ``lstm.h``). Its state is carried from one
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

import numpy as np

from ..errors import ModelFormatError
from ..model.layers import GruLayer, LstmLayer
from ..model.spec import ModelSpec
from .checks import NativeRunner, check_dense_layers, dense_arrays, np_dtype
from .native import engine

__all__ = ["RecurrentNet"]


def _check_recurrent(spec: ModelSpec) -> None:
    if len(spec.rnn) != 1:
        msg = (
            f"this model stacks {len(spec.rnn)} recurrent layers; the engine runs one "
            "GRU/LSTM layer"
        )
        raise ModelFormatError(msg)
    layer = spec.rnn[0]
    if not isinstance(layer, GruLayer | LstmLayer):
        msg = (
            f"RecurrentNet needs a spec whose recurrent layer is a GruLayer or LstmLayer, got "
            f"{type(layer).__name__}; use vashrink.runtime.engine.Mlp for MLPs"
        )
        raise ModelFormatError(msg)
    gates = 3 if isinstance(layer, GruLayer) else 4
    name = "GRU" if gates == 3 else "LSTM"
    w_ih, w_hh = np.asarray(layer.weight_ih), np.asarray(layer.weight_hh)
    if w_hh.ndim != 2 or w_hh.shape[1] < 1 or w_hh.shape != (gates * w_hh.shape[1], w_hh.shape[1]):
        msg = f"{name} weight_hh has shape {w_hh.shape}; expected [{gates} * hidden][hidden]"
        raise ModelFormatError(msg)
    hidden = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != gates * hidden or w_ih.shape[1] < 1:
        msg = f"{name} weight_ih has shape {w_ih.shape}; expected [{gates * hidden}][inputs]"
        raise ModelFormatError(msg)
    biases = (layer.bias_ih, layer.bias_hh) if isinstance(layer, GruLayer) else (layer.bias,)
    for b in biases:
        if np.asarray(b).shape != (gates * hidden,):
            msg = f"{name} bias has shape {np.asarray(b).shape}; expected ({gates * hidden},)"
            raise ModelFormatError(msg)
    if not all(np.isfinite(np.asarray(a, np.float64)).all() for a in (w_ih, w_hh, *biases)):
        msg = f"the {name} layer contains NaN or Inf weights; retrain or repair the model"
        raise ModelFormatError(msg)
    if not spec.dense:
        msg = f"the {name} needs at least one dense layer after it (e.g. hidden -> 1)"
        raise ModelFormatError(msg)
    if spec.dense[0].in_size != hidden:
        msg = (
            f"layer 1 takes {spec.dense[0].in_size} inputs but the {name} gives {hidden}; "
            "make them equal"
        )
        raise ModelFormatError(msg)
    check_dense_layers(spec.dense, first=1)


class RecurrentNet(NativeRunner):
    """One GRU/LSTM layer + dense head (+ input skip) loaded into the C++ engine.

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
        layer = spec.rnn[0]
        cell = "gru" if isinstance(layer, GruLayer) else "lstm"
        with np.errstate(over="ignore", invalid="ignore"):
            arrays = [np.ascontiguousarray(layer.weight_ih, dtype=t),
                      np.ascontiguousarray(layer.weight_hh, dtype=t)]
            if isinstance(layer, GruLayer):
                biases = [np.ascontiguousarray(layer.bias_ih, dtype=t),
                          np.ascontiguousarray(layer.bias_hh, dtype=t)]
            else:
                biases = [np.ascontiguousarray(layer.bias, dtype=t)]
        if not all(np.isfinite(a).all() for a in arrays + biases):
            msg = (
                f"the {cell.upper()} layer has values beyond the {dtype} range; "
                "use dtype='float64'"
            )
            raise ModelFormatError(msg)
        dense = dense_arrays(spec.dense, dtype, first=1)
        eng = engine()
        native = eng.RecurrentF32() if dtype == "float32" else eng.RecurrentF64()
        bias_hh = biases[1] if len(biases) == 2 else None
        error = native.load(cell, arrays[0], arrays[1], biases[0], bias_hh, dense, bool(spec.skip))
        if error:
            msg = f"the engine refused the model: {error}"
            raise ModelFormatError(msg)
        self._native = native
        self._np_dtype = t
        self.dtype = dtype
        self.spec = spec

    @classmethod
    def from_spec(cls, spec: ModelSpec, dtype: str = "float32") -> RecurrentNet:
        """Load ``spec`` (``spec.recurrent`` set; any dense head; ``spec.skip``) in ``dtype``.

        Raises:
            ModelFormatError: no recurrent layer, mismatched shapes, non-finite weights,
                unknown activation, missing PReLU slopes.
            InputError: an unknown dtype.
        """
        return cls(spec, dtype)

    @property
    def hidden_size(self) -> int:
        return int(self._native.hidden_size)

    @property
    def cell(self) -> str:
        """``"gru"`` or ``"lstm"``."""
        return str(self._native.cell)

    @property
    def skip(self) -> bool:
        """Whether the input is added to the output."""
        return bool(self._native.skip)

    def reset(self) -> None:
        """Zero the state (h, and c for an LSTM), as at the start of a torch sequence."""
        self._native.reset()

    def __repr__(self) -> str:
        head = "-".join(str(d.out_size) for d in self.spec.dense)
        skip = "+skip" if self.skip else ""
        return f"RecurrentNet({self.cell}-{self.hidden_size}{skip} -> {head}, {self.dtype})"
