"""An indicator computed on a coarser timeframe of the same symbol: a
20-day SMA on minute bars.

:class:`OnTimeframe` aggregates the fine bars it is fed into coarse bars
(open first, high max, low min, close last, volume sum) of ``timeframe``,
feeds each coarse bar to the inner indicator once it is *complete*, and
gives every fine bar the inner value of the last completed coarse bar —
never of the coarse bar still forming, so there is no look-ahead.

Fine timestamps mark bar ends (admf's default ``data.resample_label: end``).
A coarse bucket is ``(end - timeframe, end]`` on the UTC clock, every
``timeframe`` from Monday 1970-01-05 (days start at UTC midnight, weeks on
Monday). It is complete at the fine bar stamped exactly at its end, or
failing that at the first fine bar after it; so on daily buckets of session
data the day's value arrives with the next session's first bar.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np

from ...errors import ConfigError
from ._base import Indicator

__all__ = ("OnTimeframe", "timeframe_ns")

_MONDAY = 4 * 86_400_000_000_000
# The fixed-length units of data.timeframe (admf.data.timeparse); components
# cannot import the data layer, so the few units a coarse timeframe needs live here.
_UNITS = {"s": 10**9, "S": 10**9, "m": 60 * 10**9, "min": 60 * 10**9, "T": 60 * 10**9,
          "h": 3_600 * 10**9, "H": 3_600 * 10**9, "d": 86_400 * 10**9, "D": 86_400 * 10**9,
          "w": 604_800 * 10**9, "W": 604_800 * 10**9}
_DURATION = re.compile(r"\s*(\d*)\s*([A-Za-z]+)\s*")


def timeframe_ns(value: object) -> int:
    """A coarse timeframe (``"1d"``, ``"1D"``, ``"4h"``, ``"W"`` or int ns) in nanoseconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or match[2] not in _UNITS or (not match[1] and match[2] == "m") \
            or (match[1] and int(match[1]) == 0):
        raise ConfigError(f"indicator parameter 'timeframe' must be a bar interval like '1d', "
                          f"'4h' or '1W' ({', '.join(_UNITS)}), got {value!r}")
    return int(match[1] or 1) * _UNITS[match[2]]


class _Coarse:
    """Coarse bars handed to the inner indicator."""

    def __init__(self, timestamp: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                 c: np.ndarray, v: np.ndarray) -> None:
        self.timestamp, self.open, self.high, self.low, self.close, self.volume = timestamp, o, h, lo, c, v


class OnTimeframe(Indicator[Any]):
    """``inner`` computed on ``timeframe`` bars of the fine bars it is fed
    (see the module docstring). Its output has the inner indicator's shape.

    ``warmup`` is in coarse bars (the inner one's); ``warmup_span_ns`` is the
    time it spans, which a study turns into fine bars."""

    name: ClassVar[str] = "on_timeframe"

    def __init__(self, inner: Indicator[Any], timeframe: object) -> None:
        if not isinstance(inner, Indicator):
            raise ConfigError(f"OnTimeframe needs an Indicator, got {inner!r}")
        self.inner = inner
        self.period = timeframe_ns(timeframe)
        self.outputs = inner.outputs  # type: ignore[misc]
        self.warmup_span_ns = (inner.warmup + 1) * self.period
        super().__init__(fields=(), warmup=inner.warmup,
                         params={"timeframe": self.period, "inner": inner.key})

    def reset(self) -> None:
        super().reset()
        self.inner.reset()
        self._open: tuple[int, float, float, float, float, float] | None = None  # end, o, h, l, c, v
        self._last: Any = None  # the inner value of the last completed coarse bar

    def _pack(self, parts: tuple[np.ndarray, ...]) -> Any:
        return parts[0] if len(parts) == 1 else dict(zip(self.outputs, parts, strict=True))

    def update(self, bars: Any) -> Any:
        """Values for the rows of ``bars`` (which must carry ``timestamp``)."""
        ts = np.asarray(bars.timestamp, dtype=np.int64)
        cols = [np.asarray(getattr(bars, f), dtype=np.float64) for f in ("open", "high", "low", "close", "volume")]
        n = len(ts)
        ends = _MONDAY + ((ts - 1 - _MONDAY) // self.period + 1) * self.period
        starts = np.concatenate(([0], np.flatnonzero(ends[1:] != ends[:-1]) + 1)) if n else np.zeros(0, np.intp)
        segments = _segments(ts, cols, ends, starts)
        done: list[tuple[int, float, float, float, float, float]] = []
        if self._open is not None and segments and segments[0][0] != self._open[0]:
            done.append(self._open)  # a later bucket arrived: the open one is complete
            self._open = None
        counts = np.empty(n, dtype=np.intp)  # per row: coarse bars completed in this batch by then
        closed_before = len(done)
        for k, segment in enumerate(segments):
            if k == 0 and self._open is not None:  # the open bucket goes on
                segment = _merge(self._open, segment)
                self._open = None
            lo, hi = int(starts[k]), int(starts[k + 1]) if k + 1 < len(starts) else n
            counts[lo:hi] = closed_before
            if ts[hi - 1] == segment[0]:  # a row stamped at its bucket's end completes it there
                counts[hi - 1] += 1
                done.append(segment)
            elif k + 1 < len(segments):  # a later bucket follows: complete from its first row
                done.append(segment)
            else:
                self._open = segment
            closed_before = len(done)
        values = self._feed(done)
        self._seen += n
        return self._pack(tuple(np.concatenate(([prev], vals))[counts] for prev, vals in values))

    def _feed(self, done: list[tuple[int, float, float, float, float, float]]) -> list[tuple[float, np.ndarray]]:
        """Feed the completed coarse bars to the inner indicator; per output,
        the value before them and their values."""
        names = self.outputs if len(self.outputs) > 1 else ("",)
        previous = self._last if self._last is not None else {name: np.nan for name in names}
        if done:
            arrays = [np.array([bar[i] for bar in done]) for i in range(6)]
            out = self.inner.update(_Coarse(arrays[0].astype(np.int64), *arrays[1:]))
            fresh = out if isinstance(out, dict) else {"": out}
            self._last = {name: float(fresh[name][-1]) for name in names}
        else:
            fresh = {name: np.empty(0) for name in names}
        return [(previous[name], np.asarray(fresh[name], dtype=np.float64)) for name in names]


def _segments(ts: np.ndarray, cols: list[np.ndarray], ends: np.ndarray,
              starts: np.ndarray) -> list[tuple[int, float, float, float, float, float]]:
    if not len(ts):
        return []
    o, h, lo, c, v = cols
    last = np.append(starts[1:], len(ts)) - 1
    return list(zip(ends[starts].tolist(), o[starts].tolist(), np.maximum.reduceat(h, starts).tolist(),
                    np.minimum.reduceat(lo, starts).tolist(), c[last].tolist(),
                    np.add.reduceat(v, starts).tolist()))


def _merge(head: tuple[int, float, float, float, float, float],
           tail: tuple[int, float, float, float, float, float]) -> tuple[int, float, float, float, float, float]:
    return head[0], head[1], max(head[2], tail[2]), min(head[3], tail[3]), tail[4], head[5] + tail[5]
