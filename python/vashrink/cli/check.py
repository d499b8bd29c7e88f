"""``vashrink check MODEL``: validate an RTNeural JSON file (AIDA-X's, CoreAudioML's too) or any
other model file ``time`` reads (the vashrink model file, torch files).

Exit 0 valid, 1 invalid (or a warning with ``--strict``), 2 a usage error, 3 unverified: no
errors found, but the file holds layers vashrink does not verify (conv1d, conv2d, batchnorm2d).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from .common import print_json

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "check",
        help="validate an RTNeural JSON model against every trap RTNeural falls into",
        description=(
            "Strict validator for RTNeural JSON files, AIDA-X files (in_skip, in_gain, "
            "out_gain; their own input_batch/output_batch is run and its max error reported) "
            "and CoreAudioML/GuitarML SimpleRNN files, and every other file `vashrink time` reads "
            "(the vashrink model file, torch .pt files: loaded as time loads them, then checked "
            "as the RTNeural JSON they export to). Prints one line per finding (layer index "
            "and fix), then a verdict: valid, UNVERIFIED or INVALID. Runs <model>.snapshot.json "
            "(or --snapshot) when present. Exit 0 valid, 1 invalid (or any warning with "
            "--strict), 2 a usage error (e.g. a missing file), 3 unverified: no errors found, "
            "but some layers are of a type vashrink does not verify (conv1d, conv2d, "
            "batchnorm2d), so the file is not known to be valid."
        ),
    )
    p.add_argument("model", type=Path, help="RTNeural / AIDA-X / CoreAudioML .json, "
                   ".vashrink.json or torch .pt model file")
    p.add_argument("--snapshot", type=Path, default=None, help="snapshot file to run and compare")
    p.add_argument("--json", action="store_true", help="print findings as JSON")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..formats.check import check_rtneural
    from .nam_support import is_nam, run_check

    if is_nam(args.model):  # Neural Amp Modeler files: formats/nam_check.py
        return run_check(args)

    for path, what in ((args.model, "model file"), (args.snapshot, "snapshot file")):
        if path is not None and path.is_dir():
            msg = f"{what} {path} is a directory; give the path of a model file in it"
            raise InputError(msg)
        if path is not None and not path.is_file():
            msg = f"{what} {path} does not exist; give the path of an RTNeural .json file"
            raise InputError(msg)
    report = check_rtneural(args.model, args.snapshot)
    if args.json:
        print_json(report.to_dict())
    else:
        for line in report.lines():
            print(line)
    if report.status == "invalid":
        return 1
    if args.strict and any(f.code != "type-unverified" for f in report.warnings):
        return 1
    return 3 if report.status == "unverified" else 0
