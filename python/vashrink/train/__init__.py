"""train

Recurrent (GRU/LSTM) training on recordings: :func:`train_recurrent` with a
:class:`RecurrentTrainConfig`, returning :class:`TrainedRecurrent` results; WaveNets:
:func:`train_wavenet` with a :class:`WaveNetTrainConfig`, returning :class:`TrainedWaveNet`.
Names are imported on first use (PEP 562), so importing this package (or its torch-free
config) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .rnn_config import RecurrentTrainConfig
    from .rnn_fit import stream_errors, train_recurrent
    from .rnn_result import RecurrentTrainingInterrupted, TrainedRecurrent
    from .wavenet_config import TrainedWaveNet, WaveNetTrainConfig
    from .wavenet_fit import train_wavenet

_LAZY = {
    "RecurrentTrainConfig": "rnn_config",
    "RecurrentTrainingInterrupted": "rnn_result",
    "TrainedRecurrent": "rnn_result",
    "stream_errors": "rnn_fit",
    "train_recurrent": "rnn_fit",
    "TrainedWaveNet": "wavenet_config",
    "WaveNetTrainConfig": "wavenet_config",
    "train_wavenet": "wavenet_fit",
}

__all__ = [
    "RecurrentTrainConfig",
    "RecurrentTrainingInterrupted",
    "TrainedRecurrent",
    "TrainedWaveNet",
    "WaveNetTrainConfig",
    "stream_errors",
    "train_recurrent",
    "train_wavenet",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
