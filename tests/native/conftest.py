"""Start the sanitizer builds as soon as collection ends, so the compilers (the suite's longest
builds) run beside the Python tests instead of after them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

_DIRS: list[Path] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any("sanitized_builds" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    import test_native  # the module pytest collected (tests/native is on sys.path)

    out = Path(tempfile.mkdtemp(prefix="vashrink-native-"))
    _DIRS.append(out)
    test_native.EARLY.update(test_native.start_sanitized_builds(out))


def pytest_sessionfinish(session: pytest.Session) -> None:
    import sys

    module = sys.modules.get("test_native")
    for proc, _ in (module.EARLY.values() if module else ()):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for out in _DIRS:
        shutil.rmtree(out, ignore_errors=True)
