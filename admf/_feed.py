"""An application's bars into a running study: ``admf.Runtime(config, feed=...)``.

The application gives an async iterable (an async generator, a channel's
receive side, anything with ``__aiter__``) in its own event loop. Each item
is one bar or a batch of bars of one symbol:

- a :class:`~admf.messages.BarBatch`;
- a mapping with ``symbol``, ``timestamp``, ``open``, ``high``, ``low``,
  ``close`` and optionally ``volume`` (absent: NaN), each a scalar (one bar)
  or an array (a batch). A timestamp is int64 nanoseconds since the epoch
  (UTC), a ``numpy.datetime64``, or a ``datetime`` (naive means UTC).

Items must come in event time: within a symbol strictly increasing, and
across symbols no item may start before an earlier item started. (The
study books every symbol's fills in time order, as it does for files.)
Every bar is checked as a file's rows are (finite prices, positive, high
>= low, ...); a bad one fails the study with a :class:`~admf.errors.DataError`
naming the symbol, its bar number in the feed and the time.

The pump is a task in the application's loop: it takes the next item only
when the buffer (``capacity`` items) has room, so a study that falls behind
backpressures the producer instead of queueing without bound. The
iterable's end ends the study (each portfolio's last frame is booked, and
closed out with ``portfolio.close_at_end``); cancelling the runtime stops
the pump and the study at once.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
from collections import deque
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from typing import Any

import anyio
import numpy as np

from .data._checks import Rows, first_problem
from .data.timeparse import format_ns
from .errors import ConfigError, DataError
from .messages import BarBatch

__all__ = ("FeedBridge", "to_batch")

_PRICES = ("open", "high", "low", "close")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)

Schedule = Callable[[Callable[[], object]], object]
"""Runs a function soon in one event loop's thread; callable from any thread,
never blocks (``loop.call_soon_threadsafe`` / ``TrioToken.run_sync_soon``)."""


def _soon(schedule: Schedule | None, func: Callable[[], object]) -> None:
    """``schedule(func)``, ignoring a loop that has already closed (nobody is
    left there to notify)."""
    if schedule is None:
        return
    try:
        schedule(func)
    except Exception:  # the loop has closed: nobody is left to wake
        pass


def _stamp(value: Any) -> int:
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
        delta = aware - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"a timestamp is int ns since the epoch, numpy.datetime64 or datetime; "
                    f"got {type(value).__name__} {value!r}")


def _stamps(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "M":
            return value.astype("datetime64[ns]").astype(np.int64).reshape(-1)
        if value.dtype.kind in "iu":
            return value.astype(np.int64).reshape(-1)
        values = value.reshape(-1).tolist()
    elif isinstance(value, (np.generic, _dt.datetime, int)):
        values = [value]
    elif isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
        values = list(value)
    else:
        values = [value]
    return np.array([_stamp(v) for v in values], dtype=np.int64)


def _column(item: Mapping[str, Any], name: str, n: int) -> np.ndarray:
    array = np.asarray(item[name], dtype=np.float64).reshape(-1)
    if len(array) != n:
        raise ValueError(f"{name} has {len(array)} values for {n} timestamps")
    return array


def to_batch(item: Any) -> BarBatch:
    """One feed item as a batch (see the module docstring); TypeError or
    ValueError says what is wrong with its shape."""
    if isinstance(item, BarBatch):
        return item
    if not isinstance(item, Mapping):
        raise TypeError(f"a feed item is a BarBatch or a mapping with symbol, timestamp, open, "
                        f"high, low, close (and volume); got {type(item).__name__}")
    missing = [k for k in ("symbol", "timestamp", *_PRICES) if k not in item]
    if missing:
        raise ValueError(f"the item has no {', '.join(missing)} (it has {', '.join(map(str, item))})")
    unknown = sorted(str(k) for k in item if k not in ("symbol", "timestamp", *_PRICES, "volume"))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; expected symbol, timestamp, "
                         "open, high, low, close, volume")
    symbol = item["symbol"]
    if not isinstance(symbol, str):
        raise TypeError(f"symbol is {symbol!r}, expected a string")
    ts = _stamps(item["timestamp"])
    if len(ts) == 0:
        raise ValueError("the item holds no bars")
    columns = {name: _column(item, name, len(ts)) for name in _PRICES}
    volume = _column(item, "volume", len(ts)) if item.get("volume") is not None \
        else np.full(len(ts), np.nan)
    return BarBatch(ts=int(ts[0]), symbol=symbol, timestamp=ts, volume=volume, **columns)


class FeedBridge:
    """The feed's bounded buffer between the application's loop (the pump
    puts) and the study's loop in its worker thread (the live source gets).

    Each side waits on an ``anyio.Event`` of its own loop, set by the other
    side through that loop's thread-safe scheduler; neither ever blocks a
    thread."""

    def __init__(self, feed: AsyncIterable[Any], symbols: Sequence[str], capacity: int) -> None:
        if not hasattr(feed, "__aiter__"):
            raise ConfigError(f"admf.Runtime: feed must be an async iterable of bars or batches "
                              f"(an async generator, say), got {type(feed).__name__}")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigError(f"admf.Runtime: feed_capacity must be an integer >= 1, "
                              f"got {capacity!r}")
        self.feed = feed
        self.symbols = tuple(symbols)
        self.capacity = capacity
        self.items = 0  # taken from the feed
        self.high_water = 0  # most items ever waiting in the buffer
        self._lock = threading.Lock()
        self._queue: deque[BarBatch] = deque()
        self._ended = False
        self._closed = False
        self._error: BaseException | None = None
        self._room: anyio.Event | None = None  # the pump waits (application loop)
        self._ready: anyio.Event | None = None  # the source waits (study loop)
        self.app_schedule: Schedule | None = None
        self.study_schedule: Schedule | None = None
        self._last: dict[str, tuple[int, int]] = {}  # symbol -> (last time, its bar number)
        self._first = -(2**63)  # the latest first-row time of any item so far
        self._task: Any = None
        self._scope: anyio.CancelScope | None = None
        self._finished: anyio.Event | None = None  # the pump has returned

    # -- the application's side --------------------------------------------

    def start(self, backend: str, schedule: Schedule) -> None:
        """Start the pump as a task of the application's (running) loop."""
        self.app_schedule = schedule
        self._finished = anyio.Event()
        if backend == "trio":
            import trio

            self._task = trio.lowlevel.spawn_system_task(self._pump)
        else:
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            with anyio.CancelScope() as self._scope:
                await self._pumping()
        finally:
            if self._finished is not None:
                self._finished.set()

    async def _pumping(self) -> None:
        try:
            iterator = self.feed.__aiter__()
            while not self._closed:
                if not await self._wait_for_room():
                    return
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                self.items += 1
                batch = self._checked(item)
                self._put(batch)
        except Exception as exc:  # the feed or an item failed: the study fails with it
            self._fail(exc)
            return
        except BaseException:  # stopped (the runtime is leaving) or the loop is closing
            self._fail(DataError("the feed stopped before its end"))
            raise
        finally:
            closer = getattr(self.feed, "aclose", None)
            if self._closed and closer is not None:
                try:
                    await closer()
                except Exception:
                    pass
        self._end()

    async def _wait_for_room(self) -> bool:
        while True:
            with self._lock:
                if self._closed:
                    return False
                if len(self._queue) < self.capacity:
                    return True
                if self._room is None:
                    self._room = anyio.Event()
                room = self._room
            await room.wait()

    def _checked(self, item: Any) -> BarBatch:
        index = self.items
        try:
            batch = to_batch(item)
        except (TypeError, ValueError) as exc:
            raise DataError(f"feed item {index}: {exc}") from None
        symbol = batch.symbol
        if symbol not in self.symbols:
            raise DataError(f"feed item {index}: symbol {symbol!r} is not in data.symbols "
                            f"({', '.join(self.symbols)})")
        previous = self._last.get(symbol)
        row0 = previous[1] + 1 if previous else 1
        rows = Rows(batch.timestamp, batch.open, batch.high, batch.low, batch.close, batch.volume,
                    ("timestamp", *_PRICES, None if np.isnan(batch.volume).all() else "volume"),
                    row0, previous)  # no volume at all is NaN volume, as a file without one
        problem = first_problem(rows)
        if problem is not None:
            at, why = problem
            raise DataError(f"feed item {index}: {symbol} bar {row0 + at} at "
                            f"{format_ns(int(batch.timestamp[at]))}: {why}")
        first = int(batch.timestamp[0])
        if first < self._first:
            raise DataError(
                f"feed item {index}: {symbol} bar {row0} at {format_ns(first)} comes after an "
                f"item starting at {format_ns(self._first)}; a feed gives every symbol's bars "
                "in event time")
        self._first = first
        self._last[symbol] = (int(batch.timestamp[-1]), row0 + len(batch) - 1)
        return batch

    def _put(self, batch: BarBatch) -> None:
        with self._lock:
            if self._closed:
                return
            self._queue.append(batch)
            self.high_water = max(self.high_water, len(self._queue))
            ready, self._ready = self._ready, None
        if ready is not None:
            _soon(self.study_schedule, ready.set)

    def _end(self) -> None:
        with self._lock:
            self._ended = True
            ready, self._ready = self._ready, None
        if ready is not None:
            _soon(self.study_schedule, ready.set)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self._error = exc
        self._end()

    async def stop(self) -> None:
        """The application's side is leaving: stop the pump and wait until it
        has (the application's iterator is closed when this returns)."""
        self.close()
        if self._scope is not None:
            self._scope.cancel()
        if self._finished is not None:
            with anyio.CancelScope(shield=True):
                await self._finished.wait()

    # -- the study's side (the live source's Feed) -----------------------

    async def get(self) -> BarBatch | None:
        while True:
            with self._lock:
                if self._queue:
                    batch = self._queue.popleft()
                    room, self._room = self._room, None
                    break
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                if self._ended or self._closed:
                    return None
                if self._ready is None:
                    self._ready = anyio.Event()
                ready = self._ready
            await ready.wait()
        if room is not None:
            _soon(self.app_schedule, room.set)
        return batch

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queue.clear()
            room, self._room = self._room, None
            ready, self._ready = self._ready, None
        if room is not None:
            _soon(self.app_schedule, room.set)
        if ready is not None:
            _soon(self.study_schedule, ready.set)
