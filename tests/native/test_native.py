"""Native C++ tests of the engine headers, outside the Python extension.

``engine_test.cpp`` and ``rnn_grad_test.cpp`` (the native trainer: no allocation after init,
finite-difference gradients) are built with sanitizers twice, for the portable path
(``-march=x86-64``, SSE2), the AVX2 + FMA path (``-march=x86-64-v3``) and the AVX2 path with its
AVX-512 LSTM step (``-march=x86-64-v4``), and must exit 0. ``lstm_paths.cpp`` checks that the
AVX-512 LSTM step gives the AVX2 step's results bit for bit.
``lanes.cpp`` checks that the lanes the engine reports equal the lanes its kernels use, per
``-march``. ``namespace_test.cpp`` checks ``VASHRINK_NAMESPACE``, also through CMake's
``vashrink::engine`` target. Headers are found relative to this file (``../../cpp/include``);
nothing here imports the ``vashrink`` package. ``alloc_test.cpp`` replaces the global allocator
and checks that no audio-thread call allocates.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
INCLUDE = REPO / "cpp" / "include"
GXX = shutil.which("g++")
X86 = platform.machine().lower() in ("x86_64", "amd64")
SANITIZE = ["-O0", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
WARN = ["-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{INCLUDE}"]
# -march -> (CPU flags it needs, float32 lanes, kernels)
MARCHES = {"x86-64": ({"sse2"}, 4, "portable"), "x86-64-v3": ({"avx2", "fma"}, 8, "avx2-fma"),
           "x86-64-v4": ({"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"}, 8,
                         "avx2-fma")}
TIMEOUT = 900


@functools.cache
def _cpu_flags() -> frozenset[str] | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return None


def _skip_unless_runnable(march: str) -> None:
    if GXX is None:
        pytest.skip("g++ is not installed")
    if march != "native" and not X86:
        pytest.skip(f"-march={march} is an x86-64 target; this machine is {platform.machine()}")
    flags = _cpu_flags()
    if march in MARCHES:
        if flags is None:
            pytest.skip("cannot read the CPU's flags (/proc/cpuinfo)")
        missing = MARCHES[march][0] - flags
        if missing:
            pytest.skip(f"this CPU lacks {' '.join(sorted(missing))}, needed by -march={march}")


def _show(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def _compile(args: list[str]) -> subprocess.Popen[str]:
    assert GXX is not None
    return subprocess.Popen([GXX, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], what: str) -> None:
    out, err = proc.communicate(timeout=TIMEOUT)
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed to compile:\n"
            + _show(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
        )


def _run(exe: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, f"{exe.name} failed:\n" + _show(proc)
    return proc


@functools.cache
def _sanitizers_link() -> bool:
    """Whether g++ can build and run a trivial program with the sanitizer runtime."""
    if GXX is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "probe.cpp", Path(tmp) / "probe"
        src.write_text("int main() { return 0; }\n")
        built = subprocess.run([GXX, *SANITIZE, str(src), "-o", str(exe)], capture_output=True)
        return built.returncode == 0 and subprocess.run([str(exe)]).returncode == 0


SANITIZED = ("engine_test", "rnn_grad_test")


Builds = dict[tuple[str, str], tuple[subprocess.Popen[str], Path]]
EARLY: Builds = {}
"""Sanitizer builds started when collection ended (``conftest.py``), awaited by the fixture."""


def start_sanitized_builds(out: Path) -> Builds:
    """Start engine_test and rnn_grad_test with sanitizers for every runnable -march, all the
    compilers in parallel: the longest builds of the suite (about 20 s and 10 s of CPU each)."""
    if GXX is None or not X86 or not _sanitizers_link():
        return {}
    flags = _cpu_flags() or frozenset()
    procs: Builds = {}
    for march, (needed, _, _) in MARCHES.items():
        if needed <= flags:
            for name in SANITIZED:
                exe = out / f"{name}_{march}"
                args = [*WARN, *SANITIZE, f"-march={march}", str(HERE / f"{name}.cpp"), "-o",
                        str(exe)]
                procs[name, march] = (_compile(args), exe)
    return procs


@pytest.fixture(scope="module")
def sanitized_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """The sanitizer builds: those started at the end of collection, else started now."""
    procs = dict(EARLY) or start_sanitized_builds(tmp_path_factory.mktemp("native"))
    EARLY.clear()
    for (name, march), (proc, _) in procs.items():
        _finish(proc, f"{name}.cpp -march={march}")
    return {key: exe for key, (_, exe) in procs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("march", list(MARCHES))
def test_engine_under_sanitizers(march: str,
                                 sanitized_builds: dict[tuple[str, str], Path]) -> None:
    _skip_unless_runnable(march)
    if not _sanitizers_link():
        pytest.skip("g++ cannot build and run programs with -fsanitize=address,undefined here")
    proc = _run(sanitized_builds["engine_test", march])
    assert proc.stdout.splitlines()[-1].startswith("ok:"), _show(proc)
    assert f"{MARCHES[march][2]} kernels" in proc.stdout


def test_engine_quick(tmp_path: Path) -> None:
    """engine_test for this CPU without sanitizers at -O0: the same checks in a few seconds
    (the sanitizer builds above take about a minute of CPU each)."""
    _skip_unless_runnable("native")
    exe = tmp_path / "engine_test"
    args = [*WARN, "-O0", "-march=native", str(HERE / "engine_test.cpp"), "-o", str(exe)]
    _finish(_compile(args), "engine_test.cpp -O0 -march=native")
    proc = _run(exe)
    assert proc.stdout.splitlines()[-1].startswith("ok:"), _show(proc)


def _rnn_grad_test_passes(exe: Path) -> None:
    proc = _run(exe)
    assert proc.stdout.splitlines()[-1].startswith("ok:"), _show(proc)


def test_rnn_trainer_allocates_nothing_after_init(tmp_path: Path) -> None:
    """rnn_grad_test: the native trainer's calls allocate nothing once built, its float64
    gradient equals finite differences, and oversized requests are refused."""
    _skip_unless_runnable("native")
    exe = tmp_path / "rnn_grad_test_native"
    args = [*WARN, "-O0", "-march=native", str(HERE / "rnn_grad_test.cpp"), "-o", str(exe)]
    _finish(_compile(args), "rnn_grad_test.cpp -march=native")
    _rnn_grad_test_passes(exe)


@pytest.mark.slow
@pytest.mark.parametrize("march", list(MARCHES))
def test_rnn_trainer_under_sanitizers(march: str,
                                      sanitized_builds: dict[tuple[str, str], Path]) -> None:
    _skip_unless_runnable(march)
    if not _sanitizers_link():
        pytest.skip("g++ cannot build and run programs with -fsanitize=address,undefined here")
    _rnn_grad_test_passes(sanitized_builds["rnn_grad_test", march])


def _parse(stdout: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in stdout.split())


@pytest.mark.parametrize("march", [*MARCHES, "native"])
def test_reported_lanes_are_the_kernels_lanes(march: str, tmp_path: Path) -> None:
    _skip_unless_runnable(march)
    exe = tmp_path / "lanes"
    _finish(
        _compile([*WARN, "-O1", f"-march={march}", str(HERE / "lanes.cpp"), "-o", str(exe)]),
        f"lanes.cpp -march={march}",
    )
    got = _parse(_run(exe).stdout)
    for dtype, bits in (("float32", 32), ("float64", 64)):
        lanes = {got[f"{where}_{dtype}"] for where in ("simd", "vec", "model")}
        assert len(lanes) == 1, got
        assert int(got[f"simd_{dtype}"]) * bits == int(got["register_bits"]), got
    if march in MARCHES:
        expected = MARCHES[march]
    else:
        flags = _cpu_flags() or frozenset()
        expected = MARCHES["x86-64-v3" if X86 and {"avx2", "fma"} <= flags else "x86-64"]
    if X86:
        assert int(got["simd_float32"]) == expected[1], got
        assert got["kernels"] == expected[2], got
    # An AVX-512 build pads to 8 lanes (its LSTM step pairs them): the AVX2 path, never 16 lanes.
    assert int(got["simd_float32"]) <= 8, got


def test_avx512_lstm_step_matches_avx2() -> None:
    """The AVX-512 LSTM step (x86-64-v4 builds) computes every output bit the AVX2 step does:
    lstm_paths.cpp hashes the exact bits of run-time and compile-time LSTM outputs."""
    for march in ("x86-64-v3", "x86-64-v4"):
        _skip_unless_runnable(march)
    out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for march in ("x86-64-v3", "x86-64-v4"):
            exe = Path(tmp) / f"lstm_paths_{march}"
            args = [*WARN, "-O2", f"-march={march}", str(HERE / "lstm_paths.cpp"), "-o", str(exe)]
            procs[march] = (_compile(args), exe)
        for march, (proc, exe) in procs.items():
            _finish(proc, f"lstm_paths.cpp -march={march}")
            out[march] = _parse(_run(exe).stdout)
    assert out["x86-64-v3"]["wide"] == "0" and out["x86-64-v4"]["wide"] == "1", out
    assert out["x86-64-v4"]["hash"] == out["x86-64-v3"]["hash"], out


ALLOC_MARCHES = ("x86-64", "native")


@pytest.fixture(scope="module")
def alloc_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """alloc_test built for the portable path and for this CPU, the compilers in parallel."""
    if GXX is None or platform.libc_ver()[0] != "glibc":
        return {}
    out = tmp_path_factory.mktemp("alloc")
    procs = {}
    for march in ALLOC_MARCHES if X86 else ("native",):
        exe = out / f"alloc_test_{march}"
        args = [*WARN, "-O1", f"-march={march}", str(HERE / "alloc_test.cpp"), "-o", str(exe)]
        procs[march] = (_compile(args), exe)
    for march, (proc, _) in procs.items():
        _finish(proc, f"alloc_test.cpp -march={march}")
    return {march: exe for march, (_, exe) in procs.items()}


@pytest.mark.parametrize("march", ALLOC_MARCHES)
def test_no_allocation_after_load(march: str, alloc_builds: dict[str, Path]) -> None:
    """Every forward/process/process_block/reset of every layer and model type (run-time and
    compile-time, MLP, GRU, LSTM, stacks, skip; float and double) makes no allocator call once
    loaded, counted by replacing operator new/delete and malloc (alloc_test.cpp)."""
    _skip_unless_runnable(march)
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("alloc_test.cpp replaces malloc through glibc's __libc_* functions")
    proc = _run(alloc_builds[march])
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("ok:") and "no allocator call" in last, _show(proc)
    assert int(last.split()[1]) > 1000, _show(proc)  # every model type was checked


NAMESPACES = {
    "default": [],
    "plugin": ["-DVASHRINK_NAMESPACE=plugin_a_engine"],
    "plugin-no-alias": ["-DVASHRINK_NAMESPACE=plugin_a_engine", "-DVASHRINK_NO_NAMESPACE_ALIAS"],
    "explicit-vashrink": ["-DVASHRINK_NAMESPACE=vashrink"],
}


@pytest.mark.parametrize("case", list(NAMESPACES))
def test_namespace_macro(case: str, tmp_path: Path) -> None:
    if GXX is None:
        pytest.skip("g++ is not installed")
    exe = tmp_path / "namespace_test"
    args = [*WARN, "-O1", *NAMESPACES[case], str(HERE / "namespace_test.cpp"), "-o", str(exe)]
    _finish(_compile(args), f"namespace_test.cpp ({case})")
    _run(exe)


def test_cmake_interface_target(tmp_path: Path) -> None:
    """A plugin can add_subdirectory() the repository (no Python, no pybind11 needed) and link
    vashrink::engine, with its own VASHRINK_NAMESPACE."""
    cmake = shutil.which("cmake")
    if cmake is None or GXX is None:
        pytest.skip("cmake or g++ is not installed")
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\n"
        "project(plugin LANGUAGES CXX)\n"
        f'add_subdirectory("{REPO.as_posix()}" vashrink)\n'
        "add_executable(plugin namespace_test.cpp)\n"
        "target_link_libraries(plugin PRIVATE vashrink::engine)\n"
        "target_compile_definitions(plugin PRIVATE VASHRINK_NAMESPACE=plugin_b_engine)\n"
        "target_compile_options(plugin PRIVATE -Wall -Wextra -Werror)\n"
    )
    shutil.copy(HERE / "namespace_test.cpp", tmp_path / "namespace_test.cpp")
    build = tmp_path / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    env = dict(os.environ, CXX=GXX)
    for step in (
        [cmake, "-S", str(tmp_path), "-B", str(build), *generator, "-DCMAKE_BUILD_TYPE=Release"],
        [cmake, "--build", str(build)],
    ):
        proc = subprocess.run(step, capture_output=True, text=True, timeout=TIMEOUT, env=env)
        assert proc.returncode == 0, " ".join(step) + "\n" + _show(proc)
    proc = _run(build / "plugin")
    assert "namespace plugin_b_engine" in proc.stdout
