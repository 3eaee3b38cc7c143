"""Resampling bars to a coarser timeframe, streamed batch by batch.

A coarse bar aggregates the fine bars of one *bucket*: open of the first,
highest high, lowest low, close of the last, sum of the volumes (NaN when
any fine volume is NaN, as when the data has no volume column).

**Labels.** ``label="end"`` (the default, pandas' ``closed="right",
label="right"``): a timestamp marks the *end* of its bar, a bucket is the
half-open span ``(end - period, end]`` and the coarse bar is stamped at its
end — the moment it is known. ``label="start"`` (pandas' defaults for
intraday rules): a timestamp marks a bar's start, a bucket is
``[start, start + period)`` stamped at its start. Either way the input and
the output read the same convention, so resampling composes: 1m -> 5m -> 1h
equals 1m -> 1h.

**Buckets.** Under the ``24/7`` calendar buckets lie on the UTC clock,
every ``period`` from Monday 1970-01-05 00:00 UTC (so days start at UTC
midnight and weeks on Monday). Under a session calendar (``equity``) they
lie on the local clock of ``tz`` (UTC when ``None``) and the period must
divide a day or be a whole number of days: a bucket then never holds bars
of two local days (two sessions), and a daily bar is one local session;
the wall-clock hour that repeats when clocks fall back joins the bucket
before it, so bars stay in time order.

**The last bucket.** Every bucket but the last is emitted when a bar of a
later bucket arrives. The last one is emitted only if it is complete by
time: its last fine bar ends at the bucket's end (for ``label="end"`` the
bar stamped at the end; for ``"start"`` the bar stamped ``end - base``).
Otherwise it is dropped, never passed off as a complete bar. A daily bucket
of session data ends at local midnight, so the final session of a
session-calendar series is dropped. Bars before the data's own ``start``
are never read, so the first bucket holds only bars from ``start`` on.

Each bucket's values are computed from its own fine rows in one contiguous
array, so the output does not depend on how the input is split into
batches (a property test holds it to a whole-array reference).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..messages import BarBatch
from ._batching import Columns, rechunk
from .calendars import DAY_NS
from .timeparse import check_timezone

__all__ = ("Buckets", "Resampler", "check_resample", "resample_bars", "resample_problem")

Label = Literal["end", "start"]
_MONDAY = 4 * DAY_NS  # 1970-01-05 00:00, the grid's origin
_SESSION_CALENDARS = ("equity",)


def resample_problem(period_ns: int, base_ns: int, calendar: str = "24/7",
                     timeframe: str | None = None) -> str | None:
    """What is wrong with resampling bars ``base_ns`` apart (``timeframe``)
    to ``period_ns`` under ``calendar``, or None."""
    base = f"data.timeframe ({timeframe or f'{base_ns} ns'})"
    if period_ns <= base_ns:
        return f"expected an interval coarser than {base}: resampling only aggregates"
    if period_ns % base_ns:
        return f"expected a whole multiple of {base}, so every bucket holds whole bars"
    if calendar in _SESSION_CALENDARS and DAY_NS % period_ns and period_ns % DAY_NS:
        return (f"under data.calendar {calendar!r} expected an interval that divides a day "
                "(like 1h, 30m) or a whole number of days (1d, 1w), so no bucket spans two sessions")
    return None


def check_resample(period_ns: int, base_ns: int, calendar: str = "24/7") -> None:
    """Raise ConfigError naming ``data.resample`` unless bars ``base_ns``
    apart can be resampled to ``period_ns`` under ``calendar``."""
    problem = resample_problem(period_ns, base_ns, calendar)
    if problem is not None:
        raise ConfigError(f"data.resample: {problem}; got {period_ns} ns")


class Buckets:
    """Which bucket a time falls in (see the module docstring)."""

    def __init__(self, period_ns: int, *, label: Label = "end", calendar: str = "24/7",
                 tz: str | None = None) -> None:
        if period_ns <= 0:
            raise ConfigError(f"resample period must be positive, got {period_ns} ns")
        if label not in ("end", "start"):
            raise ConfigError(f"data.resample_label: expected 'end' or 'start', got {label!r}")
        self.period = period_ns
        self.label = label
        self.local = calendar in _SESSION_CALENDARS and check_timezone(tz) is not None
        self.tz = tz
        self._shift = 1 if label == "end" else 0  # a time on a boundary ends the bucket before it

    def keys(self, ts: np.ndarray) -> np.ndarray:
        """Each time's bucket, as the bucket's start on the grid's clock."""
        # shifted before the clock is read: a bar ending on a boundary that the
        # clocks jump over (02:00 at spring-forward) ends the bucket before it,
        # where a shift on the wall clock would put it in an hour that never was
        clock = self._to_clock(ts - self._shift)
        keys = _MONDAY + (clock - _MONDAY) // self.period * self.period
        if self.local:  # the wall-clock hour repeated when clocks fall back joins the bucket before
            np.maximum.accumulate(keys, out=keys)
        return keys

    def ends(self, keys: np.ndarray) -> np.ndarray:
        """The UTC end of each bucket."""
        return self._from_clock(keys + self.period)

    def labels(self, keys: np.ndarray) -> np.ndarray:
        """The UTC time each bucket's coarse bar is stamped with."""
        return self.ends(keys) if self.label == "end" else self._from_clock(keys)

    def _to_clock(self, ts: np.ndarray) -> np.ndarray:
        if not self.local:
            return ts
        aware = pa.array(ts, pa.timestamp("ns", tz=self.tz))
        return pc.local_timestamp(aware).cast(pa.int64()).to_numpy(zero_copy_only=False)

    def _from_clock(self, wall: np.ndarray) -> np.ndarray:
        if not self.local:
            return wall
        naive = pa.array(wall, pa.timestamp("ns"))
        utc = pc.assume_timezone(naive, self.tz, ambiguous="earliest", nonexistent="latest")
        return utc.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _aggregate(cols: Columns, starts: np.ndarray) -> tuple[np.ndarray, ...]:
    """open, high, low, close, volume and last time of each segment of
    ``cols`` that begins at ``starts`` (the last one runs to the end)."""
    ts, o, h, lo, c, v = cols
    last = np.append(starts[1:], len(ts)) - 1
    return (o[starts], np.maximum.reduceat(h, starts), np.minimum.reduceat(lo, starts),
            c[last], np.add.reduceat(v, starts), ts[last])


class Resampler:
    """Aggregates a stream of fine bars into the coarse bars of ``buckets``,
    carrying the rows of the open bucket from one :meth:`push` to the next.

    ``base_ns`` is the fine bars' interval: with ``label="start"`` a bar
    stamped ``t`` ends at ``t + base_ns``, which decides whether the last
    bucket is complete (:meth:`finish`).
    """

    def __init__(self, buckets: Buckets, base_ns: int) -> None:
        self.buckets = buckets
        self.base = base_ns if buckets.label == "start" else 0
        self._open: list[Columns] = []  # fine rows of the bucket still open
        self._key: int | None = None

    def push(self, cols: Columns) -> Columns:
        """The coarse bars completed by the fine bars ``cols`` (sorted, after
        every earlier push)."""
        ts = cols[0]
        if not len(ts):
            return _empty()
        keys = self.buckets.keys(ts)
        if self._key is not None:
            np.maximum(keys, self._key, out=keys)
        starts = np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))
        done: list[Columns] = []
        first = 0
        if self._key is not None and int(keys[0]) == self._key:
            if len(starts) == 1:  # the open bucket goes on through this batch
                self._open.append(cols)
                return _empty()
            stop = int(starts[1])
            done.append(self._close(_slice(cols, 0, stop)))
            first = 1
        elif self._key is not None:
            done.append(self._close(None))
        tail = int(starts[-1])
        if first < len(starts) - 1:
            inner = _slice(cols, int(starts[first]), tail)
            done.append(self._emit(inner, starts[first:-1] - starts[first], keys[starts[first:-1]]))
        self._open = [_slice(cols, tail, len(ts))]
        self._key = int(keys[tail])
        return _concat(done)

    def finish(self) -> Columns:
        """The open bucket, if it is complete by time; then forget it."""
        if self._key is None:
            return _empty()
        last = int(self._open[-1][0][-1])
        end = int(self.buckets.ends(np.array([self._key]))[0])
        out = self._close(None) if last + self.base >= end else _empty()
        self._open, self._key = [], None
        return out

    def _close(self, more: Columns | None) -> Columns:
        """The open bucket (plus ``more`` of its rows) as one coarse bar."""
        parts = [*self._open, *([more] if more is not None else [])]
        rows = parts[0] if len(parts) == 1 else _columns(np.concatenate(a) for a in zip(*parts))
        key = np.array([self._key], dtype=np.int64)
        self._open, self._key = [], None
        return self._emit(rows, np.zeros(1, dtype=np.intp), key)

    def _emit(self, rows: Columns, starts: np.ndarray, keys: np.ndarray) -> Columns:
        o, h, lo, c, v, _ = _aggregate(rows, starts)
        return self.buckets.labels(keys).astype(np.int64), o, h, lo, c, v


def resample_bars(batches: Iterable[BarBatch], buckets: Buckets, *, symbol: str, base_ns: int,
                  batch_rows: int = 65_536) -> Iterator[BarBatch]:
    """``batches`` of ``symbol``'s fine bars as coarse bars of ``buckets``,
    ``batch_rows`` per batch (the last may be shorter)."""
    def parts() -> Iterator[Columns]:
        resampler = Resampler(buckets, base_ns)
        for batch in batches:
            yield resampler.push((batch.timestamp, batch.open, batch.high, batch.low,
                                  batch.close, batch.volume))
        yield resampler.finish()

    return rechunk(parts(), symbol=symbol, rows=batch_rows)


def _slice(cols: Columns, start: int, stop: int) -> Columns:
    return _columns(a[start:stop] for a in cols)


def _columns(arrays: Iterable[np.ndarray]) -> Columns:
    ts, o, h, lo, c, v = arrays
    return ts, o, h, lo, c, v


def _empty() -> Columns:
    return (np.empty(0, np.int64), *(np.empty(0) for _ in range(5)))  # type: ignore[return-value]


def _concat(parts: list[Columns]) -> Columns:
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0]
    return _columns(np.concatenate(a) for a in zip(*parts))
