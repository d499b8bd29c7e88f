"""Workers started at the same moment on a fresh PostgreSQL database all start (issue 19 item 1).

Optuna's and SQLAlchemy's table creation is check-then-create: workers started together raced
and all but one died with ``UniqueViolation ... pg_type_typname_nsp_index``, told to "install the
driver". Now the schema is created under an advisory lock. Four worker processes open the same
study on a fresh database at once, ten times (each round a new database), and all four must open
it and every architecture must be claimed by exactly one of them (also on SQLite files, where a
lost creation race is retried); four real ``vashrink shrink --storage ... --workers 1``
searches started together, one of them killed, are in ``test_workers.py``. The error hint
names the driver only when the driver is missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vashrink.search.storage import _error_hint

KEYS = [f"{d}x{w} tanh" for d in (1, 2) for w in (1, 2, 3, 4, 6, 8)]
WORKERS = 4
ROUNDS = 10

#: One worker process: imports first, then opens the study named on each stdin line at once.
WORKER = f"""
import json, os, sys
from vashrink.search.storage import open_shared_study
print("ready", flush=True)
for line in sys.stdin:
    try:
        shared = open_shared_study(line.strip(), "vashrink-shrink-start", "shrink-mlp:start",
                                   heartbeat_s=1)
        try:
            won = [k for k in {KEYS!r} if shared.claim(k, str(os.getpid()))]
        finally:
            shared.close()
        print(json.dumps({{"won": won}}), flush=True)
    except Exception as exc:
        print(json.dumps({{"error": type(exc).__name__ + ": " + str(exc)}}), flush=True)
"""


def fresh_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the test server; its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server_url.replace("/postgres?", f"/{name}?", 1)


@pytest.mark.parametrize("kind", ["postgres", pytest.param("sqlite", marks=pytest.mark.slow)])
def test_workers_started_together_on_a_fresh_database_all_start(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    server = str(request.getfixturevalue("postgres_url")) if kind == "postgres" else ""

    def fresh(r: int) -> str:
        if kind == "postgres":
            return fresh_database(server, f"start_round_{r}")
        return f"sqlite:///{tmp_path / f'round{r}.db'}"  # SQLite: a lost race is retried

    procs = [subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(WORKERS)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for r in range(ROUNDS):
            url = fresh(r)
            for p in procs:  # all four wake up within microseconds of each other
                assert p.stdin is not None
                p.stdin.write(url + "\n")
                p.stdin.flush()
            answers: list[dict[str, Any]] = []
            for p in procs:
                assert p.stdout is not None
                answers.append(json.loads(p.stdout.readline()))
            died = [a["error"] for a in answers if "error" in a]
            assert not died, f"round {r}: {len(died)} of {WORKERS} workers died: {died}"
            won = [k for a in answers for k in a["won"]]
            assert sorted(won) == sorted(KEYS), f"round {r}: claims {won}"  # each exactly once
    finally:
        for p in procs:
            p.kill()
            p.communicate()


def test_the_driver_is_named_only_when_it_is_missing() -> None:
    import sqlalchemy as sa

    raced = sa.exc.IntegrityError(
        "CREATE TABLE studies", {}, Exception(
            "(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "
            '"pg_type_typname_nsp_index"'))
    hint = _error_hint(raced, str(raced).splitlines()[0])
    assert "driver" not in hint and "same moment" in hint
    refused = sa.exc.OperationalError(
        "connect", {}, Exception("(psycopg.OperationalError) connection refused"))
    assert "driver" not in _error_hint(refused, str(refused))
    missing = ModuleNotFoundError("No module named 'psycopg2'")
    assert "install the driver" in _error_hint(missing, str(missing))
