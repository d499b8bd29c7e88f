"""Is shrink's winner as small as an exhaustive sweep says it could be? (issue: training quality)

Two steps, both on the panel of ``bench/panel_curves.py``:

``sweep``: every depth 1..6 x width 1..32 (tanh; ReLU too for the kinked curves) trained with
the best recipe (Levenberg-Marquardt, 8 starts, minimax refinement, warm starts along the width,
10 s per net; batched Adam beyond ``lm_max_params``), each checked like shrink checks: the
float32 model in our engine, max abs error on 48,000 points. The sweep skips only nets that
cannot be the cheapest for any eps: those with at least the MACs of a net (any activation;
ReLU first on kinked curves) already meeting the smallest eps. Slow (tens of minutes); writes
a JSON file as it goes and resumes from it.

``shrink``: ``vashrink.shrink`` on every curve x eps (1e-2, 1e-3, 1e-4), float32, compared with
the sweep's cheapest net meeting eps: MACs ratio, lane scores, shrink's wall time. A case passes
when shrink's winner has at most 1.25x the sweep's MACs or no more lane score.

    python bench/bench_panel.py sweep --out bench/results/panel_sweep.json
    python bench/bench_panel.py shrink --sweep bench/results/panel_sweep.json \\
        --out bench/results/panel_shrink.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from panel_curves import PANEL, PanelCurve
from vashrink.model.architecture import Architecture, lane_score
from vashrink.model.mlp import dense_layers
from vashrink.runtime.info import lanes
from vashrink.search.score import check_error
from vashrink.target.samples import as_target
from vashrink.train.candidates import train_candidates
from vashrink.train.config import TrainConfig

EPS = (1e-2, 1e-3, 1e-4)
DEPTHS, WIDTHS = range(1, 7), range(1, 33)
SWEEP_RECIPE = TrainConfig(starts=8, lm_seconds=10.0)


def _activations(curve: PanelCurve) -> tuple[str, ...]:
    return ("relu", "tanh") if curve.kinked else ("tanh",)


def sweep(curves: list[PanelCurve], out: Path) -> None:
    """Train every shape of every curve; append rows to ``out`` as they finish (resumable)."""
    rows: list[dict[str, Any]] = json.loads(out.read_text())["rows"] if out.is_file() else []
    done = {(r["curve"], r["activation"], r["depth"], r["width"]) for r in rows}
    torch.set_num_threads(1)
    for curve in curves:
        target = as_target(curve.target, name=curve.name)
        for act in _activations(curve):
            for depth in DEPTHS:
                warm: dict[Architecture, Any] = {}
                for width in WIDTHS:
                    arch = Architecture(depth, width, act)
                    if arch.macs_per_sample >= _cheapest_for_all(rows, curve.name):
                        break
                    if (curve.name, act, depth, width) in done:
                        continue
                    started = time.perf_counter()
                    (res,) = train_candidates(target, curve.a, curve.b, [arch], SWEEP_RECIPE,
                                              progress=False, warm=warm)
                    check = check_error(res.model, target, curve.a, curve.b, dtype="float32")
                    warm[arch] = tuple(dense_layers(res.model))
                    rows.append({
                        "curve": curve.name, "activation": act, "depth": depth, "width": width,
                        "macs": arch.macs_per_sample, "params": arch.n_params,
                        "max_abs_error": check.max_abs_error, "mse": check.mse,
                        "optimizer": res.optimizer, "seconds": time.perf_counter() - started,
                    })
                    print(f"{curve.name:12s} {act} {depth}x{width:<3d} "
                          f"{check.max_abs_error:9.3g} {res.optimizer} "
                          f"{time.perf_counter() - started:6.2f}s", flush=True)
                    if check.max_abs_error <= min(EPS):
                        break
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps({"rows": rows}))


def _cheapest_for_all(rows: list[dict[str, Any]], curve: str) -> float:
    """MACs of the cheapest net (any activation) meeting the smallest eps: no costlier net can
    be the cheapest for any eps of the panel, so the sweep need not train it."""
    ok = [r["macs"] for r in rows if r["curve"] == curve and r["max_abs_error"] <= min(EPS)]
    return min(ok, default=float("inf"))


def cheapest(rows: list[dict[str, Any]], curve: str, eps: float, n_lanes: int) -> dict | None:
    """The sweep's cheapest (MACs, then lane score) net meeting ``eps`` for ``curve``."""
    ok = [r for r in rows if r["curve"] == curve and r["max_abs_error"] <= eps]
    return min(ok, key=lambda r: (r["macs"], lane_score(r["depth"], r["width"], n_lanes)),
               default=None)


def run_shrink(curves: list[PanelCurve], eps_list: tuple[float, ...], sweep_file: Path | None,
               out: Path) -> list[dict[str, Any]]:
    import vashrink

    n_lanes = lanes("float32")
    rows = json.loads(sweep_file.read_text())["rows"] if sweep_file else []
    cases = []
    for curve in curves:
        for eps in eps_list:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                result = vashrink.shrink(
                    curve.target, curve.a, curve.b, eps, out_dir=Path(tmp) / "run",
                    activation="auto" if curve.kinked else "tanh", dtype="float32",
                    progress=False, report=False, timing_repeats=3,
                )
                seconds = time.perf_counter() - started
            w = result.winner if result.met else None
            best = cheapest(rows, curve.name, eps, n_lanes)
            case: dict[str, Any] = {
                "curve": curve.name, "eps": eps, "met": result.met, "seconds": seconds,
                "trained": len(result.candidates),
                "winner": w.label if w else None,
                "winner_macs": w.macs_per_sample if w else None,
                "winner_lane_score": w.lane_score if w else None,
                "sweep": f"{best['depth']}x{best['width']} {best['activation']}" if best else None,
                "sweep_macs": best["macs"] if best else None,
                "sweep_lane_score": lane_score(best["depth"], best["width"], n_lanes)
                if best else None,
            }
            if w and best:
                case["macs_ratio"] = w.macs_per_sample / best["macs"]
                case["pass"] = (case["macs_ratio"] <= 1.25
                                or w.lane_score <= case["sweep_lane_score"])
            cases.append(case)
            print(json.dumps(case), flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"cases": cases}, indent=1))
    return cases


def table(cases: list[dict[str, Any]]) -> str:
    """The markdown table of docs/training.md, and the summary line under it."""
    lines = ["| curve | eps | shrink's winner (MACs, lane score) | sweep's cheapest (MACs, lane "
             "score) | MACs ratio | pass | trained | s |", "|---|---|---|---|---|---|---|---|"]
    for c in cases:
        won = f"{c['winner']} ({c['winner_macs']}, {c['winner_lane_score']})" if c["winner"] \
            else "not met"
        swept = f"{c['sweep']} ({c['sweep_macs']}, {c['sweep_lane_score']})" if c["sweep"] \
            else "not met"
        ratio = f"{c['macs_ratio']:.2f}" if "macs_ratio" in c else "-"
        ok = {True: "yes", False: "no"}.get(c.get("pass"), "-")
        lines.append(f"| {c['curve']} | {c['eps']:g} | {won} | {swept} | {ratio} | {ok} | "
                     f"{c['trained']} | {c['seconds']:.0f} |")
    meetable = [c for c in cases if c["sweep"]]
    passed = sum(bool(c.get("pass")) for c in meetable)
    med = statistics.median(c["seconds"] for c in cases) if cases else 0.0
    total = sum(c["seconds"] for c in cases)
    lines.append("")
    lines.append(f"{passed} of {len(meetable)} cases the sweep can meet pass "
                 f"({100 * passed / max(1, len(meetable)):.0f} %); median shrink time "
                 f"{med:.0f} s; whole panel {total / 60:.1f} min.")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("--out", type=Path, default=Path("bench/results/panel_sweep.json"))
    s.add_argument("--curves", nargs="*", default=None)
    k = sub.add_parser("shrink")
    k.add_argument("--sweep", type=Path, default=Path("bench/results/panel_sweep.json"))
    k.add_argument("--out", type=Path, default=Path("bench/results/panel_shrink.json"))
    k.add_argument("--curves", nargs="*", default=None)
    k.add_argument("--eps", type=float, nargs="*", default=list(EPS))
    t = sub.add_parser("table")
    t.add_argument("--cases", type=Path, default=Path("bench/results/panel_shrink.json"))
    args = p.parse_args()
    if args.step == "table":
        print(table(json.loads(args.cases.read_text())["cases"]))
        return
    curves = [c for c in PANEL if args.curves is None or c.name in args.curves]
    if args.step == "sweep":
        sweep(curves, args.out)
    else:
        sweep_file = args.sweep if args.sweep.is_file() else None
        print(table(run_shrink(curves, tuple(args.eps), sweep_file, args.out)))


if __name__ == "__main__":
    main()
