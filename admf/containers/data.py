"""Data sources: stream one symbol's bars as :class:`~admf.messages.BarBatch`."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

import anyio
import numpy as np

from ..data.calendars import CalendarWarning, weekday_only
from ..errors import ConfigError
from ..messages import BarBatch
from ..runtime.container import Container

__all__ = ("BarSource", "IntervalCheck", "LiveSource", "Feed")

_DONE = object()

CHECK_ROWS = 32
"""Rows read ahead (at least the first batch) to measure the bar interval."""
MIN_CHECK_ROWS = 3
"""Fewer rows than this (the whole stream) are not checked."""
TOLERANCE = 1.5
"""How far the median interval may stray from the configured one, either way."""

_UNITS = (("d", "day", 86_400_000_000_000),
          ("h", "hour", 3_600_000_000_000), ("m", "minute", 60_000_000_000),
          ("s", "second", 1_000_000_000), ("ms", "millisecond", 1_000_000),
          ("us", "microsecond", 1_000), ("ns", "nanosecond", 1))


class BarSource(Container):
    """A source container: sends the batches of ``open_bars()`` on ``bars``.

    ``open_bars`` is called in ``initialize`` (so a missing file or column
    fails before anything runs) and must return an iterator of batches. With
    ``threaded`` the iterator is advanced in a worker thread, so file parsing
    (pyarrow releases the GIL) overlaps the strategy and portfolio work.

    With an :class:`IntervalCheck` (shared by a study's sources), the first
    rows (the first batch, at least :data:`CHECK_ROWS` rows when the batches
    are smaller) are read in ``initialize`` and their median time between
    bars is recorded; in ``start``, when every source has recorded its own,
    the check compares the finest of them (the portfolio's timeline) with
    the configured ``data.timeframe``. ``origin`` (where the bars come from,
    e.g. a file path) only words the error.
    """

    def __init__(self, name: str, open_bars: Callable[[], Iterator[BarBatch]], *,
                 threaded: bool = False, interval_check: IntervalCheck | None = None,
                 origin: str | None = None) -> None:
        super().__init__(name)
        self.bars = self.add_output("bars", BarBatch)
        self._open = open_bars
        self._threaded = threaded
        self._check = interval_check
        self._origin = origin
        self._iterator: Iterator[BarBatch] | None = None
        self._head: list[BarBatch] = []  # read ahead by the interval check, not yet sent
        self.rows = 0

    async def on_initialize(self) -> None:
        if self._threaded:
            self._iterator = await anyio.to_thread.run_sync(self._open)
        else:
            self._iterator = self._open()
        if self._check is not None:
            if self._threaded:
                self._head = await anyio.to_thread.run_sync(self._read_ahead)
            else:
                self._head = self._read_ahead()
            self._record_interval(self._head)

    async def on_start(self) -> None:
        if self._check is not None:  # every source has recorded its interval by now
            self._check.verify()

    def _read_ahead(self) -> list[BarBatch]:
        assert self._iterator is not None
        head: list[BarBatch] = []
        rows = 0
        while rows < CHECK_ROWS and (batch := next(self._iterator, _DONE)) is not _DONE:
            head.append(batch)  # type: ignore[arg-type]
            rows += len(batch)  # type: ignore[arg-type]
        return head

    def _record_interval(self, head: list[BarBatch]) -> None:
        if not head:
            return
        stamps = np.concatenate([b.timestamp for b in head]) if len(head) > 1 else head[0].timestamp
        if len(stamps) >= MIN_CHECK_ROWS:
            median = round(float(np.median(np.diff(stamps))))
            sessions = weekday_only(stamps, self._check.expected)  # type: ignore[union-attr]
            self._check.record(head[0].symbol, self._origin, median,  # type: ignore[union-attr]
                               sessions=sessions)


    async def on_execute(self) -> None:
        assert self._iterator is not None
        send = self.bars.send
        head, self._head = self._head, []
        for batch in head:
            self.rows += len(batch)
            await send(batch)
        if not self._threaded:
            for batch in self._iterator:
                self.rows += len(batch)
                await send(batch)
            return
        while (batch := await anyio.to_thread.run_sync(next, self._iterator, _DONE)) is not _DONE:
            self.rows += len(batch)  # type: ignore[arg-type]
            await send(batch)

    async def on_collect(self) -> dict[str, int]:
        return {"rows": self.rows}

    async def on_cleanup(self) -> None:
        self._head = []
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()



class Feed(Protocol):
    """Where a :class:`LiveSource` takes its batches from."""

    def get(self) -> Awaitable[BarBatch | None]:
        """The next batch (any symbol, in order of first row time), or None at the end."""
        ...

    def close(self) -> None:
        """No more batches are wanted (the study is over or stopped)."""
        ...


class LiveSource(Container):
    """One source for every symbol: sends the batches an application feeds
    (``admf.Runtime(feed=...)``), in the order they come, on ``bars``.

    The feed is checked to be in event time across symbols, so the
    batches need no merge: the pattern ``live`` connects this container
    straight to the strategies. Awaiting the feed is where the study waits
    for the application; a full route backpressures the feed in turn."""

    def __init__(self, name: str, feed: Feed) -> None:
        super().__init__(name)
        self.bars = self.add_output("bars", BarBatch)
        self._feed = feed
        self.rows = 0

    async def on_execute(self) -> None:
        send, get = self.bars.send, self._feed.get
        while (batch := await get()) is not None:
            self.rows += len(batch)
            await send(batch)

    async def on_collect(self) -> dict[str, int]:
        return {"rows": self.rows}

    async def on_cleanup(self) -> None:
        self._feed.close()


class IntervalCheck:
    """Checks the configured bar interval against the data's (annualised
    metrics trust ``data.timeframe``): the finest median interval among the
    symbols — the portfolio's own timeline — must lie within a factor
    :data:`TOLERANCE` of it. A median is robust to the gaps of real
    calendars (weekends between daily bars, nights between intraday bars);
    symbols sampled more coarsely than the timeline are fine.

    Daily bars with no weekend day under the ``24/7`` ``calendar`` get a
    one-line :class:`~admf.data.calendars.CalendarWarning` naming
    ``data.calendar: equity`` (see :mod:`admf.data.calendars`)."""

    def __init__(self, expected_ns: int, timeframe: str, calendar: str = "24/7", *,
                 key: str = "data.timeframe") -> None:
        if expected_ns <= 0:
            raise ValueError(f"expected_ns must be positive, got {expected_ns}")
        self.expected = expected_ns
        self.timeframe = timeframe
        self.calendar = calendar
        self.key = key  # the setting the bars are held to (data.resample for resampled bars)
        self.medians: list[tuple[int, str, str | None]] = []
        self.sessions: list[tuple[str, str | None]] = []
        self.warned = False

    def record(self, symbol: str, origin: str | None, median: int, *, sessions: bool = False) -> None:
        self.medians.append((median, symbol, origin))
        if sessions:
            self.sessions.append((symbol, origin))

    def verify(self) -> None:
        if not self.medians:
            return
        if self.calendar == "24/7" and self.sessions and not self.warned:
            self.warned = True  # once per study, not once per source
            symbol, origin = min(self.sessions, key=lambda s: s[0])
            where = f" in {origin}" if origin else ""
            warnings.warn(CalendarWarning(
                f"the daily bars of {symbol}{where} skip every weekend, but data.calendar is "
                "'24/7' (365.25 bars a year): set data.calendar: equity (252 sessions) so Sharpe "
                "and volatility are annualised right"), stacklevel=2)
        median, symbol, origin = min(self.medians)
        if self.expected / TOLERANCE <= median <= self.expected * TOLERANCE:
            return
        where = f" in {origin}" if origin else ""
        raise ConfigError(
            f"{self.key} is {self.timeframe!r} but the bars of {symbol}{where} are "
            f"{_spoken(median)} apart (median); set {self.key}: {_compact(median)}")


def _unit(ns: int) -> tuple[str, str, int]:
    """The largest unit ``ns`` is a whole number of (at least 1)."""
    return next(u for u in _UNITS if ns >= u[2] and ns % u[2] == 0) if ns > 0 else _UNITS[-1]


def _compact(ns: int) -> str:
    """``ns`` as a duration setting: ``1d``, ``5m``, ``90s``."""
    symbol, _, size = _unit(ns)
    return f"{ns // size}{symbol}"


def _spoken(ns: int) -> str:
    """``ns`` in words: ``1 day``, ``5 minutes``."""
    _, word, size = _unit(ns)
    count = ns // size
    return f"{count} {word}{'' if count == 1 else 's'}"
