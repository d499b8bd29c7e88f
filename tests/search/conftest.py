"""A real PostgreSQL server for the shared-study tests, started from the machine's binaries.

``initdb`` into a temporary directory, a Unix socket in that directory and a free TCP port;
when the tests run as root the server runs as ``nobody`` (PostgreSQL refuses root). Tests that
need it skip with the reason only when no server can be started at all.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__: list[str] = []


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda d: int(d.parent.name))
    return dirs[-1] if dirs else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://USER@/postgres?host=SOCKETDIR&port=PORT`` of a server for this session."""
    pytest.importorskip("psycopg", reason="needs psycopg: pip install 'vashrink[postgres]'")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); install postgresql")
    root = Path(tempfile.mkdtemp(prefix="vashrink-pg-"))
    data = root / "data"
    prefix: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:
        user = "nobody"
        prefix = ["runuser", "-u", user, "--"]
        root.chmod(0o777)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C"}
    try:
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                        "-U", user, "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, capture_output=True, env=env, timeout=120)
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60",
                        "-l", str(root / "log.txt"), "-o",
                        f"-k {root} -p {port} -c listen_addresses='' -c fsync=off",
                        "start"], check=True, capture_output=True, env=env, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start PostgreSQL from {bin_dir}: {exc} {detail.decode()[-300:]}")
    try:
        yield f"postgresql+psycopg://{user}@/postgres?host={root}&port={port}"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, env=env, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)
