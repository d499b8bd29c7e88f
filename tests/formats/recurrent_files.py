"""Small AIDA-X and CoreAudioML model files built in the tests, with their float64 references.

Nothing here is copied from those projects: the files are written from the layouts their
loaders read (see ``vashrink.formats.aidax`` and ``vashrink.formats.coreaudioml``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from vashrink.formats import RecurrentModel, rtneural_document
from vashrink.formats.snapshot import torch_forward
from vashrink.model.recurrent import StackedRnn

__all__ = [
    "aidax_document",
    "aidax_reference",
    "coreaudioml_document",
    "coreaudioml_reference",
    "recurrent_model",
    "signal",
    "stacked_model",
]


def signal(n: int = 400, n_in: int = 1, seed: int = 3) -> np.ndarray:
    """A guitar-like test input ``[n, n_in]``: a decaying sine plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    wave = 0.7 * np.exp(-t / 300) * np.sin(2 * np.pi * 0.02 * t + np.arange(n_in)[None, :])
    out: np.ndarray = wave + 0.05 * rng.uniform(-1, 1, (n, n_in))
    return out


def recurrent_model(
    kind: str,
    hidden: int = 8,
    *,
    skip: bool = False,
    n_in: int = 1,
    deep_head: bool = False,
    last_activation: nn.Module | None = None,
    seed: int = 0,
) -> RecurrentModel:
    """A GRU/LSTM with a ``Linear(h, 1)`` head (``deep_head``: Linear-Tanh-Linear)."""
    torch.manual_seed(seed)
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(n_in, hidden, batch_first=True)
    mods: list[nn.Module] = (
        [nn.Linear(hidden, 5), nn.Tanh(), nn.Linear(5, 1)] if deep_head else [nn.Linear(hidden, 1)]
    )
    if last_activation is not None:
        mods.append(last_activation)
    return RecurrentModel(rnn, nn.Sequential(*mods), skip=skip).eval()


def stacked_model(
    kinds: tuple[str, ...],
    hiddens: tuple[int, ...],
    *,
    skip: bool = False,
    n_in: int = 1,
    deep_head: bool = False,
    seed: int = 0,
) -> RecurrentModel:
    """A stack of GRU/LSTM layers (one multi-layer torch module when uniform, as trained; a
    :class:`StackedRnn` when cells or sizes differ) with a ``Linear(h, 1)`` head."""
    torch.manual_seed(seed)
    rnn: nn.Module
    if len(set(kinds)) == 1 and len(set(hiddens)) == 1:
        cls = nn.GRU if kinds[0] == "gru" else nn.LSTM
        rnn = cls(n_in, hiddens[0], num_layers=len(kinds), batch_first=True)
    else:
        sizes = (n_in, *hiddens)
        rnn = StackedRnn([
            (nn.GRU if kind == "gru" else nn.LSTM)(sizes[k], hiddens[k], batch_first=True)
            for k, kind in enumerate(kinds)
        ])
    h = hiddens[-1]
    mods: list[nn.Module] = (
        [nn.Linear(h, 5), nn.Tanh(), nn.Linear(5, 1)] if deep_head else [nn.Linear(h, 1)]
    )
    return RecurrentModel(rnn, nn.Sequential(*mods), skip=skip).eval()  # type: ignore[arg-type]


def aidax_document(
    net: RecurrentModel,
    *,
    in_skip: Any = 0,
    in_gain: Any = None,
    out_gain: Any = None,
    metadata: Any = None,
    batch: bool = False,
    batch_n: int = 2048,
) -> dict[str, Any]:
    """An AIDA-X file for ``net`` (its layers without skip; ``in_skip`` etc. as given).

    With ``batch``, ``input_batch``/``output_batch`` are written as AIDA-X's trainer does: the
    audio input and the net's output with the skip, without gains (other inputs 0).
    """
    plain = copy.deepcopy(net)
    plain.skip = False
    doc = rtneural_document(plain)
    if in_skip:
        doc["in_skip"] = in_skip
    for key, value in (("in_gain", in_gain), ("out_gain", out_gain), ("metadata", metadata)):
        if value is not None:
            doc[key] = value
    if batch:
        n_in = net.rnn.input_size
        x = np.zeros((batch_n, n_in))
        x[:, 0] = signal(batch_n)[:, 0]
        with_skip = copy.deepcopy(plain)
        with_skip.skip = bool(in_skip) and n_in == 1
        y = torch_forward(with_skip, x)[:, 0]
        if in_skip and n_in > 1:
            y = y + x[:, 0]
        doc["input_batch"] = x[:, 0].tolist()
        doc["output_batch"] = y.tolist()
    return doc


def aidax_reference(
    net: RecurrentModel, x: np.ndarray, *, skip: bool, in_db: float = 0.0, out_db: float = 0.0
) -> np.ndarray:
    """What AIDA-X plays, float64: ``g_out * (net(g_in x) [+ g_in x])`` (``net`` without skip)."""
    plain = copy.deepcopy(net)
    plain.skip = False
    g_in, g_out = 10 ** (in_db / 20), 10 ** (out_db / 20)
    xin = np.array(x, dtype=np.float64)
    xin[:, 0] *= g_in
    y = torch_forward(plain, xin)
    if skip:
        y = y + xin[:, :1]
    out: np.ndarray = g_out * y
    return out


class SimpleRnn(nn.Module):
    """CoreAudioML's SimpleRNN written from its description: ``lin(rec(x)) + x[..., :skip]``."""

    def __init__(
        self, unit: str, n_in: int, hidden: int, n_out: int, skip: int, bias_fl: bool,
        num_layers: int = 1,
    ) -> None:
        super().__init__()
        self.rec = getattr(nn, unit)(n_in, hidden, num_layers)
        self.lin = nn.Linear(hidden, n_out, bias=bias_fl)
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [time, batch, in]
        y, _ = self.rec(x)
        out: torch.Tensor = self.lin(y)
        return out + x[:, :, : self.skip] if self.skip else out


def coreaudioml_document(
    unit: str = "LSTM",
    hidden: int = 8,
    *,
    n_in: int = 1,
    n_out: int = 1,
    skip: int = 1,
    bias_fl: bool = True,
    num_layers: int = 1,
    seed: int = 1,
) -> tuple[dict[str, Any], SimpleRnn]:
    """A CoreAudioML ``SimpleRNN`` file (``save_model``'s layout) and the torch module behind it."""
    torch.manual_seed(seed)
    net = SimpleRnn(unit, n_in, hidden, n_out, skip, bias_fl, num_layers).eval()
    doc = {
        "model_data": {
            "model": "SimpleRNN",
            "input_size": n_in,
            "skip": skip,
            "output_size": n_out,
            "unit_type": unit,
            "num_layers": num_layers,
            "hidden_size": hidden,
            "bias_fl": bias_fl,
        },
        "state_dict": {k: v.tolist() for k, v in net.state_dict().items()},
    }
    return doc, net


def coreaudioml_reference(net: SimpleRnn, x: np.ndarray) -> np.ndarray:
    """The SimpleRNN's float64 output for one sequence ``x`` ``[n, in]`` from a zero state."""
    net64 = copy.deepcopy(net).double()
    with torch.no_grad():
        y = net64(torch.tensor(x, dtype=torch.float64)[:, None, :])[:, 0, :]
    out: np.ndarray = y.numpy()
    return out
