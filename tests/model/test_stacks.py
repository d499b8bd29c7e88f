"""Stacked recurrent layers in the shared types: architecture, spec, torch forms, model file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vashrink.errors import InputError, ModelFormatError
from vashrink.model.architecture import RecurrentArchitecture
from vashrink.model.file import read_model_file, write_model_file
from vashrink.model.layers import GruLayer, LstmLayer
from vashrink.model.recurrent import RecurrentModel, StackedRnn
from vashrink.model.spec import ModelSpec, random_spec, spec_of, spec_to_torch


@pytest.mark.parametrize(
    ("text", "cell", "hidden", "skip", "layers", "label"),
    [
        ("lstm-2x8", "lstm", 8, False, 2, "lstm-2x8"),
        ("GRU 3x16+skip", "gru", 16, True, 3, "gru-3x16+skip"),
        ("lstm-1x12", "lstm", 12, False, 1, "lstm-12"),
        ("gru-8", "gru", 8, False, 1, "gru-8"),
    ],
)
def test_parse_and_label_name_the_stack(
    text: str, cell: str, hidden: int, skip: bool, layers: int, label: str
) -> None:
    arch = RecurrentArchitecture.parse(text)
    assert (arch.cell, arch.hidden, arch.skip, arch.layers) == (cell, hidden, skip, layers)
    assert arch.label == label
    assert RecurrentArchitecture.parse(arch.label) == arch


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_parameter_count_matches_torch(cell: str, layers: int) -> None:
    arch = RecurrentArchitecture(cell, 6, layers=layers)
    rnn = (nn.GRU if cell == "gru" else nn.LSTM)(1, 6, num_layers=layers)
    torch_params = sum(p.numel() for p in rnn.parameters()) + 6 + 1  # + Dense(6, 1)
    lstm_bias_pairs = 0 if cell == "gru" else layers * 4 * 6  # one summed LSTM bias per layer
    assert arch.n_params == torch_params - lstm_bias_pairs
    spec = random_spec(arch)
    assert len(spec.rnn) == layers and spec.hidden_size == 6
    assert [(r.cell, r.gates) for r in spec.rnn] == [(cell, arch.gates)] * layers
    assert spec.macs_per_sample == arch.macs_per_sample
    assert [layer.in_size for layer in spec.rnn] == [1] + [6] * (layers - 1)


def test_more_than_eight_layers_are_refused() -> None:
    with pytest.raises(InputError, match="from 1 to 8"):
        RecurrentArchitecture("lstm", 8, layers=9)
    spec = random_spec(RecurrentArchitecture("gru", 2, layers=8))
    with pytest.raises(ModelFormatError, match="at most 8"):
        ModelSpec((*spec.rnn, spec.rnn[-1]), spec.dense)


def test_layers_that_do_not_chain_are_refused() -> None:
    a = random_spec(RecurrentArchitecture("gru", 4)).rnn[0]
    b = random_spec(RecurrentArchitecture("gru", 5, layers=2)).rnn[1]  # takes 5 inputs
    match = "recurrent layer 1 takes 5 inputs but layer 0 gives 4"
    with pytest.raises(ModelFormatError, match=match):
        ModelSpec((a, b), random_spec(RecurrentArchitecture("gru", 5)).dense)


def _mixed() -> ModelSpec:
    rng = np.random.default_rng(2)
    gru = GruLayer(rng.normal(0, 0.4, (24, 1)), rng.normal(0, 0.4, (24, 8)),
                   rng.normal(0, 0.1, 24), rng.normal(0, 0.1, 24))
    lstm = LstmLayer(rng.normal(0, 0.4, (20, 8)), rng.normal(0, 0.4, (20, 5)),
                     rng.normal(0, 0.1, 20))
    head = random_spec(RecurrentArchitecture("lstm", 5)).dense
    return ModelSpec((gru, lstm), head, skip=True)


def _step_reference(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """float64 per-sample loop over the layers (torch's GRU/LSTM equations)."""

    def sig(v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-v))

    states = [(np.zeros(r.hidden_size), np.zeros(r.hidden_size)) for r in spec.rnn]
    out = []
    for sample in x:
        v = np.array([sample])
        for k, r in enumerate(spec.rnn):
            h, c = states[k]
            n = r.hidden_size
            if isinstance(r, GruLayer):
                gi, gh = r.weight_ih @ v + r.bias_ih, r.weight_hh @ h + r.bias_hh
                rr, z = sig(gi[:n] + gh[:n]), sig(gi[n : 2 * n] + gh[n : 2 * n])
                cand = np.tanh(gi[2 * n :] + rr * gh[2 * n :])
                h = (1 - z) * cand + z * h
            else:
                g = r.weight_ih @ v + r.weight_hh @ h + r.bias
                i, f, o = sig(g[:n]), sig(g[n : 2 * n]), sig(g[3 * n :])
                gg = np.tanh(g[2 * n : 3 * n])
                c = f * c + i * gg
                h = o * np.tanh(c)
            states[k] = (h, c)
            v = h
        d = spec.dense[0]
        out.append(float((d.weight @ v + d.bias)[0]) + (sample if spec.skip else 0.0))
    return np.array(out)


@pytest.mark.parametrize("uniform", [True, False])
def test_torch_form_round_trips_and_computes_the_stack(uniform: bool) -> None:
    spec = random_spec(RecurrentArchitecture("lstm", 5, True, 2)) if uniform else _mixed()
    model = spec_to_torch(spec, torch.float64)
    assert isinstance(model, RecurrentModel)
    assert isinstance(model.rnn, nn.LSTM if uniform else StackedRnn)
    back = spec_of(model)
    for a, b in zip(spec.rnn, back.rnn, strict=True):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a.weight_ih, b.weight_ih)
        np.testing.assert_array_equal(a.weight_hh, b.weight_hh)
    x = np.random.default_rng(0).uniform(-1, 1, 300)
    with torch.no_grad():
        y = model(torch.from_numpy(x).view(1, -1, 1)).view(-1).numpy()
    np.testing.assert_allclose(y, _step_reference(spec, x), atol=1e-12)


def test_model_file_keeps_a_stack_and_reads_version_1(tmp_path: Path) -> None:
    spec = _mixed()
    path = write_model_file(tmp_path / "m.vashrink.json", spec)
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 2 and [r["type"] for r in doc["recurrent"]] == ["gru", "lstm"]
    back = read_model_file(path).spec
    assert [type(r) for r in back.rnn] == [GruLayer, LstmLayer] and back.skip
    np.testing.assert_array_equal(back.rnn[1].weight_hh, spec.rnn[1].weight_hh)
    one = random_spec(RecurrentArchitecture("gru", 3))
    v1 = json.loads(write_model_file(tmp_path / "one.vashrink.json", one).read_text())
    # One layer is still written as version 1 (one object), which older vashrink reads.
    assert v1["format_version"] == 1 and v1["recurrent"]["type"] == "gru"
    (tmp_path / "v1.vashrink.json").write_text(json.dumps(v1))
    old = read_model_file(tmp_path / "v1.vashrink.json").spec
    np.testing.assert_array_equal(old.rnn[0].weight_ih, one.rnn[0].weight_ih)
    v1["recurrent"] = None
    v1["layers"][0]["weight"] = [[0.5]]
    (tmp_path / "mlp.vashrink.json").write_text(json.dumps({**v1, "skip": False}))
    assert not read_model_file(tmp_path / "mlp.vashrink.json").spec.rnn


def test_a_bad_layer_in_a_stored_stack_is_named(tmp_path: Path) -> None:
    path = write_model_file(tmp_path / "m.vashrink.json", _mixed())
    doc = json.loads(path.read_text())
    doc["recurrent"][1]["weight_ih"] = [[0.0] * 7] * 20
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match=r"recurrent\[1\]: takes 7 inputs, gets 8"):
        read_model_file(path)
