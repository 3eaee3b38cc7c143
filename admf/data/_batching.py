"""Re-chunking parsed columns into :class:`~admf.messages.BarBatch` es of a fixed size."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from ..messages import BarBatch

__all__ = ("Columns", "rechunk")

# timestamp (int64 ns), open, high, low, close, volume (float64), equal lengths
Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rechunk(parts: Iterable[Columns], *, symbol: str, rows: int) -> Iterator[BarBatch]:
    """Batches of exactly ``rows`` bars (the last may be shorter) from ``parts`` of any size.

    Holds at most one batch plus one part in memory. Yielded arrays are
    contiguous and read-only: a batch may be shared by several consumers.
    """
    pending: deque[Columns] = deque()
    held = 0
    for part in parts:
        if len(part[0]) == 0:
            continue
        pending.append(part)
        held += len(part[0])
        while held >= rows:
            yield _batch(symbol, _take(pending, rows))
            held -= rows
    if held:
        yield _batch(symbol, _take(pending, held))


def _take(pending: deque[Columns], count: int) -> Columns:
    pieces: list[Columns] = []
    while count:
        head = pending[0]
        size = len(head[0])
        if size <= count:
            pieces.append(pending.popleft())
            count -= size
        else:
            pieces.append(_slice(head, 0, count))
            pending[0] = _slice(head, count, size)
            count = 0
    if len(pieces) == 1:
        return pieces[0]
    return _columns(np.concatenate(arrays) for arrays in zip(*pieces))


def _slice(columns: Columns, start: int, stop: int) -> Columns:
    return _columns(array[start:stop] for array in columns)


def _columns(arrays: Iterable[np.ndarray]) -> Columns:
    ts, o, h, lo, c, v = arrays
    return ts, o, h, lo, c, v


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=dtype)
    out.flags.writeable = False
    return out


def _batch(symbol: str, columns: Columns) -> BarBatch:
    ts = _frozen(columns[0], np.int64)
    o, h, lo, c, v = (_frozen(array, np.float64) for array in columns[1:])
    return BarBatch(ts=int(ts[0]), symbol=symbol, timestamp=ts, open=o, high=h, low=lo, close=c, volume=v)
