"""Import of the compiled engine with an error that says how to rebuild it."""

from __future__ import annotations

from types import ModuleType

from ..errors import EngineError, InputError

__all__ = ["check_counts", "engine"]


def engine() -> ModuleType:
    """Return ``vashrink._engine``, or raise :class:`EngineError` explaining how to build it."""
    try:
        from .. import _engine
    except ImportError as exc:  # pragma: no cover - depends on a broken install
        msg = (
            f"vashrink's C++ engine is not built or does not load ({exc}); "
            "reinstall with `pip install .` from the project root (needs g++ and cmake)"
        )
        raise EngineError(msg) from exc
    return _engine


def check_counts(repeats: int, warmup: int) -> None:
    """The one check of a timing request's counts, shared by every runner and the policy."""
    if repeats < 1 or warmup < 0:
        msg = f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}"
        raise InputError(msg)
