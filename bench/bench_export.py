"""Speed of exporting, checking and running exported models.

Run (numbers quoted in docs/export.md)::

    python -m pytest bench/bench_export.py -q --benchmark-columns=min,median,max,rounds

Groups: ``export`` (torch -> RTNeural JSON + snapshot for the talk's 6x44), ``check`` (strict
validation + snapshot run of that file), ``compiled-6x44`` (per-sample and 64-sample-block
passes over 48,000 samples through the compiled generated header, vs the engine's ``Mlp`` on
the same weights; compare by ratio within one run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from vashrink import Architecture, build_mlp
from vashrink.formats import check_rtneural, compiled_runner, to_rtneural

pytest.importorskip("pytest_benchmark")

BUFFER = np.random.default_rng(0).uniform(-1, 1, 48_000).astype(np.float32)


def _talk_model() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return build_mlp(Architecture(6, 44)).eval()


@pytest.mark.benchmark(group="export")
def test_export_6x44_rtneural_with_snapshot(benchmark: Any, tmp_path: Path) -> None:
    model = _talk_model()
    path = benchmark.pedantic(
        to_rtneural, args=(model, tmp_path / "m.json"), rounds=10, warmup_rounds=1
    )
    assert path.is_file()


@pytest.mark.benchmark(group="check")
def test_check_6x44_with_snapshot(benchmark: Any, tmp_path: Path) -> None:
    path = to_rtneural(_talk_model(), tmp_path / "m.json")
    report = benchmark.pedantic(check_rtneural, args=(path,), rounds=10, warmup_rounds=1)
    assert report.valid and report.snapshot_max_abs_error is not None


@pytest.fixture(scope="module")
def compiled() -> Any:
    try:
        return compiled_runner(_talk_model())
    except Exception as exc:  # no compiler / engine headers in this environment
        pytest.skip(f"cannot compile the generated header: {exc}")


@pytest.mark.benchmark(group="compiled-6x44")
def test_compiled_header_per_sample(benchmark: Any, compiled: Any) -> None:
    benchmark.pedantic(compiled.time_samples, args=(BUFFER, 1, 0), rounds=15, warmup_rounds=2)


@pytest.mark.benchmark(group="compiled-6x44")
def test_compiled_header_blocks_of_64(benchmark: Any, compiled: Any) -> None:
    benchmark.pedantic(compiled.time_blocks, args=(BUFFER, 64, 1, 0), rounds=15, warmup_rounds=2)


@pytest.mark.benchmark(group="compiled-6x44")
def test_engine_mlp_per_sample(benchmark: Any) -> None:
    from vashrink.runtime.engine import Mlp

    mlp = Mlp.from_torch(_talk_model(), dtype="float32")
    benchmark.pedantic(mlp.process_samples, args=(BUFFER,), rounds=15, warmup_rounds=2)
