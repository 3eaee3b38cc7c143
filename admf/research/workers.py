"""How a run in a worker stops when asked, and how pool workers never
outlive their parent.

A run executes in an event loop of its own (a thread of the inline executor,
or a pool worker process). Cancelling the caller cannot reach into that loop,
so the caller sets a :class:`StopToken`; :func:`run_stoppable` watches it from
inside the run's loop and cancels the run at its next checkpoint. A cancelled
run's containers clean up as usual (sinks abort their ``.tmp`` files), and no
result is written: ``write_run`` only follows a run that finished.

Pool workers (see :class:`~admf.research.executors.ProcessExecutor`):

* ignore SIGINT: a terminal's Ctrl-C reaches the whole process group, and the
  parent, not each worker, decides what an interrupt means;
* stop on SIGTERM: the run in progress is cancelled cooperatively (its files
  cleaned up) and the worker exits; an idle worker exits at once;
* exit when the parent dies, even by SIGKILL: a watchdog thread blocks on a
  pipe whose only write end the parent holds (end of file = parent gone), and
  on Linux ``PR_SET_PDEATHSIG`` also kills the worker when the forkserver that
  forked it goes (which it does when the parent dies).
"""

from __future__ import annotations

import contextvars
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import anyio

__all__ = ("StopToken", "RunStopped", "run_stoppable", "stop_token", "worker_init",
           "start_forkserver", "stop_processes", "POLL_SECONDS")

POLL_SECONDS = 0.02
"""How often a run's loop looks at its stop token: the latency a stop adds
on top of the run's next checkpoint (routes yield at least every
:data:`~admf.routes._channel.YIELD_SECONDS`)."""


class StopToken:
    """A request to stop, set from another thread or a signal handler (a
    plain flag: setting it takes no lock, so a signal handler may)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


class RunStopped(Exception):
    """A run ended early because its stop token was set (never reaches a
    user: the caller that set the token is itself being cancelled)."""


stop_token: contextvars.ContextVar[StopToken | None] = contextvars.ContextVar(
    "admf_stop_token", default=None)
"""The token of the run about to start in this context (the inline executor
sets it; the context is copied into the worker thread)."""

_WORKER_STOP: StopToken | None = None  # a pool worker's token, set by SIGTERM
_RUNNING = False  # a pool worker is inside run_stoppable


def run_stoppable(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """``anyio.run(fn, *args)``, cancelled within :data:`POLL_SECONDS` of the
    caller's stop token being set (then :class:`RunStopped` is raised; in a
    pool worker, the worker exits)."""
    global _RUNNING
    token = stop_token.get() or _WORKER_STOP
    if token is None:
        return anyio.run(fn, *args)
    outcome: list[Any] = []

    async def watched() -> None:
        failed: list[Exception] = []
        async with anyio.create_task_group() as group:
            async def watch() -> None:
                while not token.is_set():
                    await anyio.sleep(POLL_SECONDS)
                group.cancel_scope.cancel()

            group.start_soon(watch)
            try:
                outcome.append(await fn(*args))
            except Exception as exc:  # the run's own error, not wrapped in a group
                failed.append(exc)
            group.cancel_scope.cancel()
        if failed:
            raise failed[0]

    _RUNNING = token is _WORKER_STOP
    try:
        if not token.is_set():
            anyio.run(watched)
    finally:
        _RUNNING = False
    if token is _WORKER_STOP and token.is_set():
        _exit_worker()  # asked to stop by the parent (SIGTERM): the run cleaned up
    if not outcome:
        raise RunStopped("the run was stopped before it finished")
    return outcome[0]


# -- pool workers ------------------------------------------------------------

PR_SET_PDEATHSIG = 1


def worker_init(parent_alive: Connection, safe_path: str | None = None) -> None:
    """The initializer of every pool worker (see the module docstring);
    ``safe_path`` is the parent's ``PYTHONSAFEPATH`` (see :func:`start_forkserver`)."""
    global _WORKER_STOP
    _restore_safe_path(safe_path)
    _WORKER_STOP = StopToken()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent()
    threading.Thread(target=_watch_parent, args=(parent_alive,), name="admf-parent-watch",
                     daemon=True).start()


def _on_sigterm(signum: int, frame: Any) -> None:
    if not _RUNNING:
        _exit_worker()
    assert _WORKER_STOP is not None
    _WORKER_STOP.set()  # the run's watcher cancels it; run_stoppable then exits


def _exit_worker() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent (the forkserver) exits."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watchdog thread still covers it
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _watch_parent(parent_alive: Connection) -> None:
    """Block until the parent's end of the pipe closes, then exit at once."""
    try:
        while True:
            parent_alive.recv_bytes()  # the parent never writes: returns only at EOF
    except (EOFError, OSError):
        pass
    os._exit(1)


SAFE_PATH = "PYTHONSAFEPATH"


def start_forkserver() -> None:
    """Start the forkserver so that its preload imports *this* admf, never a
    folder named ``admf`` in the working directory.

    The forkserver is ``python -c ...``, whose ``sys.path[0]`` is the working
    directory, and Python 3.11 ignores the ``sys_path`` handed to it: so it
    starts with ``PYTHONSAFEPATH`` set (no working directory on its path; the
    variable is put back in each worker by :func:`worker_init`), and, for the
    versions that apply ``sys_path``, with this admf's folder first on it.
    Children forked from it get the parent's ``sys.path`` back, but admf is
    imported already, so user modules resolve as in the parent."""
    from multiprocessing import forkserver

    root = str(Path(__file__).resolve().parents[2])  # the folder holding this admf
    saved_path, saved_safe = sys.path, os.environ.get(SAFE_PATH)
    sys.path = [root, *(p for p in saved_path if p not in (root, "", os.getcwd()))]
    os.environ[SAFE_PATH] = "1"
    try:
        forkserver.ensure_running()
    finally:
        sys.path = saved_path
        _restore_safe_path(saved_safe)


def _restore_safe_path(value: str | None) -> None:
    if value is None:
        os.environ.pop(SAFE_PATH, None)
    else:
        os.environ[SAFE_PATH] = value


def stop_processes(processes: Iterable[Any], grace: float) -> None:
    """SIGTERM every live process of ``processes`` (``multiprocessing``
    processes), wait up to ``grace`` seconds for them to finish cleaning up,
    then SIGKILL the rest and reap them."""
    live = [p for p in processes if p.is_alive()]
    for process in live:
        try:
            process.terminate()
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + grace
    for process in live:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in live:
        if process.is_alive():
            process.kill()
    for process in live:
        process.join(1.0)


# -- the end of an interrupted process ----------------------------------------

def descendants(pid: int | None = None) -> list[int]:
    """Every process below ``pid`` (default: this one), children before their
    own children; empty where there is no ``/proc`` to read."""
    parents = _parents()
    found, frontier = [], [os.getpid() if pid is None else pid]
    while frontier:
        parent = frontier.pop(0)
        for child, of in parents.items():
            if of == parent and child not in found:
                found.append(child)
                frontier.append(child)
    return found


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process in ``/proc``."""
    out: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[int(entry)] = int(fields[1])
    return out


def kill_descendants(*, tracker: bool = True) -> None:
    """SIGKILL every process below this one (pool workers, the forkserver, the
    resource tracker unless not ``tracker``, a local Dask cluster) and reap
    this process's own children, so an interrupted command leaves nothing
    behind, not even a zombie. Finished runs are on disk already (each written whole, then
    renamed), so killing the rest loses only runs in flight."""
    from multiprocessing import resource_tracker

    spared = None if tracker else getattr(resource_tracker._resource_tracker, "_pid", None)
    doomed = [pid for pid in descendants() if pid != spared]
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    mine = set(doomed) & set(_children_of(os.getpid()))
    deadline = time.monotonic() + 1.0
    while mine and time.monotonic() < deadline:
        for pid in list(mine):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    mine.discard(pid)
            except ChildProcessError:  # reaped already (by multiprocessing)
                mine.discard(pid)
        time.sleep(0.005)


def _children_of(pid: int) -> list[int]:
    return [child for child, parent in _parents().items() if parent == pid]
