"""Where each model family plugs into a capture search (as NAM Core's ``NAM/registry.h``).

A :class:`CaptureFamily` says, for its shapes, how to build a model with random weights (what
the engine times before training), how to train one on a recording, how a trained candidate is
stored and read back (so a resumed run skips it), and what the winner exports. GRU and LSTM
share one entry (vashrink model files; RTNeural JSON, ONNX, C++ header); WaveNet is stored as
``.nam`` (NAM Core loads it; ``vashrink time`` and ``render`` read it) with vashrink's provenance
under its metadata's ``"vashrink"`` key. The plan's ladders are in :mod:`.capture_plan`; the
engine runs every family through :func:`vashrink.runtime.families.runner_of`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..model.architecture import CELLS, RecurrentArchitecture
from ..model.wavenet_shape import WAVENET, WaveNetShape
from ..target.recording import Recording
from ..train.rnn_config import RecurrentTrainConfig
from ..train.wavenet_config import WaveNetTrainConfig

__all__ = ["CaptureFamily", "Recipes", "TrainedModel", "family_of", "stored_files"]

Shape = RecurrentArchitecture | WaveNetShape


class TrainedModel(Protocol):
    """What the search reads of a training, any family (TrainedRecurrent, TrainedWaveNet)."""

    spec: Any
    seconds: float
    epochs: int
    epoch_seconds: tuple[float, ...]
    stop_reason: str


@dataclass(frozen=True)
class Recipes:
    """The training recipe of each kind of family."""

    recurrent: RecurrentTrainConfig = field(default_factory=RecurrentTrainConfig)
    wavenet: WaveNetTrainConfig = field(default_factory=WaveNetTrainConfig)


@dataclass(frozen=True)
class CaptureFamily:
    """One family's hooks; ``dtypes`` it runs in, ``export_note`` said when it wins."""

    name: str
    suffix: str
    dtypes: tuple[str, ...]
    random_spec: Callable[[Any], Any]
    train: Callable[[Recording, Any, Recipes, float, bool], TrainedModel]
    write: Callable[[Path, Any, str, float, dict[str, Any]], Path]
    read: Callable[[Path], tuple[Any, dict[str, Any]]]
    export: Callable[[Path, Path, str], dict[str, str]]
    export_note: str = ""


# GRU / LSTM ---------------------------------------------------------------------------------


def _recurrent_random(arch: RecurrentArchitecture) -> Any:
    from ..model.spec import random_spec

    return random_spec(arch)


def _recurrent_train(rec: Recording, arch: RecurrentArchitecture, recipes: Recipes,
                     esr_target: float, progress: bool) -> TrainedModel:
    from ..train.rnn_fit import train_recurrent

    [trained] = train_recurrent(rec, [arch], recipes.recurrent, target_esr=esr_target,
                                progress=progress)
    return trained


def _recurrent_write(path: Path, spec: Any, dtype: str, _rate: float,
                     provenance: dict[str, Any]) -> Path:
    from ..model.file import write_model_file

    return write_model_file(path, spec, dtype=dtype, provenance=provenance)


def _recurrent_read(path: Path) -> tuple[Any, dict[str, Any]]:
    from ..model.file import read_model_file

    stored = read_model_file(path)
    return stored.spec, stored.provenance


def _recurrent_export(out: Path, model_file: Path, dtype: str) -> dict[str, str]:
    from ..formats import to_cpp, to_onnx, to_rtneural
    from ..model.file import SUFFIX, read_model_file

    spec = read_model_file(model_file).spec
    files = {
        "model": out / f"model{SUFFIX}",
        "rtneural": to_rtneural(spec, out / "model.json", snapshot=True),
        "onnx": to_onnx(spec, out / "model.onnx", stateful=True),
        "cpp": to_cpp(spec, out / "model.h", dtype="double" if dtype == "float64" else "float"),
    }
    shutil.copyfile(model_file, files["model"])
    return {k: str(Path(v)) for k, v in files.items()}


RECURRENT = CaptureFamily("gru/lstm", ".vashrink.json", ("float32", "float64"), _recurrent_random,
                          _recurrent_train, _recurrent_write, _recurrent_read, _recurrent_export)

# WaveNet ------------------------------------------------------------------------------------


def _wavenet_random(shape: WaveNetShape) -> Any:
    from ..model.wavenet_presets import random_wavenet

    return random_wavenet(((shape.channels, 1, shape.dilations),), kernel_size=shape.kernel_size)


def _wavenet_train(rec: Recording, shape: WaveNetShape, recipes: Recipes, esr_target: float,
                   _progress: bool) -> TrainedModel:
    from ..train.wavenet_fit import train_wavenet

    [trained] = train_wavenet(rec, [shape], recipes.wavenet, target_esr=esr_target)
    return trained


def _wavenet_write(path: Path, spec: Any, _dtype: str, rate: float,
                   provenance: dict[str, Any]) -> Path:
    import json

    from ..formats.nam_write import write_nam

    # JSON-safe provenance (the recipe and score hold only plain values; Paths become text).
    safe = json.loads(json.dumps(provenance, default=str))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write_nam(tmp, spec, sample_rate_hz=rate, metadata={"vashrink": safe})
    tmp.replace(path)
    return path


def _wavenet_read(path: Path) -> tuple[Any, dict[str, Any]]:
    from ..formats.nam import read_nam

    nam = read_nam(path)
    prov = nam.metadata.get("vashrink")
    return nam.model, prov if isinstance(prov, dict) else {}


def _wavenet_export(out: Path, model_file: Path, _dtype: str) -> dict[str, str]:
    from ..formats.cpp_wavenet import wavenet_to_cpp
    from ..formats.nam import read_nam

    target = out / "model.nam"
    shutil.copyfile(model_file, target)
    header = wavenet_to_cpp(read_nam(target).model, out / "model.h")
    return {"model": str(target), "cpp": str(header)}


WAVENET_FAMILY = CaptureFamily(
    "wavenet", ".nam", ("float32",), _wavenet_random, _wavenet_train, _wavenet_write,
    _wavenet_read, _wavenet_export,
    export_note=("the chosen WaveNet is exported as model.nam (NAM's plugin loads it; vashrink "
                 "time and render run it) and model.h (a self-contained C++ header); RTNeural "
                 "JSON and ONNX hold GRU/LSTM only, so neither is written for it"))

_BY_CELL: dict[str, CaptureFamily] = {**{c: RECURRENT for c in CELLS}, WAVENET: WAVENET_FAMILY}


def family_of(cell: str) -> CaptureFamily:
    """The family of ``cell`` (``gru``, ``lstm``, ``wavenet``)."""
    return _BY_CELL[cell]


def stored_files(models: Path) -> list[Path]:
    """Every stored candidate file under ``models`` (each family's suffix)."""
    suffixes = sorted({f.suffix for f in _BY_CELL.values()})
    return sorted(p for s in suffixes for p in models.glob(f"*{s}"))
