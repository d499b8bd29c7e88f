"""The shared model types: architectures, layers as arrays, torch forms, and the model file.

Torch-free: :mod:`.architecture`, :mod:`.layers`, :mod:`.spec` (:class:`ModelSpec`) and
:mod:`.file` (the vashrink model file). Torch forms: :mod:`.mlp`, :mod:`.recurrent`,
:mod:`.activations` (imported on use, so reading a model file does not import torch).
"""

from __future__ import annotations

from .architecture import ACTIVATIONS, CELLS, Architecture, RecurrentArchitecture, lane_score
from .layers import DenseLayer, GruLayer, LstmLayer, RecurrentLayer, architecture_of_layers
from .spec import ModelSpec, prelu_slopes

__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "Architecture",
    "DenseLayer",
    "GruLayer",
    "LstmLayer",
    "ModelSpec",
    "RecurrentArchitecture",
    "RecurrentLayer",
    "architecture_of_layers",
    "lane_score",
    "prelu_slopes",
]
