"""The summary's advice when eps is not met."""

from __future__ import annotations

from types import SimpleNamespace

from candidates import candidate as cand

from vashrink.search.notes import summary_notes
from vashrink.target.samples import as_target


def _run(eps: float, dtype: str, activations: tuple[str, ...]) -> SimpleNamespace:
    return SimpleNamespace(tgt=as_target("tanh(2*x)"), a=-1.0, b=1.0, eps=eps, lanes=8,
                           dtype=dtype, activations=activations)


def test_a_miss_names_what_would_help() -> None:
    cands = [cand(1, 4, 3e-7, 20.0), cand(2, 8, 2e-7, 40.0)]
    notes = summary_notes(_run(1e-7, "float32", ("tanh",)), cands, (), cands[1], False, None)
    advice = next(n for n in notes if n.startswith("eps was not met"))
    assert "--dtype auto" in advice and "--activation auto" in advice
    assert "above 2 / 8" in advice


def test_no_advice_when_eps_is_met_or_already_tried() -> None:
    cands = [cand(1, 4, 3e-7, 20.0)]
    met = summary_notes(_run(1e-6, "auto", ("tanh",)), cands, (), cands[0], True, None)
    assert not any(n.startswith("eps was not met") for n in met)
    missed = summary_notes(_run(1e-7, "auto", ("tanh", "relu")), cands, (), cands[0], False, None)
    advice = next(n for n in missed if n.startswith("eps was not met"))
    assert "--dtype" not in advice and "--activation" not in advice


def test_the_band_is_said_to_be_for_the_first_activation_in_an_auto_search() -> None:
    from vashrink.model.architecture import Architecture

    cands = [cand(1, 4, 3e-7, 20.0)]
    band = (Architecture(6, 40),)
    notes = summary_notes(_run(1e-6, "auto", ("tanh", "relu")), cands, band, cands[0], True, None)
    assert any("band is computed for tanh" in n for n in notes)
    single = summary_notes(_run(1e-6, "auto", ("tanh",)), cands, band, cands[0], True, None)
    assert not any("band is computed for" in n for n in single)
