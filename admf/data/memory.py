"""Bars handed in memory: pandas or polars DataFrames, pyarrow Tables or
RecordBatches, and dicts of numpy arrays, per symbol.

Each frame becomes an Arrow table without copying where the layout allows
(float64 and int64 numpy columns, polars' Arrow buffers and Arrow tables are
taken as they are), and is written once to an **Arrow IPC file** in a staging
directory. Every reader then memory-maps that file, so the bars reach the
inline executor and process-pool workers alike, byte for byte the same (the
same data, seed and config give the same results on any executor), and are
checked by the very decoder that checks CSV and Parquet files. Errors name
``data['SPY']`` and the row as the frame's position (``iloc``, from 0).

Shapes: a pandas ``DatetimeIndex`` is the timestamp (naive times are in
``data.tz``); otherwise a column as in files (``timestamp``, ``date``,
``datetime``, ``time``, any case, or ``data.columns``). pandas and polars are
only imported by the code that built the frame: this module recognises them
by their type's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import DataError
from ._names import resolve_columns
from ._paths import file_name

__all__ = ("stage_frames", "to_table")

INDEX = "(index)"
_MAX_CHUNK = 1 << 20


def to_table(frame: Any, location: str) -> pa.Table:
    """``frame`` as an Arrow table (zero-copy where the memory layout allows)."""
    module = type(frame).__module__.split(".")[0]
    try:
        if isinstance(frame, pa.Table):
            return frame
        if isinstance(frame, pa.RecordBatch):
            return pa.Table.from_batches([frame])
        if module == "pandas":
            return _from_pandas(frame, location)
        if module == "polars":
            return frame.to_arrow()
        if isinstance(frame, Mapping):
            return pa.table({str(k): _array(v) for k, v in frame.items()})
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise DataError(f"{location}: cannot read these bars: {exc}") from None
    raise DataError(
        f"{location}: expected a pandas or polars DataFrame, a pyarrow Table or a dict of "
        f"numpy arrays, got {type(frame).__name__}"
    )


def _array(values: Any) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"expected one-dimensional arrays, got shape {array.shape}")
    return pa.array(array)  # numbers keep NaN as NaN (not null): the decoder names it


def _from_pandas(df: Any, location: str) -> pa.Table:
    import pandas as pd  # the caller built a pandas frame: pandas is there

    names = [str(name) for name in df.columns]
    arrays = [_pandas_column(df.iloc[:, i]) for i in range(df.shape[1])]
    index = df.index
    if isinstance(index, pd.DatetimeIndex):
        if any(name.strip().lower() == "timestamp" for name in names):
            raise DataError(f"{location}: both the DatetimeIndex and column 'timestamp' could be the timestamp; "
                            "drop one (df.reset_index(drop=True) or df.drop(columns='timestamp'))")
        return pa.table([pa.Array.from_pandas(index), *arrays], names=["timestamp", *names])
    return pa.table(arrays, names=names)


def _index_hint(frame: Any) -> str | None:
    """What a pandas frame's index is, when it is neither time-like nor the default RangeIndex."""
    if type(frame).__module__.split(".")[0] != "pandas":
        return None
    index = frame.index
    if type(index).__name__ in ("DatetimeIndex", "RangeIndex"):
        return None
    return (f"the index is {type(index).__name__} of {index.dtype}, not time-like; expected a "
            "DatetimeIndex or a timestamp column (timestamp, date, datetime or time, or data.columns)")


def _pandas_column(column: Any) -> pa.Array:
    if column.dtype.kind in "iuf":  # plain numpy memory: zero-copy, NaN stays NaN
        return pa.array(column.to_numpy(copy=False))
    return pa.Array.from_pandas(column)


def stage_frames(
    data: Mapping[str, Any],
    directory: Path,
    *,
    columns: Mapping[str, str] | None = None,
    adjust: bool = False,
) -> str:
    """Write every symbol's bars to ``directory/<symbol>.arrow``; return the
    path template (``.../{symbol}.arrow``) for ``data.path``.

    Columns are resolved now, so a frame without a timestamp or a close fails
    before anything runs; rows are checked as they are read.
    """
    if not data:
        raise DataError("data= holds no symbols; expected {symbol: frame}")
    for symbol, frame in data.items():
        location = f"data[{symbol!r}]"
        table = to_table(frame, location)
        try:
            resolve_columns(table.column_names, location, mapping=columns, adjust=adjust)
        except DataError as exc:
            hint = _index_hint(frame)
            if hint is not None and "'timestamp'" in str(exc):
                raise DataError(f"{location}: {hint}") from None
            raise
        if table.num_rows == 0:
            raise DataError(f"{location}: no data rows")
        schema = table.schema.with_metadata({"admf.location": location, "admf.first_row": "0"})
        try:
            with pa.OSFile(str(directory / f"{file_name(symbol)}.arrow"), "wb") as sink:
                with pa.ipc.new_file(sink, schema) as writer:
                    writer.write_table(table.replace_schema_metadata(schema.metadata), max_chunksize=_MAX_CHUNK)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"{location}: cannot store these bars: {exc}") from None
    return str(directory / "{symbol}.arrow")
