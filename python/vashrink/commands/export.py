"""``vashrink export MODEL --to out.json|out.onnx|out.h``: write a model for a plugin runtime."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..architecture import ACTIVATIONS, Architecture
from ..errors import InputError
from ..export.cpp import RUNTIMES, to_cpp
from ..export.model_file import load_model_file
from ..export.onnx_export import to_onnx
from ..export.rtneural import to_rtneural
from ..export.snapshot import snapshot_path
from ._common import print_json

__all__ = ["register", "run"]

_FORMATS = {".json": "rtneural", ".onnx": "onnx", ".h": "cpp", ".hpp": "cpp"}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export a model as RTNeural JSON, ONNX or a C++ header (with a snapshot)",
        description=(
            "Export MODEL (a torch.save'd nn.Sequential / vashrink.export.RecurrentModel, or an "
            "RTNeural JSON) to RTNeural JSON, ONNX or a plugin C++ header, chosen by the suffix "
            "of --to. A snapshot of test inputs and expected outputs is written beside it. "
            ".pt files are unpickled (torch.load weights_only=False): only export files you trust."
        ),
    )
    p.add_argument("model", type=Path, help="model file (.pt/.pth torch.save, or .json RTNeural)")
    p.add_argument("--to", type=Path, required=True, dest="out", help="output: .json, .onnx or .h")
    p.add_argument(
        "--runtime", choices=RUNTIMES, default="vashrink", help="C++ target (default vashrink)"
    )
    p.add_argument("--dtype", choices=("float", "double"), default="float", help="C++ sample type")
    p.add_argument(
        "--architecture",
        default=None,
        help="DxW: MODEL is a state_dict (.pt or JSON-dumped) of this 1-in/1-out MLP",
    )
    p.add_argument("--activation", choices=ACTIVATIONS, default="tanh", help="with --architecture")
    p.add_argument(
        "--stateful",
        action="store_true",
        help="ONNX of a GRU/LSTM: add state inputs h0/c0, outputs hn/cn",
    )
    p.add_argument("--no-snapshot", action="store_true", help="do not write <out>.snapshot.json")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    fmt = _FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        msg = (
            f"cannot tell the format of {args.out}: use a .json (RTNeural), .onnx or .h "
            "(C++) file name"
        )
        raise InputError(msg)
    arch = Architecture.parse(args.architecture, args.activation) if args.architecture else None
    model = load_model_file(args.model, arch)
    snapshot = not args.no_snapshot
    if fmt == "rtneural":
        path = to_rtneural(model, args.out, snapshot=snapshot)
    elif fmt == "onnx":
        path = to_onnx(model, args.out, stateful=args.stateful, snapshot=snapshot)
    else:
        path = to_cpp(model, args.out, runtime=args.runtime, dtype=args.dtype, snapshot=snapshot)
    result = {
        "format": fmt if fmt != "cpp" else f"cpp-{args.runtime}",
        "path": str(path),
        "snapshot": str(snapshot_path(path)) if snapshot else None,
    }
    if args.json:
        print_json(result)
    else:
        print(f"wrote {result['path']} ({result['format']})")
        if result["snapshot"]:
            print(f"wrote {result['snapshot']} (test inputs and expected outputs)")
    return 0
