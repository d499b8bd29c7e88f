"""The run directory: a resume with other settings is refused, naming what differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from vashrink.errors import InputError
from vashrink.search.rundir import prepare_out_dir


def test_refused_resume_names_the_setting_that_differs(tmp_path: Path) -> None:
    settings = {"target": "tanh(2*x)", "range": [-1, 1], "config": {"epochs": 300, "lr": 0.01}}
    prepare_out_dir(tmp_path / "run", "shrink", settings)
    assert prepare_out_dir(tmp_path / "run", "shrink", settings) == tmp_path / "run"
    changed = {**settings, "config": {"epochs": 500, "lr": 0.01}}
    with pytest.raises(InputError, match=r"config\.epochs: 300 -> 500"):
        prepare_out_dir(tmp_path / "run", "shrink", changed)
    with pytest.raises(InputError, match=r"holds a vashrink shrink run, not a grid run"):
        prepare_out_dir(tmp_path / "run", "grid", settings)
