"""RTNeural's own run-time parser and ``Model<double>`` on a JSON file, for tests.

Compiles (once, cached by :mod:`vashrink.runtime.compiled`) a harness whose ``load`` hands the
file named by ``$VASHRINK_TEST_RTNEURAL_JSON`` to ``RTNeural::json_parser::parseJson``, so a
test can run any file through RTNeural without rebuilding vashrink with ``RTNEURAL_DIR``.
Needs ``RTNEURAL_DIR`` (and a C++ compiler); tests skip cleanly without it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

__all__ = ["rtneural_forward"]

_HEADER = """#include <RTNeural/RTNeural.h>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace vashrink_compiled
{
inline constexpr int in_size = 1;
inline constexpr int out_size = 1;

/** RTNeural's run-time model behind the harness' ModelT-like interface. */
struct Model
{
    std::unique_ptr<RTNeural::Model<double>> net;
    double y[1] = {0.0};
    void forward(const double* x) { y[0] = net->forward(x); }
    const double* getOutputs() const { return y; }
    void reset() { if (net) net->reset(); }
};

inline void load(Model& model)
{
    std::ifstream file(std::getenv("VASHRINK_TEST_RTNEURAL_JSON"));
    model.net = RTNeural::json_parser::parseJson<double>(file, false);
    model.reset();
}

inline bool self_test(Model&) { return true; }
} // namespace vashrink_compiled
"""


def _program() -> Path:
    from vashrink.errors import EngineError
    from vashrink.runtime.compiled import DEFAULT_FLAGS, build_harness

    if not os.environ.get("RTNEURAL_DIR"):
        pytest.skip("set RTNEURAL_DIR (and XSIMD_DIR) to run files through RTNeural's parser")
    try:
        return build_harness(
            _HEADER,
            runtime="rtneural",
            dtype="double",
            flags=DEFAULT_FLAGS,
            executable=True,
            rtneural_backend="stl",
        )
    except EngineError as exc:
        pytest.skip(f"cannot compile the RTNeural harness: {exc}")


def rtneural_forward(path: Path, x: np.ndarray) -> np.ndarray:
    """RTNeural's outputs for the 1-in/1-out file ``path`` on samples ``x`` from a reset state.

    What ``Model::forward`` returns, nothing added: an ``in_skip`` is the caller's to apply.
    """
    program = _program()
    samples = np.asarray(x, dtype=np.float64).reshape(-1)
    stdin = f"{samples.size}\n" + "\n".join(f"{v:.17g}" for v in samples) + "\n"
    env = {**os.environ, "VASHRINK_TEST_RTNEURAL_JSON": str(path)}
    proc = subprocess.run(
        [str(program)], input=stdin, capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout[-300:] + proc.stderr[-300:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("self_test"), lines[:2]
    return np.array([float(v) for v in lines[1:]], dtype=np.float64)
