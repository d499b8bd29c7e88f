"""Generated C++ headers compile with the system compiler and reproduce the snapshot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vashrink import InputError
from vashrink.cli import main
from vashrink.formats import (
    RecurrentModel,
    compiled_runner,
    cpp_header,
    make_snapshot,
    read_snapshot,
    to_cpp,
)
from vashrink.formats.cpp import namespace_for
from vashrink.model.recurrent import StackedRnn
from vashrink.model.spec import spec_of, spec_to_torch
from vashrink.runtime.compiled import build_harness, include_dir, rtneural_flags

ROOT = Path(__file__).resolve().parents[2]
GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="no g++ on PATH")
needs_engine_headers = pytest.mark.skipif(
    not (ROOT / "cpp" / "include" / "vashrink" / "model_t.h").is_file(),
    reason="engine headers (model_t.h) absent",
)
RTNEURAL_DIR = os.environ.get("RTNEURAL_DIR", "")
needs_rtneural = pytest.mark.skipif(
    not (Path(RTNEURAL_DIR) / "RTNeural" / "RTNeural.h").is_file() if RTNEURAL_DIR else True,
    reason="set RTNEURAL_DIR to an RTNeural checkout to compile RTNeural headers",
)


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VASHRINK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(1, 12),
        nn.Tanh(),
        nn.Linear(12, 12),
        nn.PReLU(12),
        nn.Linear(12, 9),
        nn.Sigmoid(),
        nn.Linear(9, 9),
        nn.ELU(),
        nn.Linear(9, 1),
    )
    with torch.no_grad():
        model[3].weight.uniform_(-0.5, 0.5)
    return model.eval()


def _floats(header: str, name: str) -> np.ndarray:
    m = re.search(rf"{name}\[\d+\] = \{{(.*?)\}};", header, re.S)
    assert m is not None, name
    return np.array([float(v.rstrip("f")) for v in m.group(1).replace("\n", " ").split(",")])


def test_engine_header_embeds_exact_float32_weights_in_torch_layout() -> None:
    model = _mlp()
    header = cpp_header(model, namespace="amp")
    assert "namespace amp" in header and "#include <vashrink/model_t.h>" in header
    assert "vashrink::DenseT<float, 1, 12, vashrink::Activation::tanh>" in header
    assert "vashrink::DenseT<float, 12, 12, vashrink::Activation::prelu>" in header
    assert "vashrink::DenseT<float, 9, 1, vashrink::Activation::none>" in header
    w2 = model[2].weight.detach().numpy()
    np.testing.assert_array_equal(
        _floats(header, "layer1_weight").astype(np.float32), w2.reshape(-1)
    )
    np.testing.assert_array_equal(
        _floats(header, "layer1_slopes").astype(np.float32), model[3].weight.detach().numpy()
    )
    assert "model.layer<1>().load(layer1_weight, layer1_bias, layer1_slopes)" in header


def test_rtneural_header_declares_modelt_with_every_layer() -> None:
    torch.manual_seed(0)
    model = RecurrentModel(
        nn.LSTM(1, 6), nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 1))
    )
    header = cpp_header(model, runtime="rtneural", dtype="double", namespace="amp")
    assert (
        "using ModelT = RTNeural::ModelT<double, 1, 1,\n    RTNeural::LSTMLayerT<double, 1, 6>,\n"
        "    RTNeural::DenseT<double, 6, 4>,\n    RTNeural::ReLuActivationT<double, 4>,\n"
        "    RTNeural::DenseT<double, 4, 1>>;"
    ) in header
    assert "inline void load(ModelT& model)" in header and "NaN" not in header


def _recurrent(cell: str = "gru", skip: bool = False, seed: int = 5) -> RecurrentModel:
    torch.manual_seed(seed)
    rnn = nn.GRU(1, 6) if cell == "gru" else nn.LSTM(1, 6)
    head = nn.Sequential(nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 1))
    return RecurrentModel(rnn, head, skip=skip).eval()


def test_engine_header_declares_the_recurrent_model_in_torch_layout() -> None:
    gru = cpp_header(_recurrent("gru"), namespace="amp")
    assert (
        "using Model = vashrink::ModelT<float,\n    vashrink::GruLayerT<float, 1, 6>,\n"
        "    vashrink::DenseT<float, 6, 3, vashrink::Activation::tanh>,\n"
        "    vashrink::DenseT<float, 3, 1, vashrink::Activation::none>>;"
    ) in gru
    assert (
        "model.layer<0>().load(rnn_weight_ih, rnn_weight_hh, rnn_bias_ih, rnn_bias_hh)\n"
        "        && model.layer<1>().load(layer1_weight, layer1_bias)\n"
        "        && model.layer<2>().load(layer2_weight, layer2_bias);"
    ) in gru
    model = _recurrent("gru")
    np.testing.assert_array_equal(
        _floats(gru, "rnn_weight_hh").astype(np.float32),
        model.rnn.weight_hh_l0.detach().numpy().reshape(-1),
    )
    lstm = cpp_header(_recurrent("lstm", skip=True), namespace="amp", dtype="double")
    assert "vashrink::SkipModelT<double,\n    vashrink::LstmLayerT<double, 1, 6>," in lstm
    assert "load(rnn_weight_ih, rnn_weight_hh, rnn_bias)" in lstm
    rnn = _recurrent("lstm", skip=True).rnn
    np.testing.assert_allclose(
        _floats(lstm, "rnn_bias"),
        rnn.bias_ih_l0.detach().double().numpy() + rnn.bias_hh_l0.detach().double().numpy(),
        rtol=1e-15,
    )
    assert "The input is added to the output" in lstm
    with pytest.raises(InputError, match="unknown runtime"):
        cpp_header(_mlp(), runtime="onnx")


def _stack(mixed: bool = False, skip: bool = False, seed: int = 6) -> RecurrentModel:
    """Two recurrent layers: nn.GRU(1, 8, num_layers=2), or GRU-8 then LSTM-16 (StackedRnn)."""
    torch.manual_seed(seed)
    rnn: nn.Module = (
        StackedRnn([nn.GRU(1, 8, batch_first=True), nn.LSTM(8, 16, batch_first=True)])
        if mixed
        else nn.GRU(1, 8, num_layers=2, batch_first=True)
    )
    hidden = 16 if mixed else 8
    head = nn.Sequential(nn.Linear(hidden, 3), nn.Tanh(), nn.Linear(3, 1))
    return RecurrentModel(rnn, head, skip=skip).eval()


def test_engine_header_declares_every_layer_of_a_stack() -> None:
    uniform = cpp_header(_stack(), namespace="amp")
    assert "// Model: 1 -> 8 gru -> 8 gru -> 3 tanh -> 1\n" in uniform
    assert (
        "using Model = vashrink::ModelT<float,\n    vashrink::GruLayerT<float, 1, 8>,\n"
        "    vashrink::GruLayerT<float, 8, 8>,\n"
        "    vashrink::DenseT<float, 8, 3, vashrink::Activation::tanh>,"
    ) in uniform
    assert (
        "model.layer<0>().load(rnn0_weight_ih, rnn0_weight_hh, rnn0_bias_ih, rnn0_bias_hh)\n"
        "        && model.layer<1>().load(rnn1_weight_ih, rnn1_weight_hh, rnn1_bias_ih, "
        "rnn1_bias_hh)\n"
        "        && model.layer<2>().load(layer2_weight, layer2_bias)\n"
        "        && model.layer<3>().load(layer3_weight, layer3_bias);"
    ) in uniform
    assert "rnn_weight_ih" not in uniform and "every GRU/LSTM layer's state" in uniform
    gru = _stack().rnn
    np.testing.assert_array_equal(
        _floats(uniform, "rnn1_weight_hh").astype(np.float32),
        gru.weight_hh_l1.detach().numpy().reshape(-1),
    )
    mixed = cpp_header(_stack(mixed=True, skip=True), namespace="amp", dtype="double")
    assert "// Model: 1 -> 8 gru -> 16 lstm -> 3 tanh -> 1\n" in mixed
    assert (
        "vashrink::SkipModelT<double,\n    vashrink::GruLayerT<double, 1, 8>,\n"
        "    vashrink::LstmLayerT<double, 8, 16>,\n"
    ) in mixed
    assert "model.layer<1>().load(rnn1_weight_ih, rnn1_weight_hh, rnn1_bias)" in mixed
    rt = cpp_header(_stack(mixed=True), runtime="rtneural", namespace="amp")
    assert (
        "RTNeural::ModelT<float, 1, 1,\n    RTNeural::GRULayerT<float, 1, 8>,\n"
        "    RTNeural::LSTMLayerT<float, 8, 16>,\n    RTNeural::DenseT<float, 16, 3>,"
    ) in rt
    assert "// Model: 1 -> 8 gru -> 16 lstm -> 3 tanh -> 1\n" in rt


@pytest.mark.slow
@needs_gxx
@needs_engine_headers
@pytest.mark.parametrize(("mixed", "skip"), [(False, False), (True, True)])
def test_stacked_engine_header_compiles_and_streams_like_float64_torch(
    mixed: bool, skip: bool
) -> None:
    model = _stack(mixed, skip)
    runner = compiled_runner(model)  # its self_test ran the snapshot from a reset state
    assert runner.self_test_passed
    x = np.random.default_rng(3).uniform(-1, 1, 4_800)
    reference = spec_to_torch(spec_of(model), torch.float64)
    with torch.no_grad():
        y_ref = reference(torch.as_tensor(x).reshape(1, -1, 1)).numpy().reshape(-1)
    runner.reset()
    y = runner.process(x.reshape(-1, 1)).reshape(-1)
    assert np.max(np.abs(y - y_ref)) <= 2e-5 * max(1.0, float(np.max(np.abs(y_ref))))
    runner.reset()
    np.testing.assert_array_equal(runner.process(x.reshape(-1, 1)).reshape(-1), y)


def test_rtneural_header_wraps_a_skip_model_to_add_the_input() -> None:
    plain = cpp_header(_recurrent("gru"), runtime="rtneural", namespace="amp")
    assert "using Model = ModelT;" in plain and "struct Model" not in plain
    skip = cpp_header(_recurrent("gru", skip=True), runtime="rtneural", namespace="amp")
    assert "struct Model\n{\n    ModelT net;" in skip
    assert "output[0] = net.forward(input) + input[0];" in skip
    assert "inline void load(Model& model) { load(model.net); }" in skip


@pytest.mark.slow
@needs_gxx
@needs_engine_headers
@pytest.mark.parametrize(("cell", "skip"), [("gru", False), ("gru", True), ("lstm", True)])
def test_recurrent_engine_header_compiles_and_streams_the_snapshot(cell: str, skip: bool) -> None:
    model = _recurrent(cell, skip)
    runner = compiled_runner(model)  # its self_test ran the snapshot from a reset state
    assert runner.self_test_passed and runner.backend == "compiled-vashrink"
    snap = make_snapshot(model)
    runner.reset()
    first = runner.process(snap.inputs)
    assert snap.matches(first), snap.max_abs_error(first)
    assert not np.array_equal(runner.process(snap.inputs), first)  # the state carried over
    runner.reset()
    np.testing.assert_array_equal(runner.process(snap.inputs), first)
    per_sample = runner.time_samples(np.linspace(-1, 1, 4800), repeats=2, warmup=1)
    assert len(per_sample) == 2 and all(s > 0 for s in per_sample)


@pytest.mark.slow
@needs_gxx
@needs_rtneural
def test_rtneural_skip_header_compiles_and_reproduces_the_snapshot() -> None:
    model = _recurrent("lstm", skip=True)
    runner = compiled_runner(model, runtime="rtneural")
    assert runner.self_test_passed
    snap = make_snapshot(model)
    runner.reset()
    out = runner.process(snap.inputs)
    assert snap.matches(out), snap.max_abs_error(out)


def test_bad_header_options_are_refused_with_a_fix() -> None:
    with pytest.raises(InputError, match="'float' or 'double'"):
        cpp_header(_mlp(), dtype="half")
    with pytest.raises(InputError, match=r"not a C\+\+ identifier; use letters, digits and _"):
        cpp_header(_mlp(), namespace="2amp")
    assert namespace_for("2-amp v2.h") == "model_2_amp_v2"


@pytest.mark.slow
@needs_gxx
@needs_engine_headers
def test_engine_header_compiles_and_reproduces_the_snapshot(tmp_path: Path) -> None:
    model = _mlp(3)
    path = to_cpp(model, tmp_path / "amp model.h")
    assert "namespace amp_model" in path.read_text()
    snap = read_snapshot(tmp_path / "amp model.snapshot.json")
    program = build_harness(
        path.read_text().replace("amp_model", "vashrink_compiled"),
        flags=("-O2", "-std=c++17"),
        executable=True,
    )
    stdin = f"{len(snap.inputs)}\n" + "\n".join(f"{v:.17g}" for v in snap.inputs.reshape(-1))
    run = subprocess.run(
        [str(program)], input=stdin, capture_output=True, text=True, timeout=60, check=True
    )
    lines = run.stdout.split()
    assert lines[:2] == ["self_test", "1"]
    out = np.array([float(v) for v in lines[2:]])
    assert snap.matches(out), snap.max_abs_error(out)


@pytest.mark.slow
@needs_gxx
@needs_engine_headers
def test_compiled_runner_times_the_generated_code_and_caches_the_build() -> None:
    model = _mlp(4)
    runner = compiled_runner(model)
    assert runner.self_test_passed and runner.backend == "compiled-vashrink"
    snap = make_snapshot(model)
    assert snap.matches(runner.process(snap.inputs))
    buf = np.linspace(-1, 1, 4800)
    per_sample = runner.time_samples(buf, repeats=3, warmup=1)
    per_block = runner.time_blocks(buf, block_size=64, repeats=3, warmup=1)
    assert len(per_sample) == 3 and len(per_block) == 3
    assert all(0 < s < 10 for s in per_sample + per_block)
    start = time.perf_counter()
    again = compiled_runner(model)
    assert again.path == runner.path and time.perf_counter() - start < 5.0  # no recompilation
    with pytest.raises(InputError, match="block_size"):
        runner.time_blocks(buf, block_size=0, repeats=1, warmup=0)


@needs_gxx
@needs_engine_headers
def test_export_cli_writes_a_header(tmp_path: Path) -> None:
    torch.save(_mlp(), tmp_path / "m.pt")
    assert (
        main(["export", str(tmp_path / "m.pt"), "--to", str(tmp_path / "m.h"), "--dtype", "double"])
        == 0
    )
    assert "vashrink::ModelT<double," in (tmp_path / "m.h").read_text()
    assert include_dir().is_dir()


_RT_PROGRAM = """
#include "dense.h"
#include "gru.h"
#include "lstm.h"
#include "stack.h"
#include <cstdio>
#include <fstream>

template <typename Model, typename Load, typename SelfTest>
int run(const char* path, Load load, SelfTest self_test, int in_size) {
    static Model model;
    load(model);
    std::printf("self_test %d\\n", self_test(model) ? 1 : 0);
    model.reset();
    std::ifstream f(path);
    long n = 0;
    f >> n;
    alignas(32) float x[8];
    for (long r = 0; r < n; ++r) {
        for (int i = 0; i < in_size; ++i) { double v; f >> v; x[i] = (float) v; }
        model.forward(x);
        std::printf("%.9g\\n", (double) model.getOutputs()[0]);
    }
    return 0;
}

// The same file through RTNeural's run-time parser (json_parser::parseJson -> Model<float>).
int run_runtime(const char* json_text, const char* path, int in_size) {
    auto model = RTNeural::json_parser::parseJson<float>(nlohmann::json::parse(json_text));
    std::printf("runtime %d\\n", model ? 1 : 0);
    model->reset();
    std::ifstream f(path);
    long n = 0;
    f >> n;
    alignas(32) float x[8];
    for (long r = 0; r < n; ++r) {
        for (int i = 0; i < in_size; ++i) { double v; f >> v; x[i] = (float) v; }
        std::printf("%.9g\\n", (double) model->forward(x));
    }
    return 0;
}

int main(int, char** argv) {
    run<dense::ModelT>(argv[1], [](auto& m) { dense::load(m); },
                       [](auto& m) { return dense::self_test(m); }, 1);
    run<gru::ModelT>(argv[2], [](auto& m) { gru::load(m); },
                     [](auto& m) { return gru::self_test(m); }, 1);
    run<lstm::ModelT>(argv[3], [](auto& m) { lstm::load(m); },
                      [](auto& m) { return lstm::self_test(m); }, 1);
    run<stack::ModelT>(argv[4], [](auto& m) { stack::load(m); },
                       [](auto& m) { return stack::self_test(m); }, 1);
    run_runtime(dense::model_json, argv[1], 1);
    run_runtime(gru::model_json, argv[2], 1);
    run_runtime(lstm::model_json, argv[3], 1);
    run_runtime(stack::model_json, argv[4], 1);
}
"""


@pytest.mark.slow
@needs_gxx
@needs_rtneural
def test_rtneural_headers_compile_and_reproduce_snapshots(tmp_path: Path) -> None:
    """RTNeural's ModelT (our alias + load) and its run-time json_parser both match torch."""
    torch.manual_seed(8)
    models = {
        "dense": _mlp(8),
        "gru": RecurrentModel(
            nn.GRU(1, 8), nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
        ),
        "lstm": RecurrentModel(nn.LSTM(1, 8), nn.Sequential(nn.Linear(8, 1))),
        "stack": _stack(mixed=True),  # GRU-8 -> LSTM-16: one GRULayerT, one LSTMLayerT
    }
    args = []
    for name, model in models.items():
        to_cpp(model, tmp_path / f"{name}.h", runtime="rtneural")
        snap = read_snapshot(tmp_path / f"{name}.snapshot.json")
        data = tmp_path / f"{name}.txt"
        data.write_text(
            f"{len(snap.inputs)}\n" + "\n".join(f"{v:.17g}" for v in snap.inputs.reshape(-1))
        )
        args.append(str(data))
    (tmp_path / "main.cpp").write_text(_RT_PROGRAM)
    exe = tmp_path / "rt"
    cmd = [
        GXX or "g++",
        "-O2",
        "-std=c++17",
        *rtneural_flags("stl"),
        f"-I{tmp_path}",
        str(tmp_path / "main.cpp"),
        "-o",
        str(exe),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    lines = subprocess.run(
        [str(exe), *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout.split("\n")
    pos = 0
    for header in ("self_test 1", "runtime 1"):  # compile-time ModelT, then run-time Model<float>
        for name in models:
            snap = read_snapshot(tmp_path / f"{name}.snapshot.json")
            assert lines[pos] == header, name
            out = np.array([float(v) for v in lines[pos + 1 : pos + 1 + len(snap.inputs)]])
            assert snap.matches(out), (header, name, snap.max_abs_error(out))
            pos += 1 + len(snap.inputs)


@pytest.mark.slow
@needs_gxx
@needs_engine_headers
def test_recurrent_header_prewarm_settles_a_captured_model_to_silence(tmp_path: Path) -> None:
    """prewarm() resets and runs prewarm_seconds of silence, as capture training assumed: the
    engine header's output for silence after it equals the float64 stream's, which is ~0."""
    from vashrink.model.architecture import RecurrentArchitecture
    from vashrink.model.spec import PREWARM_S, random_spec
    from vashrink.runtime.recurrent import RecurrentNet
    from vashrink.train.rnn_fit import silence_to_silence

    rate = 8000
    raw = random_spec(RecurrentArchitecture.parse("lstm-4"), seed=3)
    spec = silence_to_silence(raw, round(PREWARM_S * rate))
    assert "inline void prewarm(Model& model" in to_cpp(spec, tmp_path / "amp.h").read_text()
    assert "prewarm" not in cpp_header(_mlp(), namespace="curve")
    (tmp_path / "main.cpp").write_text(
        '#include <cstdio>\n#include "amp.h"\nint main() {\n amp::Model model;\n'
        " if (!amp::load(model)) return 2;\n float x[1] = {0.7f};\n"
        " for (int i = 0; i < 100; ++i) model.forward(x);\n"
        f" amp::prewarm(model, {rate}.0);\n x[0] = 0.0f;\n"
        ' std::printf("%.9g ", model.forward(x)[0]);\n x[0] = 0.3f;\n'
        ' std::printf("%.9g\\n", model.forward(x)[0]);\n}\n'
    )
    exe = tmp_path / "prewarm"
    subprocess.run([str(GXX), "-O1", "-std=c++17", f"-I{include_dir()}", f"-I{tmp_path}",
                    str(tmp_path / "main.cpp"), "-o", str(exe)], check=True, timeout=300)
    got = np.array([float(v) for v in subprocess.run(
        [str(exe)], capture_output=True, text=True, check=True, timeout=60).stdout.split()])
    warm = round(PREWARM_S * rate)
    ref = RecurrentNet.from_spec(spec, dtype="float64").process_samples(
        np.concatenate([np.zeros(warm + 1), [0.3]]))[-2:]
    np.testing.assert_allclose(got, ref, atol=2e-6)
    assert abs(got[0]) < 1e-5
    cold = RecurrentNet.from_spec(raw, dtype="float64").process_samples(np.zeros(warm + 1))
    assert abs(cold[-1]) > 1e-3
