"""Compile a C++ model header into a timing harness: time the exact code a plugin will run.

:func:`load_harness` compiles a header (written by :mod:`vashrink.formats.cpp`) with
``harness.cpp`` into a shared library, cached by a hash of the sources, flags and compiler in the
user's cache directory (``$VASHRINK_CACHE_DIR`` or platformdirs' user cache, created ``0700``;
an entry not owned by the user is refused, so no other local user can plant a library there),
loads it with ctypes and exposes the runner interface :mod:`vashrink.runtime.timing` times:
``time_samples`` and ``time_blocks`` return seconds per repeat over the whole buffer (ctypes
releases the GIL during the loops).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EngineError, InputError
from .native import check_counts
from .toolchain import DEFAULT_FLAGS, compiler, rtneural_flags

__all__ = [
    "DEFAULT_FLAGS",
    "HARNESS_NAMESPACE",
    "RUNTIMES",
    "CompiledModel",
    "build_harness",
    "cache_dir",
    "include_dir",
    "load_harness",
    "rtneural_flags",
]

#: The C++ runtimes a generated header can target.
RUNTIMES = ("vashrink", "rtneural")
#: The namespace a header must use to be compiled into the harness.
HARNESS_NAMESPACE = "vashrink_compiled"
_NS = HARNESS_NAMESPACE
_HARNESS = Path(__file__).with_name("harness.cpp")


def cache_dir() -> Path:
    """Where compiled harnesses are kept, created private (``0700``) and checked to be ours.

    ``$VASHRINK_CACHE_DIR/compiled`` or the user cache directory (platformdirs: XDG on Linux).

    Raises:
        EngineError: the directory cannot be created, belongs to another user or is writable
            by others (a library planted there would be loaded and run).
    """
    import platformdirs

    root = os.environ.get("VASHRINK_CACHE_DIR")
    base = Path(root) if root else Path(platformdirs.user_cache_dir("vashrink"))
    path = base / "compiled"
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        _check_private(path)
    except OSError as exc:
        reason = exc.strerror or exc
        msg = f"cannot create the compile cache {path} ({reason}); set VASHRINK_CACHE_DIR"
        raise EngineError(msg) from None
    return path


def _check_private(path: Path) -> None:
    """Refuse a cache entry that another user owns or that others may write to."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        msg = (
            f"refusing the compile cache entry {path}: it is a symlink or not owned by you; "
            "delete it or set VASHRINK_CACHE_DIR to a private directory"
        )
        raise EngineError(msg)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        msg = (
            f"refusing the compile cache entry {path}: others can write to it "
            f"(mode {stat.filemode(info.st_mode)}); run chmod go-w on it or delete it"
        )
        raise EngineError(msg)


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
    cxx = compiler()
    extra = (rtneural_flags(rtneural_backend, flags) if runtime == "rtneural"
             else [f"-I{include_dir()}"])
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
        _check_private(out_dir)
        _check_private(target)
        return target
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_private(out_dir)
    (out_dir / "model.h").write_text(header_text)
    tmp = out_dir / f".{target.name}.{os.getpid()}"
    cmd = [cxx, *cmd_flags, f"-I{out_dir}", str(_HARNESS), "-o", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if "error" in ln][
            :3
        ] or proc.stderr.splitlines()[:3]
        hint = ""
        if runtime == "rtneural":
            from .rtneural_backend import compile_failure_hint

            hint = compile_failure_hint(header_text, "-DRTNEURAL_USE_XSIMD=1" in extra)
        msg = (
            f"compiling the generated header failed: {hint}{' | '.join(lines)[:600]} "
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
        check_counts(repeats, warmup)
        if buf.size == 0:
            msg = "need a non-empty buffer to time"
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


def load_harness(
    header_text: str,
    *,
    runtime: str = "vashrink",
    dtype: str = "float",
    flags: tuple[str, ...] = DEFAULT_FLAGS,
    rtneural_backend: str = "auto",
) -> CompiledModel:
    """Compile (or reuse) ``header_text`` (namespace :data:`HARNESS_NAMESPACE`) and load it.

    Raises:
        EngineError: no compiler, headers not found, the build failed, the compiled model
            refused its weights, or its ``self_test`` (the snapshot embedded in the header)
            failed: a model that computes the wrong function is never timed.
    """
    path = build_harness(
        header_text, runtime=runtime, dtype=dtype, flags=flags, rtneural_backend=rtneural_backend
    )
    lib = ctypes.CDLL(str(path))
    _bind(lib)
    if not lib.vs_load():
        msg = f"the compiled model refused its embedded weights ({path})"
        raise EngineError(msg)
    if not lib.vs_self_test():
        why = "check the compiler flags (e.g. -ffast-math), else report it as a vashrink bug"
        if runtime == "rtneural":
            from .rtneural_backend import self_test_failure_hint

            xsimd = "-DRTNEURAL_USE_XSIMD=1" in rtneural_flags(rtneural_backend, flags)
            why = self_test_failure_hint(header_text, xsimd)
        msg = (
            f"the compiled {runtime} model fails its self_test: its outputs differ from the "
            "snapshot of the reference outputs embedded in the header, so its timing would be "
            f"meaningless; {why}"
        )
        raise EngineError(msg)
    return CompiledModel(
        path, runtime, dtype, int(lib.vs_in_size()), int(lib.vs_out_size()), True, lib
    )
