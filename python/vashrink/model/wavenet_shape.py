"""The WaveNet shapes a capture search trains: one layer array of dilated convolutions.

``WaveNetShape(channels, depth)`` is NAM's WaveNet with one layer array: a rechannel
``1 -> C`` (no bias), ``depth`` layers of kernel ``K`` with dilations ``1, 2, 4, ..., 2^(depth-1)``
(each: dilated conv ``C -> C`` + bias, input mixin ``1 -> C``, Tanh, layer 1x1 ``C -> C`` + bias
into the residual), the head summing every layer's activation, and a head rechannel ``C -> 1``
with a bias. Its receptive field is ``1 + (K - 1)(2^depth - 1)`` samples; the search picks
``depth`` so that it covers the gear's memory (:func:`depth_for_memory`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from .architecture import CELLS

__all__ = [
    "DEFAULT_CELLS", "SEARCH_CELLS", "WAVENET", "WAVENET_CHANNELS", "WAVENET_DEPTH",
    "WaveNetShape",
    "depth_for_memory",
]

#: The family's name in ``--cells`` and in labels.
WAVENET = "wavenet"
#: Every family a capture search can train, and the default of ``--cells``: WaveNets train
#: 5-10x longer than a GRU of the same cost (docs/capture.md, "The WaveNet family"), so they are
#: searched when asked for. Here, not in the search, so the CLI can name them without torch.
SEARCH_CELLS = (*CELLS, WAVENET)
DEFAULT_CELLS = CELLS
#: Channel counts a capture search tries (the issue's 2..16; NAM's nano/feather/lite/standard
#: use 2-16 channels).
WAVENET_CHANNELS = (2, 3, 4, 6, 8, 12, 16)
#: Fewest dilated layers of a searched WaveNet (receptive field 31); more when the memory bound
#: measures a longer memory (or ``--wavenet-depth`` asks). On the panel's diode, 8 channels at
#: depth 4 reached ESR 0.012 in 600 updates and at depth 8 (receptive field 511) 0.018, twice
#: the time (docs/capture.md).
WAVENET_DEPTH = 4
MAX_CHANNELS = 256
MAX_DEPTH = 16
MIN_DEPTH = 3
_PATTERN = re.compile(r"^\s*wavenet\s*-\s*(\d+)\s*-\s*d\s*(\d+)\s*(?:-\s*k\s*(\d+))?\s*$", re.I)


@dataclass(frozen=True, order=True)
class WaveNetShape:
    """``channels`` channels, ``depth`` dilated layers (dilations 1..2^(depth-1)), kernel
    ``kernel_size``; label ``wavenet-8-d10`` (``-k4`` added for a kernel other than 3)."""

    channels: int
    depth: int
    kernel_size: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.channels, int) or not 1 <= self.channels <= MAX_CHANNELS:
            msg = f"WaveNet channels must be 1..{MAX_CHANNELS}, got {self.channels!r}"
            raise InputError(msg)
        if not isinstance(self.depth, int) or not 1 <= self.depth <= MAX_DEPTH:
            msg = f"WaveNet depth (dilated layers) must be 1..{MAX_DEPTH}, got {self.depth!r}"
            raise InputError(msg)
        if not isinstance(self.kernel_size, int) or not 2 <= self.kernel_size <= 8:
            msg = f"WaveNet kernel size must be 2..8, got {self.kernel_size!r}"
            raise InputError(msg)

    @classmethod
    def parse(cls, text: str) -> WaveNetShape:
        """``"wavenet-8-d10"`` (8 channels, 10 layers) or ``"wavenet-8-d10-k4"``."""
        m = _PATTERN.match(text)
        if m is None:
            msg = f"WaveNet shape {text!r} is not wavenet-CHANNELS-dDEPTH, e.g. wavenet-8-d10"
            raise InputError(msg)
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 3))

    @property
    def cell(self) -> str:
        """The family name (what a capture score's ``cell`` holds)."""
        return WAVENET

    @property
    def hidden(self) -> int:
        """The size the search ladders over: the channel count."""
        return self.channels

    @property
    def layers(self) -> int:
        """Layer arrays (one)."""
        return 1

    @property
    def skip(self) -> bool:
        return False

    @property
    def dilations(self) -> tuple[int, ...]:
        return tuple(2**i for i in range(self.depth))

    @property
    def receptive_field(self) -> int:
        """Samples the output depends on, the current one included."""
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    @property
    def n_params(self) -> int:
        """Rechannel, per layer conv + bias + mixin + 1x1 + bias, head + bias."""
        c, k = self.channels, self.kernel_size
        per_layer = c * c * k + c + c + c * c + c
        return c + self.depth * per_layer + c + 1

    @property
    def macs_per_sample(self) -> int:
        c, k = self.channels, self.kernel_size
        return c + self.depth * (c * c * k + c + c * c) + c

    @property
    def label(self) -> str:
        tail = "" if self.kernel_size == 3 else f"-k{self.kernel_size}"
        return f"{WAVENET}-{self.channels}-d{self.depth}{tail}"

    @property
    def key(self) -> str:
        return self.label

    def __str__(self) -> str:
        return self.label


def depth_for_memory(memory_samples: int, kernel_size: int = 3) -> int:
    """The fewest dilated layers (at least :data:`MIN_DEPTH`, at most :data:`MAX_DEPTH`) whose
    receptive field ``1 + (K - 1)(2^depth - 1)`` covers ``memory_samples``."""
    depth = MIN_DEPTH
    while depth < MAX_DEPTH and 1 + (kernel_size - 1) * (2**depth - 1) < memory_samples:
        depth += 1
    return depth
