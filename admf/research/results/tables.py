"""Tables across a phase's runs, for tools that read a directory in one call.

Beside the per-run files, each phase of a finished run directory has:

``runs.parquet``
    One row per run (grid point, window's train or test run, fold, draw), in
    run-key order: ``run`` (the directory under ``runs/``), ``portfolio``,
    ``strategy``, ``direction``, the strategy's parameters (one column each,
    null for a strategy without that parameter; ``param.<name>`` when the name
    is also one of the other columns), the risk/sizing/execution values of a
    grid over them (dotted names such as ``risk.stop_loss``), ``fills``,
    ``traded_notional`` and every metric of ``metrics.json``.
``trades.parquet``
    Every run's trades (the ``trades.parquet`` columns) with ``run`` first.

Both are rebuilt from the runs' own files when the run directory is
finished (a resumed run included), written atomically, and listed in the
manifest like every other file. A column whose values mix numbers and text
(two strategies' parameters of one name) is stored as text, JSON-encoded;
lists and mappings likewise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ._files import COMPRESSION, _write_atomic, read_json

__all__ = ("write_phase_tables", "RUNS_TABLE", "TRADES_TABLE")

RUNS_TABLE = "runs.parquet"
TRADES_TABLE = "trades.parquet"
_FIXED = ("run", "portfolio", "strategy", "direction")


def write_phase_tables(phase: Path, *, fsync: bool = True) -> None:
    """Write ``runs.parquet`` and ``trades.parquet`` of the phase directory
    ``phase`` from its finished runs (nothing when it has none)."""
    runs = phase / "runs"
    if not runs.is_dir():
        return
    finished = sorted(d for d in runs.iterdir() if (d / "metrics.json").is_file())
    if not finished:
        return
    docs = [(d.name, read_json(d / "metrics.json")) for d in finished]
    table = _runs_table(docs)
    _write_atomic(phase / RUNS_TABLE, lambda tmp: pq.write_table(table, tmp, compression=COMPRESSION),
                  fsync=fsync)
    _write_trades(phase / TRADES_TABLE, finished, fsync=fsync)


def _runs_table(docs: list[tuple[str, dict[str, Any]]]) -> pa.Table:
    metric_names: list[str] = []
    for _, doc in docs:
        metric_names.extend(k for k in doc.get("metrics", {}) if k not in metric_names)
    taken = {*_FIXED, "fills", "traded_notional", *metric_names}
    rows = []
    for key, doc in docs:
        row: dict[str, Any] = {"run": key, "portfolio": doc.get("portfolio"),
                               "strategy": doc.get("strategy"), "direction": doc.get("direction")}
        for name, value in (doc.get("params") or {}).items():
            row[f"param.{name}" if name in taken else name] = value
        row.update(doc.get("portfolio_params") or {})
        row["fills"] = doc.get("fills")
        row["traded_notional"] = doc.get("traded_notional")
        row.update(doc.get("metrics") or {})
        rows.append(row)
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    return pa.table({name: _column([row.get(name) for row in rows]) for name in names})


def _column(values: list[Any]) -> pa.Array:
    """One column: numbers (ints widened to floats when mixed), booleans or
    text as they are; anything else, or a mix, as JSON text."""
    present = [v for v in values if v is not None]
    kinds = {bool if isinstance(v, bool) else (int, float) if isinstance(v, int | float)
             else str if isinstance(v, str) else object for v in present}
    if len(kinds) <= 1 and object not in kinds:
        if kinds == {(int, float)} and any(isinstance(v, float) for v in present):
            return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
        return pa.array(values)
    return pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v)
                     for v in values], type=pa.string())


def _write_trades(path: Path, finished: list[Path], *, fsync: bool) -> None:
    files = [(d.name, d / "trades.parquet") for d in finished if (d / "trades.parquet").is_file()]
    if not files:
        path.unlink(missing_ok=True)  # a rerun that keeps no trades leaves no stale table
        return
    schema = pq.read_schema(files[0][1])
    joined = pa.schema([pa.field("run", pa.string()), *schema])

    def write(tmp: Path) -> None:
        # a row group (16k rows) of batches at a time, read file by file: memory
        # stays at one row group, whatever the number or size of the runs
        with pq.ParquetWriter(tmp, joined, compression=COMPRESSION) as writer:
            pending: list[pa.RecordBatch] = []
            rows = 0
            for key, file in files:
                for batch in pq.ParquetFile(file).iter_batches(batch_size=_ROW_GROUP):
                    run = pa.array([key] * batch.num_rows, type=pa.string())
                    pending.append(pa.RecordBatch.from_arrays([run, *batch.columns],
                                                              schema=joined))
                    rows += batch.num_rows
                    if rows >= _ROW_GROUP:
                        writer.write_table(pa.Table.from_batches(pending, schema=joined))
                        pending, rows = [], 0
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema=joined))

    # the default allocator (jemalloc or mimalloc) keeps what decoding and
    # encoding every run's trades touched; with the system allocator and 16k-row
    # groups the table adds 15 MB of peak memory to a 10M-bar run, not 60 MB
    default = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        _write_atomic(path, write, fsync=fsync)
    finally:
        pa.set_memory_pool(default)


_ROW_GROUP = 16_384
