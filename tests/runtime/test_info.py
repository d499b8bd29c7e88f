"""The engine reports the SIMD target it was compiled for, consistently with the CPU."""

from __future__ import annotations

import json

import pytest

import vashrink
from vashrink.cli import main


def test_lanes_follow_register_width() -> None:
    info = vashrink.system_info()
    assert info.float32_lanes * 32 == info.register_bits or info.isa == "scalar"
    assert info.float64_lanes * 2 == info.float32_lanes or info.isa == "scalar"
    assert vashrink.lanes("float32") == info.float32_lanes
    assert vashrink.lanes("float64") == info.float64_lanes


def test_compiled_isa_is_supported_by_this_cpu() -> None:
    info = vashrink.system_info()
    needed = {"AVX2": "avx2", "AVX": "avx", "SSE4.2": "sse4.2", "SSE2": "sse2"}.get(info.isa)
    if needed is None or not info.cpu_features:
        pytest.skip(f"no feature flag to compare for ISA {info.isa} on {info.machine}")
    assert needed in info.cpu_features
    assert info.optimized, "the engine must be built with optimisation"


def test_unknown_dtype_is_refused() -> None:
    with pytest.raises(vashrink.InputError, match="float32"):
        vashrink.lanes("float16")


def test_cli_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["float32_lanes"] == vashrink.system_info().float32_lanes
    assert data["versions"]["torch"].startswith("2.13.0")


def test_every_public_name_resolves() -> None:
    for name in vashrink.__all__:
        assert getattr(vashrink, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = vashrink.no_such_name  # type: ignore[attr-defined]
