"""Compile a generated header into a timing harness: time the exact code a plugin will run.

:func:`compiled_runner` writes the header (:func:`~vashrink.export.cpp.cpp_header`), compiles it
with ``harness.cpp`` into a shared library (cached by a hash of the sources, flags and compiler
under ``$VASHRINK_CACHE_DIR`` or ``<tmp>/vashrink-cache``), loads it with ctypes and exposes the
runner interface :mod:`vashrink.timing` times: ``time_samples`` and ``time_blocks`` return
seconds per repeat over the whole buffer (ctypes releases the GIL during the loops).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from ..errors import EngineError, InputError
from .cpp import cpp_header
from .spec import ModelSpec, spec_of

__all__ = [
    "DEFAULT_FLAGS",
    "CompiledModel",
    "build_harness",
    "cache_dir",
    "compiled_runner",
    "include_dir",
    "rtneural_flags",
]

DEFAULT_FLAGS = ("-O3", "-march=native", "-std=c++17")
_NS = "vashrink_compiled"
_HARNESS = Path(__file__).with_name("harness.cpp")


def cache_dir() -> Path:
    """Where compiled harnesses are kept: ``$VASHRINK_CACHE_DIR`` or ``<tmp>/vashrink-cache``."""
    root = os.environ.get("VASHRINK_CACHE_DIR")
    base = Path(root) if root else Path(tempfile.gettempdir()) / "vashrink-cache"
    return base / "compiled"


def include_dir() -> Path:
    """The engine headers (``cpp/include``): ``$VASHRINK_INCLUDE_DIR`` or the source tree."""
    env = os.environ.get("VASHRINK_INCLUDE_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [here.parents[1] / "include", here.parents[3] / "cpp" / "include"]
    for c in candidates:
        if (c / "vashrink").is_dir():
            return c
    msg = "cannot find the engine headers (cpp/include); set VASHRINK_INCLUDE_DIR to that directory"
    raise EngineError(msg)


def _xsimd_include(root: Path) -> Path | None:
    env = os.environ.get("XSIMD_DIR")
    for d in ([Path(env) / "include", Path(env)] if env else []) + [
        root / "modules" / "xsimd" / "include"
    ]:
        if (d / "xsimd" / "xsimd.hpp").is_file():
            return d
    return None


def rtneural_flags(backend: str = "auto") -> list[str]:
    """Include paths and defines for RTNeural from ``$RTNEURAL_DIR``.

    ``backend``: ``"xsimd"`` (needs ``$XSIMD_DIR`` or the modules/xsimd submodule), ``"eigen"``,
    ``"stl"``, or ``"auto"`` (xsimd, else Eigen, else STL: the fastest one available).
    """
    env = os.environ.get("RTNEURAL_DIR")
    root = Path(env) if env else None
    if root is None or not (root / "RTNeural" / "RTNeural.h").is_file():
        msg = (
            "RTNEURAL_DIR is not set to an RTNeural checkout (with "
            "RTNeural/RTNeural.h); set it to compile for RTNeural"
        )
        raise EngineError(msg)
    xsimd = _xsimd_include(root)
    eigen = root / "modules" / "Eigen"
    if backend == "auto":
        backend = "xsimd" if xsimd else "eigen" if (eigen / "Eigen").is_dir() else "stl"
    flags = [f"-I{root}", "-DRTNEURAL_DEFAULT_ALIGNMENT=32"]
    if backend == "xsimd":
        if xsimd is None:
            msg = "RTNeural's xsimd backend needs xsimd: set XSIMD_DIR to an xsimd checkout"
            raise EngineError(msg)
        flags += ["-DRTNEURAL_USE_XSIMD=1", f"-I{xsimd}"]
    elif backend == "eigen":
        flags += ["-DRTNEURAL_USE_EIGEN=1", f"-I{eigen}"]
    elif backend != "stl":
        msg = f"unknown RTNeural backend {backend!r}: use auto, stl, xsimd or eigen"
        raise InputError(msg)
    return flags


def _compiler() -> str:
    cxx = (
        os.environ.get("CXX")
        or shutil.which("g++")
        or shutil.which("c++")
        or shutil.which("clang++")
    )
    if not cxx:
        msg = "no C++ compiler found (g++, c++ or clang++); install one or set CXX"
        raise EngineError(msg)
    return cxx


def build_harness(
    header_text: str,
    *,
    runtime: str = "vashrink",
    dtype: str = "float",
    flags: tuple[str, ...] = DEFAULT_FLAGS,
    executable: bool = False,
    rtneural_backend: str = "auto",
) -> Path:
    """Compile ``harness.cpp`` around ``header_text``; returns the cached library or program."""
    cxx = _compiler()
    extra = rtneural_flags(rtneural_backend) if runtime == "rtneural" else [f"-I{include_dir()}"]
    defines = [f"-DVASHRINK_NS={_NS}", f"-DVASHRINK_T={dtype}", '-DVASHRINK_HEADER="model.h"']
    if runtime == "rtneural":
        defines.append("-DVASHRINK_RUNTIME_RTNEURAL=1")
    mode = (
        ["-DVASHRINK_HARNESS_MAIN=1"]
        if executable
        else ["-shared", "-fPIC", "-fvisibility=hidden", "-fvisibility-inlines-hidden"]
    )
    cmd_flags = [*flags, *extra, *defines, *mode]
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False).stdout
    digest = hashlib.sha256()
    for part in (
        header_text,
        _HARNESS.read_text(),
        " ".join(cmd_flags),
        version,
        _engine_sources(runtime),
    ):
        digest.update(part.encode())
    out_dir = cache_dir() / digest.hexdigest()[:24]
    target = out_dir / ("harness" if executable else "libharness.so")
    if target.is_file():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.h").write_text(header_text)
    tmp = out_dir / f".{target.name}.{os.getpid()}"
    cmd = [cxx, *cmd_flags, f"-I{out_dir}", str(_HARNESS), "-o", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if "error" in ln][
            :3
        ] or proc.stderr.splitlines()[:3]
        msg = (
            f"compiling the generated header failed: {' | '.join(lines)[:600]} "
            f"(command: {' '.join(cmd)[:300]})"
        )
        raise EngineError(msg)
    tmp.replace(target)
    return target


def _engine_sources(runtime: str) -> str:
    """The engine headers' text, so an engine change invalidates cached builds."""
    if runtime == "rtneural":
        return os.environ.get("RTNEURAL_DIR", "")
    root = include_dir() / "vashrink"
    return "".join(p.read_text() for p in sorted(root.glob("*.h")))


@dataclass(frozen=True)
class CompiledModel:
    """A compiled generated header, loaded: the ``time_samples``/``time_blocks`` runner."""

    path: Path
    runtime: str
    dtype: str
    in_size: int
    out_size: int
    self_test_passed: bool
    _lib: ctypes.CDLL

    @property
    def backend(self) -> str:
        return f"compiled-{self.runtime}"

    @property
    def _np_dtype(self) -> type[np.floating]:
        return np.float32 if self.dtype == "float" else np.float64

    def reset(self) -> None:
        self._lib.vs_reset()

    def process(self, inputs: np.ndarray) -> np.ndarray:
        """Rows ``[n, in]`` -> ``[n, out]`` (float64 out), one ``forward`` per row, no reset."""
        x = np.ascontiguousarray(np.asarray(inputs, dtype=np.float64).reshape(-1, self.in_size))
        y = np.empty((x.shape[0], self.out_size))
        self._lib.vs_process(x.ctypes.data, y.ctypes.data, ctypes.c_long(x.shape[0]))
        return y

    def process_samples(self, x: np.ndarray) -> np.ndarray:
        """A 1-D buffer through a 1-in/1-out model, one ``forward`` per sample (float64 out)."""
        return self.process(np.asarray(x, dtype=np.float64).reshape(-1, 1)).reshape(-1)

    def _buffer(self, buffer: np.ndarray, repeats: int, warmup: int) -> np.ndarray:
        buf = np.ascontiguousarray(np.asarray(buffer, dtype=self._np_dtype).reshape(-1))
        if buf.size == 0 or repeats < 1 or warmup < 0:
            msg = (
                "need a non-empty buffer, repeats >= 1 and warmup >= 0 (got "
                f"{buf.size}, {repeats}, {warmup})"
            )
            raise InputError(msg)
        if self.in_size != 1:
            msg = f"timing needs a 1-input model; this one has {self.in_size} inputs"
            raise InputError(msg)
        return buf

    def time_samples(self, buffer: np.ndarray, repeats: int, warmup: int) -> list[float]:
        """Seconds per repeat of the per-sample loop over ``buffer``."""
        buf = self._buffer(buffer, repeats, warmup)
        out = np.empty_like(buf)
        secs = np.empty(repeats)
        self._lib.vs_time_samples(
            buf.ctypes.data,
            out.ctypes.data,
            ctypes.c_long(buf.size),
            repeats,
            warmup,
            secs.ctypes.data,
        )
        return [float(s) for s in secs]

    def time_blocks(
        self, buffer: np.ndarray, block_size: int, repeats: int, warmup: int
    ) -> list[float]:
        """Seconds per repeat over ``buffer`` in blocks of ``block_size`` samples."""
        buf = self._buffer(buffer, repeats, warmup)
        if block_size < 1 or self.out_size != 1:
            msg = (
                "block timing needs block_size >= 1 and a 1-output model (got "
                f"{block_size}, {self.out_size})"
            )
            raise InputError(msg)
        out = np.empty_like(buf)
        secs = np.empty(repeats)
        self._lib.vs_time_blocks(
            buf.ctypes.data,
            out.ctypes.data,
            ctypes.c_long(buf.size),
            block_size,
            repeats,
            warmup,
            secs.ctypes.data,
        )
        return [float(s) for s in secs]


def _bind(lib: ctypes.CDLL) -> None:
    p = ctypes.c_void_p
    lib.vs_process.argtypes = [p, p, ctypes.c_long]
    lib.vs_process.restype = None
    lib.vs_time_samples.argtypes = [p, p, ctypes.c_long, ctypes.c_int, ctypes.c_int, p]
    lib.vs_time_blocks.argtypes = [p, p, ctypes.c_long, ctypes.c_int, ctypes.c_int, ctypes.c_int, p]
    lib.vs_reset.restype = None


def compiled_runner(
    model: nn.Module | ModelSpec,
    *,
    runtime: str = "vashrink",
    dtype: str = "float",
    flags: tuple[str, ...] = DEFAULT_FLAGS,
    rtneural_backend: str = "auto",
) -> CompiledModel:
    """Compile (or reuse) the generated header for ``model`` and load it.

    Raises:
        EngineError: no compiler, headers not found, the build failed or the compiled model
            refused its weights.
    """
    spec = spec_of(model)
    header = cpp_header(spec, runtime=runtime, dtype=dtype, namespace=_NS)
    path = build_harness(
        header, runtime=runtime, dtype=dtype, flags=flags, rtneural_backend=rtneural_backend
    )
    lib = ctypes.CDLL(str(path))
    _bind(lib)
    if not lib.vs_load():
        msg = f"the compiled model refused its embedded weights ({path})"
        raise EngineError(msg)
    passed = bool(lib.vs_self_test())
    return CompiledModel(
        path, runtime, dtype, int(lib.vs_in_size()), int(lib.vs_out_size()), passed, lib
    )
