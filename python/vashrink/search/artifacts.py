"""Trained models and the machine that timed them, stored in the study's own database.

Every worker writes the model file of the candidate it trained into its trial (user attribute
:data:`MODEL_ATTR`, the model file's JSON text: a few kB for the nets ``shrink`` explores), and
the machine that measured its ns/sample (:data:`MACHINE_ATTR`: CPU model, ISA, lanes). So any
machine that reaches the database can export the winner (``vashrink export --storage URL
--study NAME``) or write the result, without a shared file system.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import StudyError
from ..model.file import ModelFile, read_model_file
from ..runtime.info import system_info
from .score import CandidateScore, choose
from .study import SCORE_ATTR

__all__ = [
    "MACHINE_ATTR",
    "MODEL_ATTR",
    "RESULT_ATTR",
    "load_stored_winner",
    "machine_label",
    "materialize_models",
    "model_text",
    "stored_trials",
    "this_machine",
    "winner_model",
]

MODEL_ATTR = "model_file"
MACHINE_ATTR = "machine"
#: Study attribute with the eps and budget of the run (so export can apply the choice rule).
RESULT_ATTR = "vashrink_run"


def this_machine() -> dict[str, Any]:
    """What a timing depends on: CPU model, the engine's ISA and lanes, architecture."""
    info = system_info()
    return {
        "cpu_model": info.cpu_model,
        "isa": info.isa,
        "kernels": info.kernels,
        "float32_lanes": info.float32_lanes,
        "float64_lanes": info.float64_lanes,
        "machine": info.machine,
    }


def machine_label(machine: dict[str, Any]) -> str:
    """``"Intel Xeon ... (avx2-fma, 8 float32 lanes)"``."""
    return (f"{machine.get('cpu_model', '?')} ({machine.get('isa', '?')}, "
            f"{machine.get('float32_lanes', '?')} float32 lanes)")


def stored_trials(study: Any) -> list[tuple[CandidateScore, dict[str, Any], str | None]]:
    """``(score, machine, model JSON)`` of every completed trial, first per architecture."""
    from optuna.trial import TrialState

    out: dict[str, tuple[CandidateScore, dict[str, Any], str | None]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        data = t.user_attrs.get(SCORE_ATTR)
        if not isinstance(data, dict):
            continue
        score = CandidateScore.from_dict(data)
        machine = t.user_attrs.get(MACHINE_ATTR)
        text = t.user_attrs.get(MODEL_ATTR)
        out.setdefault(score.key, (score, machine if isinstance(machine, dict) else {},
                                   text if isinstance(text, str) else None))
    return list(out.values())


def materialize_models(study: Any, out: Path) -> int:
    """Write every stored model that ``out`` lacks to its ``model_path``; returns how many."""
    written = 0
    for score, _, text in stored_trials(study):
        path = out / score.model_path
        if text is None or path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        written += 1
    return written


def winner_model(study: Any, tmp_dir: Path) -> tuple[ModelFile, CandidateScore]:
    """The winner of a stored study by the choice rule (eps and budget stored with the study)
    and its model, read from the database.

    Raises:
        StudyError: the study has no finished trial with a stored model, or no run settings.
    """
    run = study.user_attrs.get(RESULT_ATTR)
    if not isinstance(run, dict) or "eps" not in run:
        msg = "the study has no vashrink run settings (not written by shrink --storage)"
        raise StudyError(msg)
    stored = [(s, text) for s, _, text in stored_trials(study) if text is not None]
    if not stored:
        msg = "the study holds no trained model yet; wait for its workers or check --study"
        raise StudyError(msg)
    rescored = run.get("costs")
    scores = [s for s, _ in stored]
    if isinstance(rescored, dict):  # costs the result was chosen by (cost profile, re-timed)
        from dataclasses import replace

        scores = [replace(s, ns_per_sample=float(rescored.get(s.key, s.ns_per_sample)))
                  for s in scores]
    choice = choose(scores, float(run["eps"]), budget_ns=run.get("budget_ns"),
                    budget_core_percent=run.get("budget_core_percent"))
    if choice.winner is None:
        msg = "no stored model is finite; nothing to export"
        raise StudyError(msg)
    text = next(t for s, t in stored if s.key == choice.winner.key)
    path = tmp_dir / "winner.vashrink.json"
    path.write_text(text)
    try:
        return read_model_file(path), choice.winner
    except Exception as exc:
        msg = f"the stored model of {choice.winner.label} is unreadable ({exc})"
        raise StudyError(msg) from None


def model_text(path: Path) -> str:
    """A stored model file's JSON text, checked to parse (so a truncated file is never stored)."""
    text = path.read_text()
    json.loads(text)
    return text


def load_stored_winner(url: str, study_name: str) -> tuple[ModelFile, CandidateScore]:
    """The winner of ``study_name`` at ``url`` and its model (for ``export --storage``).

    Raises:
        StudyError: unreachable database, no such study, not a vashrink shrink study, or no
            stored model yet.
    """
    import tempfile

    from .storage import open_shared_study

    shared = open_shared_study(url, study_name, "*", create=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return winner_model(shared.study, Path(tmp))
    finally:
        shared.close()
