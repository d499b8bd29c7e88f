"""Load a model the user names on the command line: a torch file or an RTNeural JSON."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..architecture import Architecture
from ..errors import ModelFormatError
from .rtneural import from_rtneural
from .spec import spec_of
from .statedict import from_state_dict_json

__all__ = ["load_model_file"]


def _load_torch(path: Path, architecture: Architecture | None) -> nn.Module:
    try:
        # weights_only=False unpickles arbitrary objects (a whole nn.Module needs it): this runs
        # only on files the user names explicitly, and must only be used with trusted files.
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except (
        OSError,
        RuntimeError,
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        ModuleNotFoundError,
    ) as exc:
        msg = (
            f"cannot load {path} with torch.load ({type(exc).__name__}: "
            f"{str(exc)[:100]}); save the model with torch.save(model, path)"
        )
        raise ModelFormatError(msg) from None
    if isinstance(obj, Mapping) and architecture is not None:
        model = _from_mapping(obj, architecture)
    elif isinstance(obj, Mapping):
        msg = (
            f"{path} holds a state_dict, not a model: pass --architecture DxW, or save "
            "with torch.save(model, path)"
        )
        raise ModelFormatError(msg)
    elif isinstance(obj, nn.Module):
        model = obj
    else:
        msg = (
            f"{path} holds a {type(obj).__name__}, not a torch model; save with "
            "torch.save(model, path)"
        )
        raise ModelFormatError(msg)
    spec_of(model)
    return model.float().eval()


def _from_mapping(obj: Mapping[str, object], architecture: Architecture) -> nn.Module:
    from ..mlp import build_mlp

    model = build_mlp(architecture)
    try:
        model.load_state_dict(dict(obj), strict=True)
    except (RuntimeError, TypeError) as exc:
        msg = f"the state_dict does not fit {architecture}: {str(exc).splitlines()[0][:120]}"
        raise ModelFormatError(msg) from None
    return model


def load_model_file(path: str | Path, architecture: Architecture | None = None) -> nn.Module:
    """A float32 eval-mode model from ``path``.

    ``.json``: RTNeural JSON, or (with ``architecture``) a state_dict dumped to JSON. Anything
    else: ``torch.save`` of a whole ``nn.Sequential``/``RecurrentModel`` (or of a state_dict,
    with ``architecture``), loaded with ``weights_only=False`` (trusted files only).
    """
    p = Path(path)
    if not p.is_file():
        msg = f"model file {p} does not exist; give a .pt (torch.save) or .json (RTNeural) file"
        raise ModelFormatError(msg)
    if p.suffix.lower() == ".json":
        if architecture is not None:
            return from_state_dict_json(p, architecture)
        return from_rtneural(p)
    return _load_torch(p, architecture)
