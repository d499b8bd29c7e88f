"""The capture panel (issue 18, item 4): what each GRU/LSTM shape can represent of each simulated
gear, how close the default recipe gets, and whether the search picks what the sweep says.

Gear: :mod:`vashrink.target.gear` (``diode``, ``tube``, ``fuzz``, ``sag``, ``tonestack``,
``cab``), each rendered from the capture test signal with its own latency. Shapes: the search's
cells and stacks (``CaptureLimits``) at hidden sizes 4, 8, 12, 16, 24, 32. Modes:

``reference``
    a long training per (gear, shape, seed): the default recipe with every budget field
    (``max_epochs``, ``max_seconds``, ``patience`` and any work budget such as ``base_updates``)
    multiplied by ``--budget-x`` (default 5); the best of the seeds (default 0 and 1) is what the
    shape can represent. Every result is written at once to ``--out``
    (``bench/results/capture_panel_reference.json``), so an interrupted run resumes.
``default``
    the default recipe, one seed: the ratio default ESR / reference ESR and the seconds per
    candidate; flags every (gear, shape) with reference below 0.05 whose ratio is above 1.25 or
    whose time is above 30 s (the issue's goal). Also resumable.
``sweep``
    from the reference table and costs measured in our engine (the search's own
    ``measure_costs``), the cheapest shape meeting each ``--esr`` per gear (the search's choice
    rule, ``choose_capture``).
``search``
    ``shrink_capture`` per gear and ``--esr`` with the default recipe: its choice, trainings and
    wall time, beside the sweep's pick when the reference table has the gear.

ESRs are pre-emphasised validation ESRs: in ``reference``/``default`` the trainer's
(``TrainedRecurrent.validation``: the validation part streamed from a zero state in float64), in
``search`` the search's own (our engine, ``--dtype``).

Commands (the full panel is hours of compute; restrict with ``--gears/--cells/--hidden/...``)::

    python bench/bench_capture_panel.py reference            # all gear x shapes, seeds 0 1
    python bench/bench_capture_panel.py default
    python bench/bench_capture_panel.py sweep --esr 0.01 0.003
    python bench/bench_capture_panel.py search --esr 0.01 0.003

The smoke run stored in ``bench/results/capture_panel_smoke_*.json`` (a check that the script
runs end to end, not a measurement of the recipe)::

    S="--gears sag --cells lstm --hidden 8 --layers 1 --seeds 0 --seconds 8 --validation-s 2 \\
       --set max_epochs=2 --smoke --reference bench/results/capture_panel_smoke_reference.json"
    python bench/bench_capture_panel.py reference $S \\
        --out bench/results/capture_panel_smoke_reference.json
    python bench/bench_capture_panel.py default $S \\
        --out bench/results/capture_panel_smoke_default.json
    python bench/bench_capture_panel.py sweep $S --esr 0.1 0.01 \\
        --out bench/results/capture_panel_smoke_sweep.json
    python bench/bench_capture_panel.py search $S --esr 0.1 \\
        --out bench/results/capture_panel_smoke_search.json

``--set FIELD=VALUE`` changes the default recipe (``RecurrentTrainConfig``; ``none`` for None)
before the reference multiplies its budgets (``--set starts=1``: one start per candidate; rows
keep which start went on and every start's check at the choice); ``--align true`` (default)
removes each gear's true latency before training (the trainer sees the circuit alone),
``--align tool`` aligns as a user's capture is aligned: the recording checks' causal estimate
refined by the latency trial (:mod:`vashrink.search.capture_align`), which each row keeps
(``latency_trial``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vashrink.errors import InputError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.search.capture_align import align_by_trial
from vashrink.search.capture_plan import CaptureLimits
from vashrink.target.gear import gear_names, gear_recording, get_gear, to_recording
from vashrink.target.recording import Recording
from vashrink.target.spans import ROW_LAYOUT, VALIDATION_PIECE_S
from vashrink.train import RecurrentTrainConfig

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OUT = {mode: RESULTS / f"capture_panel_{mode}.json"
               for mode in ("reference", "default", "sweep", "search")}
PANEL_HIDDEN = (4, 8, 12, 16, 24, 32)
#: Fields of the recipe that are a budget: the reference multiplies each one that exists.
BUDGET_FIELDS = ("max_epochs", "max_updates", "base_updates", "max_steps", "max_batches",
                 "max_samples", "max_seconds", "patience")
GOAL_REFERENCE = 0.05
GOAL_RATIO = 1.25
GOAL_SECONDS = 30.0


def _parse_value(field: dataclasses.Field[Any], text: str, base: Any) -> Any:
    if text.lower() == "none":
        return None
    current = getattr(base, field.name)
    for kind in (bool, int, float):
        if isinstance(current, kind) or field.type in (kind.__name__, f"{kind.__name__} | None"):
            if kind is bool:
                return text.lower() in ("1", "true", "yes")
            return kind(text)
    return text


def recipe(settings: list[str]) -> RecurrentTrainConfig:
    """The default recipe with ``FIELD=VALUE`` changes, field names checked against the config."""
    base = RecurrentTrainConfig()
    fields = {f.name: f for f in dataclasses.fields(base)}
    changes: dict[str, Any] = {}
    for item in settings:
        name, _, text = item.partition("=")
        if name not in fields or not text:
            sys.exit(f"--set {item!r}: use FIELD=VALUE with FIELD one of {', '.join(fields)}")
        changes[name] = _parse_value(fields[name], text, base)
    return dataclasses.replace(base, **changes)


def scaled(config: RecurrentTrainConfig, factor: float) -> RecurrentTrainConfig:
    """``config`` with every budget field that exists (and is set) multiplied by ``factor``."""
    names = {f.name for f in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    for name in BUDGET_FIELDS:
        value = getattr(config, name, None) if name in names else None
        if value is not None:
            changes[name] = round(value * factor) if isinstance(value, int) else value * factor
    return dataclasses.replace(config, **changes)


def shapes(args: argparse.Namespace) -> list[RecurrentArchitecture]:
    """The panel's shapes: the search's families (``CaptureLimits``) at ``--hidden`` sizes."""
    limits = CaptureLimits(cells=tuple(args.cells), layers=tuple(args.layers),
                           hidden_max=max(args.hidden))
    return [limits.arch(family, h) for family in limits.families for h in args.hidden]


class Recordings:
    """Each gear's recording, rendered once per run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cache: dict[str, Recording] = {}
        self.trials: dict[str, dict[str, Any]] = {}

    def __call__(self, gear: str) -> Recording:
        if gear not in self.cache:
            a = self.args
            pair = gear_recording(gear, seconds=a.seconds, sample_rate_hz=a.rate,
                                  seed=a.signal_seed)
            rec = to_recording(pair, validation_s=a.validation_s, compensate=a.align == "true")
            if a.align == "tool":
                # As the search aligns: the causal estimate refined by trial trainings.
                rec, trial = align_by_trial(rec, lambda text: print(text, flush=True))
                if trial is not None:
                    self.trials[gear] = trial.to_dict()
            self.cache[gear] = rec
        return self.cache[gear]


class Table:
    """Rows in a JSON file, rewritten after each new row (an interrupt keeps the finished ones)."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = {"meta": meta, "rows": []}
        commands: list[str] = []
        if path.exists():
            stored = json.loads(path.read_text())
            self.data["rows"] = stored.get("rows", [])
            before = stored.get("meta", {})
            commands = before.get("commands", [before["command"]] if "command" in before else [])
        # every command that added rows to this file, oldest first
        self.data["meta"] = meta | {"commands": [*commands, meta["command"]]}

    def find(self, **key: Any) -> dict[str, Any] | None:
        for row in self.data["rows"]:
            if all(row.get(k) == v for k, v in key.items()):
                return row
        return None

    def add(self, row: dict[str, Any]) -> None:
        self.data["rows"].append(row)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1) + "\n")


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    return {"command": "python bench/bench_capture_panel.py " + " ".join(sys.argv[1:]),
            "kind": "smoke run" if args.smoke else "measurement",
            "machine": {"python": platform.python_version(), "cpu": platform.processor(),
                        "node": platform.node()}}


def _data_key(args: argparse.Namespace) -> dict[str, Any]:
    return {"seconds_audio": args.seconds, "validation_s": args.validation_s,
            "validation_piece_s": VALIDATION_PIECE_S, "row_layout": ROW_LAYOUT,
            "sample_rate_hz": args.rate, "signal_seed": args.signal_seed, "align": args.align}


def train_rows(args: argparse.Namespace, config: RecurrentTrainConfig, seeds: list[int],
               label: str) -> Table:
    """Train every (gear, shape, seed) not in the table yet; a row per training."""
    from vashrink.train import train_recurrent

    table = Table(args.out, _meta(args) | {"mode": label})
    records = Recordings(args)
    for gear in args.gears:
        for arch in shapes(args):
            for seed in seeds:
                cfg = dataclasses.replace(config, seed=seed)
                key = {"gear": gear, "shape": arch.label, "seed": seed,
                       "config": cfg.to_dict(), **_data_key(args)}
                if table.find(**key) is not None:
                    continue
                rec = records(gear)
                print(f"{label}: {gear} {arch.label} seed {seed}", flush=True)
                [res] = train_recurrent(rec, [arch], cfg)
                row = key | {"esr": res.validation.esr, "esr_plain": res.validation.esr_plain,
                             "updates": cfg.updates_for(arch),
                             "epochs": res.epochs, "seconds": res.seconds,
                             "stop_reason": res.stop_reason, "start": res.start,
                             "start_esrs": list(res.start_esrs),
                             "true_latency_samples": get_gear(gear).latency_samples,
                             "recording_latency_samples": rec.latency_samples,
                             "latency_trial": records.trials.get(gear)}
                print(f"  ESR {row['esr']:.4g} after {res.epochs} epochs, {res.seconds:.1f} s",
                      flush=True)
                table.add(row)
    return table


def row_work(shape: str, config: dict[str, Any]) -> float | None:
    """A recipe's budget for ``shape`` in trained row-samples (updates x batch rows x samples
    per update, the starts' trials included), from a stored row's ``config``, so recipes with
    other TBPTT lengths compare; ``None`` when the recipe no longer parses."""
    names = {f.name for f in dataclasses.fields(RecurrentTrainConfig)}
    try:
        # a recipe from before the starts had one start
        cfg = RecurrentTrainConfig(**{"starts": 1} | {k: v for k, v in config.items()
                                                     if k in names})
    except (TypeError, InputError):  # a recipe of an older version: no budget to report
        return None
    arch = RecurrentArchitecture.parse(shape)
    starts = 1 + (cfg.starts - 1) * cfg.start_fraction
    per_update = (cfg.segment_samples - cfg.warmup_samples) / cfg.updates_per_epoch(1)
    return float(cfg.updates_for(arch) * cfg.batch_size * per_update * starts)


def best_reference(args: argparse.Namespace, path: Path) -> dict[tuple[str, str], float]:
    """Best ESR over seeds per (gear, shape) for this data (any reference recipe)."""
    return {k: v[0] for k, v in best_reference_rows(args, path).items()}


def best_reference_rows(args: argparse.Namespace,
                        path: Path) -> dict[tuple[str, str], tuple[float, float | None]]:
    """Best ESR over seeds per (gear, shape) for this data, with that row's work
    (:func:`row_work`)."""
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    want = _data_key(args)
    best: dict[tuple[str, str], tuple[float, float | None]] = {}
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()):
            k = (r["gear"], r["shape"])
            if float(r["esr"]) < best.get(k, (float("inf"), None))[0]:
                best[k] = (float(r["esr"]), row_work(r["shape"], r.get("config", {})))
    return best


def compare_default(args: argparse.Namespace, table: Table,
                    config: RecurrentTrainConfig) -> None:
    """Ratio default / reference and seconds per candidate (this recipe's rows for this data);
    flags against the issue's goal."""
    best = best_reference_rows(args, args.reference)
    summary = []
    want = _data_key(args) | {"config": dataclasses.replace(config, seed=args.seeds[0]).to_dict()}
    for r in table.data["rows"]:
        if not all(r.get(k) == v for k, v in want.items()):
            continue
        ref, ref_work = best.get((r["gear"], r["shape"]), (None, None))
        ratio = r["esr"] / ref if ref else None
        work = row_work(r["shape"], r["config"])
        work_x = ref_work / work if ref_work and work else None
        flagged = ref is not None and ref < GOAL_REFERENCE and (
            (ratio is not None and ratio > GOAL_RATIO) or r["seconds"] > GOAL_SECONDS)
        summary.append({"gear": r["gear"], "shape": r["shape"], "default_esr": r["esr"],
                        "reference_esr": ref, "ratio": ratio, "seconds": r["seconds"],
                        "default_row_samples": work, "reference_row_samples": ref_work,
                        "reference_work_x": work_x, "flagged": flagged})
        shown = f"{ratio:.3g}" if ratio is not None else "no reference"
        weak = f"  reference at {work_x:.2g}x the work" if work_x and work_x < 5 else ""
        print(f"{r['gear']:10s} {r['shape']:10s} default {r['esr']:.4g} ratio {shown} "
              f"{r['seconds']:.1f} s{'  FLAG' if flagged else ''}{weak}")
    table.data["summary"] = summary
    table.save()


def sweep_pick(args: argparse.Namespace, gear: str, best: dict[tuple[str, str], float],
               costs: dict[str, float], esr: float) -> dict[str, Any]:
    """The shape the search's choice rule (``choose_capture``: cheapest measured cost, 10 % tie
    to fewer MACs) picks when every shape scores its reference ESR."""
    from vashrink.search.capture_score import CaptureScore, choose_capture

    scores = [CaptureScore(label=a.label, cell=a.cell, hidden=a.hidden, skip=a.skip,
                           dtype=args.dtype, esr=best[(gear, a.label)], esr_plain=0.0, dc=0.0,
                           mse=0.0, ns_per_sample=costs[a.label], sample_rate_hz=float(args.rate),
                           n_params=a.n_params, macs_per_sample=a.macs_per_sample, model_path="",
                           train_seconds=0.0, epochs=0, epoch_seconds=0.0, layers=a.layers)
              for a in shapes(args) if (gear, a.label) in best and a.label in costs]
    choice = choose_capture(scores, esr) if scores else None
    w = choice.winner if choice is not None and choice.met else None
    return {"shape": w.label if w else None, "reference_esr": w.esr if w else None,
            "ns_per_sample": w.ns_per_sample if w else None, "shapes_with_reference": len(scores)}


def sweep(args: argparse.Namespace) -> dict[str, Any]:
    """Per gear and target, the cheapest shape the reference says meets it (costs measured in
    our engine by the search's own ``measure_costs``)."""
    from vashrink.search.capture_costs import measure_costs

    best = best_reference(args, args.reference)
    limits = CaptureLimits(cells=tuple(args.cells), layers=tuple(args.layers),
                           hidden_max=max(args.hidden))
    with tempfile.TemporaryDirectory() as tmp:
        costs = measure_costs(Path(tmp), limits.shapes(), args.dtype, args.timing_repeats,
                              print)
    picks: dict[str, Any] = {}
    for gear in args.gears:
        picks[gear] = {str(esr): sweep_pick(args, gear, best, costs, esr) for esr in args.esr}
        for esr, pick in picks[gear].items():
            print(f"sweep {gear} ESR {esr}: {pick['shape'] or 'no shape meets it'}")
    return _meta(args) | {"mode": "sweep", **_data_key(args), "costs_ns_per_sample": costs,
                          "picks": picks}


def search(args: argparse.Namespace, config: RecurrentTrainConfig) -> dict[str, Any]:
    """``shrink_capture`` per gear and target with the default recipe, beside the sweep's pick
    under the search's own measured costs (when the reference table has the gear)."""
    from vashrink.search.capture import shrink_capture
    from vashrink.search.capture_costs import costs_file

    best = best_reference(args, args.reference)
    records = Recordings(args)
    limits = CaptureLimits(cells=tuple(args.cells), layers=tuple(args.layers),
                           hidden_max=max(args.hidden))
    rows = []
    work = Path(args.work or tempfile.mkdtemp(prefix="capture-panel-"))
    for gear in args.gears:
        for esr in args.esr:
            started = time.perf_counter()
            run = work / f"{gear}-{esr}"
            result = shrink_capture(records(gear), esr, out_dir=run,
                                    limits=limits, config=config, dtype=args.dtype,
                                    block_size=args.block_size, report=False, progress=False,
                                    log=print)
            w = result.winner
            rows.append({"gear": gear, "esr_target": esr, "choice": w.label if w else None,
                         "met": result.met, "choice_esr": w.esr if w else None,
                         "trainings": len(result.candidates),
                         "trained": [{"shape": c.label, "esr": c.esr, "seconds": c.train_seconds,
                                      "ns_per_sample": c.ns_per_sample}
                                     for c in result.candidates],
                         "wall_seconds": time.perf_counter() - started})
            measured = run / costs_file(args.block_size)
            costs = json.loads(measured.read_text()) if measured.exists() else {}
            rows[-1]["sweep_pick"] = sweep_pick(args, gear, best, costs, esr)
            print(f"search {gear} ESR {esr}: {rows[-1]['choice']} (met: {result.met}) "
                  f"(sweep: {rows[-1]['sweep_pick']['shape']})")
    return _meta(args) | {"mode": "search", **_data_key(args), "config": config.to_dict(),
                          "block_size": args.block_size, "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=sorted(DEFAULT_OUT))
    p.add_argument("--gears", nargs="+", default=gear_names(), choices=gear_names())
    p.add_argument("--cells", nargs="+", default=list(CaptureLimits().cells))
    p.add_argument("--layers", nargs="+", type=int, default=list(CaptureLimits().layers))
    p.add_argument("--hidden", nargs="+", type=int, default=list(PANEL_HIDDEN))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1],
                   help="reference seeds (default: the first one)")
    p.add_argument("--seconds", type=float, default=30.0, help="seconds of audio per gear")
    p.add_argument("--validation-s", type=float, default=5.0)
    p.add_argument("--rate", type=int, default=48_000)
    p.add_argument("--signal-seed", type=int, default=0)
    p.add_argument("--align", choices=["true", "tool"], default="true")
    p.add_argument("--budget-x", type=float, default=5.0, help="reference budget multiplier")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change the default recipe (repeatable)")
    p.add_argument("--esr", nargs="+", type=float, default=[0.01, 0.003])
    p.add_argument("--dtype", default="float32")
    p.add_argument("--timing-repeats", type=int, default=5)
    p.add_argument("--block-size", type=int, default=1,
                   help="search mode: cost candidates at blocks of N (shrink --block-size)")
    p.add_argument("--reference", type=Path, default=DEFAULT_OUT["reference"])
    p.add_argument("--work", type=Path, default=None, help="search mode: keep runs here")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--smoke", action="store_true", help="label the results a smoke run")
    args = p.parse_args()
    args.out = args.out or DEFAULT_OUT[args.mode]
    config = recipe(args.set)
    if args.mode == "reference":
        long = scaled(config, args.budget_x)
        moved = {k: v for k, v in long.to_dict().items() if v != config.to_dict()[k]}
        print(f"reference recipe: {args.budget_x:g}x the budget fields {moved}", flush=True)
        train_rows(args, long, args.seeds, "reference")
    elif args.mode == "default":
        compare_default(args, train_rows(args, config, args.seeds[:1], "default"), config)
    else:
        out = sweep(args) if args.mode == "sweep" else search(args, config)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
