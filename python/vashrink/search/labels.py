"""Human labels for the result fields reports show (one place for both reports)."""

from __future__ import annotations

__all__ = ["FIELD_LABELS", "field_label", "summarise_band"]

#: Field name -> what a report calls it.
FIELD_LABELS = {
    # complexity bounds (vashrink.bound.bounds.Bounds)
    "target": "target f",
    "a": "range start a",
    "b": "range end b",
    "eps": "eps (max abs error allowed)",
    "samples": "grid points",
    "activation": "activation of the band",
    "derivatives": "how f' and f'' were measured",
    "lipschitz": "L = max |f'| (Lipschitz constant)",
    "lipschitz_at": "x where |f'| peaks",
    "max_second_derivative": "M = max |f''|",
    "max_second_derivative_at": "x where |f''| peaks",
    "modulus_of_continuity": "w(delta), largest change between neighbouring points",
    "delta": "delta, grid step",
    "max_abs_value": "max |f|",
    "taylor_step": "Taylor piece width h = sqrt(2 eps / M)",
    "pieces_taylor": "linear pieces, Taylor count",
    "pieces_interpolation": "linear pieces, interpolation count",
    "pieces_greedy": "linear pieces, greedy fit",
    "pieces_basis": "piece count used for the estimate",
    "singular_points": "jumps or kinks at x",
    "params_estimate": "parameters estimated (1.3 x pieces)",
    "arora_depth": "depth suggested by the piece count (Arora et al.)",
    "noise_sigma": "noise sigma of the samples",
    # memory bound of a recording (vashrink.bound.memory.MemoryBound)
    "sample_rate_hz": "sample rate (Hz)",
    "esr_target": "ESR target (error-to-signal ratio)",
    "max_lag": "longest lag tried (samples)",
    "memory_samples": "memory (past samples)",
    "memory_ms": "memory (ms)",
    "linear_memory_samples": "memory of the linear predictor (samples)",
    "nonlinear_memory_samples": "memory of the nonlinear predictor (samples)",
    "memory_saturated": "memory reached the longest lag tried",
    "tolerance": "ESR tolerance for the memory length",
    "states": "linear states (Hankel order)",
    "curve_method": "how the static curve was measured",
    "curve_samples": "samples behind the static curve",
    "curve_eps": "eps of the static curve's bound",
    "curve_pieces": "linear pieces of the static curve",
    "curve_units": "units the static curve suggests",
    "suggested_hidden": "hidden sizes to start from",
    "seconds": "seconds to compute",
}


def field_label(key: str) -> str:
    """The label of ``key``; unknown keys with underscores turned into spaces."""
    return FIELD_LABELS.get(key, key.replace("_", " "))


def summarise_band(labels: tuple[str, ...] | list[str], examples: int = 4) -> str:
    """``225 architectures, depth 3-9, width 8-40, e.g. 3x40, 5x20, 7x12, 9x8`` instead of all
    of them; labels are ``DxW``."""
    if not labels:
        return "no architectures"
    dims = [tuple(int(p) for p in label.split("x")) for label in labels]
    depths, widths = [d for d, _ in dims], [w for _, w in dims]
    step = max(1, len(labels) // examples)
    shown = ", ".join(list(labels)[::step][:examples])
    more = f", e.g. {shown}" if len(labels) > examples else f": {shown}"
    return (f"{len(labels)} architecture{'s' * (len(labels) != 1)}, depth "
            f"{min(depths)}-{max(depths)}, width {min(widths)}-{max(widths)}{more}")
