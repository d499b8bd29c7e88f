"""The ``vashrink`` command: a thin layer that parses arguments and calls library functions.

Each sub-command lives in ``vashrink.cli.<name>`` with ``register(subparsers)``; a
:class:`~vashrink.errors.VashrinkError` or a usage mistake becomes one line on stderr and exit
code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..errors import VashrinkError

__all__ = ["main"]

#: Sub-command modules in the order ``--help`` lists them.
COMMANDS = ("shrink", "bounds", "train", "grid", "time", "render", "export", "check", "info",
            "profile", "signal")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line (what was wrong, where to read more) and exit code 2.

    Negative numbers in any notation (``--eps -1e-3``) are values, not options: argparse's own
    rule knows only ``-1`` and ``-.5``, and called ``-1e-3`` a missing argument.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE
        )

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vashrink",
        description="Size, train, time and export small neural VA models for real-time plugins.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"vashrink {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"vashrink.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 target not met or file invalid, 2 user error,
    3 `check` could not verify a layer type, 130 interrupted)."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if extra:
        print(f"vashrink {args.command}: error: unrecognized arguments: {' '.join(extra)} "
              f"(see vashrink {args.command} --help)", file=sys.stderr)
        return 2
    try:
        code = args.handler(args)
    except VashrinkError as exc:
        print(f"vashrink {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vashrink {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours; silence the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
