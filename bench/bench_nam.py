"""vashrink's engine against NeuralAmpModelerCore on the same .nam files, in the same run.

For each model: NAM Core's ``benchmodel_bufsize MODEL 64|1 N`` (2 s of audio per pass, its own
timer; fast tanh on, NAM Core's default, and off) and vashrink's engine on the same file
(``runtime.families.runner_of``, 2 s per pass), interleaved, median of ``--rounds``. Models: the
A1 standard/lite/feather/nano shapes (seeded random weights: cost does not depend on them), the
two submodels of NAM Core's ``example_models/A2.nam`` (3 and 8 channels), and LSTMs of 1x16, 2x8
and 1x32. Also the output parity on every example model vashrink calls valid (max |ours - NAM
Core| / peak, through both ``render`` tools).

    NAM_CORE_DIR=/tmp/nam-core python bench/bench_nam.py --rounds 3 [--nam-native EXE]

``--nam-native`` adds NAM Core's ``benchmodel_bufsize`` compiled with ``-Ofast -march=native``
(its CMake build sets no ``-march``: generic x86-64).

writes ``bench/results/nam.json``; goal: vashrink <= 0.8x NAM Core's time on each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from vashrink.formats.nam import read_nam
from vashrink.formats.nam_check import check_nam
from vashrink.formats.nam_write import write_nam
from vashrink.formats.render import render_file
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.spec import random_spec
from vashrink.model.wavenet_presets import a1_wavenet
from vashrink.runtime.families import runner_of
from vashrink.runtime.timing import timing_buffer

SAMPLES = 96000  # benchmodel_bufsize's 2 s at 48 kHz


def _tool(root: Path, name: str) -> Path:
    found = [p for p in root.rglob(name) if p.is_file() and os.access(p, os.X_OK)]
    if not found:
        sys.exit(f"no built {name} under {root}")
    return found[0]


def _models(root: Path, tmp: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for preset in ("standard", "lite", "feather", "nano"):
        out[f"A1 {preset}"] = write_nam(tmp / f"a1_{preset}.nam", a1_wavenet(preset, seed=0))
    a2 = root / "example_models" / "A2.nam"
    if a2.is_file():
        doc = json.loads(a2.read_text())
        for sub in doc["config"]["submodels"]:
            model = sub["model"]
            ch = model["config"]["layers"][0]["channels"]
            path = tmp / f"a2_{ch}.nam"
            path.write_text(json.dumps(model))
            out[f"A2 {ch} ch"] = path
    for shape in ("lstm-1x16", "lstm-2x8", "lstm-1x32"):
        spec = random_spec(RecurrentArchitecture.parse(shape), seed=0)
        out[f"LSTM {shape[5:]}"] = write_nam(tmp / f"{shape}.nam", spec)
    return out


def _nam_core(tool: Path, model: Path, block: int, fast_tanh: bool) -> float:
    cmd = [str(tool), str(model), str(block), "1"] + ([] if fast_tanh else ["--no-fast-tanh"])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600).stdout
    micros = float(out.strip().splitlines()[-1].split(",")[1])
    return micros * 1e3 / SAMPLES


def _ours(model: Path, block: int) -> float:
    runner = runner_of(read_nam(model).model, "float32")
    buf = timing_buffer(SAMPLES)
    secs = runner.time_samples(buf, 1, 1) if block == 1 else runner.time_blocks(buf, block, 1, 1)
    return float(secs[0]) * 1e9 / SAMPLES


def _parity(root: Path, tmp: Path) -> dict[str, float]:
    render = _tool(root, "render")
    n = 48000
    t = np.arange(n) / 48000
    x = 0.5 * np.sin(2 * np.pi * 110 * t) * np.linspace(0, 1, n)
    x = x + 0.1 * np.random.default_rng(0).standard_normal(n)
    wav = tmp / "in.wav"
    sf.write(str(wav), x.astype(np.float32), 48000, subtype="FLOAT")
    out: dict[str, float] = {}
    for model in sorted((root / "example_models").glob("*.nam")):
        if check_nam(model).status != "valid":
            continue
        subprocess.run([str(render), str(model), str(wav), str(tmp / "core.wav")], check=True,
                       capture_output=True, timeout=600)
        render_file(model, wav, tmp / "ours.wav")
        core, _ = sf.read(str(tmp / "core.wav"), dtype="float64")
        ours, _ = sf.read(str(tmp / "ours.wav"), dtype="float64")
        out[model.name] = float(np.max(np.abs(core - ours)) / np.max(np.abs(core)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "nam.json")
    ap.add_argument("--models", default="", metavar="TEXT",
                    help="only the models whose name contains TEXT (e.g. 'A2'); skips the parity")
    ap.add_argument("--nam-native", type=Path, default=None, metavar="EXE",
                    help="also time this benchmodel_bufsize built with -march=native (fast tanh)")
    args = ap.parse_args()
    root = Path(os.environ.get("NAM_CORE_DIR", ""))
    if not os.environ.get("NAM_CORE_DIR") or not root.is_dir():
        sys.exit("set NAM_CORE_DIR to a built NeuralAmpModelerCore checkout")
    bench = _tool(root, "benchmodel_bufsize")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, model in _models(root, tmp).items():
            if args.models not in name:
                continue
            for block in (64, 1):
                runs: dict[str, list[float]] = {"vashrink": [], "nam_fast_tanh": [], "nam": []}
                if args.nam_native is not None:
                    runs["nam_native_fast_tanh"] = []
                for _ in range(args.rounds):
                    runs["vashrink"].append(_ours(model, block))
                    runs["nam_fast_tanh"].append(_nam_core(bench, model, block, True))
                    runs["nam"].append(_nam_core(bench, model, block, False))
                    if args.nam_native is not None:
                        runs["nam_native_fast_tanh"].append(
                            _nam_core(args.nam_native, model, block, True))
                med = {k: float(np.median(v)) for k, v in runs.items()}
                row = {"model": name, "block": block, **{f"{k}_ns": v for k, v in med.items()},
                       "ratio_vs_nam_fast_tanh": med["vashrink"] / med["nam_fast_tanh"],
                       "ratio_vs_nam": med["vashrink"] / med["nam"]}
                if "nam_native_fast_tanh" in med:
                    row["ratio_vs_nam_native"] = med["vashrink"] / med["nam_native_fast_tanh"]
                rows.append(row)
                print(f"{name:14s} block {block:3d}: vashrink {med['vashrink']:8.1f} ns, NAM "
                      f"{med['nam_fast_tanh']:8.1f} (fast tanh) {med['nam']:8.1f} ns/sample, "
                      f"ratio {row['ratio_vs_nam_fast_tanh']:.2f} / {row['ratio_vs_nam']:.2f}"
                      + (f", native NAM {med['nam_native_fast_tanh']:8.1f} ns ratio "
                         f"{row['ratio_vs_nam_native']:.2f}" if "nam_native_fast_tanh" in med
                         else ""), flush=True)
        parity = {} if args.models else _parity(root, tmp)
    for name, err in parity.items():
        print(f"parity {name}: max |vashrink - NAM Core| / peak = {err:.2g}")
    args.out.write_text(json.dumps({"rounds": args.rounds, "samples_per_pass": SAMPLES,
                                    "timings": rows, "parity_relative_max_error": parity},
                                   indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
