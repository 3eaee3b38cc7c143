"""Progress of long work, for people watching a terminal.

A *progress callback* is ``progress(done, total, unit)``: ``total`` may be
``None`` when unknown. :class:`BarProgress` is an instrument that reports
the bars a study's sources have read, from a daemon thread that polls their
counters a few times a second (the run itself pays nothing for it);
:func:`terminal` is the callback ``admf run`` uses on a terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from .runtime.instrument import Instrument

__all__ = ("Progress", "BarProgress", "terminal")

Progress = Callable[[int, "int | None", str], None]


class BarProgress(Instrument):
    """Reports the rows read by every container with a ``rows`` counter."""

    def __init__(self, report: Progress, total: int | None, every: float = 0.25) -> None:
        self.report = report
        self.total = total
        self.every = every
        self._sources: list[Any] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_started(self, topology: Any) -> None:
        self._sources = [c for c in topology.containers.values() if hasattr(c, "rows")]
        self._thread = threading.Thread(target=self._poll, name="admf-progress", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            self.report(self._done(), self.total, "bars")

    def _done(self) -> int:
        return sum(int(getattr(c, "rows", 0)) for c in self._sources)

    def run_finished(self, topology: Any, error: BaseException | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.report(self._done(), self.total, "bars")


def terminal(stream: TextIO = sys.stderr) -> Progress:
    """A callback that redraws one status line on ``stream`` (at most ~10
    times a second) and ends it with a newline when the work is done."""
    last = [0.0]

    def report(done: int, total: int | None, unit: str) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - last[0] < 0.1:
            return
        last[0] = now
        share = f" ({done / total:.0%})" if total else ""
        of = f" / {total:,}" if total else ""
        stream.write(f"\r{unit}: {done:,}{of}{share}  ")
        if finished:
            stream.write("\n")
        stream.flush()

    return report
