"""plot_bounds / bounds_figure: what is drawn (L, M, the piece density) and where it goes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D

from vashrink.bound.bounds import Bounds, compute_bounds
from vashrink.bound.plot import bounds_figure, check_plot_path, plot_bounds
from vashrink.errors import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def talk() -> Bounds:
    return compute_bounds("tanh(2*x)", -1, 1, 1e-7)


@pytest.fixture(scope="module")
def small() -> Bounds:
    return compute_bounds("sin(3*x)", 0, 3, 1e-4, samples=400)


def _by_gid(fig: Figure, gid: str) -> list[object]:
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_talk_plot_is_a_png_of_sensible_size(talk: Bounds, tmp_path: Path) -> None:
    path = plot_bounds(talk, "tanh(2*x)", tmp_path / "talk.png")
    assert path == tmp_path / "talk.png"
    assert _png_size(path) == (990, 1155)  # 9 x 10.5 inches at 110 dpi
    assert 20_000 < path.stat().st_size < 2_000_000
    pixels = imread(path)[..., :3]
    drawn = np.any(pixels < 0.9, axis=-1).mean()
    assert 0.05 < drawn < 0.6  # curves, text and the filled density, not a blank or solid image


def test_figure_marks_l_m_and_the_piece_density(talk: Bounds) -> None:
    fig = bounds_figure(talk, "tanh(2*x)")
    assert len(fig.axes) == 4
    assert "eps = 1e-07" in fig.get_suptitle() and "greedy 2,033" in fig.get_suptitle()
    (l_line,) = _by_gid(fig, "lipschitz")
    (m_line,) = _by_gid(fig, "max_second_derivative")
    assert isinstance(l_line, Line2D) and isinstance(m_line, Line2D)
    assert set(l_line.get_ydata()) == {talk.lipschitz}
    assert set(m_line.get_ydata()) == {talk.max_second_derivative}
    (fill,) = _by_gid(fig, "greedy_density")
    assert isinstance(fill, PolyCollection)
    v = fill.get_paths()[0].vertices
    area = 0.5 * abs(np.dot(v[:-1, 0], v[1:, 1]) - np.dot(v[1:, 0], v[:-1, 1]))
    assert area == pytest.approx(talk.pieces_greedy, rel=1e-9)  # density integrates to the count
    (local,) = _by_gid(fig, "local_estimate")
    assert isinstance(local, Line2D)
    x, y = np.asarray(local.get_xdata()), np.asarray(local.get_ydata())
    assert float(np.trapezoid(y, x)) == pytest.approx(talk.pieces_greedy, rel=0.05)
    (taylor,) = _by_gid(fig, "taylor_density")
    assert isinstance(taylor, Line2D)
    assert set(taylor.get_ydata()) == {7848 / 2}
    assert not _by_gid(fig, "singular")


def test_kinks_are_drawn_and_m_is_absent() -> None:
    clip = compute_bounds("clip(2*x, -0.5, 0.5)", -1, 1, 1e-4, samples=2001)
    fig = bounds_figure(clip, "clip(2*x, -0.5, 0.5)")
    assert not _by_gid(fig, "max_second_derivative") and not _by_gid(fig, "local_estimate")
    assert not _by_gid(fig, "taylor_density")
    kinks = _by_gid(fig, "singular")
    assert len(kinks) == 4 * 2  # both kinks in all four panels
    assert {round(float(k.get_xdata()[0]), 9) for k in kinks if isinstance(k, Line2D)} == {
        -0.25, 0.25}
    assert "n/a (no f'')" in fig.get_suptitle()
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert any("no M" in t for t in texts)


def test_svg_is_written_too(small: Bounds, tmp_path: Path) -> None:
    path = plot_bounds(small, "sin(3*x)", tmp_path / "small.svg")
    assert path.read_text()[:200].lstrip().startswith("<?xml")


def test_a_different_target_is_refused(small: Bounds, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not match these bounds"):
        plot_bounds(small, "sin(2*x)", tmp_path / "wrong.png")
    assert not (tmp_path / "wrong.png").exists()


def _bad_path(kind: str, tmp_path: Path) -> tuple[Path, str]:
    if kind == "missing directory":
        return tmp_path / "no" / "such" / "plot.png", "does not exist"
    if kind == "parent is a file":
        (tmp_path / "file.txt").write_text("x")
        return tmp_path / "file.txt" / "plot.png", "is not a directory"
    if kind == "path is a directory":
        (tmp_path / "dir.png").mkdir()
        return tmp_path / "dir.png", "could not write plot"
    if kind == "unwritable directory":
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        return locked / "plot.png", "could not write plot"
    return tmp_path / "plot.jpg", "must end in .png, .svg, .pdf"


@pytest.mark.parametrize(
    "kind",
    ["missing directory", "parent is a file", "path is a directory", "unwritable directory",
     "unknown suffix"],
)
def test_bad_paths_are_one_line_input_errors(kind: str, small: Bounds, tmp_path: Path) -> None:
    if kind == "unwritable directory" and os.geteuid() == 0:
        pytest.skip("root may write into a read-only directory")
    path, text = _bad_path(kind, tmp_path)
    with pytest.raises(InputError) as info:
        plot_bounds(small, "sin(3*x)", path)
    message = str(info.value)
    assert text in message and str(path) in message and "\n" not in message
    assert not path.is_file()


def test_path_check_takes_any_case_suffix_and_creates_nothing(tmp_path: Path) -> None:
    assert check_plot_path(tmp_path / "ok.PNG") == tmp_path / "ok.PNG"
    assert not (tmp_path / "ok.PNG").exists()
    with pytest.raises(InputError, match="does not exist"):
        check_plot_path(tmp_path / "missing" / "x.png")
    assert not (tmp_path / "missing").exists()
