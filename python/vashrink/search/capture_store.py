"""What a capture search keeps and hands on: the recording's identity and the exported winner."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..formats import to_cpp, to_onnx, to_rtneural
from ..model.file import SUFFIX, read_model_file
from ..target.recording import Recording

__all__ = ["export_capture_winner", "recording_fingerprint"]


def recording_fingerprint(rec: Recording) -> dict[str, Any]:
    """What identifies a recording's audio for a resumable run (a hash, not the file names)."""
    digest = hashlib.sha256()
    for a in (rec.input, rec.output):
        digest.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return {
        "sha256": digest.hexdigest()[:16],
        "sample_rate_hz": rec.sample_rate_hz,
        "samples": int(rec.input.size),
        "validation_spans": [list(map(int, span)) for span in rec.validation_spans],
        "latency_samples": int(rec.latency_samples),
    }


def export_capture_winner(out: Path, model_file: Path, dtype: str) -> dict[str, str]:
    """The winner in ``out``: model file, RTNeural JSON + snapshot, stateful ONNX, C++ header."""
    spec = read_model_file(model_file).spec
    files = {
        "model": out / f"model{SUFFIX}",
        "rtneural": to_rtneural(spec, out / "model.json", snapshot=True),
        "onnx": to_onnx(spec, out / "model.onnx", stateful=True),
        "cpp": to_cpp(spec, out / "model.h", dtype="double" if dtype == "float64" else "float"),
    }
    shutil.copyfile(model_file, files["model"])
    return {k: str(Path(v)) for k, v in files.items()}
