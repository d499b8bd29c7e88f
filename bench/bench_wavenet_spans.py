"""Why a WaveNet's training error falls and its validation error does not: one training on a
panel gear, then its best-check and final weights scored through both paths on both parts.

Paths: the training rows (``wavenet_rows`` + ``rows_esr``: unpadded rows as the loss scores
them) and the validation check (``torch_validation_esr``: zero-padded pieces after a 0.5 s
pre-roll). Parts: the training spans and the validation spans, whole and span by span (in time
order, in seconds). If the two paths disagree on the same audio, training and validation differ
(padding, alignment, pre-emphasis); if they agree and the parts differ, the model does not carry
over from the training audio to the validation audio.

    nice -n 5 python bench/bench_wavenet_spans.py --gear fuzz --shape wavenet-8-d9 \\
        --out bench/results/wavenet_spans_fuzz_interleaved.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from vashrink.model.wavenet_shape import WaveNetShape
from vashrink.target.gear import gear_recording, to_recording
from vashrink.train.rnn_data import VALIDATION_PREROLL_S
from vashrink.train.wavenet_config import WaveNetTrainConfig
from vashrink.train.wavenet_fit import rows_esr, torch_validation_esr, train_wavenet, wavenet_rows
from vashrink.train.wavenet_torch import WaveNetTorch

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gear", default="fuzz")
    ap.add_argument("--shape", default="wavenet-8-d9")
    ap.add_argument("--max-updates", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--validation-s", type=float, default=5.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "wavenet_spans.json")
    args = ap.parse_args()
    rec = to_recording(gear_recording(args.gear, seconds=args.seconds),
                       validation_s=args.validation_s, compensate=True)
    shape = WaveNetShape.parse(args.shape)
    config = WaveNetTrainConfig(max_updates=args.max_updates, patience=None)
    # The trainer loads its best check's weights at the end: keep the final ones as well.
    states: dict[str, Any] = {}
    load = WaveNetTorch.load_state_dict

    def keep(self: WaveNetTorch, state: Any, *a: Any, **k: Any) -> Any:
        states["final"] = {n: v.clone() for n, v in self.state_dict().items()}
        states["best"], states["model"] = state, self
        return load(self, state, *a, **k)

    WaveNetTorch.load_state_dict = keep  # type: ignore[method-assign]
    t0 = time.perf_counter()
    [res] = train_wavenet(rec, [shape], config)
    WaveNetTorch.load_state_dict = load  # type: ignore[method-assign]
    out: dict[str, Any] = {
        "meta": {"command": "python " + " ".join(sys.argv), "kind": "measurement",
                 "recipe": config.to_dict(), "gear": args.gear, "shape": shape.label,
                 "train_spans": rec.train_spans, "validation_spans": rec.validation_spans},
        "training": {"seconds": time.perf_counter() - t0, "train_esr_last_epoch": res.train_esr,
                     "validation_esr": res.validation.esr, "val_curve": list(res.val_curve)}}
    rate = rec.sample_rate_hz
    pre = round(VALIDATION_PREROLL_S * rate)
    model = states["model"]

    def pieces(spans: tuple[tuple[int, int], ...]) -> list[Any]:
        firsts = [(max(0, a - pre), a, b) for a, b in spans]
        return [(rec.input[f:b], rec.output[f:b], a - f) for f, a, b in firsts]

    def by_rows(spans: tuple[tuple[int, int], ...]) -> float:
        part = replace(rec, validation_spans=replace(rec, validation_spans=spans).train_spans)
        rows = wavenet_rows(part, shape.receptive_field, config.row_samples)
        return rows_esr(model, rows, config.pre_emphasis)

    for name in ("best", "final"):
        load(model, states[name])
        with torch.no_grad():
            row = {"train_spans_rows": by_rows(rec.train_spans),
                   "validation_spans_rows": by_rows(rec.validation_spans),
                   "train_spans_check": torch_validation_esr(model, pieces(rec.train_spans)),
                   "validation_spans_check": torch_validation_esr(
                       model, pieces(rec.validation_spans)),
                   "per_span_check": [
                       {"part": part, "from_s": round(a / rate, 3), "to_s": round(b / rate, 3),
                        "esr": torch_validation_esr(model, pieces(((a, b),)))}
                       for a, b, part in sorted(
                           [(a, b, "train") for a, b in rec.train_spans]
                           + [(a, b, "validation") for a, b in rec.validation_spans])]}
        out[name] = row
        print(name, {k: round(v, 4) for k, v in row.items() if k != "per_span_check"})
        for span in row["per_span_check"]:
            print(f"  {span['part']:>10} {span['from_s']:6.2f}-{span['to_s']:5.2f} s"
                  f"  {span['esr']:.4f}", flush=True)
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
