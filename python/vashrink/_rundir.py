"""The output directory of a shrink/grid run: marker file, stored models, result JSON.

A directory is ours when it holds :data:`MARKER` (written before anything else), which also
records what the run trains (target, range, activation, training settings), so re-running the
same command resumes and a different one is refused instead of mixing results.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .architecture import Architecture
from .errors import InputError, ModelFormatError
from .mlp import build_mlp

__all__ = ["MARKER", "fingerprint_id", "load_model", "prepare_out_dir", "save_model", "write_json"]

MARKER = ".vashrink-run.json"


def fingerprint_id(fingerprint: dict[str, Any]) -> str:
    """A short stable hash of what a run trains (names its study)."""
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename), so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, default=str)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_out_dir(out_dir: str | Path, kind: str, fingerprint: dict[str, Any]) -> Path:
    """Create or reopen ``out_dir`` for a ``kind`` run ("shrink" or "grid").

    Raises:
        InputError: the directory is not writable, is a non-empty directory vashrink did not
            create, or holds a run of another kind or for other settings.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        msg = f"--out {str(out)!r} is a file; give a directory"
        raise InputError(msg)
    marker = out / MARKER
    if out.is_dir() and any(out.iterdir()) and not marker.is_file():
        msg = (
            f"--out {str(out)!r} is a non-empty directory that vashrink did not create; "
            "give a new or empty directory so nothing of yours is overwritten"
        )
        raise InputError(msg)
    if marker.is_file():
        try:
            old = json.loads(marker.read_text())
        except (OSError, ValueError):
            old = None
        if not isinstance(old, dict) or old.get("kind") != kind:
            what = old.get("kind") if isinstance(old, dict) else "unreadable"
            msg = (
                f"--out {str(out)!r} holds a vashrink {what} run, not a {kind} run; "
                "give another directory"
            )
            raise InputError(msg)
        if old.get("fingerprint") != json.loads(json.dumps(fingerprint, default=str)):
            msg = (
                f"--out {str(out)!r} holds a {kind} run for another target, range, activation or "
                "training settings; give another directory (or delete it to start over)"
            )
            raise InputError(msg)
        return out
    try:
        (out / "models").mkdir(parents=True, exist_ok=True)
        write_json(marker, {"kind": kind, "fingerprint": fingerprint})
    except OSError as exc:
        reason = exc.strerror or exc
        msg = f"cannot write to --out {str(out)!r}: {reason}; choose a writable directory"
        raise InputError(msg) from None
    return out


def save_model(model: nn.Sequential, arch: Architecture, path: Path) -> Path:
    """Store weights and architecture (a state dict, loadable with ``weights_only=True``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    payload = {
        "architecture": {"depth": arch.depth, "width": arch.width, "activation": arch.activation},
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_model(path: Path) -> nn.Sequential:
    """Load a model written by :func:`save_model` (float32, eval mode)."""
    try:
        payload = torch.load(path, weights_only=True)
        spec = payload["architecture"]
        arch = Architecture(int(spec["depth"]), int(spec["width"]), str(spec["activation"]))
        model = build_mlp(arch)
        model.load_state_dict(payload["state_dict"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        msg = f"stored model {str(path)!r} cannot be loaded ({exc}); delete it to retrain"
        raise ModelFormatError(msg) from None
    return model.eval()
