"""Simulated gear for the capture panel: named, deterministic renders with a known latency.

Each :class:`Gear` is a circuit from :mod:`.gear_circuits` (or the diode-clipper pedal of
:mod:`.pedal`) followed by a pure delay of ``latency_samples``, the delay of a converter or a
digital unit. The render of ``x`` is the circuit's response to ``x`` preceded by that many samples
of silence, so the first ``latency_samples`` outputs are the response to silence (exact zeros:
every circuit maps silence to silence) and the whole gear is causal and time-invariant. The
latencies differ per gear, so a panel also checks that a capture's alignment finds each one.

| gear      | latency | what it is                                                        |
|-----------|--------:|-------------------------------------------------------------------|
| diode     |       0 | the diode-clipper pedal (:func:`.pedal.pedal_output`)             |
| tube      |       3 | asymmetric triode-like stage with a level-dependent bias          |
| fuzz      |      17 | bass cut, high gain, asymmetric hard clipping, tone low-pass      |
| sag       |      64 | power-amp sag: gain follows a slow envelope, into a soft clipper  |
| tonestack |     250 | mild clipper into a resonant, mid-scooped tone stack              |
| cab       |     120 | linear cabinet-like filter (resonances, low-pass at 5 kHz)        |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from .capture_signal import test_signal
from .gear_circuits import cab_output, fuzz_output, sag_output, tonestack_output, tube_output
from .pedal import pedal_output
from .recording import Recording, recording_from_arrays

__all__ = [
    "GEAR",
    "Gear",
    "GearRecording",
    "gear_names",
    "gear_recording",
    "get_gear",
    "to_recording",
]

Signal = NDArray[np.float64]
Circuit = Callable[[Signal, int], Signal]


@dataclass(frozen=True)
class Gear:
    """One simulated piece of gear: ``render(x, sample_rate_hz)`` delays ``circuit`` by
    ``latency_samples``; ``linear`` marks the one gear without a nonlinearity."""

    name: str
    description: str
    latency_samples: int
    circuit: Circuit
    linear: bool = False

    def render(self, x: ArrayLike, sample_rate_hz: int) -> Signal:
        """The gear's output for ``x`` (1-D, finite, full scale +-1), as long as ``x``."""
        xs = np.asarray(x, dtype=np.float64)
        if xs.ndim != 1 or xs.size == 0 or not np.all(np.isfinite(xs)):
            msg = f"{self.name}: x must be a non-empty 1-D array of finite samples"
            raise InputError(msg)
        if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, int | np.integer):
            msg = (f"{self.name}: sample_rate_hz must be a whole number of Hz, "
                   f"got {sample_rate_hz!r}")
            raise InputError(msg)
        delayed = np.concatenate([np.zeros(self.latency_samples), xs])
        out = self.circuit(delayed, int(sample_rate_hz))[: xs.size]
        return np.ascontiguousarray(out, dtype=np.float64)


def _diode(x: Signal, sample_rate_hz: int) -> Signal:
    return pedal_output(x, sample_rate_hz)


GEAR: dict[str, Gear] = {
    g.name: g
    for g in (
        Gear("diode", "diode-clipper pedal (RC low-pass into antiparallel diodes, tone low-pass)",
             0, _diode),
        Gear("tube", "asymmetric triode-like stage whose bias slides with the level (grid current)",
             3, tube_output),
        Gear("fuzz", "fuzz: bass cut, 32 dB of gain, asymmetric hard clipping, 2.5 kHz tone",
             17, fuzz_output),
        Gear("sag", "power-amp sag: gain follows a 5 ms / 100 ms envelope, into a soft clipper",
             64, sag_output),
        Gear("tonestack", "mild clipper into a mid-scooped tone stack with a 3 kHz resonance",
             250, tonestack_output),
        Gear("cab", "linear cabinet-like filter: resonances at 110 Hz and 1.8 kHz, 5 kHz low-pass",
             120, cab_output, linear=True),
    )
}


def gear_names() -> list[str]:
    """Names of every simulated gear, in panel order."""
    return list(GEAR)


def get_gear(name: str) -> Gear:
    """The gear called ``name`` (an :class:`InputError` naming the choices otherwise)."""
    try:
        return GEAR[name]
    except KeyError:
        msg = f"unknown gear {name!r}; choose one of {', '.join(GEAR)}"
        raise InputError(msg) from None


@dataclass(frozen=True)
class GearRecording:
    """A rendered pair: the test signal ``input``, the gear's ``output`` and its true latency."""

    name: str
    sample_rate_hz: int
    input: Signal
    output: Signal
    latency_samples: int
    seed: int


def gear_recording(
    name: str, *, seconds: float = 30.0, sample_rate_hz: int = 48_000, seed: int = 0
) -> GearRecording:
    """:func:`~vashrink.target.capture_signal.test_signal` played through the gear ``name``."""
    gear = get_gear(name)
    x = test_signal(sample_rate_hz, seconds=seconds, seed=seed)
    y = gear.render(x, sample_rate_hz)
    return GearRecording(name, sample_rate_hz, x, y, gear.latency_samples, seed)


def to_recording(
    pair: GearRecording, *, validation_s: float, compensate: bool = False
) -> Recording:
    """The pair as a :class:`Recording` (the capture pipeline's checks and alignment included).

    ``compensate``: remove the true latency first (the output advanced by ``latency_samples``,
    both cut to the shared part), so a trainer sees the circuit alone; the recording's own
    latency estimate then runs on the compensated pair.
    """
    x, y, lag = pair.input, pair.output, pair.latency_samples
    if compensate and lag:
        x, y = x[: x.size - lag], y[lag:]
    label = f"simulated {pair.name} (latency {lag} samples, seed {pair.seed})"
    if compensate:
        label += ", latency compensated"
    return recording_from_arrays(x, y, pair.sample_rate_hz, validation_s=validation_s, name=label)
