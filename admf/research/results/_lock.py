"""One writer per run directory: an OS-level lock held while a run or a
resume writes it.

A run directory is locked with ``flock`` on ``<run_dir>/.admf.lock``, so the
kernel releases it when the holder exits however it exits (SIGKILL included),
and a stale lock file from a crashed run is simply taken over. The holder
writes its pid, host, start time and command line into the file; a second
writer is refused at once (never kept waiting) with a
:class:`~admf.errors.LockedError` naming the holder. The lock file is removed
when the lock is released, and the manifest never lists it.

Why a lock and not just an atomic ``mkdir``: a new run claims a fresh
directory with ``mkdir``, but ``--resume`` reopens an existing one, so two
resumes (or a run and a resume of it) would otherwise interleave their writes
and leave a manifest whose hashes do not match the files.

``flock`` is in the standard library and does exactly this; the ``filelock``
package would add a dependency without the holder record. Locks conflict per
open file, so a second store on the same directory *in the same process* is
refused too; :func:`lock_scope` releases every lock taken inside it, so a run
that fails in-process does not leave its directory locked until garbage
collection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from ...errors import LockedError

__all__ = ("LOCK_NAME", "RunLock", "lock_scope")

LOCK_NAME = ".admf.lock"
"""The lock file's name inside a run directory (never listed in a manifest)."""

_SCOPE: ContextVar[list[RunLock] | None] = ContextVar("admf_lock_scope", default=None)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows: a byte far past the holder record

    os.lseek(fd, 1 << 20, os.SEEK_SET)  # pragma: no cover
    try:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover
        return False
    return True  # pragma: no cover


class RunLock:
    """An exclusive lock on one run directory, held until :meth:`release`
    (or until the process exits)."""

    def __init__(self, directory: Path, fd: int) -> None:
        self.directory = directory
        self.path = directory / LOCK_NAME
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path | str) -> RunLock:
        """Lock ``directory`` (which must exist) or raise
        :class:`~admf.errors.LockedError` naming the process that holds it."""
        directory = Path(directory)
        path = directory / LOCK_NAME
        for _ in range(100):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                raise LockedError(f"results directory {directory} is being written by another "
                                  f"process ({_holder(path)}); only one run or resume may write "
                                  f"a run directory at a time: wait for it to finish, or stop "
                                  f"it and then resume")
            # the previous holder may have removed the file between our open and
            # our lock: then we locked an orphan inode, and must lock the new one
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                lock = cls(directory, fd)
                lock._write_holder()
                scope = _SCOPE.get()
                if scope is not None:
                    scope.append(lock)
                return lock
            os.close(fd)
        raise LockedError(f"results directory {directory}: could not take its lock "
                          f"({path} keeps being replaced)")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file and unlock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still held: nobody can lock this inode meanwhile
        os.close(fd)

    def __del__(self) -> None:
        self.release()

    def _write_holder(self) -> None:
        assert self._fd is not None
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "command": " ".join(sys.argv)[:300]}
        data = msgspec.json.encode(record) + b"\n"
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, data)


def _holder(path: Path) -> str:
    """The holder record of a lock file, as text (it may still be being written)."""
    for _ in range(20):
        try:
            record = msgspec.json.decode(path.read_bytes())
        except (OSError, msgspec.DecodeError):
            time.sleep(0.01)
            continue
        if isinstance(record, dict):
            mine = record.get("pid") == os.getpid() and record.get("host") == socket.gethostname()
            return (f"pid {record.get('pid')}{' (this process)' if mine else ''} on host "
                    f"{record.get('host')}, started {record.get('started')}: "
                    f"{record.get('command') or '?'}")
    return f"holder not recorded in {path}"


@contextlib.contextmanager
def lock_scope() -> Iterator[None]:
    """Release, on leaving, every run-directory lock taken inside (in this
    context and the tasks and threads it starts): a run that raised does not
    keep its directory locked."""
    held: list[RunLock] = []
    token = _SCOPE.set(held)
    try:
        yield
    finally:
        _SCOPE.reset(token)
        for lock in held:
            lock.release()
