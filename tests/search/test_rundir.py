"""The run directory: a resume with other settings is refused, naming what differs; a second
run into a directory another live run holds is refused in one line (exit 2), a killed one's lock
blocks nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vashrink.errors import InputError
from vashrink.search.rundir import prepare_out_dir
from vashrink.search.runlock import LOCK_NAME, RunDirLockedError, release_run_dir


def test_refused_resume_names_the_setting_that_differs(tmp_path: Path) -> None:
    settings = {"target": "tanh(2*x)", "range": [-1, 1], "config": {"epochs": 300, "lr": 0.01}}
    prepare_out_dir(tmp_path / "run", "shrink", settings)
    assert prepare_out_dir(tmp_path / "run", "shrink", settings) == tmp_path / "run"
    changed = {**settings, "config": {"epochs": 500, "lr": 0.01}}
    with pytest.raises(InputError, match=r"config\.epochs: 300 -> 500"):
        prepare_out_dir(tmp_path / "run", "shrink", changed)
    with pytest.raises(InputError, match=r"holds a vashrink shrink run, not a grid run"):
        prepare_out_dir(tmp_path / "run", "grid", settings)


# --- one run per directory (runlock) ------------------------------------------------------------

HOLD = (
    "import sys, time\n"
    "from vashrink.search.rundir import prepare_out_dir\n"
    "prepare_out_dir(sys.argv[1], 'shrink', {'target': 'held'})\n"
    "print('held', flush=True)\n"
    "time.sleep(120)\n"
)


def _holder(out: Path) -> subprocess.Popen[str]:
    """Another process that holds ``out`` (as a running search does), once it printed 'held'."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "held":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the holder did not start: {line!r} {err}")
    return proc


def test_a_second_run_into_a_held_directory_says_so_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vashrink.cli", "shrink", "tanh(2*x)", "--range", "-1", "1",
             "--eps", "1e-2", "--out", str(out), "--no-progress"],
            capture_output=True, text=True, timeout=300, check=False)
    finally:
        holder.kill()
        holder.communicate()
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"is in use by another vashrink run (pid {holder.pid} on " in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (out / "study.db").exists()  # refused before touching anything


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        with pytest.raises(RunDirLockedError, match=f"pid {holder.pid}"):
            prepare_out_dir(out, "shrink", {"target": "held"})
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    assert (out / LOCK_NAME).is_file()  # the file stays; the kernel dropped the lock
    try:
        assert prepare_out_dir(out, "shrink", {"target": "held"}) == out
        assert prepare_out_dir(out, "shrink", {"target": "held"}) == out  # re-entrant
        assert (out / LOCK_NAME).read_text().split()[0] == str(os.getpid())
    finally:
        release_run_dir(out)


def test_a_released_directory_can_be_taken_by_another_process(tmp_path: Path) -> None:
    out = tmp_path / "run"
    prepare_out_dir(out, "shrink", {"target": "held"})
    release_run_dir(out)
    holder = _holder(out)  # would fail to print 'held' if this process still held it
    holder.kill()
    holder.communicate()


def test_a_foreign_directory_gets_no_lock_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="did not create"):
        prepare_out_dir(tmp_path, "shrink", {"target": "x"})
    assert not (tmp_path / LOCK_NAME).exists()
