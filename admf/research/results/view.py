"""Tables and runs as a user reads them, from memory or from the run directory.

A result's trades and equity are kept in memory or streamed to disk
depending on ``results.storage``; a user should not have to care which.
:class:`Run` reads whichever exists (memory first), so ``run.equity`` is
never ``None`` because of the storage mode. :class:`Table` is one columnar
table (pyarrow underneath) that hands out numpy columns and converts to
pandas or polars (optional extras) in one call.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ...components.metric_format import format_metric
from ...components.metrics import Metrics
from ...errors import AdmfError
from ._files import _to_table, read_json, read_table
from .runs import EQUITY_SCHEMA, FILL_SCHEMA, TRADE_SCHEMA

if TYPE_CHECKING:
    import pandas
    import polars

__all__ = ("Table", "Run", "read_runs", "runs_table")

_SHOWN = 10


def _need(module: str) -> None:
    """One line, not an ImportError traceback, when an optional extra is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise AdmfError(f"{module} is not installed; pip install 'admf[{module}]' "
                        f"(or pip install {module})")


def _cell(name: str, value: object) -> str:
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        for prefix in ("test_", "train_"):  # a windows table's metric columns
            name = name.removeprefix(prefix)
        return format_metric(name, value)
    return "" if value is None else str(value)


class Table:
    """A named columnar table: ``table["pnl"]`` is a numpy column (event
    times as int64 ns since the epoch, as everywhere in admf),
    :meth:`rows` plain dicts, :meth:`to_pandas` / :meth:`to_polars` a frame."""

    def __init__(self, table: pa.Table, name: str = "table") -> None:
        self._table = table
        self.name = name

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, object]], name: str = "table") -> Table:
        """Rows with possibly different keys: every key becomes a column (in
        first-seen order), missing cells are null; a column whose values
        share no arrow type (``1`` and ``"a"``) is kept as text."""
        keys: dict[str, None] = {}
        for row in rows:
            keys.update(dict.fromkeys(row))
        arrays: dict[str, pa.Array] = {}
        for key in keys:
            values = [row.get(key) for row in rows]
            try:
                arrays[key] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays[key] = pa.array([None if v is None else str(v) for v in values])
        return cls(pa.table(arrays) if arrays else pa.table({}), name)

    @property
    def columns(self) -> list[str]:
        return list(self._table.column_names)

    def __len__(self) -> int:
        return int(self._table.num_rows)

    def __contains__(self, column: object) -> bool:
        return column in self._table.column_names

    def __getitem__(self, column: str) -> npt.NDArray[np.generic]:
        if column not in self._table.column_names:
            raise KeyError(f"{self.name} has no column {column!r}; columns: "
                           f"{', '.join(self._table.column_names)}")
        data = self._table.column(column)
        if pa.types.is_timestamp(data.type):  # event time is int64 ns everywhere in admf
            data = data.cast(pa.int64())
        values: npt.NDArray[np.generic] = data.to_numpy(zero_copy_only=False)
        return values

    def rows(self) -> list[dict[str, object]]:
        """One dict per row, in order."""
        rows: list[dict[str, object]] = self._table.to_pylist()
        return rows

    def to_arrow(self) -> pa.Table:
        return self._table

    def to_pandas(self) -> pandas.DataFrame:
        """A pandas DataFrame (``pip install 'admf[pandas]'``)."""
        _need("pandas")
        frame: pandas.DataFrame = self._table.to_pandas()
        return frame

    def to_polars(self) -> polars.DataFrame:
        """A polars DataFrame (``pip install 'admf[polars]'``)."""
        _need("polars")
        import polars

        frame = polars.from_arrow(self._table)
        assert isinstance(frame, polars.DataFrame)
        return frame

    def _head(self) -> tuple[list[str], list[list[str]]]:
        shown = self._table.slice(0, _SHOWN).to_pylist()
        return self.columns, [[_cell(k, row[k]) for k in self.columns] for row in shown]

    def __repr__(self) -> str:
        columns, body = self._head()
        head = f"{self.name}: {len(self):,} rows x {len(columns)} columns"
        if not columns:
            return head
        widths = [max([len(c), *(len(r[i]) for r in body)]) for i, c in enumerate(columns)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in body]
        more = [f"... {len(self) - _SHOWN:,} more rows"] if len(self) > _SHOWN else []
        return "\n".join([head, *lines, *more])

    def _repr_html_(self) -> str:
        columns, body = self._head()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>"
                       for r in body)
        more = f"<p>… {len(self) - _SHOWN:,} more rows</p>" if len(self) > _SHOWN else ""
        return (f"<p><b>{html.escape(self.name)}</b>: {len(self):,} rows</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}")


class Run:
    """One run (a grid point, a window's train or test run, a fold, a draw):
    its parameters, the risk/sizing/execution values of a grid over them
    (``settings``, dotted keys), metrics, trades and equity curve."""

    def __init__(self, key: str, params: Mapping[str, object], metrics: Metrics, *,
                 settings: Mapping[str, object] | None = None, path: Path | None = None,
                 trades: Mapping[str, npt.ArrayLike] | None = None,
                 equity: Mapping[str, npt.ArrayLike] | None = None,
                 fills: Mapping[str, npt.ArrayLike] | None = None) -> None:
        self.key = key
        self.params: dict[str, object] = dict(params)
        self.settings: dict[str, object] = dict(settings or {})
        self.metrics = metrics
        self.path = path
        self._trades = trades
        self._equity = equity
        self._fills = fills

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in {**self.params, **self.settings}.items())
        return f"Run({self.key!r}, {params or 'no params'}, sharpe_ratio=" \
               f"{format_metric('sharpe_ratio', self.metrics.sharpe_ratio)})"

    def _table(self, memory: Mapping[str, npt.ArrayLike] | None, file: str,
               schema: pa.Schema) -> Table:
        if memory is not None:
            whole = set(schema.names) <= set(memory)
            columns = _stamped({n: memory[n] for n in schema.names} if whole else dict(memory))
            table = _to_table(columns, schema if whole else None, Path(file))
            for i, extra in enumerate(n for n in memory if whole and n not in schema.names):
                table = table.add_column(i, extra, pa.array(np.asarray(memory[extra])))
            return Table(table, f"{self.key} {file}")
        if self.path is not None and (self.path / f"{file}.parquet").is_file():
            return Table(read_table(self.path / f"{file}.parquet"), f"{self.key} {file}")
        where = f" in {self.path}" if self.path is not None else ""
        if file == "fills" and (self._trades is not None or self.path is not None):
            hint = ("fills are an order strategy's (OrderStrategy and its kinds); a target "
                    "strategy's portfolio trades toward targets: see trades")
        elif file == "equity" and self.path:
            hint = "results.keep_equity_curves is false"
        else:
            hint = "a sequence keeps only summaries in memory: run it with write=True"
        raise AdmfError(f"run {self.key!r} kept no {file}{where} ({hint})")

    @property
    def trades(self) -> Table:
        """One row per trade (CONFIG.md's trades.parquet columns)."""
        return self._table(self._trades, "trades", TRADE_SCHEMA)

    @property
    def equity(self) -> Table:
        """timestamp, equity, cash, exposure, drawdown: one row per bar."""
        return self._table(self._equity, "equity", EQUITY_SCHEMA)

    @property
    def fills(self) -> Table:
        """An order strategy's fills, one row each (fills.parquet's columns:
        time, order id, symbol, signed quantity, price, commission, slippage,
        phase, reason)."""
        return self._table(self._fills, "fills", FILL_SCHEMA)


_TIME_COLUMNS = ("timestamp", "entry_time", "exit_time")


def _stamped(columns: Mapping[str, npt.ArrayLike]) -> dict[str, object]:
    """Event-time columns (int64 ns since the epoch in memory) as UTC
    timestamps, as they are on disk."""
    out: dict[str, object] = dict(columns)
    for name in _TIME_COLUMNS:
        if name in out:
            values = np.asarray(out[name])
            if values.dtype.kind in "iu":
                out[name] = pa.array(values.astype("datetime64[ns]"),
                                     type=pa.timestamp("ns", tz="UTC"))
    return out


def read_runs(phase_dir: Path) -> list[Run]:
    """Every completed run of a phase directory, in run-key order."""
    runs = []
    for path in sorted((phase_dir / "runs").glob("*")):
        if not (path / "metrics.json").is_file():
            continue
        doc = read_json(path / "metrics.json")
        runs.append(Run(path.name, doc.get("params") or {},
                        Metrics.from_json_dict(doc.get("metrics") or {}),
                        settings=doc.get("portfolio_params") or {}, path=path))
    return runs


def runs_table(runs: Sequence[Run], name: str = "runs") -> Table:
    """One row per run: key, params, grid settings, then metrics (NaN as null)."""
    rows: list[dict[str, object]] = []
    for run in runs:
        metrics = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                   for k, v in run.metrics.to_dict().items()}
        rows.append({"run": run.key, **run.params, **run.settings, **metrics})
    return Table.from_rows(rows, name)
