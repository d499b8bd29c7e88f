"""The recurrent training loss is the reported metric: same ESR, DC and pre-emphasis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vashrink.target.esr import dc_error, esr, signal_errors
from vashrink.train.rnn_loss import (
    column_losses,
    dc_term,
    esr_term,
    masked_errors,
    pre_emphasise,
    recurrent_loss,
)


def _pair(seed: int = 0, shape: tuple[int, ...] = (3, 500)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.tanh(2 * rng.standard_normal(shape)) + 0.05
    return y, y + 0.1 * rng.standard_normal(shape)


def test_loss_equals_signal_errors_on_the_same_data() -> None:
    y, y_hat = _pair()
    ty, th = torch.from_numpy(y), torch.from_numpy(y_hat)
    report = signal_errors(y, y_hat)
    assert float(esr_term(ty, th, 0.85)) == pytest.approx(report.esr, rel=1e-12)
    assert float(esr_term(ty, th, 0.0)) == pytest.approx(report.esr_plain, rel=1e-12)
    assert float(dc_term(ty, th)) == pytest.approx(report.dc, rel=1e-12)
    loss = float(recurrent_loss(ty, th, coefficient=0.85, dc_weight=0.25))
    assert loss == pytest.approx(0.75 * report.esr + 0.25 * report.dc, rel=1e-12)


def test_one_row_matches_the_one_dimensional_metric() -> None:
    y, y_hat = _pair(1, (800,))
    loss = recurrent_loss(torch.from_numpy(y), torch.from_numpy(y_hat), dc_weight=0.0)
    assert float(loss) == pytest.approx(esr(y, y_hat), rel=1e-12)


def test_chunks_with_the_previous_sample_add_up_to_the_whole() -> None:
    """Truncated BPTT scores chunks; given the sample before each, their sums are the ESR."""
    y, y_hat = _pair(2)
    ty, th = torch.from_numpy(y), torch.from_numpy(y_hat)
    err = sig = 0.0
    prev = None
    for begin in range(0, y.shape[1], 128):
        piece = slice(begin, begin + 128)
        _, e, s = column_losses(ty[:, piece], th[:, piece, None], coefficient=0.85,
                                dc_weight=0.25, previous=prev)
        err, sig = err + float(e[0]), float(s[0]) + sig
        last = min(piece.stop, y.shape[1]) - 1
        prev = (ty[:, last], th[:, last, None])
    assert err / sig == pytest.approx(esr(y, y_hat), rel=1e-12)


def test_columns_are_independent_losses() -> None:
    y, a = _pair(3)
    _, b = _pair(4)
    ty = torch.from_numpy(y)
    both = torch.from_numpy(np.stack([a, b], axis=-1))
    losses, _, _ = column_losses(ty, both, coefficient=0.85, dc_weight=0.25)
    for k, pred in enumerate((a, b)):
        alone = recurrent_loss(ty, torch.from_numpy(pred), coefficient=0.85, dc_weight=0.25)
        assert float(losses[k]) == pytest.approx(float(alone), rel=1e-12)


def test_masked_errors_with_a_full_mask_are_the_esr() -> None:
    y, y_hat = _pair(5)
    err, sig, total = masked_errors(torch.from_numpy(y), torch.from_numpy(y_hat)[..., None],
                                    torch.ones(y.shape, dtype=torch.float64), coefficient=0.85)
    assert float(err[0] / sig) == pytest.approx(esr(y, y_hat), rel=1e-12)
    assert float(total[0]) == pytest.approx(float(np.sum(y_hat)), rel=1e-12)
    assert dc_error(y, y_hat) >= 0


def test_pre_emphasis_by_hand() -> None:
    y = torch.tensor([[1.0, 2.0, 4.0]], dtype=torch.float64)
    assert pre_emphasise(y, 0.5).tolist() == [[1.0, 1.5, 3.0]]
    assert pre_emphasise(y, 0.5, torch.tensor([2.0], dtype=torch.float64)).tolist() == [
        [0.0, 1.5, 3.0]]
