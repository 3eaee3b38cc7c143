"""Streaming readers of the six bar columns from CSV and Parquet files.

A source checks the file and its columns when it is made (so a wrong path or
a missing column fails before anything runs) and holds no open file until
:meth:`chunks` is iterated. Chunks are tuples of Arrow arrays in canonical
order: timestamp, open, high, low, close, volume.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..errors import DataError

__all__ = ("COLUMNS", "TIMESTAMP_ALIASES", "Chunk", "Source", "CsvSource", "ParquetSource", "resolve_columns")

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
# Used, in this order of preference, only when there is no "timestamp" column.
TIMESTAMP_ALIASES = ("datetime", "date", "time")

_HEADER_LIMIT = 1 << 20
# Arrow's CSV reader keeps about 36 blocks in flight whatever the block size,
# and its speed barely depends on it: small blocks keep memory near 20 MB.
_BLOCK_BYTES = 1 << 19


class Chunk(NamedTuple):
    """Columns in canonical order. ``broken`` describes a row that could not
    be split into fields: it comes right after the last row here, and
    nothing is read after it."""

    arrays: tuple[pa.Array, ...]
    broken: str | None = None


class Source(Protocol):
    """A file's bar columns, read in chunks."""

    names: tuple[str, ...]  # the file's own column names, canonical order

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the columns chunk by chunk, in file order."""
        ...


def resolve_columns(found: Sequence[str], location: str) -> tuple[str, ...]:
    """The file's names for the six bar columns, matched case-insensitively.

    Extra columns are ignored. Raises :class:`DataError` listing what is
    missing (and what was found), or naming two columns that both match.
    """
    by_key: dict[str, list[str]] = {}
    for name in found:
        by_key.setdefault(name.strip().lower(), []).append(name)
    if "timestamp" not in by_key:
        aliases = [alias for alias in TIMESTAMP_ALIASES if alias in by_key]
        if len(aliases) > 1:
            both = " and ".join(repr(by_key[a][0]) for a in aliases)
            raise DataError(f"{location}: columns {both} could both be the timestamp; rename one to 'timestamp'")
        if aliases:
            by_key["timestamp"] = by_key[aliases[0]]
    missing = [key for key in COLUMNS if key not in by_key]
    if missing:
        raise DataError(
            f"{location}: missing columns {missing}; found {list(found)} "
            f"(expected {', '.join(COLUMNS)}, any case; the timestamp may be called {', '.join(TIMESTAMP_ALIASES)})"
        )
    for key in COLUMNS:
        if len(by_key[key]) > 1:
            raise DataError(f"{location}: columns {by_key[key]} all match {key!r}; keep one")
    return tuple(by_key[key][0] for key in COLUMNS)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")


class CsvSource:
    """A CSV file (optionally ``.gz``), read with Arrow's streaming reader.

    Prices are parsed straight to float64 by the reader. If that fails
    (a bad number or a row with the wrong number of fields) the rest of the
    file is read again as text, so the decoder can name the row and value.
    """

    def __init__(self, path: Path) -> None:
        _check_file(path)
        self.path = path
        self.names = resolve_columns(_read_header(path), str(path))

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the columns chunk by chunk, in file order."""
        done = 0
        try:
            for chunk in self._read_typed():
                done += len(chunk.arrays[0])
                yield chunk
            return
        except pa.ArrowInvalid:
            pass
        yield from self._read_text(skip=done)

    def _read_typed(self) -> Iterator[Chunk]:
        for batch in self._batches(pa.float64(), None):
            yield Chunk(self._columns(batch))

    def _read_text(self, *, skip: int) -> Iterator[Chunk]:
        broken: list[pcsv.InvalidRow] = []

        def on_invalid(row: pcsv.InvalidRow) -> str:
            broken.append(row)
            return "skip"

        seen = 0
        for batch in self._batches(pa.string(), on_invalid):
            arrays, size = self._columns(batch), batch.num_rows
            cut = _broken_position(broken, seen, size)
            seen += size
            drop, skip = min(skip, size), max(skip - size, 0)
            if cut is not None:
                yield Chunk(tuple(a.slice(drop, cut - drop) for a in arrays), _describe(broken[0]))
                return
            yield Chunk(tuple(a.slice(drop) for a in arrays))
        if broken:
            empty = tuple(pa.array([], pa.string()) for _ in self.names)
            yield Chunk(empty, _describe(broken[0]))

    def _columns(self, batch: pa.RecordBatch) -> tuple[pa.Array, ...]:
        return tuple(batch.column(name) for name in self.names)

    def _batches(
        self, number: pa.DataType, on_invalid: Callable[[pcsv.InvalidRow], str] | None
    ) -> Iterator[pa.RecordBatch]:
        types = {name: (number if key != "timestamp" else pa.string()) for key, name in zip(COLUMNS, self.names)}
        convert = pcsv.ConvertOptions(
            column_types=types,
            include_columns=list(self.names),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        # Without threads Arrow knows the number of a malformed row.
        read = pcsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=on_invalid is None)
        parse = pcsv.ParseOptions(invalid_row_handler=on_invalid)
        try:
            with pa.input_stream(str(self.path)) as stream:
                yield from pcsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as exc:
            if on_invalid is None:
                raise
            raise DataError(f"{self.path}: malformed CSV: {exc}") from None
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read: {exc}") from exc


def _broken_position(broken: list[pcsv.InvalidRow], seen: int, size: int) -> int | None:
    """Where the first malformed row falls in the current batch, if it does."""
    if not broken:
        return None
    number = broken[0].number
    if number is None:
        return size
    position = number - 2 - seen  # ``number`` counts records from 1, the header included
    return position if position <= size else None


def _describe(row: pcsv.InvalidRow) -> str:
    return f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text!r}"


def _read_header(path: Path) -> list[str]:
    head = b""
    try:
        with pa.input_stream(str(path)) as stream:
            while b"\n" not in head and len(head) < _HEADER_LIMIT:
                block = stream.read(1 << 16)
                if not block:
                    break
                head += block
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    if not line.strip():
        raise DataError(f"{path}: no header row (the file is empty or starts with a blank line)")
    return next(csv.reader([line]))


class ParquetSource:
    """A Parquet file, read batch by batch (memory bounded by one row group)."""

    def __init__(self, path: Path, *, batch_rows: int) -> None:
        _check_file(path)
        self.path = path
        self._batch_rows = batch_rows
        with self._open() as file:
            self.names = resolve_columns(file.schema_arrow.names, str(path))

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the columns chunk by chunk, in file order."""
        with self._open() as file:
            try:
                for batch in file.iter_batches(batch_size=self._batch_rows, columns=list(self.names)):
                    yield Chunk(tuple(batch.column(name) for name in self.names))
            except (OSError, pa.ArrowInvalid) as exc:
                raise DataError(f"{self.path}: cannot read: {exc}") from exc

    def _open(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(str(self.path))
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{self.path}: not a readable Parquet file: {exc}") from exc

