"""A rich progress bar for training: candidates done, best loss so far, ETA."""

from __future__ import annotations

import math
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["TrainProgress"]


class TrainProgress:
    """Progress over weighted work units (candidate-epochs times MACs per sample), on stderr.

    Does nothing when ``enabled`` is false or stderr is not a terminal (a log file gets no
    bar redraws), so the training code calls it unconditionally.
    """

    def __init__(self, total_work: float, n_candidates: int, *, enabled: bool = True) -> None:
        self.n_candidates = n_candidates
        self.done = 0
        self.best = math.inf
        self._progress: Progress | None = None
        self._task = None
        stderr = Console(stderr=True)
        if enabled and stderr.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                TextColumn("{task.fields[done]}/{task.fields[total_candidates]} candidates"),
                TextColumn("best {task.fields[best]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=stderr,
                transient=False,
            )
            self._task = self._progress.add_task(
                "train", total=max(total_work, 1.0), done=0, total_candidates=n_candidates, best="-"
            )

    def __enter__(self) -> TrainProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, work: float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, work)

    def candidate_done(self, loss: float) -> None:
        self.done += 1
        if math.isfinite(loss):
            self.best = min(self.best, loss)
        if self._progress is not None and self._task is not None:
            best = f"{self.best:.3g}" if math.isfinite(self.best) else "-"
            self._progress.update(self._task, done=self.done, best=best)
