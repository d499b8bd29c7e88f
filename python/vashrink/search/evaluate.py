"""Train, store, check and time one batch of candidates for the shrink/grid search.

:class:`Evaluator` is the ``evaluate`` callback of :mod:`vashrink.search.study`: it trains a
batch with :func:`vashrink.train.candidates.train_candidates` and, as each candidate finishes,
stores its model,
measures its float32 engine error on a dense grid and times it per sample and per block, so the
search can record the finished candidate before the next one ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import nn

from ..bound.bounds import Bounds
from ..errors import ModelFormatError
from ..model.architecture import Architecture
from ..model.file import SUFFIX, read_model_file
from ..model.layers import DenseLayer
from ..model.mlp import dense_layers
from ..runtime.info import lanes
from ..runtime.timing import time_model
from ..target.samples import Target
from ..train.candidates import TrainedModel, train_candidates
from ..train.config import TrainConfig
from .certify import TargetSlope, certified_check
from .rundir import model_path, save_model
from .score import CandidateScore, ErrorCheck

__all__ = ["WARM_STOP_FRACTION", "Evaluator", "cost_estimator"]

#: LM stops a candidate once its training max abs error is this fraction of eps: the margin
#: covers the certified check on the whole range (1,000 points trained) and float32 rounding.
WARM_STOP_FRACTION = 0.5


class Evaluator:
    """Trains a batch, then for each finished candidate: store, check in float32, time, score."""

    def __init__(
        self,
        tgt: Target,
        a: float,
        b: float,
        config: TrainConfig,
        out: Path,
        *,
        eps: float,
        dtype: str,
        block_size: int,
        band: Sequence[Architecture],
        timing_repeats: int,
        timing_buffer_samples: int,
        sample_rate_hz: float,
        check_samples: int,
        progress: bool,
        bounds: Bounds | None = None,
    ) -> None:
        self.tgt, self.a, self.b, self.config, self.out = tgt, a, b, config, out
        self.eps, self.dtype = eps, dtype
        self.block_size, self.band = block_size, set(band)
        self.repeats, self.buffer_samples = timing_repeats, timing_buffer_samples
        self.sample_rate_hz = sample_rate_hz
        self.check_samples, self.progress = check_samples, progress
        self._bounds = bounds
        self._slope: TargetSlope | None = None
        self.warm: dict[Architecture, tuple[DenseLayer, ...]] = _stored_models(out)
        self.provenance: dict[str, Any] = {
            "target": tgt.name,
            "range": [a, b],
            "recipe": asdict(config),
        }

    @property
    def bounds(self) -> Bounds:
        """The bound stage's measurement of the target (L, M, kinks), for the certificate."""
        if self._bounds is None:
            from ..bound.bounds import compute_bounds

            self._bounds = compute_bounds(self.tgt, self.a, self.b, self.eps)
        return self._bounds

    def check(self, model: nn.Sequential, dtype: str) -> ErrorCheck:
        """The certified error of the engine model in ``dtype`` on the whole range."""
        bounds = self.bounds
        if self._slope is None:
            from ..bound.derivatives import slope_function

            self._slope = TargetSlope(bounds.lipschitz,
                                      slope_function(self.tgt, self.a, self.b),
                                      bounds.max_second_derivative)
        return certified_check(model, self.tgt, self.a, self.b, samples=self.check_samples,
                               dtype=dtype, eps=self.eps, slope=self._slope,
                               kinks=bounds.singular_points)

    def _precision(self, model: nn.Sequential) -> tuple[str, ErrorCheck]:
        """The precision the model will run in, and its certified error there.

        ``auto``: float32 (8 lanes on AVX2) unless it misses eps and float64 meets it.
        """
        first = "float64" if self.dtype == "float64" else "float32"
        check = self.check(model, first)
        if self.dtype == "auto" and not check.max_abs_error <= self.eps:
            wide = self.check(model, "float64")
            if wide.max_abs_error <= self.eps:
                return "float64", wide
        return first, check

    def score(self, trained: TrainedModel, phase: str) -> CandidateScore:
        arch = trained.architecture
        dtype, check = self._precision(trained.model)
        path = save_model(trained.model, model_path(self.out, arch), {
            **self.provenance,
            "phase": phase,
            "dtype": dtype,
            "max_abs_error": check.max_abs_error,
            "max_abs_error_certified": True,
            "grid_max_abs_error": check.grid_max_abs_error,
            "mse": check.mse,
            "training": trained.to_dict(),
        }, dtype=dtype)
        timings = time_model(
            trained.model,
            modes=("sample", "block"),
            block_sizes=(self.block_size,),
            repeats=self.repeats,
            buffer_samples=self.buffer_samples,
            sample_rate_hz=self.sample_rate_hz,
            dtype=dtype,
        )
        per_sample = next(t for t in timings if t.mode == "sample")
        per_block = next(t for t in timings if t.mode == "block")
        return CandidateScore(
            depth=arch.depth,
            width=arch.width,
            activation=arch.activation,
            lanes=lanes(dtype),
            max_abs_error=check.max_abs_error,
            grid_max_abs_error=check.grid_max_abs_error,
            mse=check.mse,
            torch_max_abs_error=float(trained.max_abs_error),
            val_loss=float(
                trained.val_loss if trained.val_loss is not None else trained.train_loss
            ),
            ns_per_sample=float(per_sample.ns_per_sample),
            ns_per_sample_block=float(per_block.ns_per_sample),
            block_size=self.block_size,
            core_percent=float(per_sample.core_percent),
            realtime_factor=float(per_sample.realtime_factor),
            timing_noisy=bool(per_sample.noisy or per_block.noisy),
            timing_spread=float(per_sample.spread),
            epochs=int(trained.epochs),
            train_seconds=float(trained.seconds),
            in_band=arch in self.band,
            phase=phase,
            model_path=str(path.relative_to(self.out)),
            dtype=dtype,
        )

    def __call__(
        self, archs: Sequence[Architecture], phase: str, done: Callable[[CandidateScore], None]
    ) -> None:
        def on_result(trained: TrainedModel) -> None:
            score = self.score(trained, phase)
            self.warm[trained.architecture] = tuple(dense_layers(trained.model))
            done(score)

        train_candidates(
            self.tgt,
            self.a,
            self.b,
            list(archs),
            self.config,
            progress=self.progress,
            on_result=on_result,
            warm=self.warm,
            target_max_error=WARM_STOP_FRACTION * self.eps,
        )


def _stored_models(out: Path) -> dict[Architecture, tuple[DenseLayer, ...]]:
    """Models an earlier run of this directory stored: warm starts for a resumed search."""
    found: dict[Architecture, tuple[DenseLayer, ...]] = {}
    for path in sorted((out / "models").glob(f"*{SUFFIX}")):
        try:
            stored = read_model_file(path)
        except ModelFormatError:
            continue
        if stored.architecture is not None:
            found[stored.architecture] = stored.spec.dense
    return found


def cost_estimator(buffer_samples: int = 4800) -> Callable[[Architecture], float]:
    """ns/sample of an untrained architecture (random weights), cached: cost hardly depends
    on weight values, so proposals that cannot win are skipped before training."""
    cache: dict[Architecture, float] = {}

    def cost(arch: Architecture) -> float:
        if arch not in cache:
            t = time_model(arch, modes=("sample",), repeats=3, buffer_samples=buffer_samples)
            cache[arch] = float(t[0].ns_per_sample)
        return cache[arch]

    return cost
