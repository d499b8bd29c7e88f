"""What identifies a capture search's recording (the winner's exports: :mod:`.capture_families`)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..target.recording import Recording

__all__ = ["recording_fingerprint"]


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
