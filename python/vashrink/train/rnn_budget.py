"""The default work budget of a recurrent candidate, scaled with its shape (no torch).

A small shape needs more updates than a large one to reach what it can represent, and can
afford them: measured on the capture panel, hidden-4 shapes at 2x the updates went from
tube LSTM-4 0.0093 to 0.0015 and tube GRU-4 0.010 to 0.0031, while an update of a 4-unit cell
costs a fraction of a 16-unit one. So the default budget is ``base_updates`` for a one-layer
16-unit candidate of the same cell, and every other shape gets the updates that cost the same
modelled work, within ``[1, max_scale]`` times ``base_updates`` (a larger shape never gets fewer
updates than the reference; a tiny one is capped). The model is work, not seconds: it depends on
the shape only, so the same seed gives bit-identical weights on a busy and an idle machine.

Modelled work of one update (its training chunk, its share of the validation checks):
``OVERHEAD_MACS + macs_per_sample``, where :attr:`RecurrentArchitecture.macs_per_sample` counts the
cells' and head's multiply-accumulates per sample and ``OVERHEAD_MACS`` the per-step work that
does not grow with the units (state copies, loss, Adam, the batch's bookkeeping), fitted to the
seconds per update of the capture panel's default trainings on a quiet machine
(``bench/bench_rnn_budget.py``, bench/results/rnn_budget.json; docs/training.md, "The budget
scales with the shape": within 15 % for one layer, a second layer overrated by 10-25 %),
measured with 1,000-sample chunks, the recipe before the 500-sample default; not re-fitted.
"""

from __future__ import annotations

from ..model.architecture import RecurrentArchitecture

__all__ = ["OVERHEAD_MACS", "REFERENCE_HIDDEN", "shape_updates", "update_cost", "update_scale"]

#: Per-sample work of an update that does not grow with the units, in multiply-accumulates.
OVERHEAD_MACS = 150
#: The hidden size whose one-layer shape trains exactly ``base_updates`` (per cell).
REFERENCE_HIDDEN = 16


def update_cost(arch: RecurrentArchitecture) -> float:
    """Modelled work of one update of ``arch`` (relative units: MAC-equivalents per sample)."""
    return float(OVERHEAD_MACS + arch.macs_per_sample)


def update_scale(arch: RecurrentArchitecture, max_scale: float) -> float:
    """How many times the reference budget ``arch`` gets: the work of one update of the same
    cell at :data:`REFERENCE_HIDDEN` units and one layer over that of ``arch``, within
    ``[1, max_scale]``."""
    reference = RecurrentArchitecture(arch.cell, REFERENCE_HIDDEN)
    ratio = update_cost(reference) / update_cost(arch)
    return min(max(ratio, 1.0), max(max_scale, 1.0))


def shape_updates(arch: RecurrentArchitecture, base_updates: int, max_scale: float) -> int:
    """Updates ``arch`` trains by default: ``base_updates`` times :func:`update_scale`."""
    return max(1, round(base_updates * update_scale(arch, max_scale)))
