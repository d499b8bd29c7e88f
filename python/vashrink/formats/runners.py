"""The same model on every runtime a plugin may use, ready for :mod:`vashrink.runtime.timing`.

``vashrink``: our engine's run-time model; ``rtneural``: RTNeural's own parser and run-time
model, given the user's own file when there is one (else the RTNeural JSON we would export);
``compiled``: the generated C++ header (our compile-time ``ModelT``), compiled and loaded. Each
backend other than ours is checked to compute the same function before it is timed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EngineError, InputError, ModelFormatError
from ..model.architecture import Architecture
from ..model.spec import ModelSpec, spec_of
from ..runtime.compiled import DEFAULT_FLAGS, HARNESS_NAMESPACE, CompiledModel, load_harness
from ..runtime.engine import Mlp, as_mlp
from ..runtime.timing import OUTPUT_TOLERANCE, Runner, check_same_outputs, timing_buffer
from .check import check_rtneural
from .cpp import cpp_header
from .rtneural_json import rtneural_document

if TYPE_CHECKING:
    from torch import nn

__all__ = ["BACKENDS", "check_rtneural_file", "compiled_runner", "rtneural_runner", "runner_for"]

BACKENDS = ("vashrink", "rtneural", "compiled")


def check_rtneural_file(path: Path) -> None:
    """Refuse a file RTNeural would mis-load, with vashrink's first finding.

    The checker's messages are the most specific, and it runs the snapshot beside the file (the
    only way to catch a square kernel in PyTorch layout).
    """
    report = check_rtneural(path)
    problem = report.first_problem()  # an error, or a layer vashrink cannot verify
    if problem is not None:
        first = problem.line()
        msg = f"{path}: {first}; run `vashrink check {path}` for all findings"
        raise ModelFormatError(msg)


def rtneural_runner(model: nn.Module | ModelSpec | str | Path) -> Any:
    """RTNeural's run-time model: of the user's file (checked first), or of a model's export."""
    from ..runtime import rtneural_backend

    if not rtneural_backend.available():
        raise EngineError(rtneural_backend.why_unavailable())
    if isinstance(model, str | Path):
        return rtneural_backend.RTNeuralModel.from_json(Path(model), check=check_rtneural_file)
    text = json.dumps(rtneural_document(model))
    return rtneural_backend.RTNeuralModel.from_json(text)


def compiled_runner(
    model: nn.Module | ModelSpec,
    *,
    runtime: str = "vashrink",
    dtype: str = "float",
    flags: tuple[str, ...] = DEFAULT_FLAGS,
    rtneural_backend: str = "auto",
) -> CompiledModel:
    """The generated header for ``model`` compiled (or reused from the cache) and loaded.

    Raises:
        EngineError: no compiler, the build failed, or the compiled model fails its self-test.
    """
    header = cpp_header(spec_of(model), runtime=runtime, dtype=dtype, namespace=HARNESS_NAMESPACE)
    return load_harness(
        header, runtime=runtime, dtype=dtype, flags=flags, rtneural_backend=rtneural_backend
    )


def runner_for(
    model: Mlp | nn.Module | ModelSpec | Architecture,
    backend: str = "vashrink",
    *,
    source: str | Path | None = None,
    dtype: str = "float32",
    seed: int = 0,
) -> Runner:
    """A runner for ``model`` on ``backend``, checked against our engine's outputs.

    Args:
        model: the model (an :class:`Architecture` gets random weights from ``seed``); a
            :class:`ModelSpec` with GRU/LSTM layers (a stack too) runs as the engine's
            ``RecurrentNet``.
        backend: one of :data:`BACKENDS` (``compiled`` is for MLPs).
        source: the user's RTNeural JSON file, given to RTNeural as it is (``rtneural`` only).
        dtype: ``float32`` or ``float64`` (``vashrink`` and ``compiled``).
    """
    if backend not in BACKENDS:
        msg = f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}"
        raise InputError(msg)
    if isinstance(model, ModelSpec) and model.is_recurrent:
        return _recurrent_runner(model, backend, source, dtype, seed)
    if isinstance(model, ModelSpec):
        mlp = Mlp.from_layers(model.dense, dtype=dtype)
    else:
        mlp = as_mlp(model, dtype=dtype, seed=seed)
    if backend == "vashrink":
        return mlp
    torch_model = _torch(ModelSpec((), tuple(mlp.layers)))
    runner: Runner
    if backend == "rtneural":
        runner = rtneural_runner(source if source is not None else torch_model)
    else:
        runner = compiled_runner(torch_model, dtype="double" if dtype == "float64" else "float")
    check_same_outputs(runner, mlp, seed)
    return runner


def _torch(spec: ModelSpec) -> nn.Module:
    from ..model.spec import spec_to_torch

    return spec_to_torch(spec)


def _recurrent_runner(
    spec: ModelSpec, backend: str, source: str | Path | None, dtype: str, seed: int
) -> Runner:
    """The engine's ``RecurrentNet``, or RTNeural checked against it.

    RTNeural's ``Model::forward`` does not add an ``in_skip`` input (AIDA-X and the plugin do),
    so RTNeural is compared with the engine running the same net without the skip; the add it
    leaves out costs one addition a sample.
    """
    from dataclasses import replace

    from ..runtime.recurrent import RecurrentNet

    if backend == "compiled":
        msg = (
            "--compiled times generated MLP headers; time a GRU/LSTM model with the engine "
            "(the default) or --backend rtneural"
        )
        raise InputError(msg)
    net = RecurrentNet.from_spec(spec, dtype)
    if backend == "vashrink":
        return net
    runner = rtneural_runner(source if source is not None else spec)
    plain = RecurrentNet.from_spec(replace(spec, skip=False), "float64")
    x = timing_buffer(256, seed=seed + 1)
    runner.reset()
    theirs = np.asarray(runner.process_samples(x), dtype=np.float64).reshape(-1)
    runner.reset()
    err = float(np.max(np.abs(theirs - np.asarray(plain.process_samples(x), np.float64))))
    if not err <= OUTPUT_TOLERANCE:
        msg = (
            f"RTNeural computes different outputs than vashrink's engine (max difference "
            f"{err:.3g} > {OUTPUT_TOLERANCE}); its timing would not be comparable"
        )
        raise EngineError(msg)
    return runner  # type: ignore[no-any-return]
