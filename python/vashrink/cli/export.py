"""``vashrink export MODEL --to out.json|out.onnx|out.h``: write a model for a plugin runtime."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model.architecture import ACTIVATIONS, Architecture
from ..model.file import SUFFIX
from ..runtime.compiled import RUNTIMES
from .common import print_json

__all__ = ["register", "run"]

_FORMATS = {".json": "rtneural", ".onnx": "onnx", ".h": "cpp", ".hpp": "cpp", ".nam": "nam"}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export a model as RTNeural JSON, ONNX or a C++ header (with a snapshot)",
        description=(
            "Export MODEL (a vashrink model file written by train/shrink/grid, an RTNeural JSON "
            "(AIDA-X's: in_skip and gains folded in), a CoreAudioML/GuitarML SimpleRNN JSON, "
            "a state dict as JSON or .pt with --architecture, or a torch.save'd nn.Sequential / "
            "vashrink.RecurrentModel) to RTNeural JSON, ONNX, a plugin C++ header or a vashrink "
            "model file, chosen by the suffix of --to. A snapshot of test inputs and expected "
            "outputs is written beside it. A .pt holding a whole module is unpickled: only "
            "export files you trust."
        ),
    )
    p.add_argument("model", type=Path, nargs="?", default=None,
                   help="model file (.vashrink.json, RTNeural/AIDA-X .json, CoreAudioML .json, "
                   "state-dict .json/.pt, .pt)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="export the winner of a shared study instead (with --study)")
    p.add_argument("--study", default=None, metavar="NAME", help="the study, with --storage")
    p.add_argument("--to", type=Path, required=True, dest="out",
                   help="output: .json (RTNeural), .onnx, .h, or .vashrink.json")
    p.add_argument(
        "--runtime", choices=RUNTIMES, default="vashrink", help="C++ target (default vashrink)"
    )
    p.add_argument("--dtype", choices=("float32", "float64", "float", "double"), default=None,
                   help="C++ sample type: float32 (float) or float64 (double); default float64 "
                   "for a float64 model file, else float32 (float and double are accepted too)")
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


#: --dtype (and a model file's dtype) -> the C++ sample type.
_CPP_TYPES = {"float32": "float", "float64": "double", "float": "float", "double": "double"}


def _stored_winner(args: argparse.Namespace) -> Any:
    """The winner of ``--study`` in ``--storage``, read from the database (any machine)."""
    from ..search.artifacts import load_stored_winner

    if not (args.storage and args.study) or args.model is not None:
        msg = "give MODEL, or --storage URL and --study NAME (the winner of a shared study)"
        raise InputError(msg)
    model, _ = load_stored_winner(args.storage, args.study)
    return model


def _wavenet_header(args: argparse.Namespace) -> int | None:
    """A ``.nam`` WaveNet to a self-contained C++ header (``None``: not a WaveNet)."""
    from ..formats.cpp_wavenet import wavenet_to_cpp
    from ..formats.nam import read_nam
    from ..formats.snapshot import snapshot_path
    from ..model.wavenet import WaveNetSpec

    nam = read_nam(args.model)
    if not isinstance(nam.model, WaveNetSpec):
        return None
    if args.runtime != "vashrink":
        msg = "a WaveNet's C++ header is self-contained: drop --runtime rtneural"
        raise InputError(msg)
    dtype = _CPP_TYPES.get(args.dtype or "float32", "float")
    path = wavenet_to_cpp(nam.model, args.out, dtype=dtype, snapshot=not args.no_snapshot)
    result = {"format": "cpp-wavenet", "path": str(path),
              "snapshot": None if args.no_snapshot else str(snapshot_path(path))}
    _report_written(result, args.json, "cpp-wavenet, self-contained")
    return 0


def _report_written(result: dict[str, Any], as_json: bool, what: str) -> None:
    """The written file (and its snapshot) as JSON or as "wrote" lines."""
    if as_json:
        print_json(result)
        return
    print(f"wrote {result['path']} ({what})")
    if result["snapshot"]:
        print(f"wrote {result['snapshot']} (test inputs and expected outputs)")


def run(args: argparse.Namespace) -> int:
    from ..formats.cpp import to_cpp
    from ..formats.load import load_model
    from ..formats.onnx_export import to_onnx
    from ..formats.rtneural_json import to_rtneural
    from ..formats.snapshot import snapshot_path
    from ..model.file import write_model_file
    from ..model.spec import spec_to_torch

    fmt = "vashrink" if args.out.name.endswith(SUFFIX) else _FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        msg = (
            f"cannot tell the format of {args.out}: use a .json (RTNeural), .onnx or .h "
            "(C++) file name"
        )
        raise InputError(msg)
    if fmt == "cpp" and args.model is not None and args.model.suffix.lower() == ".nam":
        done = _wavenet_header(args)
        if done is not None:
            return done
    arch = Architecture.parse(args.architecture, args.activation) if args.architecture else None
    shared = args.storage or args.study or args.model is None
    loaded = _stored_winner(args) if shared else load_model(args.model, arch)
    import torch

    model = spec_to_torch(loaded.spec, torch.float64 if loaded.dtype == "float64" else None)
    cpp_dtype = _CPP_TYPES.get(args.dtype or loaded.dtype, "float")
    snapshot = not args.no_snapshot
    if fmt == "vashrink":
        source = str(args.model or args.study)
        path = write_model_file(args.out, loaded.spec, dtype=loaded.dtype,
                                provenance={**loaded.provenance, "exported_from": source})
        snapshot = False
    elif fmt == "nam":  # Neural Amp Modeler (LSTM): formats/nam_write.py
        from ..formats.nam_write import export_nam

        path, snapshot = export_nam(loaded.spec, args.out, loaded.provenance), False
    elif fmt == "rtneural":
        path = to_rtneural(model, args.out, snapshot=snapshot)
    elif fmt == "onnx":
        path = to_onnx(model, args.out, stateful=args.stateful, snapshot=snapshot)
    else:
        path = to_cpp(model, args.out, runtime=args.runtime, dtype=cpp_dtype, snapshot=snapshot)
    result = {
        "format": fmt if fmt != "cpp" else f"cpp-{args.runtime}",
        "path": str(path),
        "snapshot": str(snapshot_path(path)) if snapshot else None,
    }
    _report_written(result, args.json, result["format"])
    if not args.json:
        stacked = len(loaded.spec.rnn) > 1
        if loaded.spec.skip and fmt in ("rtneural", "cpp"):
            who = "AIDA-X does this" if not stacked else "AIDA-X would"
            print(f"note: the model adds its input to the output (in_skip 1): {who}; "
                  "RTNeural's Model::forward does not, so a plain RTNeural plugin must add it")
        if stacked and fmt == "rtneural":
            print(f"note: {len(loaded.spec.rnn)} stacked recurrent layers: RTNeural loads them, "
                  "but AIDA-X's plugin runs one recurrent layer and will not play this model")
    return 0
