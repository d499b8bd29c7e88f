"""The cost of every shape a capture search may train (GRU, LSTM, WaveNet), measured so load
cannot inflate it.

ns/sample does not depend on the weights, so each shape is timed once, with random weights,
before anything is trained (in the engine, loaded by
:func:`~vashrink.runtime.families.runner_of`), and kept with the run (``DIR/costs.json``): a
resumed run compares candidates on the same measurements. Load on a shared machine only ever
makes a pass slower, so the shapes are timed in interleaved rounds (each round times every
shape once, so a burst of load hits every shape alike) and each keeps its *fastest* pass. A
shape still costing clearly more than a larger shape of its family (``OUTLIER_RATIO``), or
growing faster than its multiply-adds from a narrower shape (``GROWTH_RATIO``; seen: the
two largest GRU 2x stacks kept at 13-25x their cost, so neither was above the other), was
slowed by load: it is timed again until it is not, or the retries run out (then the note says
so).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ..runtime.families import runner_of
from ..runtime.timing import timing_buffer
from .capture_families import family_of
from .capture_plan import Shape
from .rundir import write_json

__all__ = ["COSTS_FILE", "GROWTH_RATIO", "OUTLIER_RATIO", "costs_file", "measure_costs",
           "suspect_costs"]

COSTS_FILE = "costs.json"
BUFFER_SAMPLES = 4800
OUTLIER_RATIO = 1.25
"""A shape costing this much more than a larger shape of its family is timed again."""
GROWTH_RATIO = 1.5
"""A shape whose cost grew this much more than its multiply-adds from a narrower shape of its
family is timed again (an engine's cost grows at most about as fast as its arithmetic)."""
RETRIES = 3


def _family_key(a: Shape) -> tuple[object, ...]:
    """Shapes that differ only in width: a WaveNet's depth and kernel size are kept apart."""
    return (a.cell, a.layers, a.skip, getattr(a, "depth", None), getattr(a, "kernel_size", None))


def suspect_costs(costs: dict[str, float], archs: Sequence[Shape]) -> list[str]:
    """Labels whose cost exceeds ``OUTLIER_RATIO`` times that of a wider shape of the same
    family (:func:`_family_key`; more units cannot run faster), or ``GROWTH_RATIO`` times a
    narrower shape's cost scaled by their multiply-adds: load inflated it."""
    out: list[str] = []
    for a in archs:
        if a.label not in costs:
            continue
        family = [b for b in archs if b.label in costs and b.label != a.label
                  and _family_key(b) == _family_key(a)]
        larger = [costs[b.label] for b in family if b.hidden > a.hidden]
        scaled = [costs[b.label] * a.macs_per_sample / max(b.macs_per_sample, 1)
                  for b in family if b.hidden < a.hidden]
        if ((larger and costs[a.label] > OUTLIER_RATIO * min(larger))
                or (scaled and costs[a.label] > GROWTH_RATIO * min(scaled))):
            out.append(a.label)
    return out


def costs_file(block_size: int) -> str:
    """Where a run keeps its costs: one file per block size (a resume at another block size
    times again)."""
    return COSTS_FILE if block_size == 1 else f"costs-b{block_size}.json"


def _time_rounds(archs: Sequence[Shape], dtype: str, rounds: int, block_size: int = 1,
                 ) -> dict[str, float]:
    """Fastest ns/sample of each shape over ``rounds`` interleaved passes, one sample per call
    or in blocks of ``block_size``."""
    buffer = timing_buffer(BUFFER_SAMPLES)
    nets = {a.label: runner_of(family_of(a.cell).random_spec(a), dtype) for a in archs}
    best = {label: float("inf") for label in nets}
    for k in range(rounds):
        for label, net in nets.items():
            warm = 1 if k == 0 else 0
            secs = (net.time_samples(buffer, 1, warm) if block_size == 1
                    else net.time_blocks(buffer, block_size, 1, warm))
            best[label] = min(best[label], 1e9 * float(secs[0]) / BUFFER_SAMPLES)
    return best


def measure_costs(out: Path, archs: Sequence[Shape], dtype: str, rounds: int,
                  log: Callable[[str], None], block_size: int = 1) -> dict[str, float]:
    """ns/sample of every shape in ``archs`` (fastest of ``rounds`` interleaved passes, one
    sample per call or in blocks of ``block_size``, as a plugin's callback runs it), read from
    and kept in ``out/``:func:`costs_file`; suspect costs (:func:`suspect_costs`) re-timed."""
    path = out / costs_file(block_size)
    stored: dict[str, float] = {}
    if path.exists():
        try:
            stored = {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
        except (OSError, ValueError, AttributeError):
            stored = {}
    missing = [a for a in archs if a.label not in stored]
    if missing:
        per = "one sample per call" if block_size == 1 else f"blocks of {block_size}"
        log(f"timing {len(missing)} candidate shapes in the engine ({dtype}, {per}, "
            f"fastest of {rounds} interleaved rounds)")
        stored.update(_time_rounds(missing, dtype, rounds, block_size))
        write_json(path, stored)
    for _ in range(RETRIES):
        suspects = [a for a in archs if a.label in suspect_costs(stored, archs)]
        if not suspects:
            break
        again = _time_rounds(suspects, dtype, rounds, block_size)
        stored.update({k: min(v, stored[k]) for k, v in again.items()})
        write_json(path, stored)
    left = suspect_costs(stored, archs)
    if left:
        log(f"costs of {', '.join(left)} stayed above those of larger shapes after "
            f"{RETRIES} re-timings: the machine is busy; the search uses them as measured")
    return stored
