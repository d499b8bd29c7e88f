"""Test inputs and the outputs a model must produce, written beside every export.

Any runtime (our engine, RTNeural, the user's plugin) can run ``inputs`` and compare with
``outputs`` within ``atol + rtol * |expected|``. Expected outputs come from torch in float64;
the default tolerances leave room for a float32 runtime. Recurrent snapshots hold one sequence
of consecutive samples from a zero state (call ``reset()`` first). A model with an input skip
has it in its outputs (torch's ``RecurrentModel(..., skip=True)`` adds the input), so a runtime
that leaves the skip to its caller (RTNeural) must add the input before comparing.
AIDA-X's own ``input_batch``/``output_batch`` become a snapshot with
:func:`vashrink.formats.aidax.batch_snapshot`.

File format (``<model>.snapshot.json``)::

    {"format": "vashrink-snapshot", "version": 1, "recurrent": false,
     "atol": 1e-4, "rtol": 1e-4, "inputs": [[x0], [x1], ...], "outputs": [[y0], ...]}
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ModelFormatError
from ..model.spec import ModelSpec, spec_of, spec_to_torch

__all__ = [
    "Snapshot",
    "make_snapshot",
    "read_snapshot",
    "snapshot_path",
    "write_export",
    "write_snapshot",
]

_FORMAT = "vashrink-snapshot"
_MAX_VALUES = 10_000_000


@dataclass(frozen=True)
class Snapshot:
    """``inputs`` ``[n][in]`` and expected ``outputs`` ``[n][out]`` (float64)."""

    inputs: np.ndarray
    outputs: np.ndarray
    recurrent: bool
    atol: float = 1e-4
    rtol: float = 1e-4

    def max_abs_error(self, actual: np.ndarray) -> float:
        """Largest ``|actual - expected|``; inf when the shapes differ or values are not finite."""
        a = np.asarray(actual, dtype=np.float64).reshape(-1)
        if a.size != self.outputs.size or not np.isfinite(a).all():
            return float("inf")
        return float(np.max(np.abs(a - self.outputs.reshape(-1)), initial=0.0))

    def matches(self, actual: np.ndarray) -> bool:
        """True when every output is within ``atol + rtol * |expected|``."""
        a = np.asarray(actual, dtype=np.float64).reshape(-1)
        if a.size != self.outputs.size or not np.isfinite(a).all():
            return False
        exp = self.outputs.reshape(-1)
        return bool(np.all(np.abs(a - exp) <= self.atol + self.rtol * np.abs(exp)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": 1,
            "recurrent": self.recurrent,
            "atol": self.atol,
            "rtol": self.rtol,
            "inputs": self.inputs.tolist(),
            "outputs": self.outputs.tolist(),
        }


def snapshot_path(model_path: str | Path) -> Path:
    """``model.json`` -> ``model.snapshot.json`` (same for ``.onnx`` and ``.h``)."""
    p = Path(model_path)
    return p.with_name(p.stem + ".snapshot.json")


def default_inputs(in_size: int, recurrent: bool, n_samples: int | None = None) -> np.ndarray:
    """Deterministic test inputs: a spread of values in [-1, 1], or a noisy sine for recurrent."""
    rng = np.random.default_rng(20240917)
    if recurrent:
        n = n_samples or 256
        t = np.arange(n)[:, None]
        phase = np.arange(in_size)[None, :]
        wave: np.ndarray = 0.6 * np.sin(2 * np.pi * 0.013 * t + phase)
        return wave + 0.2 * rng.uniform(-1, 1, (n, in_size))
    n = n_samples or 64
    x = rng.uniform(-1.0, 1.0, (n, in_size))
    x[0], x[-1] = -1.0, 1.0
    return x


@contextmanager
def _one_thread() -> Iterator[None]:
    """Snapshots are tiny: torch's thread pool only adds spin-waits (6x slower on a busy CPU)."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)


def torch_forward(model: nn.Module | ModelSpec, inputs: np.ndarray) -> np.ndarray:
    """Torch's float64 outputs for ``inputs`` ``[n][in]`` (a sequence when recurrent)."""
    spec = spec_of(model)
    net = (
        spec_to_torch(spec, torch.float64) if isinstance(model, ModelSpec) else copy.deepcopy(model)
    )
    net = net.double().eval()
    x = torch.tensor(inputs, dtype=torch.float64)
    with torch.no_grad(), _one_thread():
        y = net(x[None])[0] if spec.is_recurrent else net(x)
    out: np.ndarray = np.asarray(y.numpy(), dtype=np.float64).reshape(
        inputs.shape[0], spec.out_size
    )
    return out


def make_snapshot(model: nn.Module | ModelSpec, inputs: np.ndarray | None = None) -> Snapshot:
    """Expected float64 outputs of ``model`` on ``inputs`` (default: :func:`default_inputs`)."""
    spec = spec_of(model)
    x = (
        default_inputs(spec.in_size, spec.is_recurrent)
        if inputs is None
        else np.asarray(inputs, np.float64)
    )
    x = x.reshape(-1, spec.in_size)
    y = torch_forward(model, x)
    scale = max(1.0, float(np.max(np.abs(y), initial=0.0)))
    return Snapshot(x, y, spec.is_recurrent, atol=1e-4 * scale, rtol=1e-4)


def write_snapshot(path: str | Path, snapshot: Snapshot) -> Path:
    """Write ``snapshot`` as strict JSON (the format above) to ``path``."""
    p = Path(path)
    p.write_text(json.dumps(snapshot.to_dict(), allow_nan=False))
    return p


def write_export(path: Path, content: str | bytes, snapshot: Snapshot | None) -> Path:
    """Write an exported model file, and ``snapshot`` beside it when one is given.

    Raises:
        ModelFormatError: the file cannot be written (the message names it and what to check).
    """
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        if snapshot is not None:
            write_snapshot(snapshot_path(path), snapshot)
    except OSError as exc:
        where, reason = exc.filename or path, exc.strerror or exc
        msg = f"cannot write {where}: {reason}; check the directory exists and is writable"
        raise ModelFormatError(msg) from None
    return path


def _table(value: Any, what: str) -> np.ndarray:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(r, list) and r for r in value)
    ):
        msg = f"snapshot {what} must be a non-empty list of non-empty lists; re-export the model"
        raise ModelFormatError(msg)
    width = len(value[0])
    if len(value) * width > _MAX_VALUES or any(len(r) != width for r in value):
        msg = f"snapshot {what} rows differ in length or are too many; re-export the model"
        raise ModelFormatError(msg)
    if not all(type(v) in (int, float) for r in value for v in r):
        msg = f"snapshot {what} holds a non-number; re-export the model"
        raise ModelFormatError(msg)
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        arr = np.array([np.inf])
    if not np.isfinite(arr).all():
        msg = f"snapshot {what} holds NaN or Inf; re-export the model"
        raise ModelFormatError(msg)
    return arr


def _tolerance(value: Any, default: float) -> float:
    if value is None:
        return default
    if type(value) not in (int, float) or not 0 <= value < 1e6:
        msg = f"snapshot tolerance {value!r:.30} is not a non-negative number; re-export the model"
        raise ModelFormatError(msg)
    return float(value)


def read_snapshot(path: str | Path) -> Snapshot:
    """Load and validate a snapshot file (raises :class:`ModelFormatError`)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(), parse_constant=_reject_constant)
    except OSError as exc:
        msg = f"cannot read snapshot {p}: {exc.strerror or exc}; check the path"
        raise ModelFormatError(msg) from None
    except (ValueError, RecursionError) as exc:
        msg = f"snapshot {p} is not valid JSON ({str(exc)[:80]}); re-export the model"
        raise ModelFormatError(msg) from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        msg = (
            f'{p} is not a vashrink snapshot (no "format": "{_FORMAT}"); give the '
            "<model>.snapshot.json a vashrink export wrote"
        )
        raise ModelFormatError(msg)
    inputs = _table(doc.get("inputs"), "inputs")
    outputs = _table(doc.get("outputs"), "outputs")
    if inputs.shape[0] != outputs.shape[0]:
        msg = (
            f"snapshot has {inputs.shape[0]} input rows but {outputs.shape[0]} output rows; "
            "re-export the model"
        )
        raise ModelFormatError(msg)
    return Snapshot(
        inputs,
        outputs,
        bool(doc.get("recurrent", False)),
        _tolerance(doc.get("atol"), 1e-4),
        _tolerance(doc.get("rtol"), 1e-4),
    )


def _reject_constant(name: str) -> float:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)
