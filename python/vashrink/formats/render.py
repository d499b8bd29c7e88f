"""Run any model file vashrink reads over a WAV file (``vashrink render``), so it can be heard.

A ``.nam`` model is pre-warmed as NeuralAmpModelerCore's ``render`` tool does it: after a reset,
silence is processed in blocks of 64 until at least ``DSP::GetPrewarmSamples()`` samples have
gone through (a WaveNet's receptive field; 0.5 s for an LSTM), so the first output samples
match NAM Core's. Other models start from silence, as torch and RTNeural do. The output is
float32, at the input's rate; a ``.nam`` file's own sample rate must equal the input's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelFormatError
from ..model.spec import PREWARM_S, ModelSpec
from ..runtime.families import family_of

__all__ = [
    "PREWARM_BLOCK", "RenderResult", "load_any", "prewarm", "prewarm_samples", "render_file",
]

#: NAM Core's render tool pre-warms (and runs) in blocks of this many samples.
PREWARM_BLOCK = 64


@dataclass(frozen=True)
class RenderResult:
    """What was rendered: ``samples`` at ``sample_rate_hz``, after ``prewarm_samples`` of
    silence; ``peak`` is the output's largest magnitude."""

    model: str
    family: str
    input: str
    output: str
    samples: int
    sample_rate_hz: float
    prewarm_samples: int
    peak: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_any(path: Path) -> tuple[Any, float | None, int]:
    """(spec, the model's sample rate or None, pre-warm samples) for any model file."""
    if path.suffix.lower() == ".nam":
        from .nam import NamLinear, read_nam

        nam = read_nam(path)
        if isinstance(nam.model, NamLinear):
            msg = f"{path} is a NAM Linear model, which vashrink checks but does not run"
            raise ModelFormatError(msg)
        return nam.model, nam.sample_rate_hz, nam.prewarm_samples
    from .load import load_model

    return load_model(path).spec, None, 0


def prewarm_samples(spec: Any, file_samples: int, rate: float) -> int:
    """Silence to run before playing: what a ``.nam`` file asks for, else :data:`PREWARM_S` at
    ``rate`` for a GRU/LSTM model (its capture training moved the settled output for that
    pre-warm out of its bias), else none (a curve has no state)."""
    if file_samples:
        return file_samples
    if isinstance(spec, ModelSpec) and spec.is_recurrent:
        return round(PREWARM_S * rate)
    return 0


def prewarm(runner: Any, samples: int) -> int:
    """Process silence as NAM Core's ``render`` does; returns how many samples went through."""
    n = -(-samples // PREWARM_BLOCK) * PREWARM_BLOCK if samples > 0 else 0
    if n:
        runner.process_samples(np.zeros(n, dtype=np.float32))
    return n


def _read_wav(path: Path) -> tuple[np.ndarray, float]:
    import soundfile as sf

    if not path.is_file():
        msg = f"input WAV {path} does not exist"
        raise InputError(msg)
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        msg = f"cannot read {path} as audio ({exc}); give a WAV file"
        raise InputError(msg) from None
    if audio.shape[1] != 1:
        msg = f"{path} has {audio.shape[1]} channels; render takes a mono WAV"
        raise InputError(msg)
    if audio.shape[0] == 0:
        msg = f"{path} holds no samples"
        raise InputError(msg)
    return np.ascontiguousarray(audio[:, 0]), float(rate)


def render_file(model_path: str | Path, input_wav: str | Path, output_wav: str | Path, *,
                use_prewarm: bool = True) -> RenderResult:
    """Render ``input_wav`` through the model at ``model_path`` into ``output_wav`` (float32).

    Raises:
        ModelFormatError: the model cannot be read or run.
        InputError: the WAV is missing, not mono, or at another rate than a ``.nam`` model's.
    """
    import soundfile as sf

    mp, ip, op = Path(model_path), Path(input_wav), Path(output_wav)
    if not mp.is_file():
        msg = f"model file {mp} does not exist"
        raise InputError(msg)
    spec, model_rate, warm = load_any(mp)
    audio, rate = _read_wav(ip)
    if model_rate is not None and abs(model_rate - rate) > 0.5:
        msg = (f"{ip} is at {rate:g} Hz but {mp.name} was trained at {model_rate:g} Hz; "
               f"resample the input to {model_rate:g} Hz")
        raise InputError(msg)
    family = family_of(spec)
    runner = family.load(spec, "float32")
    warmed = prewarm(runner, prewarm_samples(spec, warm, rate)) if use_prewarm else 0
    out = np.asarray(runner.process_samples(audio), dtype=np.float32).reshape(-1)
    sf.write(str(op), out, round(rate), subtype="FLOAT")
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return RenderResult(str(mp), family.name, str(ip), str(op), int(out.size), rate, warmed, peak)
