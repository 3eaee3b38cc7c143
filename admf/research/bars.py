"""Opening a study's bars: one symbol's stream as ``data`` says, restricted
to a run's window, and resampled when ``data.resample`` is set."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..data.readers import iter_bars
from ..data.resample import Buckets, resample_bars
from ..data.synthetic import synthetic_bars
from ..data.timeparse import parse_duration, parse_time
from ..errors import DataError
from ..messages import BarBatch
from .config import StudyConfig

__all__ = ("Window", "bar_stream")

Window = tuple[int, int]
"""First and last bar time (int64 ns, both inclusive) a run may see."""


def bar_stream(config: StudyConfig, symbol: str,
               window: Window | None = None) -> Callable[[], Iterator[BarBatch]]:
    """The function that opens ``symbol``'s bars as the config says, further
    restricted to ``window`` (a sequence's train or test span).

    A synthetic series starts at ``data.start`` (default 2020-01-01) and has
    ``data.bars`` bars, cut at ``data.end``; windows select within it.

    With ``data.resample`` the window is in resampled bar times: the fine
    bars are read from one period before it (never before ``data.start``)
    to the data's own end, resampled, then cut to the window, so a window's
    coarse bars are exactly those of the whole series (the reader stops soon
    after the window's last bar)."""
    data = config.data
    if data.resample is None:
        return _fine(config, symbol, *(window or (None, None)))
    period, base = parse_duration(data.resample), parse_duration(data.timeframe)
    first = None if window is None else window[0] - period
    if first is not None and data.start is not None and data.source != "synthetic":
        first = max(first, parse_time(data.start, tz=data.tz))
    fine = _fine(config, symbol, first, None)
    buckets = Buckets(period, label=data.resample_label, calendar=data.calendar, tz=data.tz)

    def resampled() -> Iterator[BarBatch]:
        bars = resample_bars(fine(), buckets, symbol=symbol, base_ns=base, batch_rows=data.batch_rows)
        if window is not None:
            return _between(bars, *window)
        return _some(bars, f"data.resample {data.resample!r}: the bars of {symbol} hold no "
                           "complete bucket (the last bucket is emitted only when the data "
                           "reaches its end)")

    return resampled


def _fine(config: StudyConfig, symbol: str, first: int | None,
          last: int | None) -> Callable[[], Iterator[BarBatch]]:
    """The data's own bars in ``[first, last]`` (None: the data's own bound)."""
    data = config.data
    if data.source == "synthetic":
        end = parse_time(data.end, end=True, tz=data.tz) if data.end else None
        last = end if last is None else last if end is None else min(last, end)

        def synthetic() -> Iterator[BarBatch]:
            origin = (np.datetime64(parse_time(data.start, tz=data.tz), "ns") if data.start
                      else "2020-01-01")
            bars = _synthetic(symbol=symbol, bars=int(data.bars), seed=config.seed,
                              start_price=data.start_price, volatility=data.volatility,
                              drift=data.drift, start=origin,
                              timeframe=data.timeframe, batch_rows=data.batch_rows)
            return _between(bars, first, last)

        return synthetic
    path = data.path_for(symbol)
    # exact instants: a bare int would go through the epoch-unit guess
    start: Any = data.start if first is None else np.datetime64(int(first), "ns")
    end_: Any = data.end if last is None else np.datetime64(int(last), "ns")
    return lambda: iter_bars(path, symbol=symbol, fmt=data.source, start=start,
                             end=end_, batch_rows=data.batch_rows, tz=data.tz,
                             columns=data.columns, adjust=data.adjust)


SYNTHETIC_CACHE_ROWS = 4_000_000
"""How many synthetic bars in all (about 48 bytes each) one process keeps
after generating them. Every piece of a sweep, window and draw reads the same
series again; past this many the oldest series is dropped, and a longer series
is generated each time (streamed, so memory stays flat)."""

_generated: OrderedDict[tuple[Any, ...], tuple[BarBatch, ...]] = OrderedDict()
_generated_lock = threading.Lock()


def _synthetic(**settings: Any) -> Iterator[BarBatch]:
    """:func:`~admf.data.synthetic.synthetic_bars` of ``settings``, kept (see
    :data:`SYNTHETIC_CACHE_ROWS`) with read-only arrays, so a consumer that
    wrote into a shared batch would fail loudly rather than change other runs' bars."""
    if settings["bars"] > SYNTHETIC_CACHE_ROWS:
        return synthetic_bars(**settings)
    key = tuple(sorted(settings.items()))
    with _generated_lock:
        kept = _generated.get(key)
        if kept is not None:
            _generated.move_to_end(key)
            return iter(kept)
    return _keeping(key, synthetic_bars(**settings))


def _keeping(key: tuple[Any, ...], batches: Iterator[BarBatch]) -> Iterator[BarBatch]:
    """``batches`` streamed as they are generated (a long series never blocks
    its reader, which may be an application's event loop), kept once the
    reader has taken them all; a reader that stops early keeps nothing."""
    seen = []
    for batch in batches:
        seen.append(_read_only(batch))
        yield batch
    with _generated_lock:
        _generated[key] = tuple(seen)
        while sum(len(b) for series in _generated.values() for b in series) > SYNTHETIC_CACHE_ROWS:
            _generated.popitem(last=False)


def _read_only(batch: BarBatch) -> BarBatch:
    for name in ("timestamp", "open", "high", "low", "close", "volume"):
        getattr(batch, name).flags.writeable = False
    return batch


def _between(batches: Iterator[BarBatch], first: int | None, last: int | None) -> Iterator[BarBatch]:
    """The rows of ``batches`` with ``first <= time <= last`` (None: unbounded)."""
    for batch in batches:
        ts = batch.timestamp
        start = int(np.searchsorted(ts, first, side="left")) if first is not None else 0
        stop = int(np.searchsorted(ts, last, side="right")) if last is not None else len(ts)
        if start < stop:
            yield batch if (start, stop) == (0, len(ts)) else batch.slice(start, stop)
        if stop < len(ts):
            return


def _some(batches: Iterator[BarBatch], empty: str) -> Iterator[BarBatch]:
    """``batches``, or a DataError saying ``empty`` when there are none."""
    seen = False
    for batch in batches:
        seen = True
        yield batch
    if not seen:
        raise DataError(empty)
