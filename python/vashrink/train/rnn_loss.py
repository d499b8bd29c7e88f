"""The training loss of recurrent models: pre-emphasised ESR plus a DC term, in torch.

The same definitions as :mod:`vashrink.target.esr`, so the loss a run minimises is the metric it
reports: ``p[n] = y[n] - c y[n-1]`` along the time axis (``y[-1] = 0`` unless the sample before
the chunk is given), ``ESR = sum (p - p_hat)^2 / sum p^2`` and
``DC = (mean y - mean y_hat)^2 / (mean y^2 + 1e-5)``, both over every row and time step;
``loss = (1 - w) ESR + w DC``.
"""

from __future__ import annotations

import torch

from ..target.esr import DC_EPS

__all__ = ["column_losses", "dc_term", "esr_term", "masked_errors", "pre_emphasise",
           "recurrent_loss"]

_TINY = 1e-30


def pre_emphasise(y: torch.Tensor, coefficient: float,
                  previous: torch.Tensor | None = None) -> torch.Tensor:
    """``p[n] = y[n] - c y[n-1]`` along the last axis; ``previous`` is ``y[-1]`` (``[...]``).

    Shape:
        ``y`` ``[..., time]``, ``previous`` ``[...]`` or ``None`` (zeros); output like ``y``.
    """
    if previous is None:
        shifted = torch.nn.functional.pad(y[..., :-1], (1, 0))
    else:
        shifted = torch.cat([previous.unsqueeze(-1), y[..., :-1]], dim=-1)
    return y - coefficient * shifted


def esr_term(y: torch.Tensor, y_hat: torch.Tensor, coefficient: float,
             previous: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Pre-emphasised ESR of ``y_hat`` against ``y`` (``coefficient`` 0: the plain ESR).

    ``previous`` holds the samples just before the chunk, ``(y[-1], y_hat[-1])``.
    """
    prev_y, prev_hat = previous if previous is not None else (None, None)
    p = pre_emphasise(y, coefficient, prev_y)
    p_hat = pre_emphasise(y_hat, coefficient, prev_hat)
    return ((p - p_hat) ** 2).sum() / ((p * p).sum() + _TINY)


def dc_term(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """DC error ``(mean y - mean y_hat)^2 / (mean y^2 + 1e-5)``."""
    diff = y.mean() - y_hat.mean()
    return diff * diff / ((y * y).mean() + DC_EPS)


def recurrent_loss(y: torch.Tensor, y_hat: torch.Tensor, *, coefficient: float = 0.85,
                   dc_weight: float = 0.25,
                   previous: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """``(1 - dc_weight) ESR + dc_weight DC``: the loss :func:`train_recurrent` minimises.

    Shape:
        ``y``, ``y_hat`` ``[..., time]`` (rows of one chunk); a scalar out.
    """
    esr = esr_term(y, y_hat, coefficient, previous)
    return (1.0 - dc_weight) * esr + dc_weight * dc_term(y, y_hat)


def column_losses(y: torch.Tensor, y_hat: torch.Tensor, *, coefficient: float, dc_weight: float,
                  previous: tuple[torch.Tensor, torch.Tensor] | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`recurrent_loss` of each of ``K`` predictions of the same target at once.

    Shape:
        ``y`` ``[batch, time]``, ``y_hat`` ``[batch, time, K]``, ``previous``
        ``([batch], [batch, K])``; returns the losses ``[K]`` and the ESR's error and signal
        sums ``[K]`` (to accumulate an ESR over many chunks).
    """
    hat = y_hat.permute(2, 0, 1)
    prev_y, prev_hat = previous if previous is not None else (None, None)
    p = pre_emphasise(y, coefficient, prev_y)
    p_hat = pre_emphasise(hat, coefficient, None if prev_hat is None else prev_hat.T)
    err = ((p - p_hat) ** 2).sum(dim=(1, 2))
    sig = (p * p).sum().expand_as(err)
    diff = y.mean() - hat.mean(dim=(1, 2))
    dc = diff * diff / ((y * y).mean() + DC_EPS)
    return (1.0 - dc_weight) * err / (sig + _TINY) + dc_weight * dc, err, sig


def masked_errors(y: torch.Tensor, y_hat: torch.Tensor, mask: torch.Tensor, *,
                  coefficient: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sums for an ESR and a DC term over the samples where ``mask`` is 1 (validation windows
    whose burn-in is not scored): ``(error sums [K], signal sum, prediction sums [K])``.

    Shape:
        ``y``, ``mask`` ``[rows, time]``, ``y_hat`` ``[rows, time, K]``.
    """
    hat = y_hat.permute(2, 0, 1)
    p = pre_emphasise(y, coefficient)
    p_hat = pre_emphasise(hat, coefficient)
    err = (((p - p_hat) ** 2) * mask).sum(dim=(1, 2))
    return err, (p * p * mask).sum(), (hat * mask).sum(dim=(1, 2))
