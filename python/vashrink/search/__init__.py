"""Search, score, choose: which architecture to ship, by error against measured cost.

:mod:`.study` (the resumable Optuna study and the plan: ladder, band, TPE), :mod:`.score`
(float32 error, lane score, Pareto front, the choice rule), :mod:`.evaluate` (train, check and
time a batch), :mod:`.rundir` (the output directory), :mod:`.run` (:func:`shrink`, :func:`grid`),
:mod:`.result` (:class:`ShrinkResult`) and :mod:`.report` (``report.html``).
"""

from __future__ import annotations

__all__: list[str] = []
