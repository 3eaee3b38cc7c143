"""Sources beyond one CSV or Parquet file: Arrow IPC (Feather v2) files, which
is also how bars handed in memory reach every executor, and Parquet datasets
partitioned by symbol.

An Arrow IPC file is memory-mapped, so its batches are read without a copy.
Its schema metadata may carry ``admf.location`` (what errors call it, e.g.
``data['SPY']`` for a frame handed to :func:`admf.run`) and ``admf.first_row``
(the number of its first row in messages: 0 for frames, so a row number is a
frame position, ``iloc``).

A partitioned dataset (``<dir>/symbol=SPY/*.parquet``) is scanned with
:mod:`pyarrow.dataset`: the symbol filter selects the partition and the time
window is pushed down to row-group statistics when the timestamp column is an
Arrow timestamp, so files and row groups outside it are not read. Row numbers
in messages count the symbol's rows in the window.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path

from typing import Any

import pyarrow as pa

from ..errors import DataError
from ._names import resolve_columns
from ._sources import Chunk, columns_of

__all__ = ("ArrowSource", "DatasetSource")


class ArrowSource:
    """An Arrow IPC file (``.arrow``, ``.feather``), memory-mapped."""

    def __init__(self, path: Path, *, mapping: Mapping[str, str] | None = None, adjust: bool = False) -> None:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        self.path = path
        schema = self._open().schema
        meta = schema.metadata or {}
        self.location = meta.get(b"admf.location", str(path).encode()).decode()
        self.first_row = int(meta.get(b"admf.first_row", b"1"))
        self.names = resolve_columns(schema.names, self.location, mapping=mapping, adjust=adjust)

    def _open(self) -> pa.ipc.RecordBatchFileReader:
        try:
            return pa.ipc.open_file(pa.memory_map(str(self.path)))
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{self.path}: not a readable Arrow IPC file: {exc}") from exc

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the columns batch by batch (no copy: the file is memory-mapped)."""
        reader = self._open()
        for i in range(reader.num_record_batches):
            yield Chunk(columns_of(reader.get_batch(i), self.names))


class DatasetSource:
    """One symbol of a Parquet dataset partitioned by ``symbol`` (hive style)."""

    def __init__(
        self,
        path: Path,
        *,
        symbol: str,
        start: int | None,
        end: int | None,
        batch_rows: int,
        mapping: Mapping[str, str] | None = None,
        adjust: bool = False,
    ) -> None:
        import pyarrow.dataset as ds  # lazily: it pulls in optional modules at import

        self._ds = ds
        self.location = f"{path} [symbol={symbol}]"
        partition = path / f"symbol={symbol}"
        if not partition.is_dir():
            found = sorted(p.name for p in path.iterdir() if p.name.startswith("symbol="))
            raise DataError(f"{path}: no partition symbol={symbol} in this dataset; found {found[:10]}")
        try:
            partitioning = ds.partitioning(pa.schema([("symbol", pa.string())]), flavor="hive")
            self._dataset = ds.dataset(str(path), format="parquet", partitioning=partitioning)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{path}: not a readable Parquet dataset: {exc}") from exc
        found = [name for name in self._dataset.schema.names if name != "symbol"]
        self.names = resolve_columns(found, self.location, mapping=mapping, adjust=adjust)
        self._filter = self._pushdown(symbol, start, end)
        self._batch_rows = batch_rows

    def _pushdown(self, symbol: str, start: int | None, end: int | None) -> Any:
        ds = self._ds
        where = ds.field("symbol") == symbol
        name = self.names[0]
        kind = self._dataset.schema.field(name).type
        if not pa.types.is_timestamp(kind):  # strings or epoch numbers: the decoder windows them
            return where
        # A naive column holds local times of data.tz; only UTC (tz None) compares as is.
        bound_type = pa.timestamp("ns", kind.tz) if kind.tz is not None else pa.timestamp("ns")
        if start is not None:
            where &= ds.field(name) >= pa.scalar(start, bound_type)
        if end is not None:
            where &= ds.field(name) <= pa.scalar(end, bound_type)
        return where

    def without_time_pushdown(self, symbol: str) -> None:
        """Filter by symbol only (when naive times are local to a zone other than UTC)."""
        self._filter = self._ds.field("symbol") == symbol

    def chunks(self) -> Generator[Chunk, None, None]:
        """Yield the symbol's rows in the window, batch by batch, in file order."""
        wanted = [name for name in self.names if name is not None]
        try:
            scanner = self._dataset.scanner(columns=wanted, filter=self._filter, batch_size=self._batch_rows)
            for batch in scanner.to_batches():
                if batch.num_rows:
                    yield Chunk(columns_of(batch, self.names))
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{self.location}: cannot read: {exc}") from exc
