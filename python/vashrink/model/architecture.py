"""The shapes a search explores: MLP curves and GRU/LSTM models of gear with memory.

An MLP has one input, ``depth`` hidden layers of ``width`` units and one linear output. A
recurrent model has one or more stacked GRU or LSTM layers of ``hidden`` units, a linear
``Dense(hidden, 1)`` head and optionally an input skip (output = net + input), the form AIDA-X
and NAM's LSTM ship (NAM's "lite" preset stacks two LSTMs of 8).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "ACTIVATIONS",
    "AUTO_ACTIVATIONS",
    "CELLS",
    "SEARCH_RNN_LAYERS",
    "Architecture",
    "RecurrentArchitecture",
    "lane_score",
]

#: Hidden-layer activations the engine, the trainer and the exporters all support.
ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "softmax", "prelu", "none")
#: ``--activation auto``: the hidden activations RTNeural runs, each searched on its own.
AUTO_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu")
MAX_DEPTH = 1000
#: Recurrent cells, in torch and RTNeural naming.
CELLS = ("gru", "lstm")
MAX_HIDDEN = 1024
#: Most recurrent layers a model may stack (RTNeural has no limit; plugins ship one or two).
MAX_RNN_LAYERS = 8
#: Stacks a capture search tries and a cost profile times (NAM's "lite" LSTM is 2 layers of 8).
SEARCH_RNN_LAYERS = (1, 2)
_CELL_PATTERN = re.compile(
    r"^\s*(gru|lstm)\s*[-_ ]?\s*(?:(\d+)\s*[xX*]\s*)?(\d+)\s*(\+\s*skip)?\s*$", re.IGNORECASE
)
MAX_WIDTH = 65536
_PATTERN = re.compile(r"^\s*(\d+)\s*[xX*]\s*(\d+)\s*$")


@dataclass(frozen=True, order=True)
class Architecture:
    """``depth`` hidden layers of ``width`` units with ``activation``; linear output layer."""

    depth: int
    width: int
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if not isinstance(self.depth, int) or not 1 <= self.depth <= MAX_DEPTH:
            msg = f"depth must be a whole number from 1 to {MAX_DEPTH}, got {self.depth!r}"
            raise InputError(msg)
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            msg = f"width must be a whole number from 1 to {MAX_WIDTH}, got {self.width!r}"
            raise InputError(msg)
        if self.activation not in ACTIVATIONS:
            msg = f"unknown activation {self.activation!r}: use one of {', '.join(ACTIVATIONS)}"
            raise InputError(msg)

    @classmethod
    def parse(cls, text: str, activation: str = "tanh") -> Architecture:
        """Parse ``"6x44"`` (depth x width)."""
        m = _PATTERN.match(text)
        if m is None:
            msg = f"architecture {text!r} is not DEPTHxWIDTH, e.g. 6x44"
            raise InputError(msg)
        return cls(int(m.group(1)), int(m.group(2)), activation)

    @property
    def n_params(self) -> int:
        """Weights and biases: ``2W + (D-1)(W^2 + W) + W + 1`` (PReLU adds one slope a unit)."""
        w, d = self.width, self.depth
        extra = d * w if self.activation == "prelu" else 0
        return 2 * w + (d - 1) * (w * w + w) + w + 1 + extra

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates for one sample: ``W + (D-1) W^2 + W``."""
        w, d = self.width, self.depth
        return w + (d - 1) * w * w + w

    @property
    def label(self) -> str:
        return f"{self.depth}x{self.width}"

    @property
    def key(self) -> str:
        """``"2x8 tanh"``: what identifies a candidate in a search over several activations."""
        return f"{self.label} {self.activation}"

    def __str__(self) -> str:
        return f"{self.label} {self.activation}"


@dataclass(frozen=True, order=True)
class RecurrentArchitecture:
    """``layers`` stacked ``cell`` layers ("gru" or "lstm") of ``hidden`` units each, a linear
    head, optional skip."""

    cell: str
    hidden: int
    skip: bool = False
    layers: int = 1

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            msg = f"unknown cell {self.cell!r}: use one of {', '.join(CELLS)}"
            raise InputError(msg)
        if not isinstance(self.hidden, int) or not 1 <= self.hidden <= MAX_HIDDEN:
            msg = f"hidden size must be a whole number from 1 to {MAX_HIDDEN}, got {self.hidden!r}"
            raise InputError(msg)
        if not isinstance(self.layers, int) or not 1 <= self.layers <= MAX_RNN_LAYERS:
            msg = (
                f"recurrent layers must be a whole number from 1 to {MAX_RNN_LAYERS}, "
                f"got {self.layers!r}"
            )
            raise InputError(msg)

    @classmethod
    def parse(cls, text: str) -> RecurrentArchitecture:
        """Parse ``"gru-16"``, ``"lstm24"``, ``"gru-8+skip"`` or ``"lstm-2x8"`` (2 layers of 8)."""
        m = _CELL_PATTERN.match(text)
        if m is None:
            msg = (
                f"recurrent architecture {text!r} is not CELL-HIDDEN or CELL-LAYERSxHIDDEN, "
                "e.g. gru-16, lstm-24+skip or lstm-2x8"
            )
            raise InputError(msg)
        layers = int(m.group(2)) if m.group(2) is not None else 1
        return cls(m.group(1).lower(), int(m.group(3)), m.group(4) is not None, layers)

    @property
    def gates(self) -> int:
        return 3 if self.cell == "gru" else 4

    @property
    def n_params(self) -> int:
        """Kernels, biases (torch's two GRU biases, one summed LSTM bias) and the head."""
        g, h = self.gates, self.hidden
        biases = 2 * g * h if self.cell == "gru" else g * h
        kernels = g * h * (1 + h) + (self.layers - 1) * g * h * 2 * h
        return kernels + self.layers * biases + h + 1

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates per sample: ``gates * h * (1 + h)`` in the first cell,
        ``gates * h * 2h`` in each further one, ``h`` in the head."""
        g, h = self.gates, self.hidden
        return g * h * (1 + h) + (self.layers - 1) * g * h * 2 * h + h

    @property
    def label(self) -> str:
        size = f"{self.layers}x{self.hidden}" if self.layers > 1 else str(self.hidden)
        return f"{self.cell}-{size}" + ("+skip" if self.skip else "")

    @property
    def key(self) -> str:
        """What identifies a candidate in a search (same as :attr:`label`)."""
        return self.label

    def __str__(self) -> str:
        return self.label


def lane_score(depth: int, width: int, lanes: int) -> int:
    """The talk's SIMD cost proxy ``depth * ceil(width / lanes)``; lanes are the target CPU's."""
    if lanes < 1:
        msg = f"lanes must be at least 1, got {lanes}"
        raise InputError(msg)
    return depth * math.ceil(width / lanes)
