"""``vashrink bounds``: the talk example end to end, JSON, help, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vashrink.cli import main


def test_example_json_reproduces_the_talk(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bounds", "--example", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == "tanh(2*x)" and data["eps"] == 1e-7
    assert data["pieces_taylor"] == 7848
    assert data["modulus_of_continuity"] == pytest.approx(8.333506943243284e-05, rel=1e-12)
    assert {"depth": 6, "width": 44, "n_params": 10033, "macs_per_sample": 9768} in data["band"]


def test_table_shows_each_number_with_its_formula(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bounds", "sin(x)", "--range", "0", "3.141592653589793", "--eps", "1e-4",
                 "--samples", "4000"]) == 0
    out = capsys.readouterr().out
    for text in ["lipschitz L", "max |f'|", "max_second_derivative M", "max |f''|",
                 "modulus_of_continuity", "sqrt(2 eps / M)", "pieces_taylor", "223",
                 "pieces_interpolation", "pieces_greedy", "params_estimate", "arora_depth",
                 "band:", "maximum absolute error"]:
        assert text in out, text


def test_non_smooth_target_says_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bounds", "clip(2*x, -0.5, 0.5)", "--range", "-1", "1", "--eps", "1e-3",
                 "--samples", "2000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["max_second_derivative"] is None and data["pieces_taylor"] is None
    assert data["pieces_greedy"] == 3


def test_sample_file_as_expr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.linspace(0, 1, 1001)
    path = tmp_path / "line.csv"
    np.savetxt(path, np.column_stack([x, 2 * x + 1]), delimiter=",")
    assert main(["bounds", str(path), "--range", "0", "1", "--eps", "1e-6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pieces_greedy"] == 1 and data["samples"] == 1001
    assert data["lipschitz"] == pytest.approx(2.0)


def test_help_explains_each_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bounds", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ["lipschitz", "max_second_derivative", "modulus", "pieces_taylor",
                 "pieces_interpolation", "pieces_greedy", "params_estimate", "arora_depth",
                 "band", "MAXIMUM ABSOLUTE", "--plot", "sqrt(|f''| / (16 eps))"]:
        assert name in out, name


def test_plot_option_writes_a_png_and_keeps_stdout_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sin.png"
    assert main(["bounds", "sin(3*x)", "--range", "0", "3", "--eps", "1e-4", "--samples", "400",
                 "--plot", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["target"] == "sin(3*x)"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert f"plot written to {path}" in captured.err


def test_bad_plot_path_fails_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:

    def never(*args: object, **kwargs: object) -> None:
        msg = "compute_bounds ran before the plot path was checked"
        raise AssertionError(msg)

    import vashrink.bound.bounds as bounds_module

    monkeypatch.setattr(bounds_module, "compute_bounds", never)
    missing = tmp_path / "nope" / "p.png"
    assert main(["bounds", "--example", "--plot", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0] and str(missing.parent) in lines[0]


BAD = [
    (["__import__('os')", "--range", "-1", "1", "--eps", "1e-3"], "'__import__' is not allowed"),
    (["x.real", "--range", "-1", "1", "--eps", "1e-3"], "attribute access"),
    (["foo(x)", "--range", "-1", "1", "--eps", "1e-3"], "'foo' is not allowed"),
    (["y", "--range", "-1", "1", "--eps", "1e-3"], "unknown name 'y'"),
    (["x y", "--range", "-1", "1", "--eps", "1e-3"], "not valid syntax"),
    (["x", "--range", "1", "-1", "--eps", "1e-3"], "lower end must be below"),
    (["x", "--range", "1", "1", "--eps", "1e-3"], "empty"),
    (["x", "--range", "-1", "1", "--eps", "0"], "above 0"),
    (["x", "--range", "-1", "1", "--eps", "-1"], "above 0"),
    (["x", "--range", "-1", "1", "--eps", "nan"], "finite number above 0"),
    (["x", "--range", "nan", "1", "--eps", "1e-3"], "not finite"),
    (["x", "--range", "-1", "inf", "--eps", "1e-3"], "not finite"),
    (["x", "--range", "-1", "1", "--eps", "1e-3", "--samples", "2"], "samples must be from 3"),
    (["x", "--range", "-1", "1", "--eps", "1e-3", "--samples", "many"], "whole number"),
    (["log(x)", "--range", "-1", "1", "--eps", "1e-3"], "not finite on"),
    (["x", "--range", "-1", "1", "--eps", "1e-3", "--activation", "gelu"], "unknown activation"),
    (["x"], "give EXPR --range A B --eps E"),
    (["x", "--example"], "either EXPR"),
    (["missing.npy", "--range", "-1", "1", "--eps", "1e-3"], "does not exist"),
]


@pytest.mark.parametrize(("argv", "fragment"), BAD)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bounds", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vashrink bounds: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("0,0\n2,1\n1,2\n3,3\n", "strictly increasing"),  # unsorted x
        ("0,0\n1\n2,2\n3,3\n", "could not read"),  # a row without its y
        ("0,0\n1,nan\n2,2\n", "NaN or Inf"),
    ],
)
def test_bad_sample_files_are_one_line_errors(
    content: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["bounds", str(path), "--range", "0", "1", "--eps", "1e-3"]) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow  # a fresh interpreter imports torch
def test_real_process_prints_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vashrink.cli", "bounds", "__import__('os').system('echo hi')",
         "--range", "-1", "1", "--eps", "1e-3"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "hi" not in proc.stdout
    assert proc.stderr.count("\n") == 1 and "is not allowed" in proc.stderr


def test_sample_file_with_header_and_no_range_uses_the_datas_span(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "curve.csv"
    xs = [i / 50 - 1 for i in range(101)]
    path.write_text("x,y\n" + "".join(f"{x},{x ** 3}\n" for x in xs))
    assert main(["bounds", str(path), "--eps", "1e-2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["a"], out["b"]) == (-1.0, 1.0)
    assert out["lipschitz"] == pytest.approx(3.0, rel=0.02)
