"""Streaming readers of the six bar columns from CSV and Parquet files.

A source checks the file and its columns when it is made (so a wrong path or
a missing column fails before anything runs) and holds no open file until
:meth:`chunks` is iterated. Chunks are tuples of Arrow arrays in canonical
order: timestamp, open, high, low, close, volume.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..errors import DataError
from ._names import COLUMNS, KEYS, TIMESTAMP_ALIASES, UNNAMED, resolve_columns

__all__ = ("COLUMNS", "TIMESTAMP_ALIASES", "Chunk", "Source", "CsvSource", "ParquetSource", "columns_of", "resolve_columns")

_HEADER_LIMIT = 1 << 20
# Arrow's CSV reader keeps about 36 blocks in flight whatever the block size,
# and its speed barely depends on it: small blocks keep memory near 20 MB.
_BLOCK_BYTES = 1 << 19


class Chunk(NamedTuple):
    """Columns in canonical order. ``broken`` describes a row that could not
    be split into fields: it comes right after the last row here, and
    nothing is read after it."""

    arrays: tuple[pa.Array | None, ...]  # None: a column the file does not have (volume)
    broken: str | None = None


class Source(Protocol):
    """A file's bar columns, read in chunks."""

    names: tuple[str | None, ...]  # the file's own column names, canonical order (None: absent)

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the columns chunk by chunk, in file order."""
        ...


def columns_of(batch: pa.RecordBatch | pa.Table, names: tuple[str | None, ...]) -> tuple[pa.Array | None, ...]:
    """``batch``'s bar columns in canonical order (``None`` for an absent one)."""
    return tuple(None if name is None else _array(batch.column(name)) for name in names)


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


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

    def __init__(self, path: Path, *, mapping: Mapping[str, str] | None = None, adjust: bool = False) -> None:
        _check_file(path)
        self.path = path
        header = _read_header(path)
        # Arrow cannot select a column with an empty name (pandas' unnamed index): name them all.
        self._header = [name if name.strip() else UNNAMED for name in header]
        self.names = resolve_columns(self._header, str(path), mapping=mapping, adjust=adjust)

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
            empty = tuple(None if name is None else pa.array([], pa.string()) for name in self.names)
            yield Chunk(empty, _describe(broken[0]))

    def _columns(self, batch: pa.RecordBatch) -> tuple[pa.Array | None, ...]:
        return columns_of(batch, self.names)

    def _batches(
        self, number: pa.DataType, on_invalid: Callable[[pcsv.InvalidRow], str] | None
    ) -> Iterator[pa.RecordBatch]:
        types = {name: (number if key != "timestamp" else pa.string()) for key, name in zip(KEYS, self.names) if name}
        convert = pcsv.ConvertOptions(
            column_types=types,
            include_columns=list(types),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        # Without threads Arrow knows the number of a malformed row.
        read = pcsv.ReadOptions(
            block_size=_BLOCK_BYTES, use_threads=on_invalid is None, column_names=self._header, skip_rows=1
        )
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

    def __init__(
        self, path: Path, *, batch_rows: int, mapping: Mapping[str, str] | None = None, adjust: bool = False
    ) -> None:
        _check_file(path)
        self.path = path
        self._batch_rows = batch_rows
        with self._open() as file:
            self.names = resolve_columns(file.schema_arrow.names, str(path), mapping=mapping, adjust=adjust)

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the columns chunk by chunk, in file order."""
        with self._open() as file:
            try:
                wanted = [name for name in self.names if name is not None]
                for batch in file.iter_batches(batch_size=self._batch_rows, columns=wanted):
                    yield Chunk(columns_of(batch, self.names))
            except (OSError, pa.ArrowInvalid) as exc:
                raise DataError(f"{self.path}: cannot read: {exc}") from exc

    def _open(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(str(self.path))
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{self.path}: not a readable Parquet file: {exc}") from exc

