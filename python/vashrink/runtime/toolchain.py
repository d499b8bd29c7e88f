"""The C++ toolchain of compiled harnesses and benchmarks: the compiler, what it predefines for
given flags (the ISA they select), and RTNeural's include paths and defines for that ISA.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Collection, Sequence
from pathlib import Path

from ..errors import EngineError, InputError

__all__ = [
    "DEFAULT_FLAGS",
    "compiler",
    "predefined_macros",
    "rtneural_alignment",
    "rtneural_flags",
    "simd_alignment",
]

DEFAULT_FLAGS = ("-O3", "-march=native", "-std=c++17")


def _xsimd_include(root: Path) -> Path | None:
    env = os.environ.get("XSIMD_DIR")
    for d in ([Path(env) / "include", Path(env)] if env else []) + [
        root / "modules" / "xsimd" / "include"
    ]:
        if (d / "xsimd" / "xsimd.hpp").is_file():
            return d
    return None


def simd_alignment(macros: Collection[str]) -> int:
    """Bytes of the widest vector register a build targets, from the compiler's predefined
    macros for its flags: 64 with AVX-512F, 32 with AVX, else 16 (SSE, NEON)."""
    if "__AVX512F__" in macros:
        return 64
    if "__AVX__" in macros:
        return 32
    return 16


def rtneural_alignment(macros: Collection[str], backend: str) -> int:
    """``RTNEURAL_DEFAULT_ALIGNMENT`` for a build with these predefined macros.

    xsimd stores whole registers with aligned stores into arrays declared with this alignment,
    so it must be the register's (64 on an AVX-512 build: 32 can fault); RTNeural's Eigen
    backend accepts 8, 16 and 32 only (``common.h``), and Eigen's own packets then use
    unaligned loads, so Eigen gets at most 32.
    """
    alignment = simd_alignment(macros)
    return min(alignment, 32) if backend == "eigen" else alignment


@functools.cache
def predefined_macros(cxx: str, flags: tuple[str, ...]) -> frozenset[str]:
    """The macro names ``cxx`` predefines for ``flags`` (``-dM -E`` on an empty C++ file).

    Raises:
        EngineError: the compiler cannot be run with these flags.
    """
    cmd = [cxx, *flags, "-dM", "-E", "-x", "c++", os.devnull]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = (f"cannot query {cxx}'s predefined macros for {' '.join(flags)}: "
               f"{proc.stderr.strip()[:300]}; check the compiler flags")
        raise EngineError(msg)
    return frozenset(line.split()[1] for line in proc.stdout.splitlines()
                     if line.startswith("#define ") and len(line.split()) > 1)


def rtneural_flags(backend: str = "auto", target_flags: Sequence[str] = DEFAULT_FLAGS
                   ) -> list[str]:
    """Include paths and defines for RTNeural from ``$RTNEURAL_DIR``, for a build with
    ``target_flags`` (they set the ISA, hence :func:`rtneural_alignment`).

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
    if backend not in ("xsimd", "eigen", "stl"):
        msg = f"unknown RTNeural backend {backend!r}: use auto, stl, xsimd or eigen"
        raise InputError(msg)
    alignment = rtneural_alignment(predefined_macros(compiler(), tuple(target_flags)), backend)
    flags = [f"-I{root}", f"-DRTNEURAL_DEFAULT_ALIGNMENT={alignment}"]
    if backend == "xsimd":
        if xsimd is None:
            msg = "RTNeural's xsimd backend needs xsimd: set XSIMD_DIR to an xsimd checkout"
            raise EngineError(msg)
        flags += ["-DRTNEURAL_USE_XSIMD=1", f"-I{xsimd}"]
    elif backend == "eigen":
        flags += ["-DRTNEURAL_USE_EIGEN=1", f"-I{eigen}"]
    return flags


def compiler() -> str:
    """The C++ compiler: ``$CXX``, else g++, c++ or clang++ on the PATH."""
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
