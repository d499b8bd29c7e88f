"""``report.html`` of a capture search: ESR vs cost, waveform, spectrum and audio to listen to.

Capture users listen before they read, so the report writes a validation excerpt as WAV files
(input, the gear's output, and every Pareto model's output as our engine computes it) under
``audio/`` and embeds players for them, beside the ESR-vs-measured-cost plot
(``capture_pareto.png``), the target against the chosen model over a few milliseconds
(``waveform.png``) and their spectra
with the error's (``spectrum.png``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
from matplotlib.figure import Figure
from scipy.signal import welch

from ..runtime.families import runner_of
from .capture_families import family_of
from .capture_plan import SEARCH_CELLS
from .labels import field_label
from .report import _CSS, _save, _table, label_points

if TYPE_CHECKING:
    from ..target.recording import Recording
    from .capture_result import CaptureResult
    from .capture_score import CaptureScore

__all__ = ["FAMILY_STYLE", "excerpt_bounds", "write_capture_report"]

EXCERPT_S = 4.0
#: Marker, colour and legend name of each family in the Pareto plot.
FAMILY_STYLE = {"gru": ("o", "tab:blue", "GRU"), "lstm": ("s", "tab:orange", "LSTM"),
                "wavenet": ("^", "tab:purple", "WaveNet")}
WAVE_MS = 20.0


def excerpt_bounds(signal: np.ndarray, rate: float, seconds: float = EXCERPT_S) -> tuple[int, int]:
    """The loudest ``seconds`` of ``signal`` (by RMS over one-second hops): what to listen to."""
    n = min(signal.size, int(seconds * rate))
    if n >= signal.size:
        return 0, signal.size
    hop = max(1, int(rate))
    starts = np.arange(0, signal.size - n + 1, hop)
    energy = [float(np.mean(signal[s : s + n] ** 2)) for s in starts]
    s = int(starts[int(np.argmax(energy))])
    return s, s + n


def _model_output(out: Path, cand: CaptureScore, x: np.ndarray) -> np.ndarray:
    spec, _ = family_of(cand.cell).read(out / cand.model_path)
    net = runner_of(spec, cand.dtype)
    net.reset()
    return np.asarray(net.process_samples(x), dtype=np.float64)


def _plot_pareto(result: CaptureResult, path: Path) -> Path:
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for cell in SEARCH_CELLS:
        cs = [c for c in result.candidates if c.cell == cell]
        if cs:
            marker, colour, name = FAMILY_STYLE[cell]
            ax.scatter(
                [c.ns_per_sample for c in cs],
                [c.esr for c in cs],
                marker=marker,
                color=colour,
                label=name,
                alpha=0.8,
            )
    front = [c for c in result.candidates if c.label in result.pareto]
    front.sort(key=lambda c: c.ns_per_sample)
    if front:
        ax.plot(
            [c.ns_per_sample for c in front],
            [c.esr for c in front],
            "k--",
            lw=0.8,
            label="Pareto front",
        )
    ax.axhline(
        result.esr_target, color="tab:red", lw=0.8, label=f"target ESR {result.esr_target:g}"
    )
    guessed = [c for c in result.candidates if c.label in result.extrapolated]
    if guessed:
        ax.scatter([c.ns_per_sample for c in guessed], [c.esr for c in guessed], s=90,
                   marker="x", color="tab:gray", label="cost extrapolated from the profile")
    if result.winner is not None:
        ax.scatter(
            [result.winner.ns_per_sample],
            [result.winner.esr],
            s=160,
            facecolors="none",
            edgecolors="tab:green",
            label="chosen",
        )
    ax.set_yscale("log")
    source = "from the cost profile" if any("cost profile" in n or "interpolated" in n
                                              for n in result.notes) else "measured here"
    ax.set_xlabel(f"ns/sample, one sample per call ({source})")
    ax.set_ylabel("validation ESR (error-to-signal ratio, pre-emphasised)")
    ax.legend(fontsize=8)
    label_points(fig, ax, [(f"{c.layers}x{c.hidden}" if c.layers > 1 else str(c.hidden),
                            c.ns_per_sample, c.esr)
                           for c in sorted(result.candidates, key=lambda c: c.ns_per_sample)])
    return _save(fig, path)


def _plot_waveform(y: np.ndarray, p: np.ndarray, rate: float, label: str, path: Path) -> Path:
    n = max(8, int(WAVE_MS * 1e-3 * rate))
    peak = int(np.argmax(np.abs(y)))
    s = max(0, min(peak - n // 2, y.size - n))
    t = (np.arange(n) + s) / rate * 1e3
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    ax.plot(t, y[s : s + n], label="gear (target)", lw=1.2)
    ax.plot(t, p[s : s + n], label=label, lw=1.0, ls="--")
    ax.plot(t, y[s : s + n] - p[s : s + n], label="error", lw=0.8, color="tab:red")
    ax.set_xlabel("time in the validation part (ms)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _plot_spectrum(y: np.ndarray, p: np.ndarray, rate: float, label: str, path: Path) -> Path:
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    for sig, name in ((y, "gear (target)"), (p, label), (y - p, "error")):
        f, pxx = welch(sig, fs=rate, nperseg=min(4096, sig.size))
        ax.semilogx(f[1:], 10 * np.log10(np.maximum(pxx[1:], 1e-30)), label=name, lw=0.9)
    ax.set_xlabel("Hz")
    ax.set_ylabel("power (dB)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _player(name: str, src: str) -> str:
    return (
        f"<tr><td>{html.escape(name)}</td><td><audio controls preload='none' "
        f"src='{html.escape(src)}'></audio></td></tr>"
    )


def write_capture_report(result: CaptureResult, rec: Recording) -> Path:
    """Write the plots, the audio excerpt and ``report.html`` into ``result.out_dir``."""
    out = Path(result.out_dir)
    rate = float(rec.sample_rate_hz)
    x, y = rec.validation_input, rec.validation_output
    parts = [
        f"<h1>vashrink capture: {html.escape(result.source)}, target ESR "
        f"{result.esr_target:g}</h1>",
        f"<p class='{'met' if result.met else 'miss'}'><b>{html.escape(result.message)}</b></p>",
    ]
    images = [_plot_pareto(result, out / "capture_pareto.png").name]
    players: list[str] = []
    w = result.winner
    if w is not None:
        p = _model_output(out, w, x)
        images.append(_plot_waveform(y, p, rate, w.label, out / "waveform.png").name)
        images.append(_plot_spectrum(y, p, rate, w.label, out / "spectrum.png").name)
        s, e = excerpt_bounds(y, rate)
        audio = out / "audio"
        audio.mkdir(exist_ok=True)
        clips = [
            ("input (what went into the gear)", "input", x[s:e]),
            ("gear (target)", "target", y[s:e]),
        ]
        for c in sorted(
            (c for c in result.candidates if c.label in result.pareto or c.label == w.label),
            key=lambda c: c.ns_per_sample,
        ):
            mark = " (chosen)" if c.label == w.label else ""
            # From the validation start (the scored state), only as far as the excerpt.
            clip = (p if c.label == w.label else _model_output(out, c, x[:e]))[s:e]
            clips.append((f"{c.label}{mark}: ESR {c.esr:.3g}", c.label.replace("+", "_"), clip))
        for name, stem, clip in clips:
            sf.write(audio / f"{stem}.wav", np.clip(clip, -1.0, 1.0), int(rate), subtype="PCM_24")
            players.append(_player(name, f"audio/{stem}.wav"))
        parts.append(
            "<h2>Chosen model</h2>"
            if result.met
            else "<h2>Closest model (does not meet the target)</h2>"
        )
        parts.append(
            _table(
                [
                    ("model", w.label),
                    ("parameters", w.n_params),
                    ("MACs/sample", w.macs_per_sample),
                    ("runs in", w.dtype),
                    ("validation ESR (engine)", w.esr),
                    ("plain ESR", w.esr_plain),
                    ("DC term", w.dc),
                    ("MSE", w.mse),
                    ("ns/sample, per sample", w.ns_per_sample if w.label not in
                     result.extrapolated else f"{w.ns_per_sample:.3g} (extrapolated beyond the "
                     "cost profile's sizes)"),
                    ("% of one core", w.core_percent),
                    ("training", f"{w.epochs} epochs, {w.train_seconds:.0f} s"),
                ]
            )
        )
        parts.append(
            f"<h2>Listen (validation excerpt, {(e - s) / rate:.1f} s)</h2>"
            f"<table>{''.join(players)}</table>"
        )
    if result.exports:
        links = "".join(
            f"<li>{html.escape(k)}: <a href='{html.escape(n)}'>{html.escape(n)}</a></li>"
            for k, n in ((k, Path(v).name) for k, v in result.exports.items())
        )
        parts.append(f"<h2>Exports</h2><ul>{links}</ul>")
    if result.notes or result.checks:
        items = [*result.notes, *(f"recording: {c}" for c in result.checks)]
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in items) + "</ul>"
        )
    parts.extend(f"<p><img src='{n}' alt='{n}'></p>" for n in images)
    if result.bound:
        rows = [(field_label(k), v) for k, v in result.bound.items()
                if not isinstance(v, dict | list)]
        parts.append("<h2>Starting point from the data (memory bound)</h2>" + _table(rows))
    parts.append(f"<h2>Candidates ({len(result.candidates)}, cheapest first)</h2>")
    parts.append(
        _table(
            [
                (
                    c.label,
                    "yes" if c.label in result.pareto else "",
                    c.esr,
                    c.esr_plain,
                    c.dc,
                    c.ns_per_sample,
                    c.core_percent,
                    c.n_params,
                    c.epochs,
                    c.train_seconds,
                )
                for c in result.candidates
            ],
            (
                "model",
                "Pareto",
                "ESR",
                "plain ESR",
                "DC",
                "ns/sample",
                "% core",
                "params",
                "epochs",
                "train s",
            ),
        )
    )
    parts.append(f"<p>Run time {result.seconds:.1f} s.</p>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>vashrink capture report"
        f"</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
