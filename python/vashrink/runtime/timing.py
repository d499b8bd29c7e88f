"""Measure what a model costs per sample on this CPU, the way a plugin runs it.

Python owns the policy (buffer, repeats, statistics); the C++ runners own the hot loop: each
runner exposes ``time_samples(buffer, repeats, warmup)`` and ``time_blocks(buffer, block_size,
repeats, warmup)`` returning raw seconds per repeat over the whole buffer, measured with the GIL
released. Statistics per (mode, block size):

- ``ns_per_sample``: median over repeats of ``seconds / buffer_samples * 1e9``;
- ``spread = (max - min) / median``; ``noisy`` when it exceeds :data:`NOISY_SPREAD`;
- ``realtime_factor = (1e9 / sample_rate_hz) / ns_per_sample`` (times faster than real time);
- ``core_percent = 100 / realtime_factor`` (share of one core the model needs at that rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from torch import nn

from ..errors import EngineError, InputError
from ..model.architecture import Architecture
from ..model.spec import ModelSpec, spec_of
from .engine import Mlp, as_mlp
from .native import check_counts
from .recurrent import RecurrentNet

__all__ = [
    "MODES",
    "NOISY_SPREAD",
    "Runner",
    "Timing",
    "check_same_outputs",
    "summarise",
    "time_model",
    "time_runner",
    "timing_buffer",
]

MODES = ("sample", "block")
#: Repeats whose (max - min) / median exceeds this are flagged as noisy (a busy machine).
NOISY_SPREAD = 0.05
#: Outputs of another backend may differ from vashrink's engine by this much (float32 sums).
OUTPUT_TOLERANCE = 1e-4


@runtime_checkable
class Runner(Protocol):
    """Anything the timing policy can time (vashrink's Mlp, RTNeural, a compiled header)."""

    def time_samples(self, buffer: np.ndarray, repeats: int, warmup: int) -> list[float]: ...

    def time_blocks(
        self, buffer: np.ndarray, block_size: int, repeats: int, warmup: int
    ) -> list[float]: ...


@dataclass(frozen=True)
class Timing:
    """One measured configuration. ``block_size`` is 1 in sample mode (one sample per call)."""

    backend: str
    mode: str
    block_size: int
    ns_per_sample: float
    ns_per_sample_min: float
    ns_per_sample_max: float
    spread: float
    realtime_factor: float
    core_percent: float
    repeats: int
    noisy: bool
    buffer_samples: int
    sample_rate_hz: float
    seconds: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = list(self.seconds)
        return out


def summarise(
    seconds: Sequence[float],
    *,
    backend: str,
    mode: str,
    block_size: int,
    buffer_samples: int,
    sample_rate_hz: float,
) -> Timing:
    """Statistics of raw per-repeat seconds over a buffer of ``buffer_samples`` samples."""
    secs = np.asarray(seconds, dtype=np.float64)
    if secs.ndim != 1 or secs.size == 0 or not np.all(np.isfinite(secs)) or np.any(secs <= 0):
        msg = f"the runner returned unusable timings {list(seconds)!r}; expected positive seconds"
        raise EngineError(msg)
    ns = secs / buffer_samples * 1e9
    median = float(np.median(ns))
    lo, hi = float(ns.min()), float(ns.max())
    spread = (hi - lo) / median
    realtime = (1e9 / sample_rate_hz) / median
    return Timing(
        backend=backend,
        mode=mode,
        block_size=block_size,
        ns_per_sample=median,
        ns_per_sample_min=lo,
        ns_per_sample_max=hi,
        spread=spread,
        realtime_factor=realtime,
        core_percent=100.0 / realtime,
        repeats=int(secs.size),
        noisy=spread > NOISY_SPREAD,
        buffer_samples=buffer_samples,
        sample_rate_hz=sample_rate_hz,
        seconds=tuple(float(s) for s in secs),
    )


def timing_buffer(buffer_samples: int = 48000, *, seed: int = 0) -> np.ndarray:
    """A repeatable float32 buffer of uniform samples in [-1, 1] (the engine has no
    data-dependent branches, so any finite audio costs the same)."""
    if buffer_samples < 1:
        msg = f"buffer_samples must be at least 1, got {buffer_samples}"
        raise InputError(msg)
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, buffer_samples).astype(np.float32)


def time_runner(
    runner: Runner,
    *,
    modes: Sequence[str] = MODES,
    block_sizes: Sequence[int] = (64,),
    repeats: int = 7,
    warmup: int = 1,
    buffer_samples: int = 48000,
    sample_rate_hz: float = 48000.0,
    backend: str | None = None,
    seed: int = 0,
) -> list[Timing]:
    """Time a ready runner: sample mode once, block mode once per block size."""
    _check_policy(modes, block_sizes, repeats, warmup, sample_rate_hz)
    buffer = timing_buffer(buffer_samples, seed=seed)
    name = backend or str(getattr(runner, "backend", "vashrink"))
    runs: list[tuple[str, int]] = [("sample", 1)] if "sample" in modes else []
    if "block" in modes:
        runs += [("block", int(b)) for b in block_sizes]
    out: list[Timing] = []
    for mode, block_size in runs:
        if mode == "sample":
            secs = runner.time_samples(buffer, repeats, warmup)
        else:
            secs = runner.time_blocks(buffer, block_size, repeats, warmup)
        out.append(
            summarise(
                secs,
                backend=name,
                mode=mode,
                block_size=block_size,
                buffer_samples=buffer_samples,
                sample_rate_hz=sample_rate_hz,
            )
        )
    return out


def _check_policy(
    modes: Sequence[str],
    block_sizes: Sequence[int],
    repeats: int,
    warmup: int,
    sample_rate_hz: float,
) -> None:
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        msg = f"unknown mode(s) {bad or list(modes)!r}: use 'sample', 'block' or both"
        raise InputError(msg)
    if "block" in modes and (not block_sizes or any(int(b) < 1 for b in block_sizes)):
        msg = f"block sizes must be whole numbers >= 1, got {list(block_sizes)!r}"
        raise InputError(msg)
    check_counts(repeats, warmup)
    if not (np.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        msg = f"sample_rate_hz must be a positive number, got {sample_rate_hz!r}"
        raise InputError(msg)


def _runner_of(
    model: Mlp | RecurrentNet | ModelSpec | nn.Module | Architecture | Runner, dtype: str, seed: int
) -> Runner:
    """The runner that times ``model``: ready runners as they are, specs and torch models loaded
    into our engine (a recurrent one as a :class:`RecurrentNet`)."""
    if isinstance(model, ModelSpec):
        if model.is_recurrent:
            return RecurrentNet.from_spec(model, dtype)
        return Mlp.from_layers(model.dense, dtype)
    if isinstance(model, Runner) and not isinstance(model, Mlp):
        return model
    if isinstance(model, nn.Module) and not isinstance(model, nn.Sequential):
        spec = spec_of(model)
        if spec.is_recurrent:
            return RecurrentNet.from_spec(spec, dtype)
    return as_mlp(model, dtype=dtype, seed=seed)


def time_model(
    model: Mlp | RecurrentNet | ModelSpec | nn.Module | Architecture | Runner,
    *,
    modes: Sequence[str] = MODES,
    block_sizes: Sequence[int] = (64,),
    repeats: int = 7,
    warmup: int = 1,
    buffer_samples: int = 48000,
    sample_rate_hz: float = 48000.0,
    dtype: str = "float32",
    seed: int = 0,
) -> list[Timing]:
    """Time ``model`` in our engine (or any ready :class:`Runner`) per sample and/or per block.

    Args:
        model: an MLP ``nn.Sequential``, an engine :class:`~vashrink.runtime.engine.Mlp`, a
            GRU/LSTM :class:`~vashrink.runtime.recurrent.RecurrentNet` (or the
            ``RecurrentModel`` / :class:`ModelSpec` to load into one), an :class:`Architecture`
            (random weights from ``seed``) or any :class:`Runner` (e.g. RTNeural or a compiled
            header, from :func:`vashrink.formats.runners.runner_for`). A recurrent model's
            block mode is its per-sample loop called ``block_size`` samples at a time.
        modes: ``"sample"`` (one ``forward`` per sample) and/or ``"block"``.
        block_sizes: samples per call in block mode.
        repeats: timed passes over the buffer (after ``warmup`` untimed ones).
        buffer_samples: samples per pass (48,000 = one second at 48 kHz).
        sample_rate_hz: the rate real time is measured against.

    Returns:
        One :class:`Timing` for sample mode, then one per block size.
    """
    runner = _runner_of(model, dtype, seed)
    return time_runner(
        runner,
        modes=modes,
        block_sizes=block_sizes,
        repeats=repeats,
        warmup=warmup,
        buffer_samples=buffer_samples,
        sample_rate_hz=sample_rate_hz,
        seed=seed,
    )


def check_same_outputs(runner: Runner, mlp: Mlp, seed: int) -> None:
    """Refuse to compare speeds of runtimes that do not compute the same function."""
    x = timing_buffer(256, seed=seed + 1)
    if hasattr(runner, "process_samples"):
        theirs = np.asarray(runner.process_samples(x), dtype=np.float64).reshape(-1)
    elif hasattr(runner, "process"):
        theirs = np.asarray(runner.process(x.reshape(-1, 1)), dtype=np.float64).reshape(-1)
    else:
        return
    ours = np.asarray(mlp.process_samples(x), dtype=np.float64).reshape(-1)
    err = float(np.max(np.abs(theirs - ours))) if theirs.shape == ours.shape else float("inf")
    if not err <= OUTPUT_TOLERANCE:
        msg = (
            f"{getattr(runner, 'backend', 'the backend')} computes different outputs than "
            f"vashrink's engine (max difference {err:.3g} > {OUTPUT_TOLERANCE}); "
            "its timing would not be comparable"
        )
        raise EngineError(msg)
