"""Model families the engine runs, in one registry (as NeuralAmpModelerCore's
``NAM/registry.h``): each family says which specs it takes and how to load one into a
:class:`~vashrink.runtime.timing.Runner`, so ``time`` and ``render`` look a spec up here instead
of switching over kinds.

Built in: ``mlp`` and ``gru/lstm`` (:class:`~vashrink.model.spec.ModelSpec`) and ``wavenet``
(:class:`~vashrink.model.wavenet.WaveNetSpec`). :func:`register` adds another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ModelFormatError
from ..model.spec import ModelSpec
from ..model.wavenet import WaveNetSpec

__all__ = ["Family", "family_of", "register", "runner_of"]


@dataclass(frozen=True)
class Family:
    """``accepts(spec)``: whether this family runs ``spec``; ``load(spec, dtype)``: its runner."""

    name: str
    accepts: Callable[[Any], bool]
    load: Callable[[Any, str], Any]


_FAMILIES: list[Family] = []


def register(family: Family) -> None:
    """Add ``family`` (a later registration with the same name replaces the earlier one)."""
    _FAMILIES[:] = [f for f in _FAMILIES if f.name != family.name]
    _FAMILIES.append(family)


def family_of(spec: Any) -> Family:
    """The family that runs ``spec``.

    Raises:
        ModelFormatError: no registered family takes it.
    """
    for fam in _FAMILIES:
        if fam.accepts(spec):
            return fam
    names = ", ".join(f.name for f in _FAMILIES)
    msg = f"no engine family runs a {type(spec).__name__} (families: {names})"
    raise ModelFormatError(msg)


def runner_of(spec: Any, dtype: str = "float32") -> Any:
    """``spec`` loaded into the engine by its family."""
    return family_of(spec).load(spec, dtype)


def _mlp(spec: ModelSpec, dtype: str) -> Any:
    from .engine import Mlp

    return Mlp.from_layers(spec.dense, dtype)


def _recurrent(spec: ModelSpec, dtype: str) -> Any:
    from .recurrent import RecurrentNet

    return RecurrentNet.from_spec(spec, dtype)


def _wavenet(spec: WaveNetSpec, dtype: str) -> Any:
    from .wavenet import WaveNet

    return WaveNet.from_spec(spec, dtype)


register(Family("mlp", lambda s: isinstance(s, ModelSpec) and not s.is_recurrent, _mlp))
register(Family("gru/lstm", lambda s: isinstance(s, ModelSpec) and s.is_recurrent, _recurrent))
register(Family("wavenet", lambda s: isinstance(s, WaveNetSpec), _wavenet))
