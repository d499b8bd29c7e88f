"""A parsed RTNeural file as arrays, and the findings of its validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "IMPORTABLE",
    "MAX_PARAMS",
    "MAX_UNITS",
    "RT_ACTIVATIONS",
    "SUPPORTED",
    "UNVERIFIED",
    "AidaxFields",
    "Collector",
    "Finding",
    "RtLayer",
    "RtModel",
]

#: Activations RTNeural's ``createActivation`` knows; ``""`` is none.
RT_ACTIVATIONS = ("", "tanh", "relu", "sigmoid", "softmax", "elu")
#: Largest layer vashrink accepts (same as the widest Architecture).
MAX_UNITS = 65536
#: Largest total parameter count vashrink accepts from a file.
MAX_PARAMS = 50_000_000
#: Layer types vashrink verifies completely.
SUPPORTED = ("dense", "time-distributed-dense", "gru", "lstm", "prelu", "batchnorm", "activation")
#: Layer types RTNeural loads that vashrink does not verify (a file holding one is "unverified").
UNVERIFIED = ("conv1d", "conv2d", "batchnorm2d")
#: What :func:`~vashrink.formats.from_rtneural` can import, for messages.
IMPORTABLE = (
    "vashrink imports dense (or time-distributed-dense), activation, prelu and batchnorm "
    "layers after up to 8 leading gru/lstm layers (each fed the previous one's hidden state)"
)


@dataclass(frozen=True)
class Finding:
    """One problem: ``layer`` is the index in ``layers`` (None for the whole file)."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    layer: int | None = None

    def line(self) -> str:
        where = f"layer {self.layer}: " if self.layer is not None else ""
        return f"{self.severity}: {where}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "layer": self.layer,
            "message": self.message,
        }


@dataclass(frozen=True)
class RtLayer:
    """A parsed layer in RTNeural (Keras) layout, float64.

    ``weights``: dense ``(kernel[in][out], bias[out])``; gru ``(W[in][3h], U[h][3h], b[2][3h])``
    gates z, r, h; lstm ``(W[in][4h], U[h][4h], b[4h])`` gates i, f, c, o; prelu ``(alpha[n],)``;
    batchnorm ``(gamma[n], beta[n], mean[n], var[n] + epsilon)``; activation ``()``.
    """

    kind: str
    in_size: int
    out_size: int
    activation: str
    weights: tuple[np.ndarray, ...] = field(default=())


@dataclass(frozen=True)
class AidaxFields:
    """AIDA-X's keys beside the layers (``aidax.py``): what its plugin applies around the net.

    AIDA-X computes ``y = out_gain * (net(in_gain * x) [+ in_gain * x when in_skip])`` with the
    gains given in dB. ``input_batch``/``output_batch`` are the trainer's reference: 2,048
    consecutive samples of the audio input (other inputs 0) and the net's output with the skip
    but without the gains, from a zero state.
    """

    in_gain_db: float = 0.0
    out_gain_db: float = 0.0
    metadata: dict[str, Any] | None = None
    input_batch: np.ndarray | None = None
    output_batch: np.ndarray | None = None


@dataclass(frozen=True)
class RtModel:
    """The verified layers; ``unverified`` lists ``(index in the file, type)`` of the layers of a
    type vashrink does not verify, which are not in ``layers``: such a model cannot be run.

    ``skip``: the file's ``in_skip`` (output = net + input); ``aidax``: AIDA-X's other keys,
    None when the file has none of them.
    """

    in_size: int
    layers: tuple[RtLayer, ...]
    unverified: tuple[tuple[int, str], ...] = ()
    skip: bool = False
    aidax: AidaxFields | None = None


class Collector:
    """Gathers the findings of one parse."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.unverified: list[tuple[int, str]] = []

    def error(self, code: str, message: str, layer: int | None = None) -> None:
        self.findings.append(Finding("error", code, message, layer))

    def warning(self, code: str, message: str, layer: int | None = None) -> None:
        self.findings.append(Finding("warning", code, message, layer))
