"""One GRU/LSTM candidate in the engine's C++ trainer: :class:`NativeRecurrent`.

It holds the candidate (a stack of GRU or LSTM layers, a ``Dense(h, 1)`` head, an optional
input skip) as flat parameters in torch's ``named_parameters()`` order in ``vashrink._engine``
(``cpp/include/vashrink/rnn_grad.h``): forward with carried state, the loss of
:func:`.rnn_loss.column_losses` and its gradient by back-propagation through the chunk, and
torch's Adam with the per-candidate gradient clip. Rows of a batch run side by side in SIMD
lanes; float64 gradients equal torch autograd's (tests/train/test_rnn_native.py). The loop
that trains with it is :mod:`.rnn_native`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EngineError, InputError
from ..model.architecture import RecurrentArchitecture
from ..model.layers import DenseLayer, GruLayer, LstmLayer
from ..model.spec import ModelSpec
from .rnn_config import RecurrentTrainConfig
from .rnn_data import RecurrentData

__all__ = ["DTYPES", "ChunkResult", "NativeRecurrent", "flat_params", "native_validation_esr",
           "spec_from_flat"]

DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class ChunkResult:
    """One chunk's loss, the ESR's error and signal sums, and the predictions ``[batch, steps]``."""

    loss: float
    err: float
    sig: float
    y_hat: np.ndarray


def _shape_of(spec: ModelSpec) -> tuple[str, int, int, bool]:
    """``(cell, hidden, layers, skip)`` of a spec the native trainer can hold."""
    rnn = spec.rnn
    ok = (bool(rnn) and rnn[0].in_size == 1 and len(spec.dense) == 1
          and all(type(r) is type(rnn[0]) and r.hidden_size == rnn[0].hidden_size for r in rnn)
          and spec.dense[0].out_size == 1 and spec.dense[0].activation == "none")
    if not ok:
        msg = ("the native trainer takes a stack of equal GRU or LSTM layers on one input with a "
               "linear Dense(hidden, 1) head (a RecurrentArchitecture's shape); got "
               f"{len(rnn)} recurrent and {len(spec.dense)} dense layers")
        raise InputError(msg)
    return rnn[0].cell, rnn[0].hidden_size, len(rnn), spec.skip


def flat_params(spec: ModelSpec) -> np.ndarray:
    """``spec``'s parameters in torch's order: per layer ``weight_ih, weight_hh, bias_ih,
    bias_hh`` (an LSTM's one bias as ``bias_ih``, ``bias_hh`` zero), then the head."""
    parts: list[np.ndarray] = []
    for rec in spec.rnn:
        if isinstance(rec, GruLayer):
            b_ih, b_hh = rec.bias_ih, rec.bias_hh
        else:
            b_ih, b_hh = rec.bias, np.zeros_like(rec.bias)
        parts += [rec.weight_ih.ravel(), rec.weight_hh.ravel(), b_ih, b_hh]
    head = spec.dense[0]
    parts += [head.weight.ravel(), head.bias.ravel()]
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])


def spec_from_flat(flat: np.ndarray, cell: str, hidden: int, layers: int,
                   skip: bool) -> ModelSpec:
    """The float64 :class:`ModelSpec` of parameters in :func:`flat_params`' order."""
    values = np.asarray(flat, dtype=np.float64)
    g = 3 if cell == "gru" else 4
    at = 0

    def take(*shape: int) -> np.ndarray:
        nonlocal at
        size = int(np.prod(shape))
        out = values[at : at + size].reshape(shape).copy()
        at += size
        return out

    stack: list[GruLayer | LstmLayer] = []
    for k in range(layers):
        w_ih, w_hh = take(g * hidden, 1 if k == 0 else hidden), take(g * hidden, hidden)
        b_ih, b_hh = take(g * hidden), take(g * hidden)
        stack.append(GruLayer(w_ih, w_hh, b_ih, b_hh) if cell == "gru"
                     else LstmLayer(w_ih, w_hh, b_ih + b_hh))
    head = DenseLayer(take(1, hidden), take(1), "none")
    return ModelSpec(tuple(stack), (head,), skip)


def _trainer_class(dtype: str) -> Any:
    """``RnnTrainerF32``/``F64`` of the compiled engine (imported here: ``train`` comes before
    ``runtime`` in the pipeline, so it cannot use :func:`vashrink.runtime.native.engine`)."""
    try:
        from .. import _engine
    except ImportError as exc:  # pragma: no cover - depends on a broken install
        msg = (f"vashrink's C++ engine is not built or does not load ({exc}); reinstall with "
               "`pip install .` from the project root (needs g++ and cmake)")
        raise EngineError(msg) from exc
    return _engine.RnnTrainerF64 if dtype == "float64" else _engine.RnnTrainerF32


def _engine_call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except ValueError as exc:
        msg = f"native trainer: {exc}"
        raise InputError(msg) from None


class NativeRecurrent:
    """One GRU/LSTM candidate in the C++ trainer.

    Args:
        spec: the start (a uniform stack, one input, a linear ``Dense(h, 1)`` head).
        max_batch: most rows per call; max_steps: most steps of one :meth:`loss_and_grad`
            chunk (:meth:`forward` takes any length). Buffers are sized for these once.
        dtype: ``"float32"`` (training) or ``"float64"`` (reference-exact gradients).
        tile_regs: SIMD registers of rows per tile (0: chosen from the batch).
        segment_steps: steps whose activations are stored at once; a longer chunk is
            recomputed segment by segment from saved states (0: what fits a cache).

    Shape:
        ``x``, ``y`` ``[batch, steps]``; state ``h`` (and ``c`` for LSTM) ``[layers, batch,
        hidden]`` as torch's.
    """

    def __init__(self, spec: ModelSpec, *, max_batch: int = 32, max_steps: int = 1000,
                 dtype: str = "float64", tile_regs: int = 0, segment_steps: int = 0) -> None:
        if dtype not in DTYPES:
            msg = f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}"
            raise InputError(msg)
        self.cell, self.hidden, self.layers, self.skip = _shape_of(spec)
        self.dtype = DTYPES[dtype]
        self._net = _engine_call(_trainer_class(dtype), self.cell, self.hidden, self.layers,
                                 self.skip, int(max_batch), int(max_steps), int(tile_regs),
                                 int(segment_steps))
        self.set_params(flat_params(spec))

    @property
    def n_params(self) -> int:
        return int(self._net.n_params)

    @property
    def architecture(self) -> RecurrentArchitecture:
        return RecurrentArchitecture(self.cell, self.hidden, self.skip, self.layers)

    def params(self) -> np.ndarray:
        """A copy of the flat parameters (:func:`flat_params` order)."""
        return np.asarray(self._net.params())

    def set_params(self, flat: np.ndarray) -> None:
        _engine_call(self._net.set_params, self._array(flat))

    def grad(self) -> np.ndarray:
        """The gradient of the last :meth:`loss_and_grad` (zeros after a non-finite loss)."""
        return np.asarray(self._net.grad())

    def set_grad(self, flat: np.ndarray) -> None:
        _engine_call(self._net.set_grad, self._array(flat))

    def reset_state(self, batch: int) -> None:
        """Zero state for ``batch`` rows (the batch of the following calls)."""
        _engine_call(self._net.reset_state, int(batch))

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        _engine_call(self._net.set_state, self._array(h), None if c is None else self._array(c))

    def state(self) -> tuple[np.ndarray, np.ndarray | None]:
        h, c = self._net.state()
        return np.asarray(h), None if c is None else np.asarray(c)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Predictions for ``x`` from the carried state, which moves to the end of ``x``."""
        return np.asarray(_engine_call(self._net.forward, self._array(x)))

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray, *, coefficient: float,
                      dc_weight: float,
                      previous: tuple[np.ndarray, np.ndarray] | None = None) -> ChunkResult:
        """Loss of one chunk (:func:`.rnn_loss.column_losses`), its gradient (:meth:`grad`),
        and the state moved to the chunk's end; ``previous`` = ``(y[-1], y_hat[-1])`` per row."""
        prev_y, prev_hat = (None, None) if previous is None else map(self._array, previous)
        loss, err, sig, y_hat = _engine_call(self._net.loss_and_grad, self._array(x),
                                             self._array(y), prev_y, prev_hat,
                                             float(coefficient), float(dc_weight))
        return ChunkResult(float(loss), float(err), float(sig), np.asarray(y_hat))

    def adam_step(self, lr: float, max_grad_norm: float | None = None) -> float:
        """Clip the gradient to ``max_grad_norm`` and take one Adam step (torch's defaults);
        returns the gradient norm before clipping."""
        return float(_engine_call(self._net.adam_step, float(lr), max_grad_norm))

    def to_spec(self) -> ModelSpec:
        """The current weights as a float64 :class:`ModelSpec` (LSTM biases summed)."""
        return spec_from_flat(self.params(), self.cell, self.hidden, self.layers, self.skip)

    def _array(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=self.dtype)


def _pre_emphasis_rows(y: np.ndarray, coefficient: float) -> np.ndarray:
    out = np.array(y, dtype=np.float64)
    out[:, 1:] -= coefficient * np.asarray(y[:, :-1], dtype=np.float64)
    return out


def native_validation_esr(net: NativeRecurrent, data: RecurrentData,
                          config: RecurrentTrainConfig) -> float:
    """:func:`.rnn_loop.validation_check` for one native candidate (``inf`` if not finite)."""
    xw, yw, mask = (t.numpy() for t in (data.x_windows, data.y_windows, data.val_mask))
    rows = int(net._net.max_batch)
    err = 0.0
    for start in range(0, xw.shape[0], rows):
        piece = slice(start, start + rows)
        net.reset_state(xw[piece].shape[0])
        y_hat = net.forward(xw[piece])
        diff = (_pre_emphasis_rows(yw[piece], config.pre_emphasis)
                - _pre_emphasis_rows(y_hat, config.pre_emphasis))
        err += float(np.sum(diff * diff * mask[piece]))
    out = err / data.val_signal
    return out if math.isfinite(out) else math.inf
