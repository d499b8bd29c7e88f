"""Every way a model comes in, in one place: the model file, RTNeural JSON (AIDA-X's too), a
CoreAudioML/GuitarML ``SimpleRNN`` JSON, a PyTorch state-dict JSON, or a torch file (a pickled
module, or the state dict of an older vashrink run).

:func:`load_model` recognises the kind from the content, not only the suffix, and returns a
:class:`~vashrink.model.file.ModelFile` (layers as arrays, dtype, provenance) for every kind,
so ``time``, ``export`` and ``check`` treat them alike.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError
from ..model.architecture import Architecture
from ..model.file import ModelFile, is_model_file, read_model_file
from ..model.spec import spec_of

__all__ = ["READABLE", "WRITE_ONLY", "load_model"]


def _from_torch_file(path: Path, architecture: Architecture | None) -> ModelFile:
    import torch
    from torch import nn

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, ModuleNotFoundError):
        # A whole nn.Module needs the unrestricted unpickler: it runs only on files the user
        # names explicitly, and must only be used with trusted files (the docs say so).
        obj = _unpickle(path)
    except (OSError, EOFError) as exc:
        msg = f"cannot read {path} ({type(exc).__name__}: {str(exc)[:100]})"
        raise ModelFormatError(msg) from None
    if isinstance(obj, Mapping) and "state_dict" in obj and "architecture" in obj:
        arch = _architecture_field(obj["architecture"], path)
        return ModelFile(spec_of(_state_dict_model(obj["state_dict"], arch, path)),
                         provenance={"source": str(path), "source_kind": "vashrink-0.1 .pt"})
    if isinstance(obj, Mapping):
        if architecture is None:
            msg = (
                f"{path} holds a bare state_dict, which does not say its architecture: pass "
                "--architecture DxW (e.g. 4x8), or save the model with torch.save(model, path)"
            )
            raise ModelFormatError(msg)
        model = _state_dict_model(obj, architecture, path)
    elif isinstance(obj, nn.Module):
        model = obj
    else:
        msg = f"{path} holds a {type(obj).__name__}, not a model; save with torch.save(model, path)"
        raise ModelFormatError(msg)
    return ModelFile(spec_of(model.eval()), provenance={"source": str(path),
                                                        "source_kind": "torch"})


#: What :func:`load_model` (and so ``time``, ``export`` and ``check``) reads, for messages.
READABLE = ("model files vashrink reads: .vashrink.json, RTNeural / AIDA-X / CoreAudioML .json, "
            "torch .pt/.pth")
#: Formats vashrink exports but cannot load, by suffix.
WRITE_ONLY = {".onnx": "an ONNX file", ".h": "a C++ header", ".hpp": "a C++ header",
              ".cpp": "C++ source", ".wav": "audio, not a model"}


def _unpickle(path: Path) -> Any:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling arbitrary bytes raises anything (ValueError, ...)
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        msg = (
            f"cannot load {path} with torch.load ({type(exc).__name__}: {first}): it is not "
            f"one of the {READABLE}; save a torch model with torch.save(model, path)"
        )
        raise ModelFormatError(msg) from None


def _architecture_field(value: Any, path: Path) -> Architecture:
    try:
        return Architecture(int(value["depth"]), int(value["width"]), str(value["activation"]))
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"{path}: its architecture field is malformed ({exc})"
        raise ModelFormatError(msg) from None


def _state_dict_model(state: Mapping[str, Any], arch: Architecture, path: Path) -> Any:
    from ..model.mlp import build_mlp

    model = build_mlp(arch)
    try:
        model.load_state_dict(dict(state), strict=True)
    except (RuntimeError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        detail = first.split(":", 1)[-1].strip()[:160] or type(exc).__name__
        msg = f"{path}: the state_dict does not fit {arch.label} {arch.activation} ({detail})"
        raise ModelFormatError(msg) from None
    return model


def _from_json(path: Path, architecture: Architecture | None) -> ModelFile:
    from .aidax import aidax_provenance
    from .coreaudioml import coreaudioml_file, is_coreaudioml
    from .rtneural_json import load_rtneural, rtneural_to_spec

    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        doc = None
    if is_model_file(doc):
        return read_model_file(path, doc)
    if is_coreaudioml(doc):
        return coreaudioml_file(path, doc)
    if architecture is not None or _looks_like_state_dict(doc):
        from .statedict import from_state_dict_json

        if architecture is None:
            msg = (
                f"{path} is a PyTorch state_dict dumped to JSON, which does not say its "
                "architecture: pass --architecture DxW (e.g. 4x8)"
            )
            raise ModelFormatError(msg)
        spec = spec_of(from_state_dict_json(path, architecture))
        return ModelFile(spec, provenance={"source": str(path), "source_kind": "state-dict json"})
    rt = load_rtneural(path)
    try:
        spec = rtneural_to_spec(rt)
    except ModelFormatError as exc:
        msg = f"{path}: {exc}"
        raise ModelFormatError(msg) from None
    provenance: dict[str, Any] = {"source": str(path), "source_kind": "rtneural json"}
    if rt.aidax is not None:
        provenance.update(aidax_provenance(rt))
    return ModelFile(spec, provenance=provenance)


def _looks_like_state_dict(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and bool(doc)
        and "layers" not in doc
        and all(isinstance(k, str) and k.endswith((".weight", ".bias")) for k in doc)
    )


def load_model(path: str | Path, architecture: Architecture | None = None) -> ModelFile:
    """The model in ``path``, whatever its kind.

    Args:
        path: a vashrink model file (``.vashrink.json``), an RTNeural JSON file (an AIDA-X file:
            its in_skip and gains folded in), a CoreAudioML ``SimpleRNN`` JSON, a state dict
            dumped to JSON (needs ``architecture``), or a torch file: ``torch.save`` of a whole
            ``nn.Sequential``/``RecurrentModel`` (unpickled: trusted files only), of a state
            dict (needs ``architecture``), or a model saved by vashrink 0.1.
        architecture: the architecture of a bare state dict (ignored otherwise).

    Raises:
        ModelFormatError: the file is missing, unreadable or not a model vashrink can run.
    """
    p = Path(path)
    if p.is_dir():
        msg = f"{p} is a directory, not a model file; give one of the {READABLE} in it"
        raise ModelFormatError(msg)
    if not p.is_file():
        msg = f"model file {p} does not exist; give one of the {READABLE}"
        raise ModelFormatError(msg)
    written = WRITE_ONLY.get(p.suffix.lower())
    if written is not None:
        msg = (
            f"{p} is {written}: vashrink writes it (vashrink export) but does not read it; give "
            f"one of the {READABLE} (e.g. the .vashrink.json it was exported from)"
        )
        raise ModelFormatError(msg)
    if p.suffix.lower() == ".nam":  # Neural Amp Modeler: formats/nam.py
        from .nam import nam_model_file

        return nam_model_file(p)
    if p.suffix.lower() == ".json":
        return _from_json(p, architecture)
    return _from_torch_file(p, architecture)
