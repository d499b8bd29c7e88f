"""A cost table of the target CPU: ns/sample of a grid of shapes, measured where models will run.

``vashrink profile --out pi.json`` runs on the target (a Raspberry Pi, a pedal's ARM board, a
user's older laptop) with only the engine installed (no torch): it times random-weight dense
nets of every ``activation x dtype x depth x width`` of the grid per sample and per block, and
GRU/LSTM nets per sample when the engine has recurrent layers, the search's WaveNet shapes
(channels x depths, kernel 3) per sample and per block, and writes a versioned JSON table
with the CPU's description. ``shrink --cost-profile`` then interpolates it
(:mod:`vashrink.search.costs`) instead of timing candidates on the training machine.

Timing policy: a seeded uniform buffer, ``repeats`` passes after one warm-up, the median;
``spread = (max - min) / median`` is kept per row so the table says how noisy it was.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..model.architecture import SEARCH_RNN_LAYERS
from ..model.layers import DenseLayer
from .info import system_info
from .native import engine

__all__ = [
    "DEPTHS",
    "FORMAT",
    "HIDDEN_SIZES",
    "VERSION",
    "WAVENET_DEPTHS",
    "WIDTHS",
    "CostProfile",
    "check_output_path",
    "measure_profile",
    "random_dense",
    "write_profile",
]

FORMAT = "vashrink-cost-profile"
VERSION = 1
DEPTHS = (1, 2, 3, 4, 6, 8)
#: Every lane boundary of 4-, 8- and 16-lane kernels up to 64, plus the small widths.
WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
HIDDEN_SIZES = (4, 8, 12, 16, 24, 32, 40, 48, 64)
ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu")


@dataclass(frozen=True)
class CostProfile:
    """A measured cost table: one row per shape, and the machine that measured it."""

    machine: dict[str, Any]
    block_size: int
    buffer_samples: int
    repeats: int
    rows: tuple[dict[str, Any], ...]
    seconds: float
    version: int = VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "machine": self.machine,
            "block_size": self.block_size,
            "buffer_samples": self.buffer_samples,
            "repeats": self.repeats,
            "seconds": self.seconds,
            "meta": self.meta,
            "rows": list(self.rows),
        }


def random_dense(depth: int, width: int, activation: str, *, seed: int = 0) -> list[DenseLayer]:
    """A 1-in, 1-out MLP with uniform(-1/sqrt(fan_in), +) weights (torch's default scale)."""
    rng = np.random.default_rng(seed)
    layers = []
    fan_in = 1
    for k in range(depth + 1):
        out = 1 if k == depth else width
        bound = 1.0 / np.sqrt(fan_in)
        layers.append(DenseLayer(rng.uniform(-bound, bound, (out, fan_in)),
                                 rng.uniform(-bound, bound, out),
                                 "none" if k == depth else activation))
        fan_in = out
    return layers


def _load_dense(layers: Sequence[DenseLayer], dtype: str) -> Any:
    eng = engine()
    native = eng.MlpF32() if dtype == "float32" else eng.MlpF64()
    np_dtype = np.float32 if dtype == "float32" else np.float64
    packed = [(np.ascontiguousarray(x.weight, np_dtype), np.ascontiguousarray(x.bias, np_dtype),
               x.activation, None) for x in layers]
    error = native.load(packed)
    if error:
        msg = f"the engine refused a profile model: {error}"
        raise InputError(msg)
    return native


def _stats(seconds: Sequence[float], samples: int, statistic: str = "median"
           ) -> tuple[float, float]:
    ns = np.asarray(seconds, dtype=np.float64) / samples * 1e9
    median = float(np.median(ns))
    value = median if statistic == "median" else float(ns.min())
    return value, float((ns.max() - ns.min()) / median)


def _recurrent_rows(buffer: np.ndarray, repeats: int, say: Callable[[str], None]
                    ) -> list[dict[str, Any]]:
    """Rows of GRU/LSTM nets (cells x stacked layers x hidden sizes), float32 per sample."""
    if importlib.util.find_spec("vashrink.runtime.recurrent") is None:
        say("recurrent layers: not in this engine yet; profile has dense rows only")
        return []
    from ..model.architecture import RecurrentArchitecture
    from ..model.spec import random_spec
    from . import recurrent

    rows = []
    for cell in ("gru", "lstm"):
        for layers in SEARCH_RNN_LAYERS:
            for hidden in HIDDEN_SIZES:
                arch = RecurrentArchitecture(cell, hidden, layers=layers)
                net = recurrent.RecurrentNet.from_spec(random_spec(arch, seed=1))
                secs = net.time_samples(buffer.astype("float32"), repeats, 1)
                ns, spread = _stats(secs, buffer.size)
                rows.append({"kind": cell, "layers": layers, "hidden": hidden,
                             "dtype": "float32", "ns_per_sample": ns, "spread": spread})
        say(f"{cell}: {len(HIDDEN_SIZES)} hidden sizes x {len(SEARCH_RNN_LAYERS)} depths timed")
    return rows


#: WaveNet depths profiled (dilated layers, kernel 3): the search's floor and the deeper
#: stacks that reach a fuzz's or a cabinet's memory; channels: the search's ladder.
WAVENET_DEPTHS = (4, 6, 8, 10)


def _wavenet_rows(buffer: np.ndarray, repeats: int, block_size: int, statistic: str,
                  say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Rows of the search's WaveNet shapes (channels x depths), float32, per sample and block."""
    from ..model.wavenet_presets import random_wavenet
    from ..model.wavenet_shape import WAVENET_CHANNELS, WaveNetShape
    from .wavenet import WaveNet

    buf = np.ascontiguousarray(buffer, np.float32)
    rows = []
    for depth in WAVENET_DEPTHS:
        for channels in WAVENET_CHANNELS:
            shape = WaveNetShape(channels, depth)
            net = WaveNet(random_wavenet(((channels, 1, shape.dilations),), seed=1))
            ns, spread = _stats(net.time_samples(buf, repeats, 1), buffer.size, statistic)
            ns_b, spread_b = _stats(net.time_blocks(buf, block_size, repeats, 1), buffer.size,
                                    statistic)
            rows.append({"kind": "wavenet", "channels": channels, "depth": depth,
                         "kernel_size": shape.kernel_size, "dtype": "float32",
                         "ns_per_sample": ns, "ns_per_sample_block": ns_b,
                         "spread": max(spread, spread_b)})
    say(f"wavenet: {len(WAVENET_CHANNELS)} channel counts x {len(WAVENET_DEPTHS)} depths timed")
    return rows


def measure_profile(
    *,
    depths: Sequence[int] = DEPTHS,
    widths: Sequence[int] = WIDTHS,
    activations: Sequence[str] = ACTIVATIONS,
    dtypes: Sequence[str] = ("float32", "float64"),
    block_size: int = 64,
    buffer_samples: int = 4800,
    repeats: int = 5,
    recurrent: bool = True,
    statistic: str = "median",
    log: Callable[[str], None] | None = None,
) -> CostProfile:
    """Time every shape of the grid per sample and per block on this CPU (see module doc).

    ``statistic``: ``"median"`` of the repeats (a quiet target), or ``"min"`` (a shared,
    loaded machine, where other processes only ever add time).
    """
    if statistic not in ("median", "min"):
        msg = f"statistic must be 'median' or 'min', got {statistic!r}"
        raise InputError(msg)
    if not depths or not widths or min(depths) < 1 or min(widths) < 1:
        msg = "profile depths and widths must be whole numbers >= 1"
        raise InputError(msg)
    if block_size < 1 or buffer_samples < block_size or repeats < 1:
        msg = (f"need block_size >= 1, buffer_samples >= block_size and repeats >= 1, got "
               f"{block_size}, {buffer_samples}, {repeats}")
        raise InputError(msg)
    say = log or (lambda _t: None)
    started = time.perf_counter()
    buffer = np.random.default_rng(0).uniform(-1, 1, buffer_samples)
    rows: list[dict[str, Any]] = []
    warm = _load_dense(random_dense(2, 16, "tanh"), "float32")  # caches and clocks, untimed
    warm.time_samples(np.ascontiguousarray(buffer, np.float32), repeats, 1)
    for dtype in dtypes:
        buf = np.ascontiguousarray(buffer, np.float32 if dtype == "float32" else np.float64)
        for activation in activations:
            for depth in sorted(set(depths)):
                for width in sorted(set(widths)):
                    net = _load_dense(random_dense(depth, width, activation), dtype)
                    ns, spread = _stats(net.time_samples(buf, repeats, 1), buffer_samples,
                                        statistic)
                    ns_b, spread_b = _stats(net.time_blocks(buf, block_size, repeats, 1),
                                            buffer_samples, statistic)
                    rows.append({"kind": "dense", "activation": activation, "dtype": dtype,
                                 "depth": depth, "width": width, "ns_per_sample": ns,
                                 "ns_per_sample_block": ns_b, "spread": max(spread, spread_b)})
            say(f"{dtype} {activation}: {len(depths) * len(widths)} shapes timed")
    if recurrent:
        rows += _recurrent_rows(buffer, repeats, say)
        rows += _wavenet_rows(buffer, repeats, block_size, statistic, say)
    return CostProfile(
        machine={**system_info().to_dict(), "profiled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime())},
        block_size=block_size,
        buffer_samples=buffer_samples,
        repeats=repeats,
        rows=tuple(rows),
        seconds=time.perf_counter() - started,
        meta={"statistic": statistic},
    )


def check_output_path(path: str | Path) -> Path:
    """``path`` if a profile can be written there; checked before the minutes of timing.

    Raises:
        InputError: ``path`` is a directory, its directory does not exist (nothing is created,
            as ``export`` does not) or is not writable.
    """
    out = Path(path).expanduser()
    if out.is_dir():
        msg = f"--out {str(out)!r} is a directory; give a file name, e.g. {str(out / 'cpu.json')!r}"
        raise InputError(msg)
    parent = out.parent
    if not parent.is_dir():
        msg = (f"--out {str(out)!r}: the directory {str(parent)!r} does not exist; create it "
               "first or choose another path")
        raise InputError(msg)
    if not os.access(parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        msg = f"--out {str(out)!r} is not writable; choose a writable path"
        raise InputError(msg)
    return out


def write_profile(profile: CostProfile, path: str | Path) -> Path:
    """Write the table as JSON (temp file + rename, so a reader never sees half a table).

    Raises:
        InputError: the path is not writable (see :func:`check_output_path`).
    """
    out = check_output_path(path)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(profile.to_dict(), indent=1))
        Path(tmp).replace(out)
    except OSError as exc:
        msg = f"cannot write --out {str(out)!r}: {exc.strerror or exc}; choose a writable path"
        raise InputError(msg) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
