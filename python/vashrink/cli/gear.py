"""``vashrink shrink --model gear.nam --esr 0.01``: an existing model as the gear of a capture
search (:mod:`vashrink.formats.gear`), and the saving the summary reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["gear_recording_for", "print_saving"]


def gear_recording_for(args: argparse.Namespace, default_out: str) -> tuple[Any, Any]:
    """(recording, GearModel) for ``--model`` (with ``--input`` as the DI to render, if given)."""
    from ..formats.gear import gear_recording

    if args.output is not None:
        msg = "--model renders the gear's output itself; drop --output (--input is the DI)"
        raise InputError(msg)
    if args.esr is None:
        msg = "--model needs --esr E, the validation ESR the smaller model must meet"
        raise InputError(msg)
    validation = args.validation_s if args.validation_s is not None else 10.0
    return gear_recording(args.model, input_wav=args.input, validation_s=validation,
                          timing_repeats=args.repeats or 5)


def print_saving(gear: Any, rec: Any, result: Any, out_dir: str, con: Any) -> None:
    """The original's cost next to the chosen model's, measured in the same run; the
    original's rendered output goes into the search's directory, to listen to."""
    import soundfile as sf

    wav = Path(out_dir) / "gear_original.wav"
    if wav.parent.is_dir():
        sf.write(str(wav), rec.output.astype("float32"), rec.sample_rate_hz, subtype="FLOAT")
        con.print(f"listen: {wav} (the original's output on the whole test signal)",
                  highlight=False)
    line = (f"original {Path(gear.path).name} ({gear.family}): {gear.ns_per_sample:,.0f} "
            f"ns/sample, {gear.core_percent:.2g} % of a core")
    if result.winner is not None:
        w, what = result.winner, "chosen" if result.met else "closest (ESR not met)"
        line += (f"; {what} {w.label}: {w.ns_per_sample:,.0f} ns/sample, "
                 f"{w.core_percent:.2g} % ({gear.ns_per_sample / w.ns_per_sample:.1f}x cheaper)")
    con.print(line, highlight=False)
