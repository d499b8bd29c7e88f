"""The self-contained WaveNet C++ header compiles with g++, streams like the float64 reference
within float32 tolerance, allocates nothing while processing and refuses bad weights at load."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vashrink import InputError
from vashrink.formats.cpp_wavenet import wavenet_cpp_header, wavenet_snapshot, wavenet_to_cpp
from vashrink.model.wavenet_presets import random_wavenet
from vashrink.model.wavenet_reference import wavenet_reference
from vashrink.model.wavenet_shape import WaveNetShape
from vashrink.train.wavenet_torch import WaveNetTorch

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="no g++ on PATH")

#: A driver that replaces the global allocator to count allocations, checks load() and
#: self_test(), then streams raw float64 samples from argv[1] into argv[2] from a reset state.
_MAIN = r"""
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>
#include "model.h"

static long allocations = 0;
void* operator new(std::size_t n)
{
    ++allocations;
    if (void* p = std::malloc(n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

int main(int argc, char** argv)
{
    static net::Model model;
    const bool loaded = net::load(model);
    const bool tested = net::self_test(model);
    std::FILE* f = std::fopen(argv[1], "rb");
    std::vector<double> x(std::atoi(argv[3])), y(x.size());
    if (std::fread(x.data(), sizeof(double), x.size(), f) != x.size()) return 3;
    std::fclose(f);
    std::vector<net::sample_t> in(x.begin(), x.end()), out(x.size());
    model.reset();
    const long before = allocations;
    model.process(in.data(), out.data(), static_cast<int>(in.size()));
    const long during = allocations - before;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = out[i];
    f = std::fopen(argv[2], "wb");
    std::fwrite(y.data(), sizeof(double), y.size(), f);
    std::fclose(f);
    std::printf("loaded %d self_test %d allocations %ld\n", loaded, tested, during);
    return 0;
}
"""


def _run(header: str, x: np.ndarray, tmp: Path) -> tuple[np.ndarray, str]:
    (tmp / "model.h").write_text(header)
    (tmp / "main.cpp").write_text(_MAIN)
    exe = tmp / "main"
    subprocess.run([GXX or "g++", "-std=c++17", "-O1", "-Wall", "-Werror", "-o", str(exe),
                    str(tmp / "main.cpp")], check=True, capture_output=True, text=True)
    x.astype(np.float64).tofile(tmp / "x.bin")
    done = subprocess.run([str(exe), str(tmp / "x.bin"), str(tmp / "y.bin"), str(x.size)],
                          check=True, capture_output=True, text=True)
    return np.fromfile(tmp / "y.bin", dtype=np.float64), done.stdout.strip()


def _signal(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.5 * rng.standard_normal(n) * np.linspace(0.1, 1.5, n), -1, 1)


@needs_gxx
@pytest.mark.parametrize(("label", "spec_kw"), [
    ("searched wavenet-4-d6", None),
    ("two arrays, gated, head 1x1, head kernel 2",
     {"arrays": ((3, 2, (1, 2, 4)), (2, 1, (1, 8))), "gated": True, "head1x1": 2,
      "head_kernel": 2}),
    ("LeakyReLU, kernel 4", {"arrays": ((5, 1, (1, 3, 9)),), "kernel_size": 4,
                             "activation": "LeakyReLU"}),
])
def test_header_streams_like_the_float64_reference_without_allocating(
        label: str, spec_kw: dict | None, tmp_path: Path) -> None:
    if spec_kw is None:
        spec = WaveNetTorch(WaveNetShape(4, 6), seed=3).to_spec()
    else:
        spec = random_wavenet(spec_kw.pop("arrays"), seed=2, **spec_kw)
    x = _signal(3 * spec.receptive_field + 500)
    y, out = _run(wavenet_cpp_header(spec, namespace="net"), x, tmp_path)
    assert out == "loaded 1 self_test 1 allocations 0", label
    expected = wavenet_reference(spec, x)
    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(y, expected, rtol=0, atol=2e-5 * max(scale, 1.0))
    assert not np.allclose(y[spec.receptive_field:], 0.0)


@needs_gxx
def test_header_double_matches_the_reference_to_double_precision(tmp_path: Path) -> None:
    spec = random_wavenet(((3, 1, (1, 2, 4, 8)),), seed=4)
    x = _signal(200)
    y, out = _run(wavenet_cpp_header(spec, namespace="net", dtype="double"), x, tmp_path)
    assert out.startswith("loaded 1 self_test 1")
    np.testing.assert_allclose(y, wavenet_reference(spec, x), rtol=0, atol=1e-12)


@needs_gxx
def test_a_non_finite_weight_is_refused_at_load_and_the_model_stays_silent(
        tmp_path: Path) -> None:
    spec = random_wavenet(((2, 1, (1, 2)),), seed=5)
    conv = spec.arrays[0].layers[1].conv_weight.copy()
    conv[0, 0, 0] = np.inf
    layers = list(spec.arrays[0].layers)
    layers[1] = replace(layers[1], conv_weight=conv)
    bad = replace(spec, arrays=(replace(spec.arrays[0], layers=tuple(layers)),))
    header = wavenet_cpp_header(bad, namespace="net", snapshot=wavenet_snapshot(spec))
    y, out = _run(header.replace("inff", "INFINITY"), _signal(50), tmp_path)
    assert out.startswith("loaded 0 self_test 0")
    assert np.all(y == 0.0)


def test_unsupported_models_are_refused_with_a_reason(tmp_path: Path) -> None:
    spec = random_wavenet(((2, 1, (1, 2)),), seed=6)
    conditioned = random_wavenet(((2, 1, (1, 2)),), seed=6, condition=spec)
    with pytest.raises(InputError, match="condition DSP"):
        wavenet_to_cpp(conditioned, tmp_path / "m.h")
    with pytest.raises(InputError, match="dtype"):
        wavenet_to_cpp(spec, tmp_path / "m.h", dtype="half")


def test_to_cpp_writes_the_header_and_its_snapshot(tmp_path: Path) -> None:
    spec = random_wavenet(((2, 1, (1, 2)),), seed=7)
    path = wavenet_to_cpp(spec, tmp_path / "amp-v1.h")
    text = path.read_text()
    assert "namespace amp_v1" in text and "#include <vashrink" not in text
    assert (tmp_path / "amp-v1.snapshot.json").is_file()
