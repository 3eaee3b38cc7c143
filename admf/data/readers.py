"""Read bars from CSV and Parquet files as a stream of :class:`~admf.messages.BarBatch`.

Files are streamed (Arrow's CSV streaming reader, Parquet batch by batch),
never loaded whole: memory is bounded by the batch size (and, for Parquet,
the file's row-group size).

**Columns.** ``timestamp, open, high, low, close, volume``, matched
case-insensitively; the timestamp column may instead be called ``datetime``,
``date`` or ``time`` (only when there is no ``timestamp``, and only one of
them), or be an unnamed first column (what pandas writes for its index).
``volume`` is optional: without it bars have NaN volume. ``columns`` maps
keys to the file's own names; ``adjust="ohlc"`` scales open, high, low and
close by ``Adj Close / Close`` (see :mod:`admf.data._names`). Other columns
are ignored.

**Paths.** A file (``.csv``, ``.csv.gz``, ``.parquet``, ``.arrow``/``.feather``),
a directory or glob of per-symbol files, or a Parquet dataset partitioned by
``symbol=`` (see :mod:`admf.data._paths`).

**Timestamps.** ISO-8601 dates or datetimes (``T`` or a space, optional
fraction, optional ``Z``/``±hh:mm`` offset), or epoch numbers in s, ms, us or
ns (unit by magnitude, see :mod:`admf.data.timeparse`); Parquet timestamp
and date columns too. Naive times are in ``tz`` (UTC when ``None``); times
with an offset, and epoch numbers, are absolute.

**Validation.** Every row read is checked: no empty cells, parsable values,
finite numbers, strictly increasing timestamps (across batches too),
positive prices, non-negative volume, ``low <= min(open, close)`` and
``high >= max(open, close)``. A problem raises :class:`~admf.errors.DataError`
naming the file, the row and the value. **Row numbers count data rows from
1; the header is not counted** (in a CSV without blank lines, row N is on
line N + 1). Reading stops at the first row past ``end``, so rows after it
are never examined; rows before ``start`` are checked, not emitted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing
from os import PathLike
from pathlib import Path
from typing import Literal

from ..errors import ConfigError
from ..messages import BarBatch
from ._batching import Columns, rechunk
from ._datasets import ArrowSource, DatasetSource
from ._decode import Decoder
from ._paths import is_collection, is_partitioned, symbol_file
from ._sources import CsvSource, ParquetSource, Source
from .timeparse import TimeLike, check_timezone, format_ns, parse_time

__all__ = ("iter_bars", "detect_format")

Format = Literal["csv", "parquet", "arrow"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}


def detect_format(path: str | PathLike[str]) -> Format:
    """``"csv"``, ``"parquet"`` or ``"arrow"`` from the file name (``.csv``, ``.csv.gz``,
    ``.parquet``, ``.pq``, ``.arrow``, ``.feather``)."""
    name = Path(path).name.lower()
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise ConfigError(f"{path}: cannot tell the format from the file name; give fmt='csv', 'parquet' or 'arrow'")


def iter_bars(
    path: str | PathLike[str],
    *,
    symbol: str,
    fmt: Format | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    batch_rows: int = 65_536,
    tz: str | None = None,
    columns: Mapping[str, str] | None = None,
    adjust: Literal["none", "ohlc"] = "none",
) -> Iterator[BarBatch]:
    """Stream the bars of one file, ``batch_rows`` per batch (the last may be shorter).

    ``start`` and ``end`` (see :func:`~admf.data.timeparse.parse_time`;
    naive values are in ``tz``) keep only bars in ``[start, end]``, both
    inclusive; an ``end`` without a time of day includes that whole day.

    Batches hold read-only, contiguous arrays (int64 ns UTC timestamps,
    float64 prices and volume). The file and its columns are checked now;
    rows are read and checked as the iterator is consumed. Raises :class:`~admf.errors.DataError` for bad
    data (see the module docstring), including when no bar is selected, and
    :class:`~admf.errors.ConfigError` for bad arguments.
    """
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be at least 1, got {batch_rows}")
    tz = check_timezone(tz)
    first = None if start is None else parse_time(start, tz=tz)
    last = None if end is None else parse_time(end, end=True, tz=tz)
    if first is not None and last is not None and first > last:
        raise ConfigError(f"start {format_ns(first)} is after end {format_ns(last)}")
    if adjust not in ("none", "ohlc"):
        raise ConfigError(f"unknown adjust {adjust!r}; expected 'none' or 'ohlc'")
    source, location, first_row = _source(
        str(path), symbol, fmt, first, last, batch_rows, tz, columns, adjust == "ohlc"
    )
    decoder = Decoder(location=location, names=source.names, tz=tz, start=first, end=last, first_row=first_row)
    return rechunk(_selected(source, decoder, _window(first, last)), symbol=symbol, rows=batch_rows)


def _source(
    text: str,
    symbol: str,
    fmt: Format | None,
    first: int | None,
    last: int | None,
    batch_rows: int,
    tz: str | None,
    columns: Mapping[str, str] | None,
    adjust: bool,
) -> tuple[Source, str, int]:
    """The source for ``symbol`` at ``text``, what messages call it, and its first row's number."""
    if fmt is not None and fmt not in ("csv", "parquet", "arrow"):
        raise ConfigError(f"unknown data format {fmt!r}; expected 'csv', 'parquet' or 'arrow'")
    if is_partitioned(text):
        dataset = DatasetSource(
            Path(text), symbol=symbol, start=first, end=last, batch_rows=batch_rows, mapping=columns, adjust=adjust
        )
        if tz is not None:
            dataset.without_time_pushdown(symbol)
        return dataset, dataset.location, 1
    path = symbol_file(text, symbol) if is_collection(text) else Path(text)
    fmt = fmt or detect_format(path)
    if fmt == "arrow":
        arrow = ArrowSource(path, mapping=columns, adjust=adjust)
        return arrow, arrow.location, arrow.first_row
    if fmt == "csv":
        return CsvSource(path, mapping=columns, adjust=adjust), str(path), 1
    return ParquetSource(path, batch_rows=batch_rows, mapping=columns, adjust=adjust), str(path), 1


def _window(first: int | None, last: int | None) -> str:
    low = "the start" if first is None else format_ns(first)
    high = "the end" if last is None else format_ns(last)
    return f"from {low} to {high}"


def _selected(source: Source, decoder: Decoder, window: str) -> Iterator[Columns]:
    emitted = 0
    with closing(source.chunks()) as chunks:  # close the file as soon as ``end`` is passed
        for chunk in chunks:
            columns = decoder.decode(chunk.arrays, chunk.broken)
            emitted += len(columns[0])
            yield columns
            if decoder.finished:
                break
    if emitted == 0:
        if decoder.rows_read == 0 and not decoder.finished:
            raise decoder.error("no data rows")
        raise decoder.error(f"no bars {window} ({decoder.rows_read} rows examined)")
