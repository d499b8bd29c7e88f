"""The compile cache: private, owned by the user, never loading a planted library."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vashrink.errors import EngineError
from vashrink.runtime.compiled import cache_dir


def test_cache_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VASHRINK_CACHE_DIR", str(tmp_path / "c"))
    path = cache_dir()
    assert path == tmp_path / "c" / "compiled"
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_default_cache_is_the_user_cache_not_tmp(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("VASHRINK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "vashrink" / "compiled"


def test_a_cache_others_can_write_is_refused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "shared"
    (root / "compiled").mkdir(parents=True)
    (root / "compiled").chmod(0o777)
    monkeypatch.setenv("VASHRINK_CACHE_DIR", str(root))
    with pytest.raises(EngineError, match="others can write to it"):
        cache_dir()


def test_a_symlinked_cache_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "compiled").symlink_to(elsewhere)
    monkeypatch.setenv("VASHRINK_CACHE_DIR", str(tmp_path / "c"))
    with pytest.raises(EngineError, match="symlink or not owned by you"):
        cache_dir()
