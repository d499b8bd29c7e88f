"""The settings every run checks first, its output directory and study, and its evaluator."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bound.bounds import Bounds
from ..errors import InputError
from ..model.architecture import ACTIVATIONS, AUTO_ACTIVATIONS, Architecture
from ..model.file import DTYPE_CHOICES
from ..runtime.info import lanes as simd_lanes
from ..target.samples import Target, as_target, check_eps, check_range
from ..train.config import TrainConfig
from .evaluate import Evaluator
from .rundir import fingerprint_id, prepare_out_dir
from .study import open_study

__all__ = ["RunSettings", "check_run", "evaluator", "noise_floor", "open_run", "run_fingerprint"]


@dataclass(frozen=True)
class RunSettings:
    """The checked inputs and settings :func:`shrink` and :func:`grid` share."""

    kind: str
    tgt: Target
    a: float
    b: float
    eps: float
    activation: str
    activations: tuple[str, ...]
    dtype: str
    block_size: int
    budget_ns: float | None
    budget_core_percent: float | None
    config: TrainConfig
    lanes: int
    timing_repeats: int
    timing_buffer_samples: int
    sample_rate_hz: float
    check_samples: int
    progress: bool
    started: float
    noise_sigma: float = 0.0
    forced: bool = False


def check_run(
    kind: str,
    target: Any,
    a: float,
    b: float,
    eps: float,
    *,
    activation: str,
    dtype: str = "float32",
    block_size: int,
    budget_ns: float | None,
    budget_core_percent: float | None,
    config: TrainConfig | None,
    timing_repeats: int,
    timing_buffer_samples: int,
    sample_rate_hz: float,
    check_samples: int,
    progress: bool,
    force: bool = False,
) -> RunSettings:
    """Validate everything before any training (the same rules as bounds and train).

    A sampled target whose noise floor (3 sigma, :func:`noise_floor`) is above eps is refused
    unless ``force``: no model could be checked to meet eps against those samples.
    """
    started = time.perf_counter()
    tgt = as_target(target)
    a, b = check_range(a, b)
    eps = check_eps(eps)
    if activation not in (*ACTIVATIONS, "auto"):
        msg = f"unknown activation {activation!r}: use auto or one of {', '.join(ACTIVATIONS)}"
        raise InputError(msg)
    if dtype not in DTYPE_CHOICES:
        msg = f"unknown dtype {dtype!r}: use one of {', '.join(DTYPE_CHOICES)}"
        raise InputError(msg)
    if not isinstance(block_size, int) or block_size < 1:
        msg = f"block size must be a whole number >= 1, got {block_size!r}"
        raise InputError(msg)
    if budget_ns is not None and budget_core_percent is not None:
        msg = "give --budget-ns or --budget-core-percent, not both"
        raise InputError(msg)
    for name, value in (("budget-ns", budget_ns), ("budget-core-percent", budget_core_percent)):
        if value is not None and not (math.isfinite(value) and value > 0):
            msg = f"--{name} must be a finite number above 0, got {value}"
            raise InputError(msg)
    for name, value in (("sample_rate_hz", sample_rate_hz), ("timing_repeats", timing_repeats),
                        ("timing_buffer_samples", timing_buffer_samples),
                        ("check_samples", check_samples)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            msg = f"{name} must be a number above 0, got {value!r}"
            raise InputError(msg)
    tgt.sample(a, b, check_samples)  # refuses a target that is not finite on the range
    sigma = noise_floor(tgt, a, b)
    hopeless = eps < 3 * sigma
    if hopeless and not force:
        msg = (
            f"eps = {eps:.3g} is below the noise floor of {tgt.name!r} (noise sigma ~ "
            f"{sigma:.2g}, 3 sigma = {3 * sigma:.2g}): no model can be checked to meet it; "
            "raise --eps, capture cleaner data, or pass --force to train anyway"
        )
        raise InputError(msg)
    return RunSettings(
        kind=kind,
        tgt=tgt,
        a=a,
        b=b,
        eps=eps,
        activation=activation,
        activations=AUTO_ACTIVATIONS if activation == "auto" else (activation,),
        dtype=dtype,
        block_size=block_size,
        budget_ns=budget_ns,
        budget_core_percent=budget_core_percent,
        config=config if config is not None else TrainConfig(),
        lanes=simd_lanes("float32"),
        timing_repeats=timing_repeats,
        timing_buffer_samples=timing_buffer_samples,
        sample_rate_hz=sample_rate_hz,
        check_samples=check_samples,
        progress=progress,
        started=started,
        noise_sigma=sigma,
        forced=hopeless,
    )


def noise_floor(tgt: Target, a: float, b: float) -> float:
    """The noise sigma of a sampled target on ``[a, b]`` as the bound stage estimates it (0
    for functions and for clean samples)."""
    if tgt.x is None or tgt.y is None:
        return 0.0
    from ..bound.noise import NOISE_SIGNIFICANT, estimate_noise

    inside = (tgt.x >= a) & (tgt.x <= b)
    y = tgt.y[inside]
    sigma = estimate_noise(y)
    scale = max(float(np.max(np.abs(y))), 1e-300) if y.size else 1.0
    return sigma if sigma > NOISE_SIGNIFICANT * scale else 0.0


def run_fingerprint(run: RunSettings) -> dict[str, Any]:
    """What a run trains (target, data hash, range, settings): names its study and directory."""
    tgt = run.tgt
    data_hash = None
    if tgt.x is not None and tgt.y is not None:
        data_hash = fingerprint_id({"x": tgt.x.tobytes().hex(), "y": tgt.y.tobytes().hex()})
    fp = {
        "target": tgt.name,
        "data": data_hash,
        "a": run.a,
        "b": run.b,
        "activation": run.activation,
        "dtype": run.dtype,
        "eps": run.eps,
        "train": asdict(run.config),
        "check_samples": run.check_samples,
        "check": "certified",  # scores before the certified check are not reused
        "block_size": run.block_size,
    }
    return fp


def open_run(
    run: RunSettings, out_dir: str | Path, storage: str | None, seed: int
) -> tuple[Path, Any]:
    """Create or reopen the output directory and the study of this run (resumable)."""
    fp = run_fingerprint(run)
    out = prepare_out_dir(out_dir, run.kind, fp)
    study = open_study(
        storage or f"sqlite:///{out / 'study.db'}",
        f"vashrink-{run.kind}-{fingerprint_id(fp)}",
        seed=seed,
    )
    return out, study


def evaluator(
    run: RunSettings, out: Path, band: Sequence[Architecture], bounds: Bounds | None = None
) -> Evaluator:
    """The run's evaluator; ``bounds`` gives the target's L, M and kinks for the certified
    error check (without it the evaluator measures them itself)."""
    return Evaluator(
        run.tgt,
        run.a,
        run.b,
        run.config,
        out,
        eps=run.eps,
        dtype=run.dtype,
        block_size=run.block_size,
        band=band,
        timing_repeats=run.timing_repeats,
        timing_buffer_samples=run.timing_buffer_samples,
        sample_rate_hz=run.sample_rate_hz,
        check_samples=run.check_samples,
        progress=run.progress,
        bounds=bounds,
    )
