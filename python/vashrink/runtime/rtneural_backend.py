"""RTNeural as a second backend: the user's own RTNeural checkout, wrapped at build time.

With ``RTNEURAL_DIR`` set when the extension is built (see ``third_party/README.md``),
:class:`RTNeuralModel` runs RTNeural's run-time ``RTNeural::Model<float>``, created by RTNeural's
own ``json_parser::parseJson``. It serves two purposes: timing RTNeural on the same weights as
vashrink's engine (it exposes the ``time_samples``/``time_blocks`` runner interface that
:mod:`vashrink.runtime.timing` times), and proving that RTNeural itself loads an exported file and
reproduces its snapshot. Every file is validated before RTNeural parses it, because RTNeural
crashes or silently mis-loads on several bad inputs (``vashrink check`` lists them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineError, InputError, ModelFormatError
from .native import check_counts, engine

__all__ = [
    "RTNeuralModel",
    "available",
    "backend_name",
    "compile_failure_hint",
    "self_test_failure_hint",
    "why_unavailable",
]

_HOW_TO_BUILD = (
    "rebuild vashrink against your RTNeural checkout: "
    "`RTNEURAL_DIR=/path/to/RTNeural pip install .` "
    "(optionally -Ccmake.define.RTNEURAL_BACKEND=eigen|xsimd|stl; see third_party/README.md)"
)


_DENSE_1x1 = re.compile(r"RTNeural::DenseT<\w+, 1, 1>")
_SOFTMAX = re.compile(r"RTNeural::SoftmaxActivationT<\w+, (\d+)>")


def compile_failure_hint(header_text: str, xsimd: bool) -> str:
    """Why a generated RTNeural header fails to compile, when it is a known RTNeural limit."""
    if xsimd and _DENSE_1x1.search(header_text):
        return (
            "RTNeural's xsimd backend cannot compile DenseT<T, 1, 1>, a dense layer with one "
            "input and one output (its partial specialisations for 1 input and for 1 output are "
            "ambiguous); compile with rtneural_backend='eigen' or 'stl'. "
        )
    return ""


def self_test_failure_hint(header_text: str, xsimd: bool) -> str:
    """Why a compiled RTNeural model can fail its self_test, when it is a known RTNeural bug."""
    widths = sorted({int(w) for w in _SOFTMAX.findall(header_text)})
    if xsimd and widths:
        listed = ", ".join(map(str, widths))
        return (
            f"RTNeural's xsimd SoftmaxActivationT (width {listed}) adds exp(0) of the zero "
            "padding lanes to its sum, so its output is wrong unless the width is a multiple of "
            "xsimd's batch (4 floats with SSE, 8 with AVX, 16 with AVX-512); use "
            "rtneural_backend='eigen' or 'stl'"
        )
    return "try another RTNeural backend (rtneural_backend='eigen', 'stl' or 'xsimd')"


def _engine_or_none() -> Any:
    try:
        return engine()
    except EngineError:
        return None


def available() -> bool:
    """True when the extension was built with ``RTNEURAL_DIR`` (RTNeural is wrapped)."""
    eng = _engine_or_none()
    return bool(getattr(eng, "has_rtneural", False))


def backend_name() -> str:
    """RTNeural's math backend in this build: ``eigen``, ``xsimd``, ``stl`` ("" when absent)."""
    eng = _engine_or_none()
    return str(getattr(eng, "rtneural_backend", "")) if available() else ""


def why_unavailable() -> str:
    """Why :class:`RTNeuralModel` cannot be used here and how to fix it ("" when it can)."""
    try:
        eng = engine()
    except EngineError as exc:
        return str(exc)
    if getattr(eng, "has_rtneural", False):
        return ""
    return f"vashrink was built without RTNeural; {_HOW_TO_BUILD}"


def _require() -> Any:
    if not available():
        raise EngineError(why_unavailable())
    return engine()


def _read_model_text(path_or_text: str | Path) -> tuple[str, Path | None]:
    """A ``str`` that is empty or starts with ``{``/``[`` is JSON text; anything else is a path."""
    if isinstance(path_or_text, str) and path_or_text.lstrip()[:1] in ("", "{", "["):
        return path_or_text, None
    path = Path(path_or_text)
    try:
        return path.read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read RTNeural model {path}: {exc}; give the path of a .json model file"
        raise InputError(msg) from None


def _samples(x: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        msg = f"{what} must be an array of numbers ({exc})"
        raise InputError(msg) from None
    if arr.ndim != 1 or arr.size == 0:
        msg = f"{what} must be a non-empty 1-D array of samples, got shape {arr.shape}"
        raise InputError(msg)
    return np.ascontiguousarray(arr)


class RTNeuralModel:
    """RTNeural's run-time ``Model<float>`` for a one-input, one-output model file.

    Create it with :meth:`from_json`. Per-sample calls go through RTNeural's ``forward``, exactly
    as a plugin calls it inside its audio callback; recurrent state persists across calls until
    :meth:`reset`.
    """

    def __init__(self, native: Any, source: str) -> None:
        self._native = native
        self.source = source

    @classmethod
    def from_json(
        cls, path_or_text: str | Path, *, check: Callable[[Path], None] | None = None
    ) -> RTNeuralModel:
        """Load an RTNeural JSON file (a path, or the JSON text itself) with RTNeural's parser.

        Args:
            path_or_text: a ``.json`` path, or a string holding the JSON document.
            check: for files, a checker to run first that raises on a file RTNeural would
                mis-load: pass :func:`vashrink.formats.runners.check_rtneural_file` (the whole
                of ``vashrink check``, snapshot included; ``rtneural_runner`` does). Without it
                only the structural validation in front of RTNeural's parser runs, which does
                not run the snapshot (so cannot see a square kernel in PyTorch layout).

        Raises:
            EngineError: vashrink was built without RTNeural.
            ModelFormatError: the file is malformed or would be mis-loaded by RTNeural.
        """
        eng = _require()
        text, path = _read_model_text(path_or_text)
        source = str(path) if path is not None else "<json text>"
        if check is not None and path is not None:
            check(path)
        try:
            native = eng.RTNeuralModel(text)
        except ValueError as exc:
            msg = f"{source}: {exc}"
            raise ModelFormatError(msg) from None
        return cls(native, source)

    @property
    def backend(self) -> str:
        """``"rtneural-eigen"`` etc.: the name timing reports use for this runtime."""
        return f"rtneural-{backend_name()}"

    @property
    def layer_names(self) -> list[str]:
        """RTNeural's layers as it built them (a dense layer's activation is a layer of its own)."""
        names: list[str] = self._native.layer_names
        return names

    def forward(self, x: float) -> float:
        """One sample through RTNeural's ``Model<float>::forward``."""
        return float(self._native.forward(float(x)))

    def reset(self) -> None:
        """Clear recurrent state (RTNeural's ``Model::reset``)."""
        self._native.reset()

    def process_samples(self, x: Any) -> np.ndarray:
        """Run a 1-D buffer one sample at a time (GIL released); float32 outputs.

        Shape:
            ``x``: ``[n]``; returns ``[n]``.
        """
        out: np.ndarray = self._native.process_samples(_samples(x, "x"))
        return out

    def time_samples(self, buffer: np.ndarray, repeats: int, warmup: int) -> list[float]:
        """Seconds per repeat of a per-sample loop over ``buffer``, after ``warmup`` passes."""
        check_counts(repeats, warmup)
        samples = _samples(buffer, "buffer")
        seconds: list[float] = self._native.time_samples(samples, repeats, warmup)
        return seconds

    def time_blocks(
        self, buffer: np.ndarray, block_size: int, repeats: int, warmup: int
    ) -> list[float]:
        """Seconds per repeat over ``buffer`` split into blocks of ``block_size`` samples.

        RTNeural's run-time model has no block API: each block runs the per-sample loop a
        plugin's ``processBlock`` runs, so this measures the same work as :meth:`time_samples`.
        """
        check_counts(repeats, warmup)
        if block_size < 1:
            msg = f"block_size must be at least 1, got {block_size}"
            raise InputError(msg)
        seconds: list[float] = self._native.time_blocks(
            _samples(buffer, "buffer"), block_size, repeats, warmup
        )
        return seconds
