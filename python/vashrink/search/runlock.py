"""One run per output directory: an exclusive ``flock`` on ``DIR/.vashrink-run.lock``.

Two runs writing into one ``--out`` at once corrupt each other's study (one dies deep inside
Optuna), so :func:`lock_run_dir` takes an exclusive, non-blocking ``flock`` on a lock file in the
directory and keeps it for the life of the process (or until :func:`release_run_dir`). The
kernel drops the lock when the process ends, however it ends, so a killed run never blocks the
next one; the file itself stays and only records who held it last (``pid host``). Within one
process the lock is re-entrant (a resumed run in the same Python session reopens its directory).
Local worker processes of one run (``--workers N``) work under their parent's lock.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ..errors import InputError

try:  # POSIX; elsewhere runs are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "RunDirLockedError", "lock_run_dir", "release_run_dir"]

#: The lock file in a run directory.
LOCK_NAME = ".vashrink-run.lock"
#: Locks this process holds: resolved lock path -> open descriptor.
_HELD: dict[str, int] = {}


class RunDirLockedError(InputError):
    """Another live process holds the run directory."""


def _key(out: Path) -> str:
    return str((out / LOCK_NAME).resolve())


def _holder(fd: int) -> str:
    """``pid N on HOST`` from the lock file, or a plain phrase when it is not (yet) written."""
    try:
        text = os.pread(fd, 256, 0).decode(errors="replace").split()
    except OSError:
        text = []
    if len(text) >= 2 and text[0].isdigit():
        return f"pid {text[0]} on {text[1]}"
    return "pid unknown"


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), path.stat()
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def lock_run_dir(out: Path, flag: str = "--out") -> None:
    """Take the exclusive lock of the existing directory ``out`` for this process.

    Raises:
        RunDirLockedError: another process holds it (the message names its pid and host).
        InputError: the lock file cannot be created or locked.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return
    path = out / LOCK_NAME
    key = _key(out)
    held = _HELD.get(key)
    if held is not None:
        if _same_file(held, path):
            return
        os.close(held)  # the directory was deleted and made again: lock the new file
        del _HELD[key]
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        msg = (f"cannot create the lock file {str(path)!r}: {exc.strerror or exc}; "
               f"choose a writable {flag} directory")
        raise InputError(msg) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        who = _holder(fd)
        os.close(fd)
        msg = (f"{flag} {str(out)!r} is in use by another vashrink run ({who}); wait for it "
               f"to finish or give another {flag}")
        raise RunDirLockedError(msg) from None
    except OSError as exc:
        os.close(fd)
        msg = (f"cannot lock {str(path)!r}: {exc.strerror or exc}; use a {flag} directory on "
               "a local file system")
        raise InputError(msg) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
    _HELD[key] = fd


def release_run_dir(out: str | Path) -> None:
    """Let other processes use ``out`` again (a no-op when this process does not hold it)."""
    fd = _HELD.pop(_key(Path(out).expanduser()), None)
    if fd is not None:
        os.close(fd)  # closing the only descriptor drops the flock
