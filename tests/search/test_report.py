"""report.html and its plots, built from a result assembled by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from candidates import candidate as cand
from matplotlib.image import imread

from vashrink.search.result import ShrinkResult


def result(tmp_path: Path, met: bool) -> ShrinkResult:
    cands = (
        cand(1, 8, 1e-3, 10.0),
        cand(2, 16, 2e-5, 40.0),
        cand(6, 40, 1e-6, 400.0, in_band=True),
    )
    win = cands[1] if met else cands[2]
    return ShrinkResult(
        kind="shrink",
        target="tanh(2*x) <b>",
        a=-1.0,
        b=1.0,
        eps=1e-4 if met else 1e-7,
        activation="tanh",
        lanes=8,
        block_size=64,
        budget_ns=None,
        budget_core_percent=None,
        candidates=cands,
        pareto=("1x8 tanh", "2x16 tanh", "6x40 tanh"),
        winner=win,
        met=met,
        message="no candidate meets eps = 1e-07; closest: 6x40"
        if not met
        else "2x16 is the cheapest",
        closest=(win,),
        spearman=1.0,
        notes=("below the band: 2 trained",),
        out_dir=tmp_path,
        bounds={"lipschitz": 2.0, "pieces_taylor": 7848},
        band=("6x40", "6x44"),
    )


def test_report_writes_html_with_winner_figures_bounds_and_escaped_text(tmp_path: Path) -> None:
    from vashrink.search.report import write_report

    x = np.linspace(-1, 1, 101)
    res = result(tmp_path, met=False)
    path = write_report(res, (x, 1e-6 * np.sin(3 * x)))
    page = path.read_text()
    assert path == tmp_path / "report.html"
    assert "no candidate meets eps" in page and "class='miss'" in page
    assert "Closest model (does not meet the target)" in page and "Chosen model" not in page
    assert "tanh(2*x) &lt;b&gt;" in page and "<b>tanh" not in page
    assert "linear pieces, Taylor count" in page and "7848" in page  # human labels
    assert "pieces_taylor" not in page
    assert "max abs error, certified on the whole range" in page
    assert "largest error at a checked point" in page
    assert "6 x 40 tanh" in page and "% of one core" in page
    macs = sum(c.macs_per_sample for c in res.candidates)  # 10 epochs each
    assert f"{3 * 10} candidate-epochs, {10 * macs:.3g} MAC-epochs" in page
    for name in ("heatmap.png", "pareto.png", "lanes.png", "winner_error.png"):
        assert f"src='{name}'" in page
        img = imread(tmp_path / name)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
        assert np.ptp(img[..., :3]) > 0.5  # something is drawn, not a blank canvas


def test_heat_values_hold_log10_error_at_trained_cells_and_nan_elsewhere(tmp_path: Path) -> None:
    from vashrink.search.report import heat_values

    res = result(tmp_path, met=True)
    img = heat_values(res.candidates, "max_abs_error", 6, 44)
    assert img.shape == (6, 44)
    assert img[0, 7] == np.log10(1e-3) and img[1, 15] == np.log10(2e-5) and img[5, 39] == -6.0
    assert np.isnan(img).sum() == 6 * 44 - 3
    mse = heat_values(res.candidates, "mse", 6, 44)
    assert mse[0, 7] == np.log10(1e-6 / 3)


def test_report_without_winner_curve_skips_that_plot(tmp_path: Path) -> None:
    from vashrink.search.report import write_report

    page = write_report(result(tmp_path, met=True), None).read_text()
    assert "winner_error.png" not in page and "class='met'" in page
    assert "Chosen model" in page
    assert not (tmp_path / "winner_error.png").exists()


def test_summary_calls_a_model_that_misses_eps_the_closest_not_the_winner(
    tmp_path: Path,
) -> None:
    from rich.console import Console

    from vashrink.cli.shrink import print_summary

    for met, wanted, unwanted in ((True, "chosen: 2x16 tanh", "closest"),
                                  (False, "closest (does not meet the target): 6x40", "chosen")):
        console = Console(record=True, width=200)
        print_summary(result(tmp_path, met), console)
        text = console.export_text()
        below_table = text.split("└")[-1]
        assert wanted in below_table and unwanted not in below_table and "winner" not in text


def test_band_is_summarised_not_listed() -> None:
    from vashrink.search.labels import summarise_band

    band = tuple(f"{d}x{w}" for d in range(3, 12) for w in range(8, 33))  # 225 architectures
    text = summarise_band(band)
    assert text.startswith("225 architectures, depth 3-11, width 8-32, e.g. 3x8, ")
    assert text.count("x") == 4 + 0  # four examples, no wall of text
    assert summarise_band(("6x40", "6x44")) == "2 architectures, depth 6-6, width 40-44: 6x40, 6x44"


def test_point_labels_never_overlap() -> None:
    from matplotlib.figure import Figure

    from vashrink.search.report import label_points

    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    xs = np.geomspace(10, 12, 12)  # a dozen front points crowded together
    ys = np.geomspace(1e-3, 9e-4, 12)
    ax.scatter(xs, ys)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1, 1e4)  # the rest of the front spreads far: these few points are crowded
    ax.set_ylim(1e-8, 1)
    placed = label_points(fig, ax, [(f"1x{i} tanh", x, y)
                                    for i, (x, y) in enumerate(zip(xs, ys, strict=True))])
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in placed]
    assert 1 <= len(placed) < 12
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert len(ax.texts) == len(placed)  # no stray, overlapping label left behind
