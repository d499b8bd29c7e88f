"""The shared study many workers use: Optuna's RDB storage with heartbeats, and atomic claims.

Workers on one or many machines open the same study (PostgreSQL, or SQLite on one machine).
Every running trial sends a heartbeat (:data:`HEARTBEAT_S`); a trial whose heartbeat is older
than the grace period (a killed worker) is failed by the next worker that looks
(:meth:`SharedStudy.fail_stale`, exactly once per trial) and Optuna's
``RetryHeartbeatStaleTrialCallback`` queues a copy with the same parameters as ``WAITING``,
which exactly one worker pops (:meth:`SharedStudy.pop`).

An architecture is trained once because a worker must first *claim* it: one row per
``(study, architecture)`` in the table :data:`CLAIMS_TABLE`, whose primary key makes the insert
succeed for exactly one worker. The claim is permanent; a killed worker's trial comes back
through the retry queue, never through a second claim.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import StudyError

__all__ = [
    "CLAIMS_TABLE",
    "HEARTBEAT_S",
    "KIND_ATTR",
    "SCHEMA_LOCK_KEY",
    "SharedStudy",
    "heartbeat",
    "open_shared_study",
    "quiet_optuna_warnings",
]

#: Seconds between heartbeats of a running trial; a trial silent for ``2 x`` this is stale.
HEARTBEAT_S = 10
#: The table of claimed architectures (in the study's own database).
CLAIMS_TABLE = "vashrink_claims"
#: Study attribute naming what kind of vashrink run the study holds (and its settings hash).
KIND_ATTR = "vashrink_kind"
#: PostgreSQL advisory lock key held while a worker creates or checks the schema ("vash").
SCHEMA_LOCK_KEY = 0x76617368
#: Seconds a worker waits for that lock before giving up (it is held for well under a second).
SCHEMA_LOCK_TIMEOUT_S = 120
#: Further attempts when creating a table lost a race (SQLite).
CREATE_RETRIES = 3


@contextmanager
def quiet_optuna_warnings() -> Iterator[None]:
    """Optuna flags heartbeats with ask/tell as experimental; they are used as documented."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message=".*Heartbeat of storage.*")
        yield


def _claims_table(metadata: Any) -> Any:
    import sqlalchemy as sa

    return sa.Table(
        CLAIMS_TABLE,
        metadata,
        sa.Column("study_name", sa.String(512), primary_key=True),
        sa.Column("arch_key", sa.String(128), primary_key=True),
        sa.Column("worker", sa.String(256), nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
    )


@dataclass
class SharedStudy:
    """An Optuna study opened for cooperating workers, plus its claims table."""

    study: Any
    storage: Any
    name: str
    url: str
    heartbeat_s: int
    max_retry: int = 2

    def __post_init__(self) -> None:
        import sqlalchemy as sa

        self._metadata = sa.MetaData()
        self._claims = _claims_table(self._metadata)
        self._metadata.create_all(self.storage.engine, checkfirst=True)

    def close(self) -> None:
        """Return every database connection (a worker that is done, or a refused study)."""
        _close(self.storage)

    def claim(self, key: str, worker: str) -> bool:
        """Claim ``key`` for ``worker``; True for exactly one caller per study and key."""
        import sqlalchemy as sa

        row = {"study_name": self.name, "arch_key": key, "worker": worker,
               "claimed_at": time.time()}
        try:
            with self.storage.engine.begin() as conn:
                conn.execute(sa.insert(self._claims).values(**row))
        except sa.exc.IntegrityError:
            return False
        return True

    def pop(self, trial_id: int) -> bool:
        """Move a queued trial to ``RUNNING`` with its first heartbeat; True for one caller.

        One conditional ``UPDATE ... WHERE state = 'WAITING'`` on Optuna's ``trials`` table:
        atomic in PostgreSQL and SQLite alike (Optuna's own pop reads, then writes, which two
        SQLite processes can both win). The winner's first heartbeat is written in the same
        transaction: Optuna never fails a running trial that has no heartbeat, so a worker
        killed before its heartbeat thread first beat would otherwise leave a trial running
        forever and every other worker waiting on it.
        """
        import datetime

        import sqlalchemy as sa

        take = sa.text("UPDATE trials SET state = 'RUNNING', datetime_start = :now "
                       "WHERE trial_id = :id AND state = 'WAITING'")
        beat = sa.text("INSERT INTO trial_heartbeats (trial_id, heartbeat) "
                       "VALUES (:id, CURRENT_TIMESTAMP)")
        try:
            with self.storage.engine.begin() as conn:
                now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                won = conn.execute(take, {"id": int(trial_id), "now": now}).rowcount == 1
                if won:  # a queued trial has no heartbeat row yet (a retry is a new trial)
                    conn.execute(beat, {"id": int(trial_id)})
        except sa.exc.OperationalError:  # SQLite busy for longer than its timeout: not won
            return False
        return won

    def claims(self) -> dict[str, tuple[str, float]]:
        """Every claimed key of this study: ``key -> (worker, time claimed)``."""
        import sqlalchemy as sa

        query = sa.select(self._claims.c.arch_key, self._claims.c.worker,
                          self._claims.c.claimed_at).where(
            self._claims.c.study_name == self.name)
        with self.storage.engine.connect() as conn:
            return {k: (w, float(t)) for k, w, t in conn.execute(query)}

    def fail_stale(self) -> None:
        """Fail trials of killed workers and queue one retry of each as ``WAITING``.

        Optuna's ``fail_stale_trials`` reads a trial's state, then writes ``FAIL``: two SQLite
        processes could both read ``RUNNING``, both fail the trial and both queue a retry, so
        one candidate was trained and completed twice. Failing is one conditional ``UPDATE ...
        WHERE state = 'RUNNING'`` here (as in :meth:`pop`) and only its winner queues the retry.
        Which trials are stale is Optuna's rule (heartbeat older than the grace period, by the
        database's clock).
        """
        import datetime

        import sqlalchemy as sa

        fail = sa.text("UPDATE trials SET state = 'FAIL', datetime_complete = :now "
                       "WHERE trial_id = :id AND state = 'RUNNING'")
        retry = self.storage.get_heartbeat_stale_trial_callback()
        for trial_id in self.storage._get_stale_trial_ids(self.study._study_id):
            try:
                with self.storage.engine.begin() as conn:
                    now = datetime.datetime.now()  # Optuna's own completion times are local
                    won = conn.execute(fail, {"id": int(trial_id), "now": now}).rowcount == 1
            except sa.exc.OperationalError:  # SQLite busy: the next look fails it
                continue
            if won and retry is not None:
                with quiet_optuna_warnings():
                    retry(self.study, self.storage.get_trial(trial_id))


def _close(storage: Any) -> None:
    storage.remove_session()
    storage.engine.dispose()


def _error_hint(exc: BaseException, text: str) -> str:
    """What to do about an error opening the study database (the driver only when it is
    missing: a driver's name also appears in every error it reports)."""
    import sqlalchemy as sa

    if isinstance(exc, ImportError):
        return "install the driver: pip install 'vashrink[postgres]'"
    low = text.lower()
    if isinstance(exc, sa.exc.IntegrityError) or "already exists" in low:
        return ("another worker was creating the tables at the same moment and it could not "
                "be retried; start this worker again")
    if "locked" in low:
        return "another process holds the database; retry, or use PostgreSQL for many workers"
    if "unable to open" in low:
        return "check that its directory exists and is writable"
    if "password" in low or "authentication" in low or "role" in low:
        return "check the user name and password in the URL"
    if "does not exist" in low and "database" in low:
        return "create the database first (createdb NAME) or fix its name in the URL"
    if "connect" in low or "connection" in low or "resolve" in low:
        return "check that the server runs and the host, port and socket in the URL are right"
    return "check the URL (e.g. postgresql://USER@HOST/DB or sqlite:///path/study.db)"


def _with_driver(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; use psycopg 3 (the ``postgres`` extra)
    when that is what is installed."""
    import importlib.util

    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme) and importlib.util.find_spec("psycopg2") is None \
                and importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def open_shared_study(
    url: str,
    name: str,
    kind: str,
    *,
    create: bool = True,
    heartbeat_s: int = HEARTBEAT_S,
    max_retry: int = 2,
    adopt: bool = False,
) -> SharedStudy:
    """Open (or create) study ``name`` at ``url`` for cooperating workers.

    ``kind`` (e.g. ``"shrink-mlp:<settings hash>"``) is stored with a new study and checked on
    every later open, so a worker started with other settings, or pointed at a study that is not
    a vashrink study, stops before touching it. ``adopt``: a study without a kind (written by
    the single-process search, whose study name already encodes its settings) is taken over.

    Raises:
        StudyError: the URL is malformed or unreachable, the study is missing (``create=False``)
            or holds another kind of run.
    """
    import optuna
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = _with_driver(url)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:"):
        engine_kwargs["connect_args"] = {"timeout": 60.0}
    elif url.startswith("postgresql"):
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    shown = url.split("@")[-1] if "@" in url else url

    def attempt() -> SharedStudy:
        with _schema_lock(url, engine_kwargs), quiet_optuna_warnings():
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_s,
                grace_period=2 * heartbeat_s + 1,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=max_retry),
            )
            try:
                return _checked(storage, name, kind, create, shown, heartbeat_s, max_retry,
                                adopt)
            except BaseException:
                _close(storage)
                raise

    try:
        return _retrying_creation(attempt)
    except (SQLAlchemyError, ArgumentError, ImportError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"cannot open the study database {shown}: {text}; {_error_hint(exc, text)}"
        raise StudyError(msg) from None
    except (ValueError, RuntimeError) as exc:
        msg = f"cannot open study {name!r} in {shown}: {exc}"
        raise StudyError(msg) from None
    raise AssertionError  # pragma: no cover - every path above returns or raises


@contextmanager
def _schema_lock(url: str, engine_kwargs: dict[str, Any]) -> Iterator[None]:
    """On PostgreSQL, hold the advisory lock :data:`SCHEMA_LOCK_KEY` (on a connection of its
    own) while Optuna's and the claims tables and the study are created or checked.

    Both are check-then-create (SQLAlchemy's ``create_all``, Optuna's ``create_study``): workers
    started together on a fresh database raced, and all but one died with ``UniqueViolation ...
    pg_type_typname_nsp_index``. Under the lock the first worker creates and the others find.
    The lock dies with its connection, so a worker killed here never blocks the rest.
    """
    if not url.startswith("postgresql"):
        yield
        return
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                              connect_args=engine_kwargs.get("connect_args", {}))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"SET lock_timeout = '{SCHEMA_LOCK_TIMEOUT_S}s'"))
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            conn.commit()  # a session lock outlives the transaction; end it, keep the lock
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"),
                             {"key": SCHEMA_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def _retrying_creation(attempt: Callable[[], SharedStudy]) -> SharedStudy:
    """``attempt()``, again when it lost a race to create a table (SQLite has no advisory
    lock: two workers on one file can both find a table missing and both create it)."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for tries_left in range(CREATE_RETRIES, -1, -1):
        try:
            return attempt()
        except (IntegrityError, OperationalError, ProgrammingError) as exc:
            text = str(exc).lower()
            raced = isinstance(exc, IntegrityError) or "already exists" in text
            if not raced or tries_left == 0:
                raise
            time.sleep(0.2)
    raise AssertionError  # pragma: no cover - the loop returns or raises


def _checked(storage: Any, name: str, kind: str, create: bool, shown: str, heartbeat_s: int,
             max_retry: int, adopt: bool) -> SharedStudy:
    """The study ``name`` in an open storage, created if asked, with its kind checked."""
    import optuna

    try:
        if create:
            study = optuna.create_study(storage=storage, study_name=name,
                                        directions=["minimize", "minimize"], load_if_exists=True)
        else:
            study = optuna.load_study(storage=storage, study_name=name)
    except KeyError:
        names = ", ".join(optuna.get_all_study_names(storage)) or "none"
        msg = f"no study {name!r} in {shown} (studies there: {names}); check --study"
        raise StudyError(msg) from None
    except ValueError as exc:
        msg = f"cannot open study {name!r} in {shown}: {exc}"
        raise StudyError(msg) from None
    stored = study.user_attrs.get(KIND_ATTR)
    if stored is None and create and (adopt or len(study.get_trials(deepcopy=False)) == 0):
        # a new study, or one the single-process search wrote under the same settings: its
        # trials left running have no heartbeat and no live process, so they are failed
        from .study import recover_interrupted

        recover_interrupted(study)
        study.set_user_attr(KIND_ATTR, kind)
        stored = kind
    if stored is None or (stored != kind and kind != "*") or len(study.directions) != 2:
        what = stored if stored is not None else "not a vashrink study"
        msg = (
            f"study {name!r} in {shown} holds another kind of run ({what}, expected {kind}); "
            "use another --study or database: nothing was changed"
        )
        raise StudyError(msg)
    return SharedStudy(study, storage, name, storage.url, heartbeat_s, max_retry)


@contextmanager
def heartbeat(shared: SharedStudy, trial_id: int) -> Iterator[None]:
    """Record heartbeats for ``trial_id`` every ``heartbeat_s`` while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed beat must not end the thread
                shared.storage.record_heartbeat(trial_id)
            if stop.wait(shared.heartbeat_s):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
