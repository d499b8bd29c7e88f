"""A capture search over WaveNets end to end: costs timed in the engine, candidates trained and
stored as ``.nam``, the winner exported as ``.nam`` that ``vashrink time`` and ``render`` read
and a self-contained C++ header (``vashrink export model.nam --to x.h`` writes the same; and,
with ``NAM_CORE_DIR``, NeuralAmpModelerCore's ``loadmodel`` loads), a resumed run trains
nothing again, and what a WaveNet cannot do is refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vashrink.cli import main
from vashrink.errors import InputError
from vashrink.formats.nam import read_nam
from vashrink.model.wavenet import WaveNetSpec
from vashrink.search.capture import shrink_capture
from vashrink.search.capture_plan import CaptureLimits
from vashrink.train import RecurrentTrainConfig
from vashrink.train.wavenet_config import WaveNetTrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from rnn_synthetic import synthetic_recording

RECIPE = WaveNetTrainConfig(row_samples=1024, max_updates=150, patience=None)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rec = synthetic_recording(seconds=3.0, sample_rate_hz=16_000, validation_s=1.0)
    out = tmp_path_factory.mktemp("wn") / "run"
    limits = CaptureLimits(cells=("wavenet",), layers=(1,), trials=2, wavenet_depth=4)
    result = shrink_capture(rec, 0.05, out_dir=out, limits=limits, wavenet_config=RECIPE,
                            timing_repeats=2, progress=False, report=True)
    return rec, out, limits, result


def test_the_chosen_wavenet_is_exported_as_nam_and_scored_by_the_engine(searched) -> None:  # type: ignore[no-untyped-def]
    _, out, _, result = searched
    assert result.winner is not None and result.winner.cell == "wavenet"
    assert result.met, result.message
    assert set(result.exports) == {"model", "cpp"}
    assert "struct Model" in Path(result.exports["cpp"]).read_text()
    nam = read_nam(result.exports["model"])
    assert isinstance(nam.model, WaveNetSpec)
    assert nam.model.receptive_field == 31  # depth 4: dilations 1, 2, 4, 8, kernel 3
    assert nam.metadata["vashrink"]["score"]["label"] == result.winner.label
    assert any("model.nam" in n and "C++ header" in n for n in result.notes)
    costs = json.loads((out / "costs.json").read_text())
    assert set(costs) == {s.label for s in CaptureLimits(
        cells=("wavenet",), layers=(1,), wavenet_depth=4).shapes()}
    assert (out / "report.html").is_file()


def test_time_reads_the_exported_model(searched, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _, out, _, _ = searched
    code = main(["time", str(out / "model.nam"), "--mode", "sample", "--repeats", "1",
                 "--buffer-samples", "2000", "--json"])
    assert code == 0
    assert "WaveNet" in capsys.readouterr().out


def test_a_resumed_search_trains_nothing_again(searched) -> None:  # type: ignore[no-untyped-def]
    rec, out, limits, first = searched
    again = shrink_capture(rec, 0.05, out_dir=out, limits=limits, wavenet_config=RECIPE,
                           timing_repeats=2, progress=False, report=False)
    assert {c.label: c.esr for c in again.candidates} == {c.label: c.esr
                                                          for c in first.candidates}
    assert again.winner is not None and again.winner.label == first.winner.label


def test_what_a_wavenet_cannot_do_is_refused(tmp_path: Path) -> None:
    rec = synthetic_recording(seconds=2.0, sample_rate_hz=16_000, validation_s=0.5)
    limits = CaptureLimits(cells=("gru", "wavenet"))
    with pytest.raises(InputError, match="wavenet run in float32 only"):
        shrink_capture(rec, 0.05, out_dir=tmp_path / "a", limits=limits, dtype="float64",
                       config=RecurrentTrainConfig(), progress=False)


def test_export_writes_the_chosen_wavenets_header(  # type: ignore[no-untyped-def]
        searched, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _, result = searched
    assert main(["export", str(out / "model.nam"), "--to", str(out / "again.h")]) == 0
    assert "cpp-wavenet" in capsys.readouterr().out
    assert (out / "again.h").read_text() == Path(result.exports["cpp"]).read_text().replace(
        "namespace model", "namespace again")
    assert (out / "again.snapshot.json").is_file()


def test_exporting_a_wavenet_to_rtneural_is_refused_in_one_line(  # type: ignore[no-untyped-def]
        searched, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _, _ = searched
    code = main(["export", str(out / "model.nam"), "--to", str(out / "x.json")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "WaveNet" in err and len(err.splitlines()) == 1


@pytest.mark.skipif(not os.environ.get("NAM_CORE_DIR"), reason="set NAM_CORE_DIR to a built "
                    "NeuralAmpModelerCore checkout")
def test_nam_core_loads_the_exported_wavenet(searched) -> None:  # type: ignore[no-untyped-def]
    _, out, _, _ = searched
    root = Path(os.environ["NAM_CORE_DIR"])
    tools = [p for p in root.rglob("loadmodel") if p.is_file() and os.access(p, os.X_OK)]
    if not tools:
        pytest.skip(f"no built loadmodel under {root}")
    subprocess.run([str(tools[0]), str(out / "model.nam")], check=True, capture_output=True,
                   timeout=120)
    assert np.isfinite(read_nam(out / "model.nam").model.head_scale)


def test_another_wavenet_recipe_reuses_the_directory_and_retrains_wavenets(searched) -> None:  # type: ignore[no-untyped-def]
    """The WaveNet recipe is not part of the directory's fingerprint (a search widened to
    WaveNets keeps its GRU/LSTMs) but is part of each WaveNet candidate's run: a changed recipe
    trains them again instead of reusing them. (Last in the file: it rewrites the directory.)"""
    rec, out, limits, first = searched
    other = WaveNetTrainConfig(row_samples=1024, max_updates=20, patience=None)
    again = shrink_capture(rec, 0.05, out_dir=out, limits=limits, wavenet_config=other,
                           timing_repeats=2, progress=False, report=False)
    first_esr = {c.label: c.esr for c in first.candidates}
    assert again.candidates
    assert all(c.esr != first_esr.get(c.label) for c in again.candidates)
