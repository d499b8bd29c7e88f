"""An existing model as the gear (``vashrink shrink --model gear.nam --esr 0.01``): the capture
test signal (or the user's own DI recording) is rendered through the model in the engine, and
the pair becomes the :class:`~vashrink.target.recording.Recording` the capture search fits.

The original's cost is measured on the same machine (per sample, as the candidates are), so the
summary can say what the chosen model saves; its rendered output is written beside the search's
results to listen to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..runtime.families import family_of
from ..runtime.timing import time_runner
from ..target.capture_signal import test_signal
from ..target.recording import Recording, recording_from_arrays
from .render import load_any, prewarm, prewarm_samples

__all__ = ["OFFSET_NOTE", "GearModel", "gear_recording"]

#: A settled output for silence at least this large is named in the recording's checks.
OFFSET_NOTE = 1e-4


@dataclass(frozen=True)
class GearModel:
    """The original model: what it is, its measured cost, where its rendered output went."""

    path: str
    family: str
    ns_per_sample: float
    sample_rate_hz: float
    rendered: str | None = None
    silence_offset: float = 0.0

    @property
    def core_percent(self) -> float:
        return self.ns_per_sample * self.sample_rate_hz / 1e7

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "core_percent": self.core_percent}


def _input(input_wav: str | Path | None, rate: float, seconds: float) -> tuple[np.ndarray, float]:
    if input_wav is None:
        return test_signal(round(rate), seconds=seconds), rate
    import soundfile as sf

    data, wav_rate = sf.read(str(input_wav), dtype="float64", always_2d=True)
    if data.shape[1] != 1:
        msg = f"{input_wav} has {data.shape[1]} channels; give a mono DI recording"
        raise InputError(msg)
    return data[:, 0], float(wav_rate)


def gear_recording(
    model_path: str | Path,
    *,
    input_wav: str | Path | None = None,
    seconds: float = 30.0,
    validation_s: float = 10.0,
    out_wav: str | Path | None = None,
    timing_repeats: int = 5,
) -> tuple[Recording, GearModel]:
    """The recording of ``model_path`` as gear, and the original's measured cost.

    Args:
        model_path: any model file vashrink runs (``.nam``, vashrink, RTNeural/AIDA-X, ...).
        input_wav: a mono DI recording to render; default the capture test signal of
            ``seconds`` at the model's sample rate (48 kHz when the file does not say).
        out_wav: where to write the original's output (float32 WAV), to listen to.

    Raises:
        InputError: the input's rate differs from a ``.nam`` model's, or it is not mono.
        ModelFormatError: the model cannot be read or run.
    """
    path = Path(model_path)
    if not path.is_file():
        msg = f"model file {path} does not exist"
        raise InputError(msg)
    spec, model_rate, warm = load_any(path)
    x, rate = _input(input_wav, model_rate or 48000.0, seconds)
    if model_rate is not None and abs(model_rate - rate) > 0.5:
        msg = f"{input_wav} is at {rate:g} Hz but {path.name} runs at {model_rate:g} Hz"
        raise InputError(msg)
    family = family_of(spec)
    runner = family.load(spec, "float32")
    offset = _silence_offset(runner, prewarm_samples(spec, warm, rate))
    y = np.asarray(runner.process_samples(x.astype(np.float32)), dtype=np.float64).reshape(-1)
    y -= offset
    rendered = None
    if out_wav is not None:
        import soundfile as sf

        sf.write(str(out_wav), y.astype(np.float32), round(rate), subtype="FLOAT")
        rendered = str(out_wav)
    timing = time_runner(runner, modes=("sample",), repeats=timing_repeats,
                         sample_rate_hz=rate)[0]
    rec = recording_from_arrays(x, y, round(rate), validation_s=validation_s,
                                name=f"{path.name} rendered in vashrink's engine", latency=0,
                                remove_dc=False)
    if abs(offset) >= OFFSET_NOTE:
        rec = replace(rec, checks=(*rec.checks, (
            f"the original outputs {offset:.3g} for silence (after its pre-warm): removed from "
            "its rendering, as a trained candidate is made silent for silence")))
    gear = GearModel(str(path), family.name, timing.ns_per_sample, rate, rendered, offset)
    return rec, gear


def _silence_offset(runner: Any, warm: int) -> float:
    """Pre-warm ``runner`` (plus one block of silence) and return its settled output for
    silence: a constant no candidate is asked to learn (training moves each candidate's own one
    out of its bias), so it is taken out of the target; a random-weight model's can be most of
    its output's energy."""
    prewarm(runner, warm)
    return float(np.asarray(runner.process_samples(np.zeros(64, np.float32))).reshape(-1)[-1])
