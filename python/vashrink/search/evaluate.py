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

from ..model.architecture import Architecture
from ..runtime.timing import time_model
from ..target.samples import Target
from ..train.candidates import TrainedModel, train_candidates
from ..train.config import TrainConfig
from .rundir import model_path, save_model
from .score import CandidateScore, check_error

__all__ = ["Evaluator", "cost_estimator"]


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
        lanes: int,
        block_size: int,
        band: Sequence[Architecture],
        timing_repeats: int,
        timing_buffer_samples: int,
        sample_rate_hz: float,
        check_samples: int,
        progress: bool,
    ) -> None:
        self.tgt, self.a, self.b, self.config, self.out = tgt, a, b, config, out
        self.lanes, self.block_size, self.band = lanes, block_size, set(band)
        self.repeats, self.buffer_samples = timing_repeats, timing_buffer_samples
        self.sample_rate_hz = sample_rate_hz
        self.check_samples, self.progress = check_samples, progress
        self.provenance: dict[str, Any] = {
            "target": tgt.name,
            "range": [a, b],
            "recipe": asdict(config),
        }

    def score(self, trained: TrainedModel, phase: str) -> CandidateScore:
        arch = trained.architecture
        check = check_error(trained.model, self.tgt, self.a, self.b, samples=self.check_samples)
        path = save_model(trained.model, model_path(self.out, arch), {
            **self.provenance,
            "phase": phase,
            "max_abs_error_float32": check.max_abs_error,
            "mse_float32": check.mse,
            "training": trained.to_dict(),
        })
        timings = time_model(
            trained.model,
            modes=("sample", "block"),
            block_sizes=(self.block_size,),
            repeats=self.repeats,
            buffer_samples=self.buffer_samples,
            sample_rate_hz=self.sample_rate_hz,
        )
        per_sample = next(t for t in timings if t.mode == "sample")
        per_block = next(t for t in timings if t.mode == "block")
        return CandidateScore(
            depth=arch.depth,
            width=arch.width,
            activation=arch.activation,
            lanes=self.lanes,
            max_abs_error=check.max_abs_error,
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
            epochs=int(trained.epochs),
            train_seconds=float(trained.seconds),
            in_band=arch in self.band,
            phase=phase,
            model_path=str(path.relative_to(self.out)),
        )

    def __call__(
        self, archs: Sequence[Architecture], phase: str, done: Callable[[CandidateScore], None]
    ) -> None:
        def on_result(trained: TrainedModel) -> None:
            done(self.score(trained, phase))

        train_candidates(
            self.tgt,
            self.a,
            self.b,
            list(archs),
            self.config,
            progress=self.progress,
            on_result=on_result,
        )


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
