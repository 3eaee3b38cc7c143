"""Progress of long work, for people watching a terminal (or a log).

A *progress callback* is ``progress(done, total, unit)`` (see
:data:`admf.runtime.instrument.Progress`): a single pass counts ``bars``
read, a sweep ``points``, a walk-forward its ``train runs`` and then its
``windows`` (``folds`` for k-fold), a Monte Carlo its ``draws``. A phase of a
workflow prefixes the unit with the phase name (``explore: points``). The
last report of a piece of work has ``done == total``.

:func:`terminal` is the callback ``admf run`` uses: a tqdm bar with rate
and ETA on a terminal, plain lines (a few per minute, and the last) when
stderr is a file or a pipe, so a log is not filled with carriage returns.
tqdm, not rich: it is one small package with no dependencies of its own,
so it can be a core dependency, and a bar is all admf needs from it.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

from .runtime.instrument import Progress

__all__ = ("terminal", "plain")


def terminal(stream: TextIO = sys.stderr, *, tty: bool | None = None,
             every: float = 10.0) -> Progress:
    """A bar per unit of work on ``stream`` when it is a terminal (or ``tty``
    says so); otherwise :func:`plain` lines at most every ``every`` seconds."""
    if tty is None:
        tty = bool(getattr(stream, "isatty", lambda: False)())
    return _Bars(stream) if tty else plain(stream, every=every)


def plain(stream: TextIO = sys.stderr, *, every: float = 10.0) -> Progress:
    """``points: 8 / 30 (27%), 3.1/s, eta 7s`` lines: the first report of a
    unit, then at most one per ``every`` seconds, and the one that completes it."""
    state: dict[str, Any] = {"unit": None, "start": 0.0, "last": 0.0, "first": 0, "ended": None}

    def report(done: int, total: int | None, unit: str) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if finished and state["ended"] == (unit, done):
            return  # said already
        if unit != state["unit"] or state["ended"] is not None:
            state.update(unit=unit, start=now, last=-float("inf"), first=done, ended=None)
        if finished:
            state["ended"] = (unit, done)
        if not finished and now - state["last"] < every:
            return
        state["last"] = now
        stream.write(_line(done, total, unit, now - state["start"], done - state["first"]) + "\n")
        stream.flush()

    return report


def _line(done: int, total: int | None, unit: str, seconds: float, counted: int) -> str:
    line = f"{unit}: {done:,}"
    if total:
        line += f" / {total:,} ({done / total:.0%})"
    if seconds > 0 and counted > 0:
        rate = counted / seconds
        line += f", {rate:,.1f}/s" if rate < 100 else f", {rate:,.0f}/s"
        if total and done < total:
            line += f", eta {_duration((total - done) / rate)}"
    return line


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class _Bars:
    """One tqdm bar per unit: a new unit closes the previous bar, reaching
    the total closes the current one."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar: Any = None
        self.unit: str | None = None
        self.ended: tuple[str, int] | None = None

    def __call__(self, done: int, total: int | None, unit: str) -> None:
        from tqdm import tqdm

        if self.bar is None and self.ended == (unit, done):
            return  # that bar is complete and closed already
        if self.bar is None or unit != self.unit:
            self.close()
            size = shutil.get_terminal_size()
            # the unit's last word names what is counted ("explore: points" -> "points/s")
            self.bar = tqdm(total=total, desc=unit, unit=" " + unit.split()[-1],
                            unit_scale=unit.endswith("bars"), file=self.stream,
                            # shutil's size: tqdm's own probe reads 0 x 0 on a
                            # pseudo-terminal without a size, and then draws nothing
                            ncols=size.columns, nrows=size.lines, mininterval=0.1,
                            leave=True, initial=done)
            self.unit = unit
        elif total != self.bar.total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)
        if total is not None and done >= total:
            self.close()
            self.ended = (unit, done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.unit = None, None
