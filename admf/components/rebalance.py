"""Target weights and rebalancing across symbols.

A :class:`WeightStrategy` is a :class:`~admf.components.context.UniverseStrategy`
that returns target weights instead of placing orders: write
``weights(self, ctx)`` returning ``{symbol: weight}`` (a fraction of
equity; a symbol left out, or at 0, is sold out) or ``None`` (not ready:
asked again on the next bar). It is asked only when the rebalance schedule
is due:

=============  ==============================================================
``rebalance``  due on
=============  ==============================================================
``every_bar``  every ``every``-th bar of the run
``daily``      the first bar of each UTC day
``weekly``     the first bar at or after weekday ``day`` (0 Monday … 6 Sunday)
``monthly``    the first bar at or after day ``day`` (1 … 28) of each month
``quarterly``  the first bar at or after day ``day`` of each quarter's first month
``yearly``     the first bar at or after day ``day`` of each January
=============  ==============================================================

``every: N`` keeps every N-th due period; the run's first bar is always
due, so a portfolio is invested from its start. On a due bar each symbol
whose weight (units × close / equity) is off its target by more than
``drift`` (absolute; 0 trades every difference) gets one market order to its
target (``target_percent``), filled at the symbol's next open and sized
there on the equity before that time's first fill, the symbol at its open;
at one open the symbols that sell go before the ones that buy, so a
rebalance's sales pay for its purchases. Costs are paid on
every leg, ``portfolio.sizing.whole_units`` rounds each leg down, and a buy is
cut to the cash there is. A symbol held whose target is 0 is always closed.
A symbol with no bar on the due bar (not started, ended, a hole) is not
traded until the next rebalance.

Bad weights are errors naming the strategy, the symbol and the bar: NaN or
infinite, a symbol not in the study, a negative weight with ``direction:
long_only``, or gross weights (the sum of absolute values) above 1, the
leverage a cash account has.

Built-ins, each usable with grids over its parameters: ``equal_weight``,
``inverse_volatility`` (``lookback`` bars of log returns) and
``momentum_rotation`` (the ``top`` symbols by ``lookback``-bar return, equal
weights).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import OrderError
from ..runtime.registry import register
from .context import Universe, UniverseStrategy
from .orders import where, where_all

__all__ = ("WeightStrategy", "EqualWeight", "InverseVolatility", "MomentumRotation",
           "WeightsTable", "SCHEDULES", "next_due")

SCHEDULES = ("every_bar", "daily", "weekly", "monthly", "quarterly", "yearly")
_DAY = 86_400_000_000_000
_EPOCH_MONDAY = 4  # 1970-01-01 was a Thursday: day 4 is the first Monday


def next_due(rule: str, day: int, ts: int) -> int:
    """The first due time of ``rule`` strictly after ``ts`` (ns since the epoch)."""
    today = ts // _DAY
    if rule == "daily":
        return (today + 1) * _DAY
    if rule == "weekly":
        week = (today - _EPOCH_MONDAY) // 7
        due = (_EPOCH_MONDAY + week * 7 + day) * _DAY
        return due if due > ts else due + 7 * _DAY
    month = int(np.datetime64(ts, "ns").astype("datetime64[M]").astype(np.int64))  # since 1970-01
    step = {"monthly": 1, "quarterly": 3, "yearly": 12}[rule]
    period = month - month % step
    while True:
        start = np.datetime64(period, "M").astype("datetime64[D]").astype(np.int64)
        due = int(start + day - 1) * _DAY
        if due > ts:
            return due
        period += step


class WeightStrategy(UniverseStrategy):
    """Target weights on a rebalance schedule (see the module docstring)."""

    rebalance: str = "monthly"
    day: int | None = None
    """The day a period's rebalance is due: the weekday (0 Monday … 6 Sunday,
    default 0) for ``weekly``, the day of the month (1 … 28, default 1) for
    ``monthly``, ``quarterly`` and ``yearly``; not used by ``every_bar`` and
    ``daily``."""
    every: int = 1
    drift: float = 0.0

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        name = type(self).__name__
        if self.rebalance not in SCHEDULES:
            raise OrderError(f"{name}.rebalance must be one of {', '.join(SCHEDULES)}, "
                             f"got {self.rebalance!r}")
        self._whole("every", 1, "a whole number of periods", " (a rule that never fires)")
        limits = {"weekly": (0, 6)}.get(self.rebalance, (1, 28))
        if self.day is None:
            self.day = limits[0]
        if self.rebalance in ("weekly", "monthly", "quarterly", "yearly") and not (
                isinstance(self.day, int) and limits[0] <= self.day <= limits[1]):
            raise OrderError(f"{name}.day must be a whole number in {limits[0]} … {limits[1]} for "
                             f"rebalance {self.rebalance!r}, got {self.day!r}"
                             + (" (a day some months do not have)" if self.rebalance != "weekly"
                                and isinstance(self.day, int) and self.day > 28 else ""))
        if not (isinstance(self.drift, (int, float)) and 0 <= self.drift < 1):
            raise OrderError(f"{name}.drift must be a weight difference in [0, 1), got "
                             f"{self.drift!r}")
        self._due = True  # the first bar is due
        self._next = -(2**63)
        self._bars = 0
        self._periods = 0

    def _whole(self, name: str, low: int, what: str = "a whole number", hint: str = "") -> None:
        """Parameter ``name`` is an int of at least ``low``, or the error naming it."""
        value = getattr(self, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise OrderError(f"{type(self).__name__}.{name} must be {what} >= {low}, got "
                             f"{value!r}{hint}")

    def weights(self, ctx: Universe) -> Mapping[str, float] | None:
        raise NotImplementedError(f"{type(self).__name__} must define weights(self, ctx)")

    def quiet_until(self) -> int | None:
        """The first time at which :meth:`on_bars` may do anything (bars
        before it only count periods it has already counted), or None when it
        may act on the next bar: due, not ready, or counting bars."""
        if self._due or self.rebalance == "every_bar":
            return None
        return self._next

    def on_bars(self, ctx: Universe) -> None:
        ts = ctx.time
        if self.rebalance == "every_bar":
            if self._bars % self.every == 0:
                self._due = True
            self._bars += 1
        elif ts >= self._next:  # a new period (the first bar opens period 0)
            if self._next != -(2**63):
                self._periods += 1
                if self._periods % self.every == 0:
                    self._due = True
            self._next = next_due(self.rebalance, self.day or 0, ts)
        if not self._due:
            return
        target = self.weights(ctx)
        if target is None:
            return  # not ready: due again on the next bar
        self._due = False
        self.place(ctx, self.checked(ctx, target))

    def checked(self, ctx: Universe, target: Mapping[str, float]) -> dict[str, float]:
        """``target`` as floats per symbol, or the error naming what is wrong."""
        if not isinstance(target, Mapping):
            raise OrderError(f"{where_all(ctx.label, ctx.active, ctx.time)}: weights() "
                             f"must return a mapping of symbol -> weight or None, got "
                             f"{type(target).__name__}")
        direction = getattr(ctx.kernel, "direction", "long_only")
        out: dict[str, float] = {}
        for symbol, value in target.items():
            if symbol not in ctx.symbols:
                raise OrderError(f"{where(ctx.label, symbol, ctx.time)}: a weight for {symbol!r}, "
                                 f"which is not a symbol of this study "
                                 f"(symbols: {', '.join(ctx.symbols)})")
            try:
                weight = float(value)
            except (TypeError, ValueError):
                raise OrderError(f"{where(ctx.label, symbol, ctx.time)}: weight {value!r} is "
                                 "not a number") from None
            if not math.isfinite(weight):
                raise OrderError(f"{where(ctx.label, symbol, ctx.time)}: weight {weight} is not "
                                 "a finite number")
            if (weight < 0 and direction == "long_only") or (weight > 0 and
                                                             direction == "short_only"):
                raise OrderError(f"{where(ctx.label, symbol, ctx.time)}: "
                                 f"{'negative' if weight < 0 else 'positive'} weight {weight:g} "
                                 f"with direction {direction} (set direction: long_short to "
                                 "hold both sides)")
            out[symbol] = weight
        gross = sum(abs(w) for w in out.values())
        cap = float(getattr(ctx.kernel, "leverage", 1.0))
        if gross > cap + 1e-9:
            heavy = max(out, key=lambda s: abs(out[s]))
            raise OrderError(f"{where(ctx.label, heavy, ctx.time)}: weights sum to {gross:.6g} "
                             f"(absolute), above the leverage cap of {cap:g}"
                             + (" a cash account has" if cap == 1.0 else " of the margin account"))
        return out

    def place(self, ctx: Universe, target: dict[str, float]) -> None:
        """One market order per symbol off its target by more than ``drift``."""
        equity = ctx.equity
        if not equity > 0:
            return
        active = set(ctx.active)
        for symbol in ctx.symbols:
            if symbol not in active:
                continue
            sym = ctx[symbol]
            weight = target.get(symbol, 0.0)
            units = sym.position.units
            for order in sym.orders:  # an earlier rebalance's order still working
                sym.cancel(order.id)
            if weight == 0.0:
                if units:
                    sym.close()
                continue
            held = units * sym.bar.close / equity
            if held == weight or abs(held - weight) <= self.drift:
                continue
            sym.order(1 if weight > held else -1, weight * 100.0, size_type="target_percent",
                      tag="rebalance")


@register("strategy", "equal_weight")
class EqualWeight(WeightStrategy):
    """The same weight in every symbol with a bar on the due bar."""

    def weights(self, ctx: Universe) -> Mapping[str, float] | None:
        if not ctx.active:
            return None
        share = 1.0 / len(ctx.active)
        return dict.fromkeys(ctx.active, share)


def _log_returns(ctx: Universe, symbol: str, lookback: int) -> np.ndarray | None:
    closes = ctx[symbol].history("close", lookback + 1)
    if len(closes) < lookback + 1 or not np.all(closes > 0):
        return None
    return np.diff(np.log(closes))


@register("strategy", "inverse_volatility")
class InverseVolatility(WeightStrategy):
    """Weights proportional to 1 / the standard deviation of the last
    ``lookback`` log returns (symbols with fewer bars, or no movement, wait)."""

    lookback: int = 20

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._whole("lookback", 2)
        self.history_bars = max(self.history_bars, self.lookback + 1)

    def weights(self, ctx: Universe) -> Mapping[str, float] | None:
        inverse = {}
        for symbol in ctx.active:
            returns = _log_returns(ctx, symbol, self.lookback)
            if returns is None:
                continue
            vol = float(np.std(returns))
            if vol > 0:
                inverse[symbol] = 1.0 / vol
        if not inverse:
            return None
        total = sum(inverse.values())
        return {s: v / total for s, v in inverse.items()}


@register("strategy", "momentum_rotation")
class MomentumRotation(WeightStrategy):
    """The ``top`` symbols by ``lookback``-bar return, equal weights (ties
    by symbol name); with ``absolute: true`` only those whose return is
    positive (the rest of the book stays in cash)."""

    lookback: int = 20
    top: int = 3
    absolute: bool = False

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._whole("lookback", 1)
        self._whole("top", 1)
        self.history_bars = max(self.history_bars, self.lookback + 1)

    def weights(self, ctx: Universe) -> Mapping[str, float] | None:
        momentum = {}
        for symbol in ctx.active:
            closes = ctx[symbol].history("close", self.lookback + 1)
            if len(closes) == self.lookback + 1 and closes[0] > 0:
                momentum[symbol] = float(closes[-1] / closes[0] - 1.0)
        if not momentum:
            return None
        ranked = sorted(momentum, key=lambda s: (-momentum[s], s))[: self.top]
        if self.absolute:
            ranked = [s for s in ranked if momentum[s] > 0]
        return dict.fromkeys(ranked, 1.0 / self.top)


TIME_COLUMNS = ("timestamp", "date", "datetime", "time")


@register("strategy", "weights_table")
class WeightsTable(WeightStrategy):
    """Target weights computed elsewhere (a weights matrix from numpy, pandas
    or a notebook), read from ``path``: a CSV or Parquet file with a time
    column (``timestamp``, ``date``, ``datetime`` or ``time``) and one column
    of weights per symbol, or the long form ``timestamp, symbol, weight``.
    A row is the target from its time on: it is applied on the first bar at
    or after it (never earlier), and with ``rebalance: every_bar`` (the
    default) only when a new row has become current; a calendar rule
    re-trims to the current row when it is due. Subclass and override
    :meth:`table` to hand over a matrix from Python instead of a file."""

    rebalance = "every_bar"
    path: str = ""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        key = _file_key(self.path) if self.path and type(self).table is WeightsTable.table \
            else None
        parsed = _TABLES.get(key) if key is not None else None
        if parsed is None:
            parsed = _weights_matrix(self.table(), self.where_from())
            if key is not None:
                _TABLES.clear()  # one file kept: every point and window of a study reads it
                _TABLES[key] = parsed
        self._times, self._names, self._matrix = parsed
        self._row = -1  # the current row's index
        self._applied = -1  # the row last rebalanced to

    def where_from(self) -> str:
        """What error messages call the table: its file, or the class."""
        return self.path or f"{type(self).__name__}.table()"

    def table(self) -> Mapping[str, Any]:
        """The weights as columns: a time column and one per symbol (or
        ``symbol`` and ``weight``). The default reads :attr:`path`."""
        if not self.path:
            raise OrderError(f"{type(self).__name__}: set path to a CSV or Parquet weights file "
                             "(or override table())")
        return _read_table(self.path)

    def weights(self, ctx: Universe) -> Mapping[str, float] | None:
        times, row = self._times, self._row
        while row + 1 < len(times) and times[row + 1] <= ctx.time:
            row += 1
        self._row = row
        if row < 0 or (self.rebalance == "every_bar" and row == self._applied):
            return None
        self._applied = row
        values = self._matrix[row]
        return {s: float(w) for s, w in zip(self._names, values) if w != 0.0}


_TABLES: dict[tuple[str, int, int], tuple[np.ndarray, list[str], np.ndarray]] = {}


def _file_key(path: str) -> tuple[str, int, int] | None:
    import os

    try:
        st = os.stat(path)
    except OSError:
        return None  # reading it names the problem
    return os.path.abspath(path), st.st_mtime_ns, st.st_size


def _read_table(path: str) -> dict[str, Any]:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path) if path.endswith((".parquet", ".pq")) else pcsv.read_csv(path)
    except FileNotFoundError:
        raise OrderError(f"{path}: no such weights file") from None
    except Exception as exc:  # pyarrow's parse errors name the line
        raise OrderError(f"{path}: cannot read the weights table: {exc}") from None
    return {name: table.column(name) for name in table.column_names}


def _epoch_ns(values: np.ndarray) -> np.ndarray:
    """Epoch numbers to ns, the unit by magnitude (s, ms, µs or ns)."""
    top = float(np.max(np.abs(values))) if len(values) else 0.0
    scale = 1 if top >= 1e17 else 1_000 if top >= 1e14 else 1_000_000 if top >= 1e11 \
        else 1_000_000_000
    return values.astype(np.int64) * scale


def _times_of(column: Any, where: str, name: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        kind = column.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            column = pc.cast(column, pa.timestamp("ns", tz=getattr(kind, "tz", None)))
            return np.asarray(column.to_numpy(zero_copy_only=False)).astype("datetime64[ns]") \
                .astype(np.int64)
        if pa.types.is_integer(kind):
            return _epoch_ns(np.asarray(column.to_numpy(zero_copy_only=False)))
        raise OrderError(f"{where}: column {name!r} holds {kind}, expected times (ISO-8601 "
                         "dates or datetimes, or epoch numbers)")
    values = np.asarray(column)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64)
    if values.dtype.kind in "iu":
        return _epoch_ns(values)
    try:
        return np.array([np.datetime64(v, "ns") for v in values.tolist()]).astype(np.int64)
    except (TypeError, ValueError):
        raise OrderError(f"{where}: column {name!r} is not times (ISO-8601 dates or datetimes, "
                         "or epoch numbers)") from None


def _numbers(column: Any) -> np.ndarray:
    to_numpy = getattr(column, "to_numpy", None)
    values = to_numpy(zero_copy_only=False) if callable(to_numpy) and not isinstance(
        column, np.ndarray) else column
    return np.asarray(values, dtype=np.float64)


def _weights_matrix(columns: Mapping[str, Any], where: str
                    ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(row times, symbols, rows × symbols weights), checked: the file, row
    and symbol of what is wrong."""
    lower = {str(k).lower(): k for k in columns}
    time_key = next((lower[c] for c in TIME_COLUMNS if c in lower), None)
    if time_key is None:
        raise OrderError(f"{where}: no time column (expected one of {', '.join(TIME_COLUMNS)}; "
                         f"have {', '.join(map(str, columns))})")
    times = _times_of(columns[time_key], where, str(time_key))
    others = [k for k in columns if k != time_key]
    if {str(k).lower() for k in others} == {"symbol", "weight"}:  # the long form
        sym_key, w_key = lower["symbol"], lower["weight"]
        symbols = [str(s) for s in _plain_list(columns[sym_key])]
        weights = _numbers(columns[w_key])
        stamps = sorted(set(times.tolist()))
        names = sorted(set(symbols))
        matrix = np.zeros((len(stamps), len(names)))
        at = {t: i for i, t in enumerate(stamps)}
        col = {s: j for j, s in enumerate(names)}
        seen: set[tuple[int, str]] = set()
        for k, (t, s, w) in enumerate(zip(times.tolist(), symbols, weights.tolist())):
            if (t, s) in seen:
                raise OrderError(f"{where}: row {k + 1}: a second weight for {s!r} at the same "
                                 "time")
            seen.add((t, s))
            matrix[at[t], col[s]] = w
        times = np.array(stamps, dtype=np.int64)
        check_rows = [(i, names[j]) for i, j in zip(*np.nonzero(~np.isfinite(matrix)))]
    else:
        if not others:
            raise OrderError(f"{where}: no weight columns (one per symbol, or symbol and weight)")
        names = [str(k) for k in others]
        matrix = np.column_stack([_numbers(columns[k]) for k in others]) if len(times) else \
            np.zeros((0, len(names)))
        bad = np.argwhere(~np.isfinite(matrix))
        check_rows = [(int(i), names[int(j)]) for i, j in bad]
        if len(times) > 1:
            order = np.diff(times)
            if np.any(order <= 0):
                k = int(np.flatnonzero(order <= 0)[0]) + 2
                raise OrderError(f"{where}: row {k}: times must increase (row {k} is "
                                 f"{'the same as' if order[k - 2] == 0 else 'before'} row {k - 1})")
    if check_rows:
        i, symbol = check_rows[0]
        raise OrderError(f"{where}: row {i + 1}: the weight of {symbol!r} is not a finite number "
                         "(write 0 for none)")
    if not len(times):
        raise OrderError(f"{where}: the table has no rows")
    return times, names, matrix


def _plain_list(column: Any) -> list[Any]:
    to_pylist = getattr(column, "to_pylist", None)
    return to_pylist() if callable(to_pylist) else list(column)
