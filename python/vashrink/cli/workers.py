"""``shrink``'s options for many workers and target-CPU costs (``--workers``, ``--cost-profile``).

Without them (and with no ``--storage`` other than SQLite) ``shrink`` runs as one process, as
before; with any of them it becomes one worker of a shared study
(:func:`vashrink.search.shared_run.shrink_shared`).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from .common import positive_int

__all__ = ["add_worker_arguments", "shrink_for", "wants_workers"]


def add_worker_arguments(p: argparse.ArgumentParser) -> None:
    """``--workers``, ``--study``, ``--cost-profile`` and ``--heartbeat-s``."""
    p.add_argument(
        "--workers", type=positive_int, default=None, metavar="N",
        help="cooperate on one study with N local worker processes; with --storage "
        "postgresql://USER@HOST/DB, start the same command on every machine (each architecture "
        "is trained once; a killed worker's trial is retried by another)",
    )
    p.add_argument(
        "--study", default=None, metavar="NAME",
        help="study name in --storage (default: named after the run's settings)",
    )
    p.add_argument(
        "--cost-profile", default=None, metavar="FILE",
        help="score candidates by a cost table from `vashrink profile` run on the target CPU "
        "(interpolated, with its uncertainty), not by timings on this machine",
    )
    p.add_argument(
        "--heartbeat-s", type=positive_int, default=None, metavar="S",
        help="seconds between a worker's heartbeats; silent for 2S+1 means dead (default 10)",
    )


def wants_workers(args: argparse.Namespace) -> bool:
    """Whether the run is a worker of a shared study rather than the single-process search."""
    storage = getattr(args, "storage", None)
    return bool(
        args.workers is not None
        or args.cost_profile
        or args.study
        or args.heartbeat_s is not None
        or (storage and not str(storage).startswith("sqlite:"))
    )


def shrink_for(args: argparse.Namespace, single: Callable[..., Any]) -> Callable[..., Any]:
    """``single`` (the one-process shrink), or the shared-study shrink with these options."""
    if not wants_workers(args):
        return single
    from ..search.shared_run import shrink_shared
    from ..search.storage import HEARTBEAT_S

    def shared(*pos: Any, seed: int = 0, **kw: Any) -> Any:
        del seed  # the shared search has no sampler to seed (training is seeded by config)
        return shrink_shared(*pos, **kw)

    return functools.partial(
        shared,
        workers=args.workers or 1,
        study=args.study,
        cost_profile=args.cost_profile,
        heartbeat_s=args.heartbeat_s or HEARTBEAT_S,
    )
