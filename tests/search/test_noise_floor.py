"""A hopeless eps (below the noise floor of sampled data) is refused before any training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vashrink.cli import main
from vashrink.errors import InputError
from vashrink.search.notes import summary_notes
from vashrink.search.setup import check_run

OPTS = {
    "activation": "tanh", "block_size": 64, "budget_ns": None, "budget_core_percent": None,
    "config": None, "timing_repeats": 1, "timing_buffer_samples": 480,
    "sample_rate_hz": 48000.0, "check_samples": 1000, "progress": False,
}


def _noisy_csv(tmp_path: Path, sigma: float = 1e-3) -> Path:
    x = np.linspace(-1, 1, 4001)
    y = np.tanh(3 * x) + np.random.default_rng(0).normal(0, sigma, x.size)
    path = tmp_path / "curve.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",")
    return path


def test_eps_below_the_noise_floor_is_refused_unless_forced(tmp_path: Path) -> None:
    path = str(_noisy_csv(tmp_path))
    with pytest.raises(InputError, match=r"below the noise floor.*sigma ~ 0.00.*--force"):
        check_run("shrink", path, -1, 1, 1e-3, **OPTS)
    run = check_run("shrink", path, -1, 1, 1e-3, force=True, **OPTS)
    assert run.forced and run.noise_sigma == pytest.approx(1e-3, rel=0.15)
    notes = summary_notes(run, [], (), None, False, None)
    assert any("noise floor" in n and "--force" in n for n in notes)
    assert not check_run("shrink", path, -1, 1, 1e-2, **OPTS).forced  # eps above 3 sigma


def test_cli_says_it_in_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _noisy_csv(tmp_path)
    code = main(["shrink", str(path), "--eps", "1e-3", "--out", str(tmp_path / "o"),
                 "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "noise floor" in err and "--force" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()  # refused before anything was written
