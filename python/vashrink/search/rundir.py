"""The output directory of a shrink/grid run: marker file, stored models, result JSON.

A directory is ours when it holds :data:`MARKER` (written before anything else), which also
records what the run trains (target, range, activation, training settings), so re-running the
same command resumes and a different one is refused instead of mixing results. One run at a
time: a run holds the directory's lock (:mod:`.runlock`) while it lives.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import InputError, ModelFormatError
from ..formats import to_cpp, to_onnx, to_rtneural
from ..model.architecture import Architecture
from ..model.file import SUFFIX, read_model_file, write_model_file
from ..model.spec import spec_of, spec_to_torch
from .runlock import LOCK_NAME, lock_run_dir

__all__ = [
    "MARKER",
    "export_winner",
    "fingerprint_id",
    "load_model",
    "model_path",
    "prepare_out_dir",
    "save_model",
    "write_json",
]

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


def _differences(old: Any, new: Any, prefix: str = "") -> str:
    """The settings that differ, as ``name: stored -> requested`` (at most three)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return f"{prefix or 'settings'}: {old!r} -> {new!r}"
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        found.append(_differences(a, b, name) if isinstance(a, dict) and isinstance(b, dict)
                     else f"{name}: {a!r} -> {b!r}")
    return "; ".join(found[:3]) + ("; ..." if len(found) > 3 else "")


def prepare_out_dir(
    out_dir: str | Path, kind: str, fingerprint: dict[str, Any], *, lock: bool = True
) -> Path:
    """Create or reopen ``out_dir`` for a ``kind`` run ("shrink", "grid", "capture", "train").

    ``lock``: take the directory's run lock (:mod:`.runlock`) for this process, so a second run
    into the same directory is refused while this one lives; False only for the local worker
    processes of a run whose parent holds it.

    Raises:
        InputError: the directory is not writable, is a non-empty directory vashrink did not
            create, holds a run of another kind or for other settings, or another run holds it
            (:class:`.runlock.RunDirLockedError`).
    """
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        msg = f"--out {str(out)!r} is a file; give a directory"
        raise InputError(msg)
    marker = out / MARKER
    ours = marker.is_file() or (out / LOCK_NAME).is_file()
    if out.is_dir() and any(out.iterdir()) and not ours:
        msg = (
            f"--out {str(out)!r} is a non-empty directory that vashrink did not create; "
            "give a new or empty directory so nothing of yours is overwritten"
        )
        raise InputError(msg)
    if lock:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            msg = f"cannot write to --out {str(out)!r}: {reason}; choose a writable directory"
            raise InputError(msg) from None
        lock_run_dir(out)
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
        wanted = json.loads(json.dumps(fingerprint, default=str))
        if old.get("fingerprint") != wanted:
            differences = _differences(old.get("fingerprint"), wanted)
            msg = (
                f"--out {str(out)!r} holds a {kind} run with other settings ({differences}); "
                "give another directory, or delete it to start over"
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


def model_path(out: Path, arch: Architecture) -> Path:
    """Where a run stores ``arch``'s model: ``models/<D>x<W>-<activation>.vashrink.json``."""
    return out / "models" / f"{arch.label}-{arch.activation}{SUFFIX}"


def save_model(
    model: nn.Sequential,
    path: Path,
    provenance: dict[str, Any] | None = None,
    *,
    dtype: str = "float32",
) -> Path:
    """Store a trained model as a vashrink model file (every command can read it)."""
    return write_model_file(path, spec_of(model), dtype=dtype, provenance=provenance)


def load_model(path: Path) -> nn.Sequential:
    """Load a stored model to export it: float64, eval mode, so a float64 winner keeps its
    weights exactly (a float32 one is exact in float64 too)."""
    import torch

    try:
        model = spec_to_torch(read_model_file(path).spec, torch.float64)
    except ModelFormatError as exc:
        msg = f"stored model {str(path)!r} cannot be loaded ({exc}); delete it to retrain"
        raise ModelFormatError(msg) from None
    assert isinstance(model, nn.Sequential)
    return model


def export_winner(
    model: nn.Sequential, out: Path, model_file: Path, *, dtype: str = "float32"
) -> dict[str, str]:
    """The winner in ``out``: its model file, RTNeural JSON (+ snapshot), ONNX and a C++ header
    (``double`` for a float64 model: RTNeural's ``Model<double>`` and ours)."""
    files = {
        "model": out / f"model{SUFFIX}",
        "rtneural": to_rtneural(model, out / "model.json", snapshot=True),
        "onnx": to_onnx(model, out / "model.onnx"),
        "cpp": to_cpp(model, out / "model.h", dtype="double" if dtype == "float64" else "float"),
    }
    shutil.copyfile(model_file, files["model"])
    return {k: str(Path(v)) for k, v in files.items()}
