"""``vashrink signal``: the capture test signal written as a WAV, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vashrink.cli import main
from vashrink.target.capture_signal import test_signal


def test_writes_the_test_signal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "capture_in.wav"
    assert main(["signal", "--out", str(out), "--seconds", "6", "--rate", "16000"]) == 0
    assert "vashrink shrink --input" in capsys.readouterr().out
    data, rate = sf.read(str(out), dtype="float64")
    info = sf.info(str(out))
    assert rate == 16_000 and info.subtype == "PCM_24" and data.shape == (96_000,)
    np.testing.assert_allclose(data, test_signal(16_000, seconds=6.0), atol=2**-22)


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.wav"
    assert main(["signal", "--out", str(out), "--seconds", "5", "--rate", "8000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == str(out) and data["sample_rate_hz"] == 8000 and out.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seconds", "2"], "seconds must be at least 5"),
        (["--rate", "4000"], "sample_rate_hz must be in 8000..192000"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["signal", "--out", str(tmp_path / "a.wav"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_wrong_suffix_and_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signal", "--out", str(tmp_path / "a.flac")]) == 2
    assert "must end in .wav" in capsys.readouterr().err
    assert main(["signal", "--out", str(tmp_path / "no" / "a.wav"), "--seconds", "5"]) == 2
    assert "cannot write test signal" in capsys.readouterr().err
