"""Import RTNeural's other format: a PyTorch ``state_dict`` dumped to JSON.

RTNeural's ``torch_helpers`` load ``{name: nested list}`` files (written with
``json.dump({k: v.tolist() for k, v in model.state_dict().items()}, f)``) into layers the C++
code already built, so the file carries no architecture: the user supplies it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ModelFormatError
from ..model.architecture import Architecture
from ..model.mlp import build_mlp
from ..model.spec import spec_of

__all__ = ["from_state_dict_json"]


def _nested(value: Any, shape: tuple[int, ...], key: str) -> np.ndarray:
    """Check ``value`` has exactly ``shape`` (iteratively, no trust in sizes) and convert it."""
    level: list[Any] = [value]
    for depth, n in enumerate(shape):
        nxt: list[Any] = []
        for item in level:
            if not isinstance(item, list) or len(item) != n:
                got = f"{len(item)} entries" if isinstance(item, list) else type(item).__name__
                msg = (
                    f"{key}: expected shape {list(shape)} but dimension {depth} has {got}; "
                    "the architecture you gave does not match the file"
                )
                raise ModelFormatError(msg)
            nxt.extend(item)
        level = nxt
    if not all(type(v) in (int, float) for v in level):
        msg = f"{key}: holds a non-number; dump tensors with .tolist()"
        raise ModelFormatError(msg)
    try:
        arr = np.array(level, dtype=np.float64).reshape(shape)
    except OverflowError:
        arr = np.full(shape, np.inf)
    if not np.isfinite(arr).all():
        msg = f"{key}: holds NaN or Inf; the model cannot run: retrain it or fix the weights"
        raise ModelFormatError(msg)
    return arr


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}; check the path"
        raise ModelFormatError(msg) from None
    except (ValueError, RecursionError) as exc:
        msg = f"{path} is not valid JSON ({str(exc)[:80]}); dump the state_dict with json.dump"
        raise ModelFormatError(msg) from None
    if isinstance(doc, dict) and set(doc) == {"state_dict"} and isinstance(doc["state_dict"], dict):
        doc = doc["state_dict"]
    if not isinstance(doc, dict) or not doc:
        msg = f"{path} must hold a JSON object mapping parameter names to nested lists"
        raise ModelFormatError(msg)
    return doc


def _reject_constant(name: str) -> float:
    msg = f"the literal {name} is not allowed (NaN/Inf weights cannot run)"
    raise ValueError(msg)


def _match_keys(expected: dict[str, torch.Tensor], found: dict[str, Any]) -> dict[str, str]:
    """Map each expected name to a file name: exact names, else the same order and shapes."""
    if set(expected) == set(found):
        return {k: k for k in expected}
    exp_keys, file_keys = list(expected), list(found)
    if len(exp_keys) == len(file_keys):
        mapping = dict(zip(exp_keys, file_keys, strict=True))
        if all(_shape_of(found[mapping[k]]) == tuple(expected[k].shape) for k in exp_keys):
            return mapping
    missing = [k for k in exp_keys if k not in found][:4]
    msg = (
        f"the file's parameters {file_keys[:6]} do not match the architecture's "
        f"{exp_keys[:6]} (missing e.g. {missing}); give the architecture the file was trained with"
    )
    raise ModelFormatError(msg)


def _shape_of(value: Any) -> tuple[int, ...]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value or len(shape) > 8:
            break
        value = value[0]
    return tuple(shape)


def from_state_dict_json(path: str | Path, architecture: Architecture | nn.Module) -> nn.Module:
    """Load a JSON-dumped ``state_dict`` into ``architecture``.

    Args:
        path: the JSON file (``{name: nested list}``, optionally under a ``"state_dict"`` key).
        architecture: an :class:`Architecture` (1-in/1-out MLP as ``build_mlp``
            makes it) or a template module (MLP ``nn.Sequential`` or
            :class:`~vashrink.formats.RecurrentModel`) whose weights are replaced.

    Returns:
        A float32 eval-mode model. Names must match, or match in order with equal shapes (a
        dump made with a different attribute prefix).
    """
    p = Path(path)
    if isinstance(architecture, Architecture):
        template: nn.Module = build_mlp(architecture)
    elif isinstance(architecture, nn.Module):
        spec_of(architecture)
        template = copy.deepcopy(architecture).float()
    else:
        msg = (
            "architecture must be an Architecture or a torch module, got "
            f"{type(architecture).__name__}"
        )
        raise ModelFormatError(msg)
    found = _read(p)
    expected = template.state_dict()
    mapping = _match_keys(expected, found)
    tensors = {
        k: torch.tensor(_nested(found[mapping[k]], tuple(t.shape), mapping[k]), dtype=t.dtype)
        for k, t in expected.items()
    }
    template.load_state_dict(tensors, strict=True)
    spec_of(template)
    return template.eval()
