"""The project's exceptions: every user mistake raises a subclass of :class:`VashrinkError`.

Messages say what was wrong and what to do; the CLI prints them as one line and exits non-zero.
"""

from __future__ import annotations

__all__ = [
    "EngineError",
    "ExpressionError",
    "InputError",
    "ModelFormatError",
    "StudyError",
    "TrainingError",
    "UnsupportedModelError",
    "VashrinkError",
]


class VashrinkError(Exception):
    """Base of every error vashrink raises on purpose."""


class InputError(VashrinkError, ValueError):
    """An argument is out of range or malformed (range, eps, arrays, sizes, paths)."""


class ExpressionError(InputError):
    """A target expression could not be parsed or is not allowed."""


class EngineError(VashrinkError):
    """The C++ engine refused a model or is unavailable."""


class ModelFormatError(VashrinkError):
    """A model file is malformed or would be mis-loaded by its runtime."""


class TrainingError(VashrinkError):
    """Training could not run (memory estimate too large, diverged, bad data)."""


class StudyError(VashrinkError):
    """An architecture search study could not be created, resumed or stored."""


class UnsupportedModelError(ModelFormatError):
    """A well-formed model uses a feature vashrink cannot verify or run (``check``: UNVERIFIED)."""
