"""RTNeural's alignment follows the build's ISA (issue 19 item 5).

With ``-march=native`` on an AVX-512 CPU, xsimd stores whole 512-bit registers with aligned
stores into arrays declared ``alignas(RTNEURAL_DEFAULT_ALIGNMENT)``: 32 can fault, so the
compiled-header and bench builds take the alignment from the compiler's predefined macros for
their flags (64 / 32 / 16), capped at 32 for RTNeural's Eigen backend, which accepts no more.
"""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from vashrink.runtime.toolchain import (
    compiler,
    predefined_macros,
    rtneural_alignment,
    rtneural_flags,
    simd_alignment,
)

AVX512 = {"__SSE2__", "__AVX__", "__AVX2__", "__FMA__", "__AVX512F__", "__AVX512BW__"}
AVX2 = {"__SSE2__", "__AVX__", "__AVX2__", "__FMA__"}
SSE2 = {"__SSE2__", "__x86_64__"}
NEON = {"__ARM_NEON", "__aarch64__"}


@pytest.mark.parametrize(("macros", "expected"), [
    (AVX512, 64), (AVX2, 32), ({"__AVX__"}, 32), (SSE2, 16), (NEON, 16), (set(), 16)])
def test_the_register_alignment_of_a_macro_set(macros: set[str], expected: int) -> None:
    assert simd_alignment(macros) == expected


@pytest.mark.parametrize(("macros", "backend", "expected"), [
    (AVX512, "xsimd", 64), (AVX512, "stl", 64), (AVX512, "eigen", 32),
    (AVX2, "xsimd", 32), (AVX2, "eigen", 32), (SSE2, "xsimd", 16), (SSE2, "eigen", 16),
    (NEON, "xsimd", 16)])
def test_rtneural_alignment_per_backend(macros: set[str], backend: str, expected: int) -> None:
    assert rtneural_alignment(macros, backend) == expected


needs_x86_gxx = pytest.mark.skipif(
    shutil.which("g++") is None or platform.machine().lower() not in ("x86_64", "amd64"),
    reason="needs g++ targeting x86-64")


@needs_x86_gxx
@pytest.mark.parametrize(("march", "expected"), [
    ("x86-64", 16), ("x86-64-v3", 32), ("skylake-avx512", 64)])
def test_the_compiler_is_asked_for_the_flags_given(march: str, expected: int) -> None:
    """Predefined macros depend on -march only, not on the CPU that runs the compiler."""
    macros = predefined_macros("g++", ("-O3", f"-march={march}", "-std=c++17"))
    assert simd_alignment(macros) == expected


@pytest.fixture
def fake_rtneural(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory that looks like an RTNeural checkout with xsimd and Eigen (headers empty)."""
    for rel in ("RTNeural/RTNeural.h", "modules/xsimd/include/xsimd/xsimd.hpp",
                "modules/Eigen/Eigen/Dense"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    monkeypatch.setenv("RTNEURAL_DIR", str(tmp_path))
    monkeypatch.delenv("XSIMD_DIR", raising=False)
    monkeypatch.setenv("CXX", "g++")
    return tmp_path


@needs_x86_gxx
@pytest.mark.parametrize(("march", "backend", "expected"), [
    ("skylake-avx512", "xsimd", 64), ("skylake-avx512", "eigen", 32),
    ("x86-64-v3", "xsimd", 32), ("x86-64", "xsimd", 16)])
def test_the_builds_pass_the_alignment_of_their_flags(
        fake_rtneural: Path, march: str, backend: str, expected: int) -> None:
    assert compiler() == "g++"
    flags = rtneural_flags(backend, ("-O3", f"-march={march}", "-std=c++17"))
    assert f"-DRTNEURAL_DEFAULT_ALIGNMENT={expected}" in flags
    assert sum(f.startswith("-DRTNEURAL_DEFAULT_ALIGNMENT=") for f in flags) == 1


def test_the_bench_uses_the_same_choice(fake_rtneural: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_recurrent", Path(__file__).resolve().parents[2] / "bench" / "bench_recurrent.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert not any("ALIGNMENT" in f for f in bench.FLAGS)
    macros = predefined_macros(compiler(), tuple(bench.FLAGS))
    parts = bench._rtneural_parts(fake_rtneural)
    for backend in ("xsimd", "eigen"):
        wanted = f"-DRTNEURAL_DEFAULT_ALIGNMENT={rtneural_alignment(macros, backend)}"
        assert wanted in parts[backend]


@needs_x86_gxx
@pytest.mark.parametrize("march", ["x86-64", "x86-64-v3", "skylake-avx512"])
@pytest.mark.parametrize("backend", ["xsimd", "eigen", "stl"])
def test_the_extension_build_makes_the_same_choice(march: str, backend: str) -> None:
    """cpp/src/rtneural_alignment.h (the CMake-built RTNeural backend) agrees with Python."""
    import subprocess

    header = Path(__file__).resolve().parents[2] / "cpp" / "src" / "rtneural_alignment.h"
    define = {"xsimd": ["-DRTNEURAL_USE_XSIMD=1"], "eigen": ["-DRTNEURAL_USE_EIGEN=1"],
              "stl": []}[backend]
    flags = ("-O3", f"-march={march}", "-std=c++17")
    done = subprocess.run(["g++", *flags, *define, "-dM", "-E", "-x", "c++", str(header)],
                          capture_output=True, text=True, check=True)
    [line] = [ln for ln in done.stdout.splitlines()
              if ln.startswith("#define RTNEURAL_DEFAULT_ALIGNMENT ")]
    assert int(line.split()[2]) == rtneural_alignment(predefined_macros("g++", flags), backend)
