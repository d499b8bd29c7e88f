"""Recordings of gear (amp, pedal) as training data: an input file and the gear's output file.

:func:`load_recording` reads both, refuses pairs that cannot train a model, removes the
latency between them, notes level problems and splits by time into training and validation
(``validation_s`` seconds in spans spread over the recording, :mod:`.spans`). The latency
removed is the causal onset of :mod:`.latency`, never the cross-correlation peak (which adds
the gear's group delay and would ask the model to see the future).
:func:`recording_from_arrays` runs the same checks on arrays already in memory (a simulated
pedal, audio from another library).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from .audio_checks import (
    Latency,
    check_latency,
    check_validation_s,
    level_notes,
    pair_notes,
    subtract_offsets,
)
from .latency import LatencyEstimate, estimate_onset_latency
from .spans import spread_spans

__all__ = [
    "MAX_RATE_HZ",
    "MIN_RATE_HZ",
    "Recording",
    "load_recording",
    "recording_from_arrays",
]

MIN_RATE_HZ = 8_000
MAX_RATE_HZ = 192_000
SILENCE_RMS = 1e-6
"""RMS below this (-120 dBFS) counts as silence."""

MIN_TRAIN_S = 1.0

Signal = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Recording:
    """An aligned, validated input/output pair; the ``validation_spans`` validate, the rest trains.

    The validation spans are spread over the recording (:func:`spread_spans`), so they hold
    every kind of playing the recording holds, not only its last seconds.

    ``latency_samples`` is the delay of the original output behind the input that was removed
    (the plugin's model answers that many samples earlier than the recorded gear); ``latency``
    says how it was found (:class:`~vashrink.target.latency.LatencyEstimate`, ``None`` when
    given). ``dc_removed`` is the mean subtracted from (input, output). Arrays are read-only.
    ``input_path``/``output_path`` are the files it was read from (None for arrays); ``name``
    says where it came from in words.
    """

    sample_rate_hz: int
    input: Signal
    output: Signal
    validation_spans: tuple[tuple[int, int], ...]
    latency_samples: int
    checks: tuple[str, ...]
    input_path: Path | None = None
    output_path: Path | None = None
    name: str = ""
    latency: LatencyEstimate | None = None
    dc_removed: tuple[float, float] = (0.0, 0.0)

    @property
    def aligned(self) -> bool:
        """Whether a latency was removed."""
        return self.latency_samples > 0

    @property
    def latency_method(self) -> str:
        """``"onset"`` (estimated), ``"given"`` (``latency=N``) or ``"none"`` (``latency=0``)."""
        if self.latency is not None:
            return self.latency.method
        return "given" if self.latency_samples > 0 else "none"

    @property
    def duration_s(self) -> float:
        """Length of the (aligned) pair in seconds."""
        return self.input.size / self.sample_rate_hz

    @property
    def latency_ms(self) -> float:
        """The measured latency in milliseconds."""
        return 1000.0 * self.latency_samples / self.sample_rate_hz

    @property
    def train_spans(self) -> tuple[tuple[int, int], ...]:
        """The ``[start, end)`` spans between the validation spans (empty ones left out)."""
        out, start = [], 0
        for a, b in self.validation_spans:
            if a > start:
                out.append((start, a))
            start = b
        if start < self.input.size:
            out.append((start, self.input.size))
        return tuple(out)

    @property
    def validation_samples(self) -> int:
        return sum(b - a for a, b in self.validation_spans)
    @property
    def train_input(self) -> Signal:
        """The training spans joined (for fits that ignore the joins; training rows are cut
        per span)."""
        return np.concatenate([self.input[a:b] for a, b in self.train_spans])

    @property
    def train_output(self) -> Signal:
        return np.concatenate([self.output[a:b] for a, b in self.train_spans])

    @property
    def validation_input(self) -> Signal:
        """The validation spans joined (for plots and listening; scoring streams each span
        after its pre-roll, :meth:`validation_pieces`)."""
        return np.concatenate([self.input[a:b] for a, b in self.validation_spans])

    @property
    def validation_output(self) -> Signal:
        return np.concatenate([self.output[a:b] for a, b in self.validation_spans])

    def validation_pieces(self, preroll_samples: int) -> list[tuple[Signal, Signal, int]]:
        """Each validation span with up to ``preroll_samples`` of the audio before it:
        ``(x, y, scored_from)``, where samples ``[scored_from:]`` are the span itself. A model
        run over ``x`` (after a reset and its pre-warm) is scored on ``[scored_from:]``: its
        state has settled as it does in a plugin that has been playing."""
        out = []
        for a, b in self.validation_spans:
            first = max(0, a - preroll_samples)
            out.append((self.input[first:b], self.output[first:b], a - first))
        return out


def _read(path: Path, role: str) -> tuple[NDArray[np.float64], int]:
    if path.is_dir():
        msg = f"{role} file {path} is a directory: give the path of a WAV, FLAC or AIFF file"
        raise InputError(msg)
    if not path.is_file():
        msg = f"{role} file {path} does not exist: give the path of a WAV, FLAC or AIFF file"
        raise InputError(msg)
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        msg = (
            f"{role} file {path} is not readable audio ({exc}); "
            "export it as a WAV, FLAC or AIFF file"
        )
        raise InputError(msg) from None
    return np.asarray(data, dtype=np.float64), int(rate)


def _pick_channel(data: NDArray[np.float64], path: Path, role: str, channel: int | None) -> Signal:
    channels = data.shape[1]
    if channel is None:
        if channels != 1:
            msg = (
                f"{role} file {path} has {channels} channels: choose one, "
                f"pass channel=N / --channel N with N in 0..{channels - 1}"
            )
            raise InputError(msg)
        return np.ascontiguousarray(data[:, 0])
    if not 0 <= channel < channels:
        msg = (
            f"channel {channel} is out of range for {role} file {path}, which has "
            f"{channels} channel(s): use 0..{channels - 1}"
        )
        raise InputError(msg)
    return np.ascontiguousarray(data[:, channel])


def _check_rates(in_rate: int, out_rate: int, in_path: Path, out_path: Path) -> int:
    if in_rate != out_rate:
        msg = (
            f"sample rates differ: input {in_path} is {in_rate} Hz, output {out_path} is "
            f"{out_rate} Hz; resample one file so both match"
        )
        raise InputError(msg)
    if not MIN_RATE_HZ <= in_rate <= MAX_RATE_HZ:
        msg = (
            f"sample rate {in_rate} Hz of {in_path} is outside {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz; "
            "resample to e.g. 48000 Hz"
        )
        raise InputError(msg)
    return in_rate


def _check_audible(x: Signal, role: str) -> None:
    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    if not rms >= SILENCE_RMS:
        msg = f"{role} is silent (RMS below -120 dBFS); check the recording level and the channel"
        raise InputError(msg)


def _align(x: Signal, y: Signal, lag: int) -> tuple[Signal, Signal]:
    """Shift ``y`` earlier by ``lag`` >= 0 samples, keeping lengths equal."""
    if lag > 0:
        return x[:-lag], y[lag:]
    return x, y


def _checked_pair(
    x: Signal,
    y: Signal,
    rate: int,
    roles: tuple[str, str],
    *,
    validation_s: float,
    max_latency_s: float,
    latency: Latency,
    remove_offsets: bool = True,
) -> tuple[Signal, Signal, int, LatencyEstimate | None, tuple[float, float], tuple[str, ...]]:
    """The checks both entry points share: lengths, silence, duration, DC, latency, levels.

    ``roles`` name the two signals in messages ("input file in.wav", "output array").
    Returns the aligned pair, the latency removed, its estimate (``None`` when given), the DC
    removed and the notes.
    """
    if x.size != y.size:
        msg = (
            f"lengths differ: {roles[0]} has {x.size} samples ({x.size / rate:.3f} s), "
            f"{roles[1]} has {y.size} samples ({y.size / rate:.3f} s); "
            "trim both to the same length"
        )
        raise InputError(msg)
    _check_audible(x, roles[0])
    _check_audible(y, roles[1])
    check_latency(latency, x.size, rate)
    needed = round((validation_s + MIN_TRAIN_S) * rate)
    if x.size < needed:
        msg = (
            f"recording is {x.size / rate:.2f} s long but needs at least "
            f"{needed / rate:.2f} s ({validation_s:g} s validation + {MIN_TRAIN_S:g} s training); "
            "record longer or lower --validation-s"
        )
        raise InputError(msg)
    notes = [*level_notes("input", x), *level_notes("output", y)]
    notes = [n for n in notes if "DC offset" not in n]
    dc = (0.0, 0.0)
    if remove_offsets:
        x, y, dc, dc_notes = subtract_offsets(x, y)
        notes += dc_notes
    est: LatencyEstimate | None = None
    if latency == "auto":
        est = estimate_onset_latency(x, y, rate, max_latency_s)
        lag = est.samples
        notes.append(est.describe())
        if est.inverted:
            notes.append("polarity: the output is inverted relative to the input")
    else:
        lag = int(latency)
        notes.append(f"latency: {lag} samples removed, as given" if lag
                     else "latency: not removed (--latency 0)")
    if lag:
        notes.append(f"the model answers {lag} samples earlier than the recorded gear: a plugin "
                     f"that must line up with the recording delays its output by {lag} samples")
    x, y = _align(x, y, lag)
    if x.size < needed:
        msg = (
            f"recording is {x.size / rate:.2f} s long after removing the latency but needs at "
            f"least {needed / rate:.2f} s; record longer or lower --validation-s"
        )
        raise InputError(msg)
    notes += pair_notes(x, y, est.samples if est else None, rate, validation_s)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y, lag, est, dc, tuple(notes)


def load_recording(
    input_path: str | Path,
    output_path: str | Path,
    *,
    channel: int | None = None,
    validation_s: float = 10.0,
    max_latency_s: float = 0.05,
    latency: Latency = "auto",
) -> Recording:
    """Read, validate, align and split a recorded input/output pair.

    ``channel`` picks one channel of multichannel files (the same index in both). ``latency``
    is ``"auto"`` (the causal onset estimate of :mod:`.latency`, never later than the gear's
    true delay) or the number of samples to remove (0: none). The pair must be at least
    ``validation_s + 1`` seconds long after alignment.
    """
    check_validation_s(validation_s)
    in_path, out_path = Path(input_path), Path(output_path)
    in_data, in_rate = _read(in_path, "input")
    out_data, out_rate = _read(out_path, "output")
    rate = _check_rates(in_rate, out_rate, in_path, out_path)
    x = _pick_channel(in_data, in_path, "input", channel)
    y = _pick_channel(out_data, out_path, "output", channel)
    x, y, lag, est, dc, notes = _checked_pair(
        x, y, rate, (f"input file {in_path}", f"output file {out_path}"),
        validation_s=validation_s, max_latency_s=max_latency_s, latency=latency,
    )
    return Recording(
        sample_rate_hz=rate,
        input=x,
        output=y,
        validation_spans=spread_spans(x.size, rate, validation_s),
        latency_samples=lag,
        checks=notes,
        input_path=in_path,
        output_path=out_path,
        name=f"{in_path} -> {out_path}",
        latency=est,
        dc_removed=dc,
    )


def _as_signal(data: ArrayLike, role: str) -> Signal:
    try:
        a = np.array(data, dtype=np.float64)
    except (TypeError, ValueError):
        msg = f"{role} must be a 1-D array of numbers, got {type(data).__name__}"
        raise InputError(msg) from None
    if a.ndim != 1:
        msg = f"{role} must be 1-D (one channel), got shape {a.shape}: pass one, e.g. a[:, 0]"
        raise InputError(msg)
    if not np.all(np.isfinite(a)):
        msg = f"{role} has NaN or infinite samples: remove or replace them"
        raise InputError(msg)
    return a


def recording_from_arrays(
    x: ArrayLike,
    y: ArrayLike,
    sample_rate_hz: int,
    *,
    validation_s: float,
    name: str = "arrays",
    max_latency_s: float = 0.05,
    latency: Latency = "auto",
    remove_dc: bool = True,
) -> Recording:
    """A :class:`Recording` from an input ``x`` and the gear's output ``y`` (1-D, same length).

    The same checks as :func:`load_recording` (rate range, equal lengths, silence, enough audio
    for ``validation_s`` + 1 s of training, latency and level notes; ``remove_dc=False`` keeps
    DC offsets, e.g. of a model rendered as the gear); ``name`` describes the
    source in reports. The arrays are copied, so later changes to ``x``/``y`` do not leak in.
    """
    check_validation_s(validation_s)
    if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, int | np.integer):
        msg = f"sample_rate_hz must be a whole number of Hz, got {sample_rate_hz!r}"
        raise InputError(msg)
    rate = int(sample_rate_hz)
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        msg = (
            f"sample rate {rate} Hz is outside {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz; "
            "resample to e.g. 48000 Hz"
        )
        raise InputError(msg)
    xs, ys = _as_signal(x, "input array"), _as_signal(y, "output array")
    xs, ys, lag, est, dc, notes = _checked_pair(
        xs, ys, rate, ("input array", "output array"),
        validation_s=validation_s, max_latency_s=max_latency_s, latency=latency,
        remove_offsets=remove_dc,
    )
    return Recording(
        sample_rate_hz=rate,
        input=xs,
        output=ys,
        validation_spans=spread_spans(xs.size, rate, validation_s),
        latency_samples=lag,
        checks=notes,
        name=name,
        latency=est,
        dc_removed=dc,
    )
