"""GRU/LSTM per-sample speed: our engine (run-time and compile-time) vs RTNeural's compile-time
``GRULayerT`` / ``LSTMLayerT`` with xsimd and with Eigen, same weights, one process.

``python bench/bench_recurrent.py [--quick] [--rounds 31] [--sizes 8,12,16,24,32,40]
[--stack-sizes 8,16]`` compiles
``bench/recurrent_native.cpp`` (our side, plus one object per RTNeural backend, each in its own
RTNeural namespace, when ``RTNEURAL_DIR`` is set: ``XSIMD_DIR`` or RTNeural's modules/xsimd for
xsimd, modules/Eigen for Eigen; a missing backend is skipped), runs it, prints a table and writes
``bench/results/recurrent.json``. Model: recurrent layer of H units (1 input) -> Dense(H, 1),
float32, torch's default init, one ``forward`` per sample over 48,000 samples; the stacked rows
(``gru-2x8``, ``lstm-2x16``, ...) are two such layers of H units (the second fed the first's
state, RTNeural's ModelT with two GRULayerT / LSTMLayerT), H from ``--stack-sizes`` (8 and 16
are built; ``--stack-sizes ""`` skips them); ``--mlp`` adds the
talk's tanh MLP shapes (our compile-time ModelT vs RTNeural's ModelT, same method). Each round times
every runner once, in turn (interleaved); figures are the median over rounds of this thread's
CPU time per sample (the least distorted by other jobs on a shared machine), with the minimum
and the median wall time beside it. Ratios are taken within one round set, never across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "recurrent_native.cpp"
INCLUDE = HERE.parent / "cpp" / "include"
RESULTS = HERE / "results" / "recurrent.json"
SIZES = (8, 12, 16, 24, 32, 40)
STACK_SIZES = (8, 16)
FLAGS = ["-O3", "-march=native", "-std=c++17"]


def _alignment(backend: str) -> str:
    """RTNeural's alignment define for FLAGS' ISA (64 for xsimd on an AVX-512 build)."""
    from vashrink.runtime.toolchain import compiler, predefined_macros, rtneural_alignment

    macros = predefined_macros(compiler(), tuple(FLAGS))
    return f"-DRTNEURAL_DEFAULT_ALIGNMENT={rtneural_alignment(macros, backend)}"


def _rtneural_parts(root: Path) -> dict[str, list[str]]:
    """Compiler flags of each RTNeural backend that is available."""
    common = [f"-I{root}", f"-I{root / 'modules' / 'json'}"]
    parts: dict[str, list[str]] = {}
    env = os.environ.get("XSIMD_DIR")
    candidates = ([Path(env) / "include", Path(env)] if env else []) + [
        root / "modules" / "xsimd" / "include"
    ]
    xsimd = next((d for d in candidates if (d / "xsimd" / "xsimd.hpp").is_file()), None)
    if xsimd is not None:
        parts["xsimd"] = [*common, f"-I{xsimd}", _alignment("xsimd"), "-DRTNEURAL_USE_XSIMD=1",
                          "-DRTNEURAL_NAMESPACE=RTNeuralXsimd", "-DVS_RTNEURAL_FACTORY=make_xsimd"]
    eigen = root / "modules" / "Eigen"
    if (eigen / "Eigen" / "Dense").is_file():
        parts["eigen"] = [*common, f"-I{eigen}", _alignment("eigen"), "-DRTNEURAL_USE_EIGEN=1",
                          "-DRTNEURAL_NAMESPACE=RTNeuralEigen", "-DVS_RTNEURAL_FACTORY=make_eigen"]
    return parts


def build(out_dir: Path) -> tuple[Path, list[str]]:
    """Compile the harness; returns the program and the RTNeural backends it contains."""
    cxx = os.environ.get("CXX", "g++")
    root = Path(os.environ["RTNEURAL_DIR"]) if os.environ.get("RTNEURAL_DIR") else None
    parts = _rtneural_parts(root) if root is not None else {}
    ours = [f"-I{INCLUDE}"] + ([] if parts else ["-DVS_NO_RTNEURAL"])
    if not parts:
        print("RTNEURAL_DIR not set (or no xsimd/Eigen in it): timing our engine only",
              file=sys.stderr)
    elif len(parts) == 1:  # the missing factory still has to link
        ours.append("-DVS_MISSING_" + ("eigen" if "xsimd" in parts else "xsimd").upper())
    jobs = {"ours": ours, **parts}

    def compile_one(name: str) -> Path:
        obj = out_dir / f"{name}.o"
        cmd = [cxx, *FLAGS, *jobs[name], "-c", str(SOURCE), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"compiling {name} failed:\n{proc.stderr[-2000:]}")
        return obj

    with ThreadPoolExecutor(max_workers=2) as pool:
        objects = list(pool.map(compile_one, jobs))
    program = out_dir / "recurrent_native"
    subprocess.run([cxx, *map(str, objects), "-o", str(program)], check=True)
    return program, list(parts)


def _ns(row: dict[str, object]) -> float:
    return float(str(row["cpu_ns_median"]))


def table(rows: list[dict[str, object]]) -> str:
    """Markdown: per (cell, H, layers) the runners' median CPU ns (min) and ours / best
    RTNeural."""
    keyed: dict[tuple[str, int, int], dict[str, dict[str, object]]] = {}
    for r in rows:
        key = (str(r["cell"]), int(str(r["hidden"])), int(str(r.get("layers", 1))))
        keyed.setdefault(key, {})[str(r["runner"])] = r
    names = ["vashrink-runtime", "vashrink-compiled", "rtneural-xsimd", "rtneural-eigen"]
    present = [n for n in names if any(n in v for v in keyed.values())]
    head = "| model | " + " | ".join(present) + " | compiled / best RTNeural |"
    lines = [head, "|---" * (len(present) + 2) + "|"]
    for (cell, h, layers), by in keyed.items():
        cells = []
        for n in present:
            r = by.get(n)
            cells.append("" if r is None else f"{r['cpu_ns_median']:.1f} ({r['cpu_ns_min']:.1f})")
        rtn = [_ns(by[n]) for n in ("rtneural-xsimd", "rtneural-eigen") if n in by]
        ratio = f"{_ns(by['vashrink-compiled']) / min(rtn):.2f}" if rtn else ""
        if cell.startswith("mlp"):
            label = f"{cell}{h}"
        else:
            label = f"{cell}-{layers}x{h}" if layers > 1 else f"{cell}-{h}"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="H 8 and 16, 5 rounds")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--stack-sizes", default=",".join(map(str, STACK_SIZES)),
                        help="H of the two-layer GRU/LSTM rows (8 and 16 are built)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--mlp", action="store_true",
                        help="also the tanh MLP shapes 2x8 3x16 6x44 8x24 4x64 (compile-time)")
    args = parser.parse_args(argv)
    rounds, sizes = (5, "8,16") if args.quick else (args.rounds, args.sizes)
    with tempfile.TemporaryDirectory(prefix="vashrink-bench-") as tmp:
        program, backends = build(Path(tmp))
        load_before = os.getloadavg()[0]
        proc = subprocess.run([str(program), str(rounds), sizes], capture_output=True, text=True,
                              check=True)
        stack_out = (
            subprocess.run([str(program), str(rounds), args.stack_sizes, "stack"],
                           capture_output=True, text=True, check=True).stdout
            if args.stack_sizes
            else ""
        )
        mlp_out = (
            subprocess.run([str(program), str(rounds), sizes, "mlp"], capture_output=True,
                           text=True, check=True).stdout
            if args.mlp
            else ""
        )
    rows = [json.loads(line) for line in (proc.stdout + stack_out).splitlines()
            if line.startswith("{")]
    mlp_rows = [json.loads(line) for line in mlp_out.splitlines() if line.startswith("{")]
    print(table(rows))
    if mlp_rows:
        print()
        print(table(mlp_rows))
    result = {
        "command": "python bench/bench_recurrent.py"
        + (" --quick" if args.quick else f" --rounds {rounds} --sizes {sizes}")
        + " --stack-sizes " + (args.stack_sizes or '""')
        + (" --mlp" if args.mlp else ""),
        "model": "recurrent(1 -> H) [-> recurrent(H -> H) for layers 2] -> Dense(H, 1), float32, "
        "one forward per sample, 48000 samples",
        "unit": "ns per sample, median over rounds of thread CPU time (min, wall median beside)",
        "rtneural_backends": backends,
        "cpu": platform.processor() or platform.machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "rows": rows,
        "mlp_rows": mlp_rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
