"""Several starts per recurrent candidate: each trains a short trial, the best continues.

One start in a few lands in a poor basin (measured on the capture panel: fuzz LSTM-8 stalled
at ESR 0.209 where another seed reaches 0.03; seeds of one shape differ by up to 8x), and a
single-start recipe cannot be within reach of a best-of-seeds reference. With
``RecurrentTrainConfig.starts = k`` a candidate starts from ``k`` initialisations; each trains
for ``start_fraction`` of the budget of updates (the learning-rate schedule is that of the
whole budget, so the trial is its first part); the start with the best validation check goes
on, with its optimiser state and shuffles, to the end of the budget; the others are dropped.
Start 0 is seeded by ``config.seed`` itself, so ``starts=1`` is the one-start recipe.

Both trainers use these rules (:func:`.rnn_native.train_pack_native` trains the starts' trials
side by side on threads, or one after another with ``start_threads=1``, each with its own
shuffles, so the weights are the same either way; :func:`.rnn_loop.train_pack` trains them side by
side in its pack, so in torch they share the pack's shuffles and differ in initialisation).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from ..model.spec import ModelSpec
from .rnn_config import RecurrentTrainConfig
from .rnn_outcome import MemberOutcome

__all__ = ["choose_start", "merge_starts", "start_lists", "start_seed", "trial_updates"]


def start_seed(seed: int, index: int) -> int:
    """The seed of start ``index`` of a candidate trained with ``seed``: ``seed`` itself for
    start 0 (so one start is the one-start recipe), a 63-bit hash of both for the others."""
    if index == 0:
        return int(seed)
    text = f"{int(seed)}/start {int(index)}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def trial_updates(config: RecurrentTrainConfig, budget: int) -> int:
    """Updates each start trains before the choice (the choice comes at the end of the first
    epoch reaching it)."""
    return max(1, math.ceil(config.start_fraction * budget))


def start_lists(starts: Sequence[ModelSpec | Sequence[ModelSpec]]) -> list[list[ModelSpec]]:
    """Each member's starts as a list: a bare spec is a member with one start."""
    return [[s] if isinstance(s, ModelSpec) else list(s) for s in starts]


def choose_start(outcomes: Sequence[MemberOutcome]) -> int:
    """Which start goes on: one that reached the target; else the best validation check among
    those that did not diverge (still training, or stopped for lack of improvement when the
    trial reaches the patience window: such a start is done, not broken); else (all diverged)
    the best of all. Ties go to the lower index."""
    hit = [i for i, m in enumerate(outcomes) if m.stop_reason == "target"]
    if hit:
        return hit[0]
    sound = [i for i, m in enumerate(outcomes) if m.stop_reason != "diverged"]
    pool = sound or list(range(len(outcomes)))
    return min(pool, key=lambda i: (outcomes[i].best_val, i))


def merge_starts(outcomes: Sequence[MemberOutcome], chosen: int) -> MemberOutcome:
    """The chosen start's outcome, carrying every start's best check at the choice
    (``start_vals``) and the time all starts took (``seconds``: the candidate's cost)."""
    winner = outcomes[chosen]
    winner.start = chosen
    winner.start_vals = [m.best_val for m in outcomes]
    winner.seconds += sum(m.seconds for i, m in enumerate(outcomes) if i != chosen)
    return winner
