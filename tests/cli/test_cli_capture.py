"""``vashrink shrink --input --output --esr``: a GRU search on a recording, end to end.

The recording is a small synthetic "pedal" (one-pole low-pass, then tanh) written as WAV files, so
the whole chain runs: load and check the pair, bound, time shapes, train, score in the engine,
choose, export, report, resume.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

from vashrink.cli import main
from vashrink.formats import run_onnx
from vashrink.formats.reference import reference_forward
from vashrink.formats.rtneural_json import load_rtneural
from vashrink.model.file import read_model_file
from vashrink.runtime.recurrent import RecurrentNet

RATE = 16_000


def _pair(tmp_path: Path, seconds: float = 4.0, out_rate: int = RATE) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = 0.5 * np.sin(2 * np.pi * 220 * t) * (0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 0.7 * t)))
    x += 0.1 * lfilter([0.2], [1, -0.8], rng.standard_normal(n))
    y = np.tanh(3.0 * lfilter([0.3], [1, -0.7], x))
    fi, fo = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(fi, x, RATE, subtype="FLOAT")
    sf.write(fo, y, out_rate, subtype="FLOAT")
    return fi, fo


def _args(fi: Path, fo: Path, out: Path, *extra: str) -> list[str]:
    return [
        "shrink",
        "--input",
        str(fi),
        "--output",
        str(fo),
        "--esr",
        "0.05",
        "--validation-s",
        "1",
        "--cells",
        "gru",
        "--hidden-max",
        "8",
        "--max-seconds",
        "8",
        "--trials",
        "3",
        "--repeats",
        "3",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.slow
def test_shrink_on_a_recording_exports_a_model_that_runs_the_same_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, fo = _pair(tmp_path)
    out = tmp_path / "run"
    code = main(_args(fi, fo, out, "--json"))
    first = capsys.readouterr()
    result = json.loads(first.out)
    assert "training gru-" in first.err
    assert code == (0 if result["met"] else 1)
    assert result["kind"] == "capture"
    assert result["candidates"], "nothing was trained"
    winner = result["winner"]
    # The choice rule on what was stored: the cheapest meeting the target, else the lowest ESR.
    meeting = [c for c in result["candidates"] if c["esr"] <= 0.05]
    if meeting:
        assert winner["ns_per_sample"] <= 1.1 * min(c["ns_per_sample"] for c in meeting)
    else:
        assert winner["esr"] == min(c["esr"] for c in result["candidates"])
    for name in (
        "model.vashrink.json",
        "model.json",
        "model.onnx",
        "model.h",
        "report.html",
        "capture_pareto.png",
        "waveform.png",
        "spectrum.png",
        "audio/target.wav",
    ):
        assert (out / name).exists(), name

    # The exported files compute what the engine scored (float64 reference within float32 noise).
    spec = read_model_file(out / "model.vashrink.json").spec
    x = sf.read(fi)[0][:4000]
    net = RecurrentNet.from_spec(spec)
    ours = net.process_samples(x)
    ref = reference_forward(load_rtneural(out / "model.json"), x.reshape(-1, 1)).ravel()
    onnx = run_onnx(out / "model.onnx", x.reshape(-1, 1), recurrent=True).ravel()
    scale = float(np.max(np.abs(ref)))
    assert np.max(np.abs(ours - ref)) <= 1e-4 * scale
    assert np.max(np.abs(onnx - ref)) <= 1e-4 * scale

    # Re-running the same command resumes: nothing is trained again, same choice.
    assert main(_args(fi, fo, out, "--json")) == code
    second = capsys.readouterr()
    again = json.loads(second.out)
    assert again["winner"]["label"] == winner["label"]
    assert len(again["candidates"]) == len(result["candidates"])
    assert "resuming" in second.err
    assert "training " not in second.err


@pytest.mark.slow
def test_a_two_layer_winner_is_exported_as_a_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, fo = _pair(tmp_path, seconds=3.0)
    out = tmp_path / "run"
    argv = _args(fi, fo, out, "--layers", "2", "--hidden-max", "4", "--trials", "1",
                 "--max-seconds", "4", "--json")
    main(argv)
    result = json.loads(capsys.readouterr().out)
    assert [c["label"] for c in result["candidates"]] == [result["winner"]["label"]]
    assert result["winner"]["label"].startswith("gru-2x")
    spec = read_model_file(out / "model.vashrink.json").spec
    assert len(spec.rnn) == 2
    doc = json.loads((out / "model.json").read_text())
    assert [layer["type"] for layer in doc["layers"]][:2] == ["gru", "gru"]
    x = sf.read(fi)[0][:3000]
    ours = RecurrentNet.from_spec(spec).process_samples(x)
    ref = reference_forward(load_rtneural(out / "model.json"), x.reshape(-1, 1)).ravel()
    onnx = run_onnx(out / "model.onnx", x.reshape(-1, 1), recurrent=True).ravel()
    scale = float(np.max(np.abs(ref)))
    assert np.max(np.abs(ours - ref)) <= 1e-4 * scale
    assert np.max(np.abs(onnx - ref)) <= 1e-4 * scale
    assert "rnn1_weight_ih" in (out / "model.h").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["shrink", "--input", "IN", "--esr", "0.01"], "missing --output"),
        (["shrink", "tanh(x)", "--esr", "0.01", "--range", "-1", "1"], "--esr is for recordings"),
        (["shrink", "tanh(x)", "--input", "IN", "--output", "OUT", "--esr", "0.01"], "not both"),
        (["shrink", "--example", "pedal", "--input", "IN"], "not both"),
        (["shrink", "--example", "pedal", "--workers", "2"], "for curve searches"),
        (["shrink", "--input", "IN", "--output", "OUT", "--esr", "0.01", "--eps", "1e-3"],
         "--eps are for curves"),
        (["shrink", "--example", "pedal", "--channel", "1"], "the pedal example is mono"),
        (["shrink", "--input", "IN", "--output", "DIR", "--esr", "0.01"], "is a directory"),
        (["shrink", "--example", "pedal", "--layers", "1,3"], "--layers: a comma list of 1,2"),
        (["shrink", "--example", "pedal", "--cells", "gru,tcn"],
         "--cells takes a comma list of gru, lstm, wavenet"),
        (["shrink", "--example", "pedal", "--cells", "wavenet", "--dtype", "float64"],
         "wavenet run in float32 only"),
        (["shrink", "--input", "IN", "--output", "OUT", "--esr", "0.01", "--latency", "-3"],
         "--latency takes auto or a whole number of samples >= 0"),
        (["shrink", "--input", "IN", "--output", "OUT", "--esr", "0.01", "--latency", "soon"],
         "--latency takes auto or a whole number of samples >= 0"),
        (["shrink", "--input", "IN", "--output", "OUT", "--esr", "0.01", "--validation-s", "1",
          "--latency", "9999999"], "--latency 9999999 is longer than the recording"),
        (["shrink", "--input", "IN", "--output", "OUT", "--esr", "0.01", "--validation-s", "1",
          "--block-size", "5000"], "--block-size for a recording must be 1..4800 samples"),
        (["shrink", "--input", "IN", "--output", "OUT", "--esr", "0.01", "--validation-s", "1",
          "--block-size", "64", "--cost-profile", "IN"],
         "--cost-profile costs a recording's candidates per sample"),
    ],
)
def test_bad_capture_arguments_are_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, fo = _pair(tmp_path, seconds=2.5)
    names = {"IN": str(fi), "OUT": str(fo), "DIR": str(tmp_path)}
    argv = [names.get(a, a) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_mismatched_rates_are_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, fo = _pair(tmp_path, seconds=2.5, out_rate=22_050)
    assert main(_args(fi, fo, tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert "rate" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_an_esr_outside_zero_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, fo = _pair(tmp_path, seconds=2.5)
    argv = _args(fi, fo, tmp_path / "run")
    argv[argv.index("0.05")] = "1.5"
    assert main(argv) == 2
    assert "--esr must be between 0 and 1" in capsys.readouterr().err


def test_a_resume_with_another_target_names_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, fo = _pair(tmp_path, seconds=2.5)
    out = tmp_path / "run"
    out.mkdir()
    (out / ".vashrink-run.json").write_text(json.dumps({"kind": "capture", "fingerprint": {}}))
    assert main(_args(fi, fo, out)) == 2
    assert "other settings" in capsys.readouterr().err


def test_wavenet_depth_reaches_the_search_as_a_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--wavenet-depth`` sets the fewest dilated layers the search gives its WaveNets (the
    memory bound cannot see a fuzz's or a cabinet's memory); without it, the floor is 4."""
    import vashrink.search.capture as capture

    seen = []

    def spy(*_args: object, limits: object, **_kw: object) -> None:
        seen.append(limits)
        raise SystemExit(0)

    monkeypatch.setattr(capture, "shrink_capture", spy)
    fi, fo = _pair(tmp_path, seconds=2.5)
    base = ["shrink", "--input", str(fi), "--output", str(fo), "--esr", "0.05",
            "--cells", "gru,wavenet", "--validation-s", "0.5", "--out", str(tmp_path / "run")]
    for extra in ([], ["--wavenet-depth", "10"]):
        with pytest.raises(SystemExit):
            main(base + extra)
    assert [lim.wavenet_depth for lim in seen] == [4, 10]  # type: ignore[attr-defined]
    assert main([*base, "--wavenet-depth", "0"]) == 2
