"""How far the gear's output lags its input: a causal estimate, never later than the true delay.

The lag of the cross-correlation peak is *not* the latency: it adds the group delay of the
gear's filters, and removing it shifts the output earlier than its true onset, so no causal
model can fit it (a one-pole low-pass with 5 samples of latency peaks at 6). What a causal model
needs is the *onset* of the response. For every shift ``d`` this module fits the least-squares
causal linear predictor of ``y[n]`` from ``x[n - d - k]`` (``k < TAPS``) and takes the largest
``d`` whose predictor is as good as the best one (the taps it cuts off hold almost nothing);
then it backs off ``SAFETY_SAMPLES`` and the response's rise to its peak, because a slowly
rising response (a high-order low-pass) starts below what any fit can see. A model learns extra
delay at little cost; an advance it cannot learn at all.

Significant energy at negative lags means the recorded output *leads* the input, which gear
cannot do: the files are misaligned, and the estimate refuses instead of training on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

from ..errors import InputError

__all__ = ["LatencyEstimate", "estimate_onset_latency"]

WINDOW_S = 20.0
"""Seconds of the pair the predictors are fitted on (the start of the recording)."""
TAPS = 256
"""Length of each causal linear predictor (5.3 ms at 48 kHz)."""
TOLERANCE = 1e-4
"""A shift is as good as the best when its predictor's ESR is within this share of the
linearly explained energy of the best one."""
RESIDUAL_SHARE = 0.03
"""... plus this share of the best predictor's own ESR: the distortion of nonlinear gear driven
by a sweep correlates with the input a little *before* the response (harmonics of a sweep come
earlier in it), which a predictor would otherwise take for the onset."""
SAFETY_SAMPLES = 2
"""Samples the estimate backs off from the response's foot (the last shift as good as the best,
or where the response first reaches ``RISE_LEVEL`` of its peak if earlier), plus 3/4 of the rise
from the foot to the peak (at most ``MAX_RISE``; never below zero)."""
RISE_LEVEL = 0.05
LOOKBACK = 64
MAX_RISE = 64
LEAD_MARGIN = 0.1
"""The output leads the input when a predictor allowed to look ahead explains this share more
of the signal than the best causal one."""


@dataclass(frozen=True)
class LatencyEstimate:
    """The latency to remove and how it was found.

    Attributes:
        samples: the delay of the output behind the input to remove (>= 0).
        onset_samples: the detected onset of the linear response (before the safety margin).
        peak_samples: the lag of the largest tap of the response (latency + group delay).
        sample_rate_hz: rate of the recording.
        method: ``"onset"`` (estimated), ``"trial"`` (the estimate refined by trial trainings,
            :mod:`vashrink.search.capture_align`), ``"given"`` (from the user) or ``"none"``
            (0 given).
        inverted: the response's largest tap is negative (polarity inverted).
        linear_esr: the ESR of the best linear prediction (how linear the gear is, 0..1).
        estimate_samples: for ``"trial"``, the causal estimate the trials started from.
        foot_samples: where the response's rise to its peak crosses ``RISE_LEVEL`` of the peak
            (``None`` when not estimated).
    """

    samples: int
    onset_samples: int
    peak_samples: int
    sample_rate_hz: int
    method: str
    inverted: bool
    linear_esr: float
    estimate_samples: int | None = None
    foot_samples: int | None = None

    @property
    def ms(self) -> float:
        """The latency in milliseconds."""
        return 1000.0 * self.samples / self.sample_rate_hz

    def describe(self) -> str:
        """One line for the summary: what was removed and why."""
        rate = self.sample_rate_hz
        if self.method == "given":
            return f"latency: {self.samples} samples ({self.ms:.2f} ms) removed, as given"
        if self.method == "none":
            return "latency: not removed (--latency 0)"
        if self.method == "trial":
            return (f"latency: {self.samples} samples ({self.ms:.2f} ms) removed, chosen by "
                    f"trial trainings from the causal estimate of {self.estimate_samples}")
        if self.samples == 0:
            if self.onset_samples == 0:
                return "latency: none detected (the response starts at once)"
            return (f"latency: none removed (the response is found from sample "
                    f"{self.onset_samples}, which is within the safety margin of its rise)")
        text = (f"latency: {self.samples} samples ({self.ms:.2f} ms) removed (the response "
                f"is found from sample {self.onset_samples}; backed off for safety)")
        if self.peak_samples > self.onset_samples:
            text += (f"; the response peaks later, at {self.peak_samples} samples "
                     f"({1000.0 * self.peak_samples / rate:.2f} ms): the gear's own delay, "
                     "left for the model")
        return text


def _predictor_esr(x: NDArray[np.float64], y: NDArray[np.float64], shifts: NDArray[np.int64],
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The ESR of the least-squares predictor of ``y[n]`` from ``x[n - d - k]``,
    ``k = 0 .. TAPS - 1``, for each shift ``d`` in ``shifts``, and the predictor's taps.

    Normal equations on the whole pair: ``R a = r_d`` with ``R`` the Toeplitz autocorrelation
    of ``x`` and ``r_d[k] = sum_n y[n] x[n - d - k]``; one Cholesky factor serves every shift.
    """
    n = x.size
    size = 1 << math.ceil(math.log2(2 * n))
    fx, fy = np.fft.rfft(x, size), np.fft.rfft(y, size)
    auto = np.fft.irfft(fx * np.conj(fx), size)[:TAPS]
    cross = np.fft.irfft(fy * np.conj(fx), size)  # cross[k] = sum_n y[n + k] x[n], k mod size
    gram = linalg.toeplitz(auto) + np.eye(TAPS) * (1e-9 * auto[0] + 1e-300)
    idx = (shifts[None, :] + np.arange(TAPS)[:, None]) % size
    rhs = cross[idx]
    taps = linalg.cho_solve(linalg.cho_factor(gram), rhs)
    explained = np.einsum("ij,ij->j", rhs, taps)
    power = float(np.dot(y, y))
    return 1.0 - explained / power, taps


def estimate_onset_latency(x: NDArray[np.float64], y: NDArray[np.float64], sample_rate_hz: int,
                           max_latency_s: float) -> LatencyEstimate:
    """The latency of ``y`` behind ``x``: the largest shift whose causal linear predictor is as
    good as the best, backed off by ``SAFETY_SAMPLES`` and the response's rise time.

    Raises:
        InputError: the output leads the input (misaligned files), or the best shift lies beyond
            ``max_latency_s`` (a delay that is implausible for gear and an interface).
    """
    n_use = min(x.size, round(WINDOW_S * sample_rate_hz))
    max_lag = max(1, round(max_latency_s * sample_rate_hz))
    xw = np.asarray(x[:n_use], np.float64) - float(np.mean(x[:n_use]))
    yw = np.asarray(y[:n_use], np.float64) - float(np.mean(y[:n_use]))
    if float(np.dot(yw, yw)) <= 0 or float(np.dot(xw, xw)) <= 0:
        msg = "the output does not follow the input at all (no linear response); check the files"
        raise InputError(msg)
    ahead = min(max_lag, TAPS)
    shifts = np.arange(-ahead, max_lag + 1)
    esr, taps = _predictor_esr(xw, yw, shifts)
    causal = shifts >= 0
    best = int(np.argmin(np.where(causal, esr, np.inf)))
    floor = float(esr[best])
    explained = max(1.0 - floor, 1e-12)
    lead_best = int(np.argmin(esr))
    if shifts[lead_best] < 0 and floor - float(esr[lead_best]) > LEAD_MARGIN * explained:
        as_good = esr <= float(esr[lead_best]) + TOLERANCE * (1.0 - float(esr[lead_best]))
        lead = int(-shifts[np.nonzero(as_good & ~causal)[0][-1]])
        msg = (f"the output leads the input by about {lead} samples "
               f"({1000.0 * lead / sample_rate_hz:.2f} ms), which gear cannot do: the files are "
               "misaligned; trim the input's start (or pad the output) so they line up, or pass "
               "--latency 0 to train on them as they are")
        raise InputError(msg)
    if explained < 1e-3:
        msg = ("the output has no linear relation to the input (a linear predictor explains "
               f"{100 * explained:.2g} % of it): check that the files belong together, or pass "
               "--latency N to set the latency yourself")
        raise InputError(msg)
    good = np.nonzero(causal & (esr <= floor + TOLERANCE * explained + RESIDUAL_SHARE * floor))[0]
    last = int(good[-1])
    onset = int(shifts[last])
    if onset >= max_lag:
        msg = (f"the gear's response starts at least {onset} samples "
               f"({1000.0 * onset / sample_rate_hz:.1f} ms) after the input, more than the "
               f"{1000.0 * max_latency_s:g} ms allowed; trim the output's start to line the "
               "files up, or pass --latency N to remove N samples yourself")
        raise InputError(msg)
    # The response fitted from a little earlier: where it rises through RISE_LEVEL of its peak
    # (the foot) and its peak. A slow rise started before the foot by up to about as long again.
    first = max(0, last - LOOKBACK)
    start = int(shifts[first])
    response = np.abs(taps[:, first])
    top = int(np.argmax(response))
    # The foot of the rise that ends at the peak: earlier taps above the level (noise of a
    # heavily distorted gear's fit, an early reflection) do not move it.
    below = np.nonzero(response[: top + 1] < RISE_LEVEL * response[top])[0]
    foot = start + (int(below[-1]) + 1 if below.size else 0)
    peak = start + top
    back = SAFETY_SAMPLES + min((3 * (peak - foot) + 3) // 4, MAX_RISE)
    samples = max(0, min(onset, foot) - back)
    return LatencyEstimate(samples=samples, onset_samples=onset, peak_samples=peak,
                           sample_rate_hz=int(sample_rate_hz), method="onset",
                           inverted=bool(taps[top, first] < 0),
                           linear_esr=min(max(floor, 0.0), 1.0), foot_samples=foot)
