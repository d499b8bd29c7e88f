"""The final latency of a capture, chosen by what a small model can actually fit.

The causal estimate (:mod:`vashrink.target.latency`) is a safe lower bound: it backs off from
the linear response's foot by its rise, so on gear whose response starts slowly (a filter after
a hard clipper) it removes several samples less than the truth, and the model must learn that
extra delay. This module trains a small GRU briefly at every shift from the estimate up to a few
samples past the linear response's peak (same seed, same excerpt of the recording; only the
target's shift differs) and reads where its validation ESR *rises for good*: past the true
latency the target answers before the input that causes it, which no causal model fits.

The rule (measured on the capture panel, docs/capture.md): the rise is the first shift whose
ESR is above ``RISE`` times the median ESR of every smaller shift and stays above it at the next
shift. The first one to three shifts past the truth hide in the training noise when the
response starts with small taps (a low-pass after the clipper), so the latency is the lowest
ESR at least ``GUARD`` samples before the rise, a tie going to the smaller shift. Below the rise
a short training's ESRs are often flat within its noise (the choice is then near the estimate,
the safe side); where a late shift fits clearly better (sag) the trial finds it. No rise in the
window, or a trial model that fits too little, leaves the estimate as it is.

Work budgets only (updates, not seconds), one seed: the same recording gives the same shift on a
busy and on an idle machine. Only an estimated latency (``--latency auto``) is refined; a given
one is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..model.architecture import RecurrentArchitecture
from ..target.recording import Recording, recording_from_arrays
from ..target.spans import spread_spans
from ..train import RecurrentTrainConfig

__all__ = ["AlignTrial", "align_by_trial", "choose_shift", "trial_esrs"]

TRIAL_ARCH = "gru-8"
"""The model each trial trains (small and fast; about 1 s of CPU per trial on the panel)."""
TRIAL_UPDATES = 1000
"""Adam updates per trial shift (the default recipe's batch and segments, 1,000-sample TBPTT)."""
TRIAL_RECIPE = {"tbptt_samples": 1000, "final_lr_fraction": 0.05}
"""The trial's recipe where it differs from the training default: the one its rule was
measured on (docs/capture.md, "What it does", latency), kept when the default moved to
500-sample TBPTT."""
TRIAL_SEED = 0
EXCERPT_S = 20.0
"""Seconds of the recording the trials use: ``EXCERPT_PIECES`` pieces spread over it."""
EXCERPT_PIECES = 5
EXCERPT_VALIDATION_S = 4.0
TRIAL_PIECE_S = 2.5
"""The trial's validation pieces: the split its rule was measured on (the shifts are compared
with each other on one split; the interleaved 0.5 s pieces, made for honest final ESRs, move
the tube and sag trials 3 samples below the truth instead of 1-2)."""
PAST_PEAK = 3
"""The window ends this many samples past the linear response's peak (never before the truth)."""
MAX_SHIFTS = 16
"""At most this many shifts are tried (a slow linear response backs off further: the window
then starts at the estimate and may not reach the rise, which keeps the estimate)."""
RISE = 2.0
"""The rise: an ESR above this multiple of the median ESR of every smaller shift (at least
two), at this shift and the next."""
GUARD = 3
"""Shifts this close below the rise are not chosen: the first samples past the truth carry
little of a slowly starting response and hide in the training noise."""
TIE = 0.1
"""ESRs within this share of the lowest tie; the smaller shift wins (never above the truth)."""
MIN_RECORDING_S = 12.0
"""Shorter recordings keep the estimate: too little audio to train the trial model well."""
FIT_LIMIT = 0.15
"""Trials whose median ESR before the rise is above this fit too little to see the first
samples past the truth: the estimate stands."""


@dataclass(frozen=True)
class AlignTrial:
    """What the trial trainings found.

    Attributes:
        estimate_samples: the causal estimate the trials started from (a safe lower bound).
        samples: the latency chosen (>= the estimate).
        shifts: the latencies tried, in order; ``esr`` the trial's validation ESR at each.
        rise_samples: the first shift of the rise (``None``: no rise found).
        updates: Adam updates per shift; ``seconds`` the wall time of all trials and
            ``cpu_seconds`` their CPU time (this process; what load does not inflate).
        reason: why this shift, in words.
    """

    estimate_samples: int
    samples: int
    shifts: tuple[int, ...]
    esr: tuple[float, ...]
    rise_samples: int | None
    updates: int
    seconds: float
    reason: str
    cpu_seconds: float = 0.0

    def describe(self) -> str:
        """One line for the summary."""
        tried = f"{self.shifts[0]}..{self.shifts[-1]}" if self.shifts else "none"
        return (f"latency trial: {self.samples} samples removed (causal estimate "
                f"{self.estimate_samples}; {len(self.shifts)} short {TRIAL_ARCH} trainings "
                f"at shifts {tried}, {self.cpu_seconds:.1f} s of CPU): {self.reason}")

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "shifts": list(self.shifts), "esr": list(self.esr)}


def choose_shift(shifts: list[int], esr: list[float], estimate: int,
                 ) -> tuple[int, int | None, str]:
    """The latency, the rise and the reason from ESRs at consecutive ``shifts`` (ascending,
    starting at ``estimate``): the lowest ESR at least :data:`GUARD` samples before the rise,
    the smallest shift within :data:`TIE` of it; the estimate without a rise."""
    for i in range(2, len(shifts) - 1):
        plateau = float(np.median(esr[:i]))
        if not (esr[i] > RISE * plateau and esr[i + 1] > RISE * plateau):
            continue
        rise = shifts[i]
        if plateau > FIT_LIMIT:
            return estimate, rise, (f"the trial model fits too little (ESR {plateau:.2g}) to "
                                    "see the first samples past the truth; estimate kept")
        below = [(s, e) for s, e in zip(shifts, esr, strict=True) if s <= rise - GUARD]
        if not below:
            return estimate, rise, f"the trial's ESR rises from shift {rise}; estimate kept"
        best = min(e for _, e in below)
        chosen = min(s for s, e in below if e <= best * (1.0 + TIE))
        return chosen, rise, (f"lowest trial ESR {esr[shifts.index(chosen)]:.3g} (within "
                              f"{100 * TIE:.0f} % of the best) at least {GUARD} samples before "
                              f"its rise at shift {rise} (a target ahead of its cause)")
    return estimate, None, "no rise of the trial's ESR within the shifts tried; estimate kept"


def _excerpt_starts(n: int, rate: int, room: int) -> tuple[list[int], int]:
    """Starts and length of the pieces of the excerpt (the whole pair when it is short)."""
    total = min(round(EXCERPT_S * rate), n - room)
    length = total // EXCERPT_PIECES
    last = n - room - length
    return [round(i * last / (EXCERPT_PIECES - 1)) for i in range(EXCERPT_PIECES)], length


def trial_esrs(recording: Recording, extra: range | list[int], *,
               stop_at_rise: bool = True) -> tuple[list[int], list[float], int]:
    """The trial's validation ESR for each extra shift in ``extra`` (samples beyond the
    recording's own alignment), ascending; with ``stop_at_rise`` the scan stops once
    :func:`choose_shift` finds a rise. Returns the extra shifts tried, their ESRs and the
    updates per shift."""
    from ..train.rnn_data import prepare_recurrent_data
    from ..train.rnn_native import train_pack_native
    from ..train.rnn_pack import initial_spec

    extras = list(extra)
    rate = recording.sample_rate_hz
    x, y = np.asarray(recording.input), np.asarray(recording.output)
    starts, length = _excerpt_starts(x.size, rate, max(extras))
    xs = np.concatenate([x[s : s + length] for s in starts])
    arch = RecurrentArchitecture.parse(TRIAL_ARCH)
    config = RecurrentTrainConfig(max_updates=TRIAL_UPDATES, patience=None, seed=TRIAL_SEED,
                                  **TRIAL_RECIPE)
    validation_s = min(EXCERPT_VALIDATION_S, xs.size / rate / 4)
    tried: list[int] = []
    esr: list[float] = []

    def data_at(d: int) -> object:
        ys = np.concatenate([y[s + d : s + d + length] for s in starts])
        part = recording_from_arrays(xs, ys, rate, validation_s=validation_s, latency=0,
                                     remove_dc=False, name="latency trial")
        spans = spread_spans(xs.size, rate, validation_s, piece_s=TRIAL_PIECE_S)
        return prepare_recurrent_data(replace(part, validation_spans=spans), config)

    start = initial_spec(arch, TRIAL_SEED)
    for d in extras:
        [outcome] = train_pack_native([arch], [start], data_at(d), config)
        tried.append(d)
        esr.append(float(outcome.best_val))
        if stop_at_rise and choose_shift(tried, esr, tried[0])[1] is not None:
            break
    return tried, esr, TRIAL_UPDATES


def _window(recording: Recording) -> range:
    """Extra shifts to try: from 0 (the estimate) to :data:`PAST_PEAK` past the peak."""
    est = recording.latency
    assert est is not None
    top = max(est.peak_samples, est.onset_samples) + PAST_PEAK - est.samples
    return range(0, max(1, min(top, MAX_SHIFTS - 1)) + 1)


def _realigned(rec: Recording, extra: int, trial: AlignTrial) -> Recording:
    """``rec`` with ``extra`` more samples of latency removed, its notes saying so."""
    assert rec.latency is not None
    validation_s = rec.validation_samples / rec.sample_rate_hz
    x = np.array(rec.input[: rec.input.size - extra])
    y = np.array(rec.output[extra:])
    x.setflags(write=False)
    y.setflags(write=False)
    lag = rec.latency_samples + extra
    notes = [n for n in rec.checks if not n.startswith("the model answers")]
    notes.append(trial.describe())
    if lag:
        notes.append(f"the model answers {lag} samples earlier than the recorded gear: a plugin "
                     f"that must line up with the recording delays its output by {lag} samples")
    latency = replace(rec.latency, samples=lag, method="trial",
                      estimate_samples=rec.latency.samples)
    return replace(rec, input=x, output=y, latency_samples=lag, latency=latency,
                   validation_spans=spread_spans(x.size, rec.sample_rate_hz, validation_s),
                   checks=tuple(notes))


def align_by_trial(recording: Recording, log: Callable[[str], None] | None = None,
                   ) -> tuple[Recording, AlignTrial | None]:
    """The recording with its latency chosen by trial trainings (see the module), and what
    the trials found; a recording whose latency was given (or not removed) comes back as it is,
    with ``None``."""
    est = recording.latency
    if est is None or est.method != "onset":
        return recording, None
    if recording.duration_s < MIN_RECORDING_S:
        if log is not None:
            log(f"latency trial: skipped (the recording is shorter than {MIN_RECORDING_S:g} s); "
                f"the causal estimate of {est.samples} samples stands")
        return recording, None
    started, cpu = time.perf_counter(), time.process_time()
    tried, esr, updates = trial_esrs(recording, _window(recording))
    chosen, rise, reason = choose_shift([est.samples + d for d in tried], esr, est.samples)
    trial = AlignTrial(estimate_samples=est.samples, samples=chosen,
                       shifts=tuple(est.samples + d for d in tried), esr=tuple(esr),
                       rise_samples=rise, updates=updates,
                       seconds=time.perf_counter() - started, reason=reason,
                       cpu_seconds=time.process_time() - cpu)
    if log is not None:
        log(trial.describe())
    return _realigned(recording, chosen - est.samples, trial), trial
