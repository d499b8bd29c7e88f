"""Made-up but self-consistent :class:`CandidateScore` values for score, search and report tests."""

from __future__ import annotations

from vashrink.search.score import CandidateScore

__all__ = ["candidate"]

SAMPLE_RATE_HZ = 48000.0


def candidate(
    depth: int,
    width: int,
    error: float,
    ns: float,
    *,
    activation: str = "tanh",
    lanes: int = 8,
    in_band: bool = False,
    phase: str = "test",
) -> CandidateScore:
    """A candidate with max abs error ``error`` (MSE ``error**2 / 3``) costing ``ns`` ns/sample
    per sample, a third of that in blocks, and the matching share of a core at 48 kHz."""
    return CandidateScore(
        depth=depth,
        width=width,
        activation=activation,
        lanes=lanes,
        max_abs_error=error,
        mse=error**2 / 3,
        torch_max_abs_error=error,
        val_loss=error**2,
        ns_per_sample=ns,
        ns_per_sample_block=ns / 3,
        block_size=64,
        core_percent=ns * SAMPLE_RATE_HZ / 1e9 * 100,
        realtime_factor=1e9 / SAMPLE_RATE_HZ / ns,
        timing_noisy=False,
        epochs=10,
        train_seconds=0.1,
        in_band=in_band,
        phase=phase,
    )
