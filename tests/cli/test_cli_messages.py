"""Messages that name the real mistake and the fix (issue 19 item 13), one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from vashrink.cli import main


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("eps", ["-1e-3", "-1E-3", "-0.001", "-1"])
def test_a_negative_eps_parses_and_is_refused_clearly(
    eps: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_error(["bounds", "tanh(x)", "--range", "-1", "1", "--eps", eps], capsys)
    assert "eps must be a finite number above 0" in err
    assert "expected one argument" not in err


def test_negative_range_ends_in_exponent_notation_parse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bounds", "tanh(x)", "--range", "-1e-1", "1e-1", "--eps", "1e-3",
                 "--samples", "200", "--json"]) == 0
    assert '"a": -0.1' in capsys.readouterr().out


@pytest.mark.parametrize(("expr", "says"), [
    ("x^2", "^ is not a power: write ** for powers (x**2 for x squared)"),
    ("x % 2", "the operator % is not allowed"),
])
def test_expression_operators_name_the_fix(
    expr: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_error(["bounds", expr, "--range", "-1", "1", "--eps", "1e-3"], capsys)
    assert says in err and "BinOp" not in err


@pytest.mark.parametrize(("name", "kind"), [
    ("shaper.onnx", "an ONNX file"), ("shaper.h", "a C++ header"),
])
@pytest.mark.parametrize("command", ["time", "export"])
def test_exported_formats_say_what_vashrink_reads(
    command: str, name: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text("// not a model vashrink reads\n")
    to = ["--to", str(tmp_path / "o.json")] if command == "export" else []
    args = [command, str(path), *to]
    err = _one_line_error(args, capsys)
    assert f"is {kind}" in err and ".vashrink.json" in err and "Unpickling" not in err


def test_garbage_torch_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.pt"
    path.write_text("garbage\n")
    err = _one_line_error(["time", str(path)], capsys)
    assert "model files vashrink reads" in err


@pytest.mark.parametrize("command", ["check", "time"])
def test_a_directory_is_called_a_directory(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_error([command, str(tmp_path)], capsys)
    assert "is a directory" in err and "does not exist" not in err


def test_every_option_of_every_command_has_help() -> None:
    import argparse

    from vashrink.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {' '.join(action.option_strings) or action.dest}"
        for name, command in sub.choices.items()
        for action in command._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert missing == []


def test_help_says_numbers_and_spells_out_esr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shrink", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    from vashrink.train import RecurrentTrainConfig

    recipe = RecurrentTrainConfig()
    assert "the recipe's" not in text and "in Adam updates" in text
    assert (f"default: {recipe.base_updates} for a 16-unit candidate, up to "
            f"{recipe.max_update_scale:g}x as many for smaller shapes") in text
    assert "error-to-signal ratio" in text


@pytest.mark.parametrize(("dtype", "cpp"), [("float32", "float"), ("float64", "double"),
                                            ("float", "float"), ("double", "double")])
def test_export_dtype_takes_float32_float64_and_the_old_spellings(
    dtype: str, cpp: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from vashrink import Architecture, build_mlp

    model = tmp_path / "net.pt"
    torch.save(build_mlp(Architecture(1, 2)), model)
    out = tmp_path / "net.h"
    assert main(["export", str(model), "--to", str(out), "--dtype", dtype]) == 0
    capsys.readouterr()
    assert f"vashrink::ModelT<{cpp}," in out.read_text()  # the C++ sample type
