"""``vashrink check``: a strict validator for RTNeural JSON files, ours or anyone's, and for
every other file ``time`` reads (the vashrink model file, torch files: loaded, then checked as
the RTNeural JSON they export to).

AIDA-X files (RTNeural JSON with ``in_skip``, gains and a reference batch) and CoreAudioML
``SimpleRNN`` files are checked too; an AIDA-X file's own batch is run like a snapshot.

Every trap RTNeural falls into silently (or by crashing) is reported as one line naming the
layer and the fix; each layer of a recurrent stack is checked against the one before it, as
RTNeural's parser sizes it. With a snapshot (``<model>.snapshot.json`` beside the file, or given
explicitly) the model is also run by a float64 reference with RTNeural's semantics and compared,
which is the only way to verify the layout of square kernels and recurrent gate order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError
from ..model.file import is_model_file
from .aidax import AIDAX_KEYS, check_batch
from .coreaudioml import is_coreaudioml, parse_coreaudioml
from .reference import reference_forward
from .rtmodel import Finding, RtModel
from .rtneural_json import read_document, rtneural_document, rtneural_to_spec
from .snapshot import read_snapshot, snapshot_path
from .validate import parse_document

__all__ = ["CANNOT_RUN", "CheckReport", "check_rtneural"]


#: The warning for a file RTNeural runs but vashrink cannot (so ``time``/``export`` refuse it).
CANNOT_RUN = "vashrink-cannot-run"

#: Warnings a matching snapshot resolves (what shapes alone cannot show).
_SNAPSHOT_RESOLVES = ("kernel-square", "gate-order")


@dataclass(frozen=True)
class CheckReport:
    """Findings for one file and its verdict, :attr:`status`.

    ``kind``: ``"rtneural"``, ``"aida-x"`` (RTNeural JSON with AIDA-X's keys),
    ``"coreaudioml"``, ``"vashrink model"`` (the project's own model file) or ``"torch"``;
    ``batch_max_abs_error``: how far an AIDA-X file's own ``input_batch``/``output_batch`` is
    from the float64 reference (None without one).

    ``"valid"``: no errors and every layer verified; ``"unverified"``: no errors, but some
    layers are of a type vashrink does not verify (conv1d, conv2d, batchnorm2d), so nothing
    can be said about them; ``"invalid"``: at least one error.
    """

    path: str
    findings: tuple[Finding, ...]
    snapshot: str | None = None
    snapshot_max_abs_error: float | None = None
    n_layers: int | None = None
    n_params: int | None = None
    kind: str = "rtneural"
    batch_max_abs_error: float | None = None

    @property
    def status(self) -> str:
        if self.errors:
            return "invalid"
        return "unverified" if self.unverified else "valid"

    @property
    def valid(self) -> bool:
        """True only when nothing is wrong and everything was verified."""
        return self.status == "valid"

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def unverified(self) -> tuple[Finding, ...]:
        """One finding per layer vashrink could not verify."""
        return tuple(f for f in self.findings if f.code == "type-unverified")

    def first_problem(self) -> Finding | None:
        """The first error, else the first unverified layer (None when valid)."""
        problems = self.errors or self.unverified
        return problems[0] if problems else None

    def lines(self) -> list[str]:
        """One line per finding, then a verdict line."""
        out = [f.line() for f in self.findings]
        if self.status == "unverified":
            where = ", ".join(str(f.layer) for f in self.unverified)
            out.append(
                f"{self.path}: UNVERIFIED (no errors found, but vashrink cannot verify "
                f"layer{'s' * (len(self.unverified) > 1)} {where}: the file is not known to be "
                "valid)"
            )
        elif self.valid:
            detail = f"{self.n_layers} layers, {self.n_params} parameters"
            if self.kind != "rtneural":
                detail = f"{self.kind} file, {detail}"
            if self.snapshot_max_abs_error is not None:
                detail += f", snapshot matches (max |error| {self.snapshot_max_abs_error:.3g})"
            if self.batch_max_abs_error is not None:
                detail += f", output_batch matches (max |error| {self.batch_max_abs_error:.3g})"
            if any(f.code == CANNOT_RUN for f in self.findings):
                detail += "; valid for RTNeural, but vashrink cannot run it (see the warning)"
            out.append(f"{self.path}: valid ({detail})")
        else:
            out.append(
                f"{self.path}: INVALID ({len(self.errors)} errors, {len(self.warnings)} warnings)"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "valid": self.valid,
            "findings": [f.to_dict() for f in self.findings],
            "snapshot": self.snapshot,
            "snapshot_max_abs_error": self.snapshot_max_abs_error,
            "n_layers": self.n_layers,
            "n_params": self.n_params,
            "kind": self.kind,
            "batch_max_abs_error": self.batch_max_abs_error,
        }


def _check_snapshot(model: RtModel, path: Path) -> tuple[list[Finding], float | None]:
    try:
        snap = read_snapshot(path)
    except ModelFormatError as exc:
        return [Finding("error", "snapshot-invalid", str(exc))], None
    out_size = model.layers[-1].out_size if model.layers else model.in_size
    if snap.inputs.shape[1] != model.in_size or snap.outputs.shape[1] != out_size:
        message = (
            f"snapshot {path.name} is for {snap.inputs.shape[1]} "
            f"inputs/{snap.outputs.shape[1]} outputs "
            f"but the model has {model.in_size}/{out_size}; give the snapshot written "
            "with this model"
        )
        return [Finding("error", "snapshot-mismatch", message)], None
    actual = reference_forward(model, snap.inputs)
    err = snap.max_abs_error(actual)
    if snap.matches(actual):
        return [], err
    worst_row = int(abs(actual.reshape(snap.outputs.shape) - snap.outputs).max(axis=1).argmax())
    message = (
        f"outputs differ from snapshot {path.name} (max |error| {err:.3g} at row {worst_row}, "
        f"tolerance {snap.atol:.2g}): a square kernel in PyTorch layout [out][in] or "
        "GRU/LSTM gates "
        "in torch order are the usual causes; transpose/reorder them or re-export"
    )
    return [Finding("error", "snapshot-mismatch", message)], err


def _runnable(model: RtModel) -> list[Finding]:
    """A warning when RTNeural can run the file but vashrink cannot (``time`` and ``export``
    refuse it with this same reason)."""
    try:
        rtneural_to_spec(model)
    except ModelFormatError as exc:
        message = f"vashrink cannot run or export this file (time/export refuse it): {exc}"
        return [Finding("warning", CANNOT_RUN, message)]
    return []


def _parse_loaded(p: Path, kind: str) -> tuple[RtModel | None, list[Finding], str]:
    """A file ``time`` reads that is not RTNeural JSON (a vashrink model file, a torch file):
    loaded as ``time`` loads it, then its RTNeural document is checked (written by vashrink in
    a known layout, so square kernels and gate order need no snapshot)."""
    from .load import load_model

    try:
        loaded = load_model(p)
    except ModelFormatError as exc:
        return None, [Finding("error", "not-loadable", str(exc))], kind
    model, findings = parse_document(rtneural_document(loaded.spec))
    known = [f for f in findings
             if f.code not in _SNAPSHOT_RESOLVES and not f.code.startswith("aidax")]
    return model, known, kind


def _parse(p: Path) -> tuple[RtModel | None, list[Finding], str]:
    if p.suffix.lower() != ".json":
        return _parse_loaded(p, "torch")
    doc, findings = read_document(p)
    if findings:
        return None, findings, "rtneural"
    if is_model_file(doc):
        return _parse_loaded(p, "vashrink model")
    if is_coreaudioml(doc):
        spec, findings = parse_coreaudioml(doc)
        if spec is None:
            return None, findings, "coreaudioml"
        model, more = parse_document(rtneural_document(spec))
        # torch's own layout (no gate order to get wrong), and not an AIDA-X file
        resolved = [
            f for f in more if f.code not in _SNAPSHOT_RESOLVES and not f.code.startswith("aidax")
        ]
        return model, findings + resolved, "coreaudioml"
    model, findings = parse_document(doc)
    aidax = isinstance(doc, dict) and any(key in doc for key in AIDAX_KEYS)
    return model, findings, "aida-x" if aidax else "rtneural"


def check_rtneural(path: str | Path, snapshot: str | Path | None = None) -> CheckReport:
    """Validate an RTNeural JSON file (AIDA-X's and CoreAudioML's too); never raises for a bad file.

    Args:
        path: the model file.
        snapshot: a snapshot to run; default ``<model>.snapshot.json`` when it exists. An
            AIDA-X file's ``input_batch``/``output_batch`` is run as well.
    """
    p = Path(path)
    model, findings, kind = _parse(p)
    if model is not None and not model.unverified and not any(
        f.severity == "error" for f in findings
    ):
        findings = findings + _runnable(model)
    batch_err: float | None = None
    if model is not None:
        batch_findings, batch_err = check_batch(model)
        if batch_err is not None and not batch_findings:  # a matching batch shows the layout
            findings = [f for f in findings if f.code not in _SNAPSHOT_RESOLVES]
        findings = findings + batch_findings
    snap_path = Path(snapshot) if snapshot is not None else snapshot_path(p)
    use_snapshot = snapshot is not None or snap_path.is_file()
    err: float | None = None
    if model is not None and use_snapshot and model.unverified:
        message = (
            f"snapshot {snap_path.name} not run: vashrink cannot run the layers it does not "
            "verify; run it with RTNeural itself"
        )
        findings = [*findings, Finding("warning", "snapshot-not-run", message)]
    elif model is not None and use_snapshot:
        snap_findings, err = _check_snapshot(model, snap_path)
        if not snap_findings:
            findings = [f for f in findings if f.code not in _SNAPSHOT_RESOLVES]
        findings = findings + snap_findings
    n_params = sum(int(a.size) for layer in model.layers for a in layer.weights) if model else None
    return CheckReport(
        str(p),
        tuple(findings),
        str(snap_path) if use_snapshot else None,
        err,
        len(model.layers) if model else None,
        n_params,
        kind,
        batch_err,
    )
