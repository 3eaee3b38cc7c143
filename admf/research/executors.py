"""Where independent runs execute: inline, or in a local process pool.

Grid chunks, windows, folds and Monte Carlo draws are independent runs. An
executor takes a picklable function and its argument tuples and returns the
results *in submission order* (so a study's output never depends on which
worker finished first). Each call of the function is a whole run in its own
event loop; it should return compact summaries and leave large arrays in the
results directory.

``ProcessExecutor`` uses a ``forkserver`` context with admf preloaded: fork
from a process running threads is unsafe, and a fresh ``spawn`` would import
admf again in every worker. The forkserver imports *this* admf, whatever
folder named ``admf`` the working directory holds (:func:`.workers.start_forkserver`).

Cancelling ``map`` (a host's ``task.cancel()``, a cancel scope, Ctrl-C) stops
the runs in flight, not just the ones still queued, and returns only once
they have stopped, so a cancelled study writes nothing more: an inline run is
stopped through its :class:`~.workers.StopToken`, pool workers by SIGTERM
(cooperative: the run cleans up) and SIGKILL after :data:`STOP_GRACE`.
``DaskExecutor`` sends runs to a Dask cluster
(``executor: {kind: dask, address: tcp://scheduler:8786}``); any other
engine plugs in by implementing :class:`Executor`.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

import anyio

from ..errors import AdmfError, ConfigError
from .workers import StopToken, start_forkserver, stop_processes, stop_token, worker_init

__all__ = ("Executor", "InlineExecutor", "ProcessExecutor", "DaskExecutor", "make_executor",
           "STOP_GRACE", "UnguardedMainError", "check_main_guard")

STOP_GRACE = 1.0
"""Seconds a cancelled run gets to stop by itself (it normally needs a few
hundredths) before its worker process is killed, or its thread given up on."""


class Executor:
    """Runs ``fn(*args)`` for each args tuple; results in submission order."""

    workers = 1

    async def map(self, fn: Callable[..., Any], calls: Sequence[tuple],
                  on_done: Callable[[int], None] | None = None) -> list[Any]:
        """``on_done(k)`` is called as the k-th result (in order) is in."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release workers."""


class InlineExecutor(Executor):
    """One run after another in this process (each in a worker thread, so the
    run's own event loop does not nest inside the caller's).

    The thread is abandoned when the caller is cancelled, so cancellation is
    seen at once; the run is then stopped through its token (``fn`` runs it
    with :func:`~.workers.run_stoppable`) and awaited, shielded, for up to
    :data:`STOP_GRACE`, so nothing writes after ``map`` has returned."""

    async def map(self, fn: Callable[..., Any], calls: Sequence[tuple],
                  on_done: Callable[[int], None] | None = None) -> list[Any]:
        results = []
        for args in calls:
            results.append(await _stoppable_in_thread(fn, args))
            if on_done is not None:
                on_done(len(results))
        return results


async def _stoppable_in_thread(fn: Callable[..., Any], args: tuple) -> Any:
    token, finished = StopToken(), threading.Event()

    def call() -> Any:
        try:
            return fn(*args)
        finally:
            finished.set()

    reset = stop_token.set(token)  # the thread runs in a copy of this context
    try:
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        token.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finished.wait, STOP_GRACE)
        raise
    finally:
        stop_token.reset(reset)


class ProcessExecutor(Executor):
    """A pool of ``workers`` local processes (default: the CPU count).

    One pool is kept for the life of the process and reused: starting one
    costs a few hundred milliseconds (a forkserver importing admf), which the
    phases of a workflow or repeated studies should pay once. Asking for a
    different size replaces it.
    """

    _shared: tuple[int, ProcessPoolExecutor] | None = None
    _parent_alive: tuple[Connection, Connection] | None = None
    """A pipe whose write end only this process holds: workers exit when it
    reads end of file (this process died, however)."""

    def __init__(self, workers: int | None = None) -> None:
        check_main_guard()
        self.workers = workers or os.cpu_count() or 1
        shared = ProcessExecutor._shared
        if shared is None or shared[0] != self.workers or getattr(shared[1], "_broken", False):
            if shared is not None:
                shared[1].shutdown(wait=False, cancel_futures=True)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["admf.research.study"])
            start_forkserver()
            if ProcessExecutor._parent_alive is None:
                ProcessExecutor._parent_alive = context.Pipe(duplex=False)
            ProcessExecutor._shared = (self.workers, ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=worker_init,
                initargs=(ProcessExecutor._parent_alive[0], os.environ.get("PYTHONSAFEPATH"))))
        self._pool = ProcessExecutor._shared[1]  # type: ignore[index]

    async def map(self, fn: Callable[..., Any], calls: Sequence[tuple],
                  on_done: Callable[[int], None] | None = None) -> list[Any]:
        futures = [self._pool.submit(fn, *args) for args in calls]
        try:
            results = []
            for future in futures:
                results.append(await anyio.to_thread.run_sync(_result, future,
                                                              abandon_on_cancel=True))
                if on_done is not None:
                    on_done(len(results))
            return results
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(ProcessExecutor.stop_all)
            raise
        finally:
            for future in futures:
                future.cancel()

    @staticmethod
    def stop_all(grace: float = STOP_GRACE) -> None:
        """Stop the shared pool's workers now, runs in flight too (SIGTERM:
        each run cleans up and its worker exits; SIGKILL after ``grace``), and
        forget the pool; the next executor starts a new one."""
        shared, ProcessExecutor._shared = ProcessExecutor._shared, None
        if shared is None:
            return
        pool = shared[1]
        # the pool's own processes: ProcessPoolExecutor has no public way to
        # stop a running call, and cancel() only drops queued ones
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        stop_processes(processes, grace)


class UnguardedMainError(AdmfError):
    """Raised when a process pool would start from a script's top level
    outside ``if __name__ == "__main__":``: every worker re-imports the
    script (the ``forkserver`` and ``spawn`` start methods do) and would run
    the study again, inside itself."""


def check_main_guard() -> None:
    """Refuse to start worker processes from an unguarded script.

    Looks for the script's own top-level frame on the call stack (there is
    none in a notebook, ``python -c`` or a library's caller) and, from the
    script's source, whether the statement it is running sits under an
    ``if __name__ == "__main__":`` block. Called before a pool starts, and
    before a study creates its results directory."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not os.path.isfile(path):
        return
    name = getattr(getattr(main, "__spec__", None), "name", None) or ""
    if name.endswith("__main__"):  # `python -m pkg`: multiprocessing does not re-import it
        return
    frame: FrameType | None = sys._getframe(1)
    top = None
    while frame is not None:  # the outermost frame running the script's module body
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            top = frame
        frame = frame.f_back
    if top is None or _guarded(path, top.f_lineno):
        return
    raise UnguardedMainError(
        f"{path}, line {top.f_lineno}: this study runs in worker processes, which import "
        "your script again; put the code that runs it under `if __name__ == \"__main__\":` "
        "(or set executor: {kind: inline})")


def _guarded(path: str, line: int) -> bool:
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), path)
    except (OSError, SyntaxError, ValueError, SystemError):
        # cannot tell: do not stand in the way (SystemError: CPython 3.11 refuses
        # every parse once one in the process failed, gh-106905)
        return True
    return _under_guard(tree.body, line)


def _under_guard(body: list[ast.stmt], line: int) -> bool:
    for stmt in body:
        if not stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            continue
        if isinstance(stmt, ast.If) and _is_main_test(stmt.test):
            return any(s.lineno <= line <= (s.end_lineno or s.lineno) for s in stmt.body)
        inner = [getattr(stmt, f, []) for f in ("body", "orelse", "finalbody")]
        inner += [h.body for h in getattr(stmt, "handlers", [])]
        return any(_under_guard(b, line) for b in inner if b and isinstance(b[0], ast.stmt))
    return False


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    texts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and texts == ["__main__"]


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only critical records from logger ``name`` (and its children) inside."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _result(future: Future) -> Any:
    return future.result()


class DaskExecutor(Executor):
    """Runs on a Dask cluster: the scheduler at ``address``, or a local
    cluster of ``workers`` single-threaded processes started for this run.
    Needs the optional extra: ``pip install 'admf[dask]'``."""

    def __init__(self, address: str | None = None, workers: int | None = None, *,
                 processes: bool = True) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("executor.kind 'dask' needs the optional dask extra "
                              "(pip install 'admf[dask]'), which this installation lacks") from None
        self._cluster = None
        if address is None:
            self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                         threads_per_worker=1, processes=processes,
                                         dashboard_address=None,
                                         # workers' warnings (a task cancelled by a
                                         # stop, say) are not the user's news; errors
                                         # still print and a task's error comes back
                                         # through its future
                                         silence_logs=logging.ERROR)
            address = self._cluster.scheduler_address
        self._client = Client(address, set_as_default=False)
        self._closed = False
        self.workers = max(1, sum(self._client.nthreads().values()))

    async def map(self, fn: Callable[..., Any], calls: Sequence[tuple],
                  on_done: Callable[[int], None] | None = None) -> list[Any]:
        # pure=False: a rerun of the same task must run again, not hit Dask's cache
        futures = [self._client.submit(fn, *args, pure=False) for args in calls]
        results = []
        try:
            for future in futures:
                results.append(await anyio.to_thread.run_sync(future.result,
                                                              abandon_on_cancel=True))
                if on_done is not None:
                    on_done(len(results))
        except anyio.get_cancelled_exc_class():
            # Dask cannot interrupt a task that has started; a local cluster's
            # workers are stopped with it, a remote cluster finishes those runs
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._stop, futures)
            raise
        return results

    def _stop(self, futures: list[Any]) -> None:
        # a deliberate stop: the scheduler's "couldn't gather keys" and the
        # nanny's "restarting worker" are the stop itself, not news for the user
        with _quiet("distributed"):
            self._client.cancel(futures, force=True)
            if self._cluster is not None:
                self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._cluster is not None:  # the workers first: runs in flight end now
            for worker in list(self._cluster.workers.values()):
                process = getattr(getattr(worker, "process", None), "process", None)
                pid = getattr(process, "pid", None)  # a nanny's worker process
                if pid is not None:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):  # also when the study was cancelled
            await anyio.to_thread.run_sync(self._close)


SMALL_WORK = 16_000_000
"""Bar x point products below which a process pool costs more than it saves
(starting one takes about as long as one core needs for this much work)."""


def make_executor(kind: str | None, workers: int | None, runs: int, *, work: int | None = None,
                  address: str | None = None) -> Executor:
    """The executor a config asks for. ``kind=None`` chooses: inline for one
    run, one worker, or less than :data:`SMALL_WORK` bar x point products of
    ``work`` when ``workers`` is not given; else a process pool."""
    if kind == "dask":
        return DaskExecutor(address, workers)
    if address is not None:
        raise ConfigError("executor.address is only used by executor.kind 'dask'")
    count = workers or os.cpu_count() or 1
    # workers given explicitly is a request for a pool, however small the work
    small = work is not None and work < SMALL_WORK and workers is None
    if kind == "inline" or (kind is None and (runs <= 1 or count <= 1 or small)):
        return InlineExecutor()
    return ProcessExecutor(min(count, max(runs, 1)))
