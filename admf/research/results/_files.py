"""The file mechanics under the results store: JSON encoding, write-then-rename
(with fsync), and streaming Parquet tables.

Every file is written to ``<name>.tmp`` in its own directory, flushed to disk
and renamed into place, so a crash never leaves a half-written file under a
final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import AdmfError, DataError

__all__ = ("Columns", "TableWriter", "encode_json", "read_json", "read_table", "TMP_SUFFIX",
           "COMPRESSION")

TMP_SUFFIX = ".tmp"
COMPRESSION = "zstd"

Columns = Mapping[str, Any] | pa.Table


# -- JSON -------------------------------------------------------------------


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return np.datetime_as_string(obj).tolist() if obj.dtype.kind == "M" else obj.tolist()
    if isinstance(obj, np.datetime64):
        return str(np.datetime_as_string(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return obj.as_posix()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, order="sorted")


def encode_json(obj: Any) -> bytes:
    """``obj`` as indented JSON with sorted keys; NaN and ±inf become ``null``,
    numpy scalars become numbers and arrays become lists."""
    return msgspec.json.format(_encoder.encode(obj), indent=2) + b"\n"


# -- atomic files -----------------------------------------------------------


def _tmp_path(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync elsewhere
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(tmp: Path, path: Path, *, fsync: bool) -> None:
    """Rename a fully written ``tmp`` onto ``path``; on failure remove ``tmp``."""
    try:
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_dir(path.parent)


def _write_atomic(path: Path, write: Callable[[Path], None], *, fsync: bool) -> None:
    tmp = _tmp_path(path)
    try:
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _commit(tmp, path, fsync=fsync)


def _to_table(columns: Columns, schema: pa.Schema | None, where: Path) -> pa.Table:
    try:
        if isinstance(columns, pa.Table):
            if schema is None or columns.schema.equals(schema):
                return columns
            return columns.select(schema.names).cast(schema)
        return pa.table(dict(columns), schema=schema)
    except (pa.ArrowException, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: cannot build a table from the given columns: {exc}") from exc


class TableWriter:
    """Streams chunks into ``<name>.parquet.tmp``; :meth:`close` renames it to
    ``<name>.parquet``, :meth:`abort` deletes it.

    Chunks are buffered up to ``row_group_size`` rows so many small chunks
    still make few row groups. As a context manager it closes on success and
    aborts on an exception. A writer never closed leaves only the ``.tmp``.
    """

    def __init__(self, path: Path, schema: pa.Schema, *, row_group_size: int, fsync: bool) -> None:
        self.path = path
        self.schema = schema
        self.row_group_size = row_group_size
        self.rows = 0
        self._fsync = fsync
        self._tmp = _tmp_path(path)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._tmp, schema, compression=COMPRESSION)
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._on_done: Callable[[], object] = lambda: None

    def write(self, columns: Columns) -> None:
        """Append one chunk (a Table or a mapping of column name to array)."""
        if self._writer is None:
            raise AdmfError(f"table writer for {self.path} is closed")
        table = _to_table(columns, self.schema, self.path)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= self.row_group_size:
            self._flush(whole_groups_only=True)

    def close(self) -> None:
        """Finish the file and rename it into place."""
        if self._writer is None:
            return
        try:
            self._flush()
            self._writer.close()
            self._writer = None
            _commit(self._tmp, self.path, fsync=self._fsync)
        except BaseException:
            self.abort()
            raise
        self._on_done()

    def abort(self) -> None:
        """Discard the file: nothing is left under either name."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._pending.clear()
        self._tmp.unlink(missing_ok=True)
        self._on_done()

    def _flush(self, *, whole_groups_only: bool = False) -> None:
        """Write the buffered rows; with ``whole_groups_only`` keep back the
        remainder smaller than a row group, so groups come out full."""
        if not self._pending:
            return
        assert self._writer is not None
        table = pa.concat_tables(self._pending)
        size = self.row_group_size
        cut = table.num_rows // size * size if whole_groups_only else table.num_rows
        if cut:
            self._writer.write_table(table.slice(0, cut), row_group_size=size)
        rest = table.slice(cut)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows
        if cut:  # hand the row group's buffers back, or a long stream creeps upward
            pa.default_memory_pool().release_unused()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# -- run ids and readers ------------------------------------------------------


def read_json(path: Path | str) -> Any:
    """Decode one JSON file; an unreadable file is a :class:`~admf.errors.DataError`."""
    try:
        return msgspec.json.decode(Path(path).read_bytes())
    except (OSError, msgspec.DecodeError) as exc:
        raise DataError(f"{path}: cannot read JSON: {exc}") from exc


def read_table(path: Path | str) -> pa.Table:
    """Read one Parquet file; an unreadable file is a :class:`~admf.errors.DataError`."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot read Parquet: {exc}") from exc
