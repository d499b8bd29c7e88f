"""Helpers shared by the sub-commands: JSON output and argument types."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console", "finite_float", "positive_int", "print_json"]

#: Width of text written to a file or pipe: wide enough that no table is cut or wrapped.
PIPE_WIDTH = 10_000


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Write ``data`` as strict JSON (NaN/Inf become null) to stdout."""
    json.dump(_clean(data), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def finite_float(text: str) -> float:
    """argparse type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        msg = f"{text!r} is not a number"
        raise argparse.ArgumentTypeError(msg) from None
    if not math.isfinite(value):
        msg = f"{text!r} is not a finite number"
        raise argparse.ArgumentTypeError(msg)
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        msg = f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"{text!r} must be at least 1"
        raise argparse.ArgumentTypeError(msg)
    return value


def console(*, stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr): terminal width on a terminal, and on a file or
    pipe wide enough that tables are written whole instead of cut at 80 columns."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)
