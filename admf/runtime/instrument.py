"""Optional hooks into a run, for tracing and progress.

An instrument implements any subset of the methods of :class:`Instrument`;
the sequencer calls only the hooks an installed instrument defines, so with
none installed the run pays nothing.

A *progress callback* is ``progress(done, total, unit)``: ``total`` may be
``None`` when unknown. :class:`BarProgress` is an instrument that reports the
rows every container with a ``rows`` counter has read, from a daemon thread
that polls those counters a few times a second (the run itself pays nothing
for it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ("BarProgress", "Instrument", "Progress", "hooks_of")


class Instrument:
    """Base class listing every hook; override the ones you need."""

    def run_started(self, topology: Any) -> None:
        """The sequencer is about to initialize ``topology`` (its routes are open)."""

    def stage_entered(self, container: Any, stage: str) -> None:
        """``container`` begins ``stage``."""

    def stage_exited(self, container: Any, stage: str, error: BaseException | None) -> None:
        """``container`` finished ``stage`` (``error`` if it raised)."""

    def run_finished(self, topology: Any, error: BaseException | None) -> None:
        """Every container has been cleaned up."""


HOOKS = ("run_started", "stage_entered", "stage_exited", "run_finished")


def hooks_of(instruments: list[Any]) -> dict[str, list[Any]]:
    """For each hook name, the bound methods of the instruments overriding it."""
    table: dict[str, list[Any]] = {name: [] for name in HOOKS}
    for instrument in instruments:
        for name in HOOKS:
            method = getattr(instrument, name, None)
            base = getattr(Instrument, name)
            if method is not None and getattr(method, "__func__", None) is not base:
                table[name].append(method)
    return table


Progress = Callable[[int, "int | None", str], None]
"""``progress(done, total, unit)``: ``total`` is ``None`` when unknown; the
last report of a piece of work has ``done == total``. ``unit`` names what is
counted: ``bars``, ``points``, ``train runs``, ``windows``, ``folds``, ``draws``."""


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
        done = self._done()
        self.report(done, done, "bars")  # the last report is the whole: done == total
