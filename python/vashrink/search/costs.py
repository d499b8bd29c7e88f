"""Costs from the target CPU: a cost profile (``vashrink profile``) interpolated per candidate.

For one activation and dtype the profile is a table of ns/sample over depth x width. A
candidate's cost is the bilinear interpolation between the four grid shapes around it (linear in
depth, linear in width between two measured widths; beyond the grid, linear extrapolation from
the last two points, flagged). The uncertainty stated with it is the table's own leave-one-out
error: every interior grid shape predicted from its neighbours with itself left out, as a
relative error; ``docs/distributed.md`` compares it with direct timing of off-grid shapes.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..model.architecture import Architecture, RecurrentArchitecture
from ..model.wavenet_shape import WaveNetShape
from ..runtime.profile import FORMAT, VERSION
from .score import CandidateScore

__all__ = ["CostProfileError", "CostTable", "load_cost_profile", "rescore"]


class CostProfileError(InputError):
    """A cost profile that cannot be used (format, version, machine, missing rows)."""


def _interp(xs: Sequence[float], ys: Sequence[float], x: float) -> tuple[float, bool]:
    """Linear interpolation of ``ys`` at ``x``; beyond the ends, the last segment extended."""
    if len(xs) == 1:
        return float(ys[0]), x != xs[0]
    i = bisect.bisect_left(xs, x)
    outside = x < xs[0] or x > xs[-1]
    i = min(max(i, 1), len(xs) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return float(y0 + (y1 - y0) * (x - x0) / (x1 - x0)), outside


@dataclass(frozen=True)
class _Grid:
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    ns: np.ndarray  # [depth][width]

    def at(self, depth: float, width: float, skip: tuple[int, int] | None = None
           ) -> tuple[float, bool]:
        """Bilinear value at (depth, width); ``skip`` leaves one grid shape out."""
        rows = []
        ds = []
        outside = False
        for i, d in enumerate(self.depths):
            ws = [w for j, w in enumerate(self.widths) if skip != (i, j)]
            ys = [float(self.ns[i, j]) for j in range(len(self.widths)) if skip != (i, j)]
            v, out = _interp(ws, ys, width)
            rows.append(v)
            ds.append(d)
            outside |= out
        v, out = _interp(ds, rows, depth)
        return max(v, 0.0), outside or out


@dataclass(frozen=True)
class CostTable:
    """A loaded cost profile: interpolated ns/sample of dense nets on the profiled CPU."""

    machine: dict[str, Any]
    block_size: int
    grids: dict[tuple[str, str, str], _Grid]  # (activation, dtype, mode) -> grid
    uncertainty: float  # leave-one-out relative error, 90th percentile over the grids
    path: str
    #: (cell, dtype, layers) -> (hidden sizes, ns/sample per sample), GRU/LSTM rows of the profile
    recurrent: dict[tuple[str, str, int], tuple[tuple[int, ...], tuple[float, ...]]] = field(
        default_factory=dict
    )
    #: (dtype, kernel size) -> {depth: (channel counts, ns/sample)}, WaveNet rows (one array)
    wavenet: dict[tuple[str, int], dict[int, tuple[tuple[int, ...], tuple[float, ...]]]] = field(
        default_factory=dict
    )

    @property
    def label(self) -> str:
        m = self.machine
        return (f"{m.get('cpu_model', '?')} ({m.get('isa', '?')}, "
                f"{m.get('float32_lanes', '?')} float32 lanes)")

    def lanes(self, dtype: str) -> int:
        return int(self.machine.get(f"{dtype}_lanes", 0) or 0)

    def estimate(self, arch: Architecture, dtype: str, mode: str = "sample"
                 ) -> tuple[float, bool]:
        """``(ns/sample, outside the grid)`` of ``arch`` in ``dtype``, per sample or block."""
        grid = self.grids.get((arch.activation, dtype, mode))
        if grid is None:
            have = sorted({f"{a} {d}" for a, d, _ in self.grids})
            msg = (f"the cost profile {self.path} has no {arch.activation} {dtype} rows (it has "
                   f"{', '.join(have)}); profile those with vashrink profile on the target")
            raise CostProfileError(msg)
        return grid.at(arch.depth, arch.width)


    def estimate_recurrent(self, arch: RecurrentArchitecture, dtype: str) -> tuple[float, bool]:
        """``(ns/sample, outside the profiled sizes)`` of a GRU/LSTM stack per sample,
        interpolated linearly in the hidden size (an input skip adds one addition, left out)."""
        row = self.recurrent.get((arch.cell, dtype, arch.layers))
        if row is None:
            have = sorted(f"{c} x{n} {d}" for c, d, n in self.recurrent) or ["none"]
            msg = (f"the cost profile {self.path} has no {arch.cell} x{arch.layers} {dtype} rows "
                   f"(it has {', '.join(have)}); profile with this vashrink version on the "
                   "target, or search fewer --layers")
            raise CostProfileError(msg)
        value, outside = _interp([float(h) for h in row[0]], list(row[1]), float(arch.hidden))
        return max(value, min(row[1])), outside  # never below the cheapest shape profiled


    def estimate_wavenet(self, shape: WaveNetShape, dtype: str) -> tuple[float, bool]:
        """``(ns/sample, outside the profiled shapes)`` of a one-array WaveNet per sample:
        linear in the channel count at each profiled depth, then linear in depth (each layer
        adds the same work)."""
        by_depth = self.wavenet.get((dtype, shape.kernel_size))
        if not by_depth:
            msg = (f"the cost profile {self.path} has no WaveNet rows (kernel "
                   f"{shape.kernel_size}, {dtype}); profile with this vashrink version on the "
                   "target, or drop wavenet from --cells")
            raise CostProfileError(msg)
        depths = sorted(by_depth)
        at_depth = [_interp([float(c) for c in by_depth[d][0]], list(by_depth[d][1]),
                            float(shape.channels)) for d in depths]
        value, outside = _interp([float(d) for d in depths], [v for v, _ in at_depth],
                                 float(shape.depth))
        lowest = min(min(by_depth[d][1]) for d in depths)
        return max(value, lowest), outside or any(o for _, o in at_depth)


def _wavenet_rows(
    rows: Any,
) -> dict[tuple[str, int], dict[int, tuple[tuple[int, ...], tuple[float, ...]]]]:
    """WaveNet profile rows by (dtype, kernel size), then depth: (channels, ns/sample)."""
    cells: dict[tuple[str, int], dict[int, dict[int, float]]] = {}
    for row in rows or ():
        if not isinstance(row, dict) or row.get("kind") != "wavenet":
            continue
        value = row.get("ns_per_sample")
        if isinstance(value, int | float) and math.isfinite(value) and value > 0:
            key = (str(row.get("dtype", "float32")), int(row.get("kernel_size", 3)))
            depth = cells.setdefault(key, {}).setdefault(int(row["depth"]), {})
            depth[int(row["channels"])] = float(value)
    return {k: {d: (tuple(sorted(v)), tuple(v[c] for c in sorted(v))) for d, v in by.items()
                if len(v) >= 2} for k, by in cells.items()}


def _recurrent_rows(
    rows: Any,
) -> dict[tuple[str, str, int], tuple[tuple[int, ...], tuple[float, ...]]]:
    """Profile rows by (cell, dtype, stacked layers); rows without ``layers`` are one layer."""
    cells: dict[tuple[str, str, int], dict[int, float]] = {}
    for row in rows or ():
        if not isinstance(row, dict) or row.get("kind") not in ("gru", "lstm"):
            continue
        value, layers = row.get("ns_per_sample"), row.get("layers", 1)
        if (isinstance(value, int | float) and math.isfinite(value) and value > 0
                and isinstance(layers, int) and layers >= 1):
            key = (str(row["kind"]), str(row.get("dtype", "float32")), layers)
            cells.setdefault(key, {})[int(row["hidden"])] = float(value)
    return {k: (tuple(sorted(v)), tuple(v[h] for h in sorted(v))) for k, v in cells.items()
            if len(v) >= 2}


def _leave_one_out(grid: _Grid) -> list[float]:
    errs = []
    for i in range(1, len(grid.depths) - 1):
        for j in range(1, len(grid.widths) - 1):
            guess, _ = grid.at(grid.depths[i], grid.widths[j], skip=(i, j))
            true = float(grid.ns[i, j])
            errs.append(abs(guess - true) / true)
    return errs


def load_cost_profile(path: str | Path) -> CostTable:
    """Read and check a profile written by ``vashrink profile``.

    Raises:
        CostProfileError: not a vashrink cost profile, a newer version, no CPU description, an
            ISA without lane counts, or a grid with holes.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        msg = f"cannot read the cost profile {str(p)!r} ({exc}); give a file of vashrink profile"
        raise CostProfileError(msg) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        msg = (f"{str(p)!r} is not a vashrink cost profile (format {got!r}, expected {FORMAT!r}); "
               "write one with vashrink profile --out FILE on the target machine")
        raise CostProfileError(msg)
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        msg = (f"cost profile {str(p)!r} has version {data.get('version')!r}; this vashrink "
               f"reads version {VERSION} or older: upgrade vashrink or re-profile")
        raise CostProfileError(msg)
    machine = data.get("machine")
    if not isinstance(machine, dict) or not machine.get("isa") or not machine.get("cpu_model"):
        msg = f"cost profile {str(p)!r} does not say which CPU and ISA it measured; re-profile"
        raise CostProfileError(msg)
    if not all(isinstance(machine.get(f"{d}_lanes"), int) and machine[f"{d}_lanes"] > 0
               for d in ("float32", "float64")):
        msg = (f"cost profile {str(p)!r} is for ISA {machine['isa']!r} without lane counts; "
               "profile with this vashrink version on the target")
        raise CostProfileError(msg)
    cells: dict[tuple[str, str, str], dict[tuple[int, int], float]] = {}
    for row in data.get("rows") or ():
        if not isinstance(row, dict) or row.get("kind") != "dense":
            continue
        for mode, name in (("sample", "ns_per_sample"), ("block", "ns_per_sample_block")):
            value = row.get(name)
            if isinstance(value, int | float) and math.isfinite(value) and value > 0:
                key = (str(row["activation"]), str(row["dtype"]), mode)
                cells.setdefault(key, {})[(int(row["depth"]), int(row["width"]))] = float(value)
    grids: dict[tuple[str, str, str], _Grid] = {}
    for key, table in cells.items():
        depths = tuple(sorted({d for d, _ in table}))
        widths = tuple(sorted({w for _, w in table}))
        if len(table) != len(depths) * len(widths):
            msg = (f"cost profile {str(p)!r}: the {key[0]} {key[1]} grid has holes "
                   f"({len(table)} of {len(depths) * len(widths)} shapes); re-profile")
            raise CostProfileError(msg)
        ns = np.array([[table[(d, w)] for w in widths] for d in depths])
        grids[key] = _Grid(depths, widths, ns)
    if not grids:
        msg = f"cost profile {str(p)!r} has no dense rows; re-profile with vashrink profile"
        raise CostProfileError(msg)
    errs = [e for k, g in grids.items() if k[2] == "sample" for e in _leave_one_out(g)]
    unc = float(np.quantile(errs, 0.9)) if errs else math.nan
    return CostTable(machine, int(data.get("block_size", 64)), grids, unc, str(p),
                     _recurrent_rows(data.get("rows")), _wavenet_rows(data.get("rows")))


def rescore(scores: Sequence[CandidateScore], table: CostTable) -> list[CandidateScore]:
    """The candidates with their costs from ``table`` (the target CPU) instead of this one's."""
    out = []
    for c in scores:
        ns, _ = table.estimate(c.architecture, c.dtype, "sample")
        block, _ = table.estimate(c.architecture, c.dtype, "block")
        rate = c.realtime_factor * c.ns_per_sample  # = 1e9 / sample rate
        out.append(replace(
            c, ns_per_sample=ns, ns_per_sample_block=block, block_size=table.block_size,
            lanes=table.lanes(c.dtype) or c.lanes,
            realtime_factor=rate / ns if ns > 0 else math.inf,
            core_percent=100.0 * ns / rate if rate > 0 else math.inf,
            timing_noisy=False,
        ))
    return out
