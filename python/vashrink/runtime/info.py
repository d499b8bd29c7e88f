"""Facts about the build and the CPU: SIMD ISA, lane counts and versions (``vashrink info``)."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from .native import engine

__all__ = ["SystemInfo", "lanes", "system_info"]


@dataclass(frozen=True)
class SystemInfo:
    """What the engine was compiled for and what the CPU offers.

    ``isa`` and ``kernels`` name the code path the engine's kernels use (``"avx2-fma"`` or
    ``"portable"``; an AVX-512 build runs the AVX2 kernels), and ``float32_lanes`` /
    ``float64_lanes`` are *those kernels'* lanes: the engine pads layer widths to them, and the
    lane score ``depth * ceil(width / lanes)`` counts them. One source of truth in C++
    (``vec.h``), so the search, ``vashrink info`` and ``Mlp.lanes`` always agree.
    """

    isa: str
    kernels: str
    register_bits: int
    float32_lanes: int
    float64_lanes: int
    fma: bool
    march: str
    optimized: bool
    compiler: str
    cpu_model: str
    cpu_features: tuple[str, ...]
    machine: str
    python: str
    versions: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in ("vashrink", "numpy", "torch", "onnx", "onnxruntime", "optuna"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@cache
def system_info() -> SystemInfo:
    """Return the build and CPU facts (cached: they cannot change while the process runs)."""
    eng = engine()
    build = eng.build_info
    return SystemInfo(
        isa=str(build["isa"]),
        kernels=str(build["kernels"]),
        register_bits=int(build["register_bits"]),
        float32_lanes=int(build["float32_lanes"]),
        float64_lanes=int(build["float64_lanes"]),
        fma=bool(build["fma"]),
        march=str(build["march"]),
        optimized=bool(build["optimized"]),
        compiler=str(build["compiler"]),
        cpu_model=eng.cpu_model_name(),
        cpu_features=tuple(eng.cpu_features().split()),
        machine=platform.machine(),
        python=platform.python_version(),
        versions=_versions(),
    )


def lanes(dtype: str = "float32") -> int:
    """SIMD lanes of the compiled engine for ``dtype`` ("float32" or "float64")."""
    info = system_info()
    if dtype == "float32":
        return info.float32_lanes
    if dtype == "float64":
        return info.float64_lanes
    from ..errors import InputError

    msg = f"unknown dtype {dtype!r}: use 'float32' or 'float64'"
    raise InputError(msg)
