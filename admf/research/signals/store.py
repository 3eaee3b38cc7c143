"""A content-addressed store of sparse signals.

Layout of a store directory::

    index.parquet        one row per key: strategy, params, data digest, window, rows, bars
    <key>.parquet        timestamp (ns, UTC), symbol, target: one row per change of target

The key is a hash of what determines the signals: the strategy type, its
parameters and direction, the data digest, the window and the version of
the strategy's code. The same key is the same signals, so a key already
stored is reused, never recomputed. Both files are plain Parquet: pandas,
polars and DuckDB read them directly (``duckdb.sql("select * from
'store/index.parquet'")``). Files are written to a temporary name and
renamed, so a crash leaves no file that looks complete.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...components.signals import dense as dense
from ...components.signals import sparse as sparse
from ...errors import ConfigError, DataError

__all__ = ("SignalStore", "signal_key", "strategy_code_version", "INDEX_SCHEMA", "SIGNAL_SCHEMA")

SIGNAL_SCHEMA = pa.schema([("timestamp", pa.timestamp("ns", tz="UTC")), ("symbol", pa.string()),
                           ("target", pa.float64())])
INDEX_SCHEMA = pa.schema([
    ("key", pa.string()), ("strategy", pa.string()), ("params", pa.string()),
    ("direction", pa.string()), ("data_digest", pa.string()), ("window_first", pa.int64()),
    ("window_last", pa.int64()), ("code_version", pa.string()), ("rows", pa.int64()),
    ("bars", pa.int64()), ("file", pa.string()),
])


def strategy_code_version(cls: Any, params: dict[str, Any] | None = None) -> str:
    """A hash of the source of the strategy class and its bases: editing the
    strategy's code makes new keys instead of reusing stale signals. A class
    built of other components (an ensemble) names them by ``code_parts(params)``,
    and their code counts too."""
    digest = hashlib.sha256()
    parts = getattr(cls, "code_parts", None)
    extra = list(parts(params or {})) if callable(parts) else []
    for klass in [k for c in (cls, *extra) for k in getattr(c, "__mro__", (c,))]:
        if klass is object:
            continue
        digest.update(f"{klass.__module__}.{klass.__qualname__}".encode())
        digest.update(_source_file_digest(klass))
    return digest.hexdigest()[:16]


def _source_file_digest(klass: type) -> bytes:
    """The bytes' digest of the file defining ``klass`` (empty when it has
    none: a class typed at a prompt). The whole file rather than the class's
    own lines: ``inspect.getsource`` of a class parses the module with
    :mod:`ast`, which CPython 3.11 refuses for the rest of the process once
    any parse in it failed (gh-106905), and an edit elsewhere in the file
    only costs regenerating signals, never reusing stale ones."""
    try:
        path = inspect.getsourcefile(klass)
        with open(path or "", "rb") as fh:
            return hashlib.sha256(fh.read()).digest()
    except (OSError, TypeError):
        return b""


def signal_key(*, strategy: str, params: dict[str, Any], direction: str, data_digest: str,
               window: tuple[int, int] | None, code_version: str,
               symbols: tuple[str, ...], data_view: str = "") -> str:
    """The content address of one strategy point's signals (``data_view``:
    the data settings besides the files' bytes, such as start, end and resampling)."""
    text = json.dumps([strategy, params, direction, data_digest, list(window or ()),
                       code_version, list(symbols), data_view], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class SignalStore:
    """A directory of stored signals (created on first write)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._index: dict[str, dict[str, Any]] | None = None

    @property
    def index_path(self) -> Path:
        return self.path / "index.parquet"

    def index(self) -> dict[str, dict[str, Any]]:
        """Key -> its index row."""
        if self._index is None:
            self._index = {}
            if self.index_path.exists():
                try:
                    rows = pq.read_table(self.index_path).to_pylist()
                except (pa.ArrowException, OSError) as exc:
                    raise DataError(f"{self.index_path}: not a readable signal-store index "
                                    f"({exc})") from None
                self._index = {r["key"]: r for r in rows}
        return self._index

    def __contains__(self, key: str) -> bool:
        return key in self.index() and (self.path / self.index()[key]["file"]).exists()

    def put(self, key: str, meta: dict[str, Any], timestamp: np.ndarray, symbol: np.ndarray,
            target: np.ndarray, *, bars: int) -> None:
        """Store one point's sparse rows under ``key`` (file first, index after)."""
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{key}.parquet"
        table = pa.table({"timestamp": pa.array(timestamp.astype("datetime64[ns]"),
                                                type=pa.timestamp("ns", tz="UTC")),
                          "symbol": pa.array(symbol, type=pa.string()),
                          "target": pa.array(target, type=pa.float64())}, schema=SIGNAL_SCHEMA)
        _write(table, self.path / name)
        self.index()[key] = {**meta, "key": key, "rows": len(target), "bars": bars, "file": name}

    def flush(self) -> None:
        """Write the index table (after the files it names)."""
        rows = sorted(self.index().values(), key=lambda r: r["key"])
        table = pa.Table.from_pylist([{f: r.get(f) for f in INDEX_SCHEMA.names} for r in rows],
                                     schema=INDEX_SCHEMA)
        self.path.mkdir(parents=True, exist_ok=True)
        _write(table, self.index_path)

    def read(self, key: str, *, data_digest: str | None = None
             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Symbol -> (times int64 ns, targets) of ``key``'s sparse rows.

        A missing key, a key stored for other data (``data_digest`` differs)
        or a corrupted file is an error naming the key, both digests or the file."""
        row = self.index().get(key)
        if row is None:
            raise ConfigError(f"signal store {self.path}: no stored signals under key {key!r} "
                              f"(data digest {data_digest}); run signal_generation first")
        if data_digest is not None and row["data_digest"] != data_digest:
            raise ConfigError(f"signal store {self.path}: key {key!r} was stored for data digest "
                              f"{row['data_digest']}, but the data given has digest {data_digest}")
        path = self.path / row["file"]
        try:
            table = pq.read_table(path)
            if not table.schema.equals(SIGNAL_SCHEMA):
                raise ValueError(f"expected columns {SIGNAL_SCHEMA.names}, got {table.schema.names}")
            if table.num_rows != row["rows"]:
                raise ValueError(f"the index says {row['rows']} rows, the file has "
                                 f"{table.num_rows}")
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{path}: corrupted signal file for key {key!r} ({exc})") from None
        times = table.column("timestamp").cast(pa.int64()).to_numpy()
        symbols = np.asarray(table.column("symbol").to_pylist(), dtype=object)
        targets = table.column("target").to_numpy()
        return {str(s): (times[symbols == s], targets[symbols == s]) for s in dict.fromkeys(symbols)}


def _write(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
