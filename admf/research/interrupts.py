"""What the first Ctrl-C does to a command that runs studies.

asyncio's own SIGINT handler only cancels the main task, which an event loop
blocked in a strategy never sees (a second Ctrl-C then printed ~70 lines of
traceback), so :func:`interruptible` raises KeyboardInterrupt wherever the
main thread is. The run unwinds (runs in flight are cancelled, pool workers
stopped: see :mod:`.executors`) and the caller prints one line naming the run
directory to resume (:func:`resumable`). Runs that finished are whole on
disk, so ``--resume`` skips them. If the unwinding hangs, a watchdog ends the
process hard after :data:`HARD_STOP_AFTER` (at once on a second Ctrl-C),
killing every child process first (:func:`stop_children`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ("HARD_STOP_AFTER", "EXIT_INTERRUPTED", "interruptible", "stop_children", "resumable")

HARD_STOP_AFTER = 1.5
"""Seconds the first Ctrl-C gives a run to unwind (runs in flight cancelled,
pool workers stopped) before the process stops itself hard."""

EXIT_INTERRUPTED = 130


@contextlib.contextmanager
def interruptible(line: Callable[[], str]) -> Iterator[None]:
    """Within: the first Ctrl-C raises KeyboardInterrupt in the main thread
    and starts the watchdog that, after :data:`HARD_STOP_AFTER` or on a
    second Ctrl-C, kills the child processes, writes ``line()`` to stderr and
    exits :data:`EXIT_INTERRUPTED`. Installed only in the main thread over
    Python's default handler (an embedding program's own handler stays)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    presses: list[float] = []

    def hard_stop() -> None:
        stop_children(tracker=True)
        os.write(2, (line() + "\n").encode())
        os._exit(EXIT_INTERRUPTED)

    def on_sigint(signum: int, frame: Any) -> None:
        presses.append(time.monotonic())
        if len(presses) > 1:
            hard_stop()
        timer = threading.Timer(HARD_STOP_AFTER, hard_stop)
        timer.name, timer.daemon = "admf-interrupt", True
        timer.start()
        _quiet_loop()
        _quiet_dask()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _quiet_loop() -> None:
    """The tasks the interrupt unwinds are reported by asyncio at shutdown
    ("unhandled exception during asyncio.run() shutdown", a traceback per
    task): the interrupt is the one line, so those reports are dropped."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, BaseExceptionGroup):
            error = error.subgroup(KeyboardInterrupt)
        if not isinstance(error, (KeyboardInterrupt, BaseExceptionGroup)):
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def _quiet_dask() -> None:
    """A local Dask cluster stopped mid-task logs it from the scheduler, the
    nanny and the client ("couldn't gather keys", "restarting worker"): the
    stop itself, not news, so only critical records print from here on (the
    process is ending)."""
    if "distributed" in sys.modules:
        import logging

        logging.getLogger("distributed").setLevel(logging.CRITICAL)


def stop_children(*, tracker: bool = False) -> None:
    """No worker, forkserver or (with ``tracker``) resource tracker outlives
    an interrupt. The tracker is left to end by itself when this process
    exits normally: the pool's finalizers still talk to it."""
    if "admf.research.workers" in sys.modules:
        from .workers import kill_descendants

        kill_descendants(tracker=tracker)


def resumable(resume: str | Path | None) -> Path | None:
    """The run directory an interrupted command was writing (``resume``, or
    the first one it created), unless it finished; None if there is none."""
    opened = sys.modules.get("admf.research.results.runs")
    created = getattr(opened, "OPENED", None)
    where = Path(resume) if resume else (created[0] if created else None)
    if where is None or (where / "manifest.json").exists():
        return None
    return where
