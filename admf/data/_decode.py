"""From raw Arrow chunks of a file to validated, windowed numpy columns.

A :class:`Decoder` is fed the file's chunks in order and keeps what spans
chunks (the previous row's timestamp, the row count, the timestamp format),
so every check gives the same answer however the file is chunked. Within a
chunk the earliest problem wins; rows at and after the first timestamp past
``end`` are never examined, because reading stops there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pyarrow as pa

from ..errors import DataError
from ._batching import Columns
from ._checks import Rows, adjusted_problem, first_problem
from ._columns import RowProblem, TimestampParser, first_null, first_true, to_float64

__all__ = ("Decoder",)


class Decoder:
    """Parses and validates one file's chunks; keeps rows in ``[start, end]``.

    ``names`` are the file's column names in canonical order (timestamp,
    open, high, low, close, volume); ``location`` prefixes every message
    (the file path). Row numbers in messages count data rows from 1,
    the header not included.
    """

    def __init__(
        self,
        *,
        location: str,
        names: Sequence[str | None],
        tz: str | None,
        start: int | None,
        end: int | None,
        first_row: int = 1,
    ) -> None:
        self._location = location
        self._first_row = first_row
        self._names = tuple(names)
        self._parse_ts = TimestampParser(tz)
        self._start = start
        self._end = end
        self._rows_read = 0
        self._previous: tuple[int, int] | None = None
        self.finished = False  # a timestamp past ``end`` was seen: stop reading

    @property
    def rows_read(self) -> int:
        """How many data rows have been examined so far."""
        return self._rows_read

    def decode(self, arrays: Sequence[pa.Array | None], broken: str | None = None) -> Columns:
        """Validate one chunk (columns in canonical order); return its rows inside the window.

        ``broken`` describes an unreadable row right after the chunk's last row.
        """
        row0 = self._rows_read + self._first_row
        timestamps = arrays[0]
        assert timestamps is not None
        limit = len(timestamps)
        problems: list[tuple[int, str]] = [] if broken is None else [(limit, broken)]
        ts, limit = self._timestamps(timestamps, limit, problems)
        if self._end is not None and (past := first_true(ts > self._end)) is not None:
            ts, limit, problems, self.finished = ts[:past], past, [], True
        values, limit = self._values(arrays[1:], limit, problems)
        values = [v[:limit] for v in values]
        rows = Rows(ts[:limit], *values[:5], names=self._names[:6], row0=row0, previous=self._previous)
        for found in (first_problem(rows), self._adjusted_problem(values)):
            if found is not None:
                problems.append(found)
        if problems:
            index, problem = min(problems, key=lambda p: p[0])
            raise self.error(problem, row=row0 + index)
        self._rows_read += limit  # all rows, unless reading stopped at ``end``
        if limit:
            self._previous = (int(rows.timestamp[-1]), row0 + limit - 1)
        if len(values) == 6:  # data.adjust: ohlc — scale OHLC by adjusted close / close
            ratio = values[5] / rows.close
            rows = rows._replace(open=rows.open * ratio, high=rows.high * ratio, low=rows.low * ratio, close=values[5])
        return self._window(rows)

    def _adjusted_problem(self, values: list[np.ndarray]) -> tuple[int, str] | None:
        if len(values) < 6:
            return None
        return adjusted_problem(values[5], repr(self._names[6]))

    def error(self, problem: str, *, row: int | None = None) -> DataError:
        """A :class:`DataError` naming the file (and the row, when there is one)."""
        where = self._location if row is None else f"{self._location}: row {row}"
        return DataError(f"{where}: {problem}")

    def _timestamps(self, arr: pa.Array, limit: int, problems: list[tuple[int, str]]) -> tuple[np.ndarray, int]:
        null = first_null(arr)
        if null is not None:
            problems.append((null, f"empty cell in column {self._names[0]!r}"))
            limit = null
        return self._prefix(self._parse, arr, limit, problems)

    def _parse(self, arr: pa.Array) -> np.ndarray:
        if len(arr) == 0:
            return np.empty(0, dtype=np.int64)
        return self._parse_ts(arr)

    def _values(
        self, arrays: Sequence[pa.Array | None], limit: int, problems: list[tuple[int, str]]
    ) -> tuple[list[np.ndarray], int]:
        for name, arr in zip(self._names[1:], arrays):
            null = None if arr is None else first_null(arr.slice(0, limit))
            if null is not None:
                problems.append((null, f"empty cell in column {name!r}"))
                limit = null
        values = []
        for name, arr in zip(self._names[1:], arrays):
            if arr is None:  # no volume column: NaN volume
                values.append(np.full(limit, np.nan))
                continue
            parsed, limit = self._prefix(partial(to_float64, column=str(name)), arr, limit, problems)
            values.append(parsed)
        return values, limit

    def _prefix(
        self,
        convert: Callable[[pa.Array], np.ndarray],
        arr: pa.Array,
        limit: int,
        problems: list[tuple[int, str]],
    ) -> tuple[np.ndarray, int]:
        """``convert`` the longest prefix of ``arr[:limit]`` that converts; note why it stops."""
        while True:
            try:
                return convert(arr.slice(0, limit)), limit
            except RowProblem as exc:
                if exc.index is None:
                    raise self.error(exc.problem) from None
                # A conversion may fail in stages (parse, then range): retry the prefix.
                problems.append((exc.index, exc.problem))
                limit = exc.index

    def _window(self, rows: Rows) -> Columns:
        first = 0
        if self._start is not None:
            first = int(np.searchsorted(rows.timestamp, self._start, side="left"))
        ts, o, h, lo, c, v = (a[first:] for a in rows[:6])
        return ts, o, h, lo, c, v
