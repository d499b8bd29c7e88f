"""``vashrink render MODEL in.wav out.wav``: run a model over a WAV file to listen to it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import print_json

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "render",
        help="run any model file over a mono WAV (to listen to it)",
        description=(
            "Run MODEL (a .nam file, a vashrink model file, an RTNeural/AIDA-X or CoreAudioML "
            ".json, a torch .pt) over the mono WAV INPUT in vashrink's engine (float32) and "
            "write OUTPUT as a float32 WAV at the input's rate. A .nam model is pre-warmed "
            "with silence first, as NeuralAmpModelerCore does (its receptive field for a "
            "WaveNet, 0.5 s for an LSTM), and so is any GRU/LSTM model (0.5 s: capture training "
            "made its output silent after that pre-warm); a .nam model's sample rate must "
            "equal the input's."
        ),
    )
    p.add_argument("model", type=Path, help="model file")
    p.add_argument("input", type=Path, help="mono WAV to process")
    p.add_argument("output", type=Path, help="WAV to write (float32)")
    p.add_argument("--no-prewarm", action="store_true", help="skip the pre-warm (silence first)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..formats.render import render_file

    result = render_file(args.model, args.input, args.output, use_prewarm=not args.no_prewarm)
    if args.json:
        print_json(result.to_dict())
    else:
        warm = f", pre-warmed {result.prewarm_samples:,} samples" if result.prewarm_samples else ""
        print(f"wrote {result.output} ({result.samples:,} samples at "
              f"{result.sample_rate_hz:g} Hz, {result.family}{warm}, peak {result.peak:.3g})")
    return 0
