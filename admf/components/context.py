"""The strategy context: a per-bar strategy that sees what actually happened.

Subclass :class:`OrderStrategy` and write ``on_bar(self, ctx)``; ``ctx`` holds
the *actual* state after this bar's fills: ``ctx.position`` (``units``,
``avg_price``, ``pnl`` unrealised, ``bars`` held), ``ctx.cash``,
``ctx.equity``, ``ctx.orders`` (open orders of the symbol), ``ctx.fills``
(fills since the last bar), the bar (``ctx.bar``: ``timestamp``, ``open``,
``high``, ``low``, ``close``, ``volume``, ``symbol``), the indicators
(``ctx.ind.fast``) and their recent values (``ctx.history("fast", 5)``).
Orders in backtesting.py's shape::

    class Cross(OrderStrategy):
        indicators = {"fast": ("sma", {"period": 10}), "slow": ("sma", {"period": 30})}

        def on_bar(self, ctx):
            if ctx.crossed("fast", "slow") and not ctx.position:
                ctx.buy(sl=0.02, sl_kind="fraction", tp=0.04, tp_kind="fraction")

``size`` follows backtesting.py: below 1 a fraction of equity, 1 or more
units; ``size_type=`` says it explicitly (``units``, ``notional``,
``percent_equity``, ``target_percent``). ``on_fill(ctx, fill)`` and
``on_order(ctx, update)`` (rejections, expiries, cancellations) are called
before ``on_bar`` of the bar they happened on. :func:`run_orders` runs a
strategy over a symbol's bars in one fused loop (no await per bar); the fill
procedure is :mod:`admf.components.execution`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import AdmfError, DataError, OrderError
from ..messages import BarBatch, Fill, Order, OrderUpdate
from ._blame import user_site
from .execution import ExecutionKernel, Position
from .indicators import build
from .orders import validate, where
from ..runtime.registry import registry
from .per_bar import class_params, specs_of

__all__ = ("OrderStrategy", "UniverseStrategy", "Universe", "Context", "run_orders", "OrderRun",
           "SymbolRunner")


class OrderStrategy:
    """Base class of context strategies (see the module docstring)."""

    indicators: Any = {}
    history_bars: int = 1000
    """How many earlier bars ``ctx.history`` and ``ctx.crossed`` can read back
    across data batches in a study (``run_orders`` keeps every bar)."""

    def __init__(self, **params: Any) -> None:
        for name, value in params.items():
            if name.startswith("_") or not hasattr(type(self), name) \
                    or callable(getattr(type(self), name)):
                raise OrderError(f"{type(self).__name__} has no parameter {name!r} (declare it "
                                 "as a class attribute with its default)")
            setattr(self, name, value)

    @classmethod
    def __params__(cls) -> list[Any]:
        """The class-attribute parameters, for ``admf list``."""
        return class_params(cls)

    def on_bar(self, ctx: Context) -> None:
        raise NotImplementedError

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Called for each fill, before ``on_bar`` of its bar."""

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        """Called for each rejection, expiry or cancellation."""


registry.expect("strategy", OrderStrategy)  # a "pkg.mod:Name" strategy may subclass it too


class _Bar:
    """The current bar's fields, as plain Python scalars."""

    __slots__ = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
    symbol: str
    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Context:
    """What a strategy sees and does on one bar (see the module docstring)."""

    def __init__(self, kernel: ExecutionKernel, strategy: str, symbol: str,
                 columns: dict[str, np.ndarray]) -> None:
        self.kernel = kernel
        self.strategy = strategy
        self.symbol = symbol
        self.bar = _Bar()
        self.bar.symbol = symbol
        self.ind: Any = type("Indicators", (), {})()
        self.fills: list[Fill] = []
        self.i = -1
        self._columns = columns
        self._base = 0  # the bar index of the columns' first row
        self._position = kernel.position(symbol)

    # -- state ---------------------------------------------------------------------

    @property
    def position(self) -> Position:
        return self._position

    @property
    def cash(self) -> float:
        return self.kernel.cash

    @property
    def equity(self) -> float:
        return self.kernel.equity()

    @property
    def time(self) -> int:
        return self.bar.timestamp

    @property
    def orders(self) -> list[Order]:
        return [w.order for w in self.kernel.book.values() if w.order.symbol == self.symbol]

    def history(self, name: str, n: int) -> np.ndarray:
        """The last ``n`` values (oldest first) of a bar field or indicator, up
        to and including this bar."""
        col = self._columns.get(name)
        if col is None:
            raise OrderError(f"{where(self.strategy, self.symbol, self.bar.timestamp)}: no bar "
                             f"field or indicator {name!r} (have {', '.join(self._columns)})")
        end = self.i - self._base + 1
        start = end - n
        if start < 0 < self._base:
            raise OrderError(f"{where(self.strategy, self.symbol, self.bar.timestamp)}: "
                             f"history({name!r}, {n}) reaches back past the {end} rows kept; "
                             f"set the strategy's history_bars to at least {n}")
        return col[max(start, 0): end]

    def crossed(self, a: str, b: str) -> bool:
        """``a`` crossed above ``b`` on this bar (previous a <= b, now a > b)."""
        k = self.i - self._base
        if self.i < 1:
            return False
        if k < 1:  # the previous row was not kept (history_bars: 0)
            raise OrderError(f"{where(self.strategy, self.symbol, self.bar.timestamp)}: "
                             f"crossed() needs the previous bar; set history_bars to at least 2")
        x, y = self._columns[a], self._columns[b]
        return bool(x[k - 1] <= y[k - 1] and x[k] > y[k])

    # -- orders ----------------------------------------------------------------------

    def buy(self, size: float | None = None, **kw: Any) -> int:
        return self.order(1, size, **kw)

    def sell(self, size: float | None = None, **kw: Any) -> int:
        return self.order(-1, size, **kw)

    def close(self, fraction: float = 1.0) -> int | None:
        """Exit ``fraction`` of the position with a reduce-only market order."""
        units = self._position.units
        if not units:
            return None
        return self.order(-1 if units > 0 else 1, abs(units) * fraction, size_type="units",
                          reduce_only=True, tag="close")

    def order(self, side: int, size: float | None = None, *, size_type: str | None = None,
              limit: float | None = None, stop: float | None = None, **kw: Any) -> int:
        """Place any order (fields of :class:`~admf.messages.Order`); its id."""
        if size is None:
            size, size_type = 99.99, size_type or "percent_equity"
        elif size_type is None:
            if isinstance(size, (int, float)) and 0 < size < 1:
                size, size_type = size * 100.0, "percent_equity"
            else:
                size_type = "units"
        kind = kw.pop("kind", None) or ("stop_limit" if limit is not None and stop is not None else
                                        "limit" if limit is not None else
                                        "stop" if stop is not None else "market")
        tif = kw.pop("tif", "gtc")
        bars = kw.pop("bars", 0)
        try:
            order = Order(ts=self.bar.timestamp, id=self.kernel.new_id(), symbol=self.symbol,
                          side=side, size=float(size), size_type=size_type, kind=kind, limit=limit,
                          stop=stop, tif=tif, tif_bars=bars, **kw)
        except TypeError as exc:
            raise OrderError(f"{where(self.strategy, self.symbol, self.bar.timestamp)}: "
                             f"bad order: {exc}") from None
        validate(order, self.strategy, self.bar.close)
        self.kernel.submit(order)
        if self.kernel.fill == "same_close" and kind == "market":
            self.kernel.fill_now(order.id, self.bar.close, self.bar.volume, self.bar.timestamp)
        return order.id

    def cancel(self, order_id: int) -> None:
        if not self.kernel.cancel(order_id, self.bar.timestamp):
            raise OrderError(f"{where(self.strategy, self.symbol, self.bar.timestamp)}: cannot "
                             f"cancel order {order_id}: it is not open (filled, cancelled, "
                             "expired or never placed)")

    def replace(self, order_id: int, **changes: Any) -> int:
        """Cancel an open order and place its copy with ``changes``; the new id."""
        w = self.kernel.book.get(order_id)
        if w is None:
            self.cancel(order_id)  # raises: not open
        old = w.order  # type: ignore[union-attr]
        self.cancel(order_id)
        fields = {f: getattr(old, f) for f in old.__struct_fields__
                  if f not in ("ts", "id", "symbol", "side", "size", "size_type", "limit",
                               "stop", "tif_bars")}
        fields.update(tif_bars=old.tif_bars)
        remaining = w.remaining if w.sized else old.size  # type: ignore[union-attr]
        size = changes.pop("size", remaining)
        size_type = changes.pop("size_type", "units" if w.sized else old.size_type)  # type: ignore[union-attr]
        limit = changes.pop("limit", old.limit)
        stop = changes.pop("stop", old.stop)
        fields.update(changes)
        fields["bars"] = fields.pop("tif_bars")
        return self.order(old.side, size, size_type=size_type, limit=limit, stop=stop, **fields)


class UniverseStrategy(OrderStrategy):
    """A strategy that sees every symbol of the study at once.

    Write ``on_bars(self, ctx)``: it is called once per timestamp, after
    every symbol's fills at that time. ``ctx`` is a :class:`Universe`:
    ``ctx[symbol]`` is that symbol's :class:`Context` (its bar, indicators,
    position, history and orders; ``ctx[symbol].buy(...)`` trades it),
    ``ctx.active`` the symbols with a bar at this time (in name order; a
    symbol that has not started, has ended or has a hole has none, and its
    context still shows its last bar), ``ctx.cash``, ``ctx.equity`` and
    ``ctx.time``. The indicators are computed for each symbol.
    ``on_fill(ctx, fill)`` and ``on_order(ctx, update)`` receive the
    symbol's own context, as for a per-symbol strategy. Runs in studies (one
    instance per portfolio), not through :func:`run_orders`."""

    def on_bar(self, ctx: Context) -> None:  # the per-symbol hook is not used
        pass

    def on_bars(self, ctx: Universe) -> None:
        raise NotImplementedError


class Universe:
    """What a :class:`UniverseStrategy` sees at one timestamp."""

    def __init__(self, kernel: Any, label: str, symbols: list[str]) -> None:
        self.kernel = kernel
        self.label = label
        self.symbols = symbols
        self.contexts: dict[str, Context] = {}
        self.active: list[str] = []
        self.time = 0

    def __getitem__(self, symbol: str) -> Context:
        ctx = self.contexts.get(symbol)
        if ctx is None:
            known = ", ".join(self.symbols)
            raise OrderError(f"{where(self.label, symbol, self.time)}: {symbol!r} is not a "
                             f"symbol of this study (symbols: {known})"
                             if symbol not in self.symbols else
                             f"{where(self.label, symbol, self.time)}: {symbol!r} has had no "
                             "bar yet")
        return ctx

    @property
    def cash(self) -> float:
        return self.kernel.cash

    @property
    def equity(self) -> float:
        return self.kernel.equity()


class OrderRun:
    """What :func:`run_orders` returns: per-bar equity and cash, every fill,
    order update and closed trade."""

    def __init__(self, equity: np.ndarray, cash: np.ndarray, kernel: ExecutionKernel) -> None:
        self.equity = equity
        self.cash = cash
        self.fills = kernel.fills
        self.updates = kernel.updates
        self.trades = kernel.trades
        self.kernel = kernel


FIELDS = ("timestamp", "open", "high", "low", "close", "volume")


class SymbolRunner:
    """One strategy instance on one symbol's bars, batch by batch: its
    indicators (computed vectorised per batch, their state carried over),
    the columns :meth:`Context.history` reads and the per-bar calls.

    ``keep`` is how many earlier rows stay readable by ``history`` across
    batches (None: every row). For each batch call :meth:`feed`, then per
    row the kernel's ``on_bar`` for the symbol, :meth:`deliver` for the fills
    and updates it made, and :meth:`step`."""

    def __init__(self, strategy: OrderStrategy, kernel: ExecutionKernel, label: str,
                 symbol: str, keep: int | None = None) -> None:
        self.strategy = strategy
        self.per_symbol = not isinstance(strategy, UniverseStrategy)
        """Whether ``step`` calls ``on_bar``; a universe strategy's ``on_bars``
        is called by its portfolio once per timestamp instead."""
        self.label = label
        self.symbol = symbol
        self.keep = keep
        self.indicators = {role: build(kind, params)
                           for role, (kind, params) in specs_of(strategy).items()}  # type: ignore[arg-type]
        self.columns: dict[str, np.ndarray] = {}
        self.ctx = Context(kernel, label, symbol, self.columns)
        self.names: list[str] = []
        self.rows: list[list[Any]] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.ind_rows: list[list[Any]] = []
        self.offset = 0  # the bar index of the current batch's first row
        self.seen = 0
        self.new_fills: list[Fill] = []
        self.new_updates: list[OrderUpdate] = []
        kind = type(strategy)
        self._on_fill = strategy.on_fill if kind.on_fill is not OrderStrategy.on_fill else None
        self._on_order = strategy.on_order if kind.on_order is not OrderStrategy.on_order else None
        self._on_bar = strategy.on_bar

    def feed(self, bars: BarBatch) -> None:
        """Compute the indicators over ``bars`` (the symbol's next rows)."""
        new: dict[str, np.ndarray] = {f: np.asarray(getattr(bars, f)) for f in FIELDS}
        for role, indicator in self.indicators.items():
            try:
                value = indicator.update(bars)
            except DataError as exc:  # the data lacks what it reads: name who asked, and where
                raise DataError(f"{self.label}, symbol {self.symbol!r}, indicator {role!r}: "
                                f"{exc}") from None
            if isinstance(value, dict):
                new.update({f"{role}_{out}": np.asarray(v) for out, v in value.items()})
            else:
                new[role] = np.asarray(value)
        columns = self.columns
        if not columns or self.keep == 0:
            columns.update(new)
            base = self.seen
        else:
            kept = len(columns["timestamp"]) if self.keep is None else \
                min(self.keep, len(columns["timestamp"]))
            for k, col in new.items():
                columns[k] = np.concatenate([columns[k][len(columns[k]) - kept:], col])
            base = self.seen - kept
        self.ctx._base = base
        self.offset = self.seen
        self.seen += len(bars)
        self.names = [k for k in new if k not in FIELDS]
        self.rows = [new[k].tolist() for k in FIELDS]
        self.arrays = new
        """The current batch's columns (bar fields and indicators) as arrays."""
        self.ind_rows = [new[k].tolist() for k in self.names]

    def deliver(self, fills: list[Fill], updates: list[OrderUpdate]) -> None:
        """Hand this symbol's fills and order updates to the next :meth:`step`."""
        self.new_fills.extend(fills)
        self.new_updates.extend(updates)

    def step(self, j: int) -> None:
        """Row ``j`` of the current batch: the callbacks, then ``on_bar``."""
        ctx, rows = self.ctx, self.rows
        bar = ctx.bar
        ts = rows[0][j]
        bar.timestamp, bar.open, bar.high = ts, rows[1][j], rows[2][j]
        bar.low, bar.close, bar.volume = rows[3][j], rows[4][j], rows[5][j]
        ind = ctx.ind
        for k, col in zip(self.names, self.ind_rows):
            setattr(ind, k, col[j])
        ctx.i = self.offset + j
        if self.new_fills:
            ctx.fills, self.new_fills = self.new_fills, []
        elif ctx.fills:
            ctx.fills = []
        try:
            if self._on_fill is not None:
                for f in ctx.fills:
                    self._on_fill(ctx, f)
            if self.new_updates:
                updates, self.new_updates = self.new_updates, []
                if self._on_order is not None:
                    for u in updates:
                        if u.status in ("rejected", "cancelled", "expired"):
                            self._on_order(ctx, u)
            if self.per_symbol:
                self._on_bar(ctx)
        except AdmfError:
            raise
        except Exception as exc:
            raise strategy_raised(where(self.label, self.symbol, ts), self.strategy, exc) from exc


def strategy_raised(place: str, strategy: Any, exc: Exception) -> OrderError:
    """The error for user code raising in a callback: the place (strategy,
    symbol, bar), the exception and the user's file and line."""
    site = user_site(exc, type(strategy))
    return OrderError(f"{place}: the strategy raised {type(exc).__name__}: {exc}"
                      + (f" ({site})" if site else ""))


def run_orders(strategy: OrderStrategy, bars: BarBatch, *, cash: float = 10_000.0,
               name: str | None = None, **execution: Any) -> OrderRun:
    """Run ``strategy`` over ``bars`` in one fused loop; ``execution`` goes to
    :class:`ExecutionKernel` (commission, slippage, intrabar, limit_fill,
    volume_share, fill, whole_units, direction)."""
    label = name or type(strategy).__name__
    if isinstance(strategy, UniverseStrategy):
        raise OrderError(f"{label} is a UniverseStrategy: it sees every symbol of a study at "
                         "once, so it runs in a study (admf.run), not on one symbol's bars")
    kernel = ExecutionKernel(cash, **execution)
    symbol = bars.symbol
    runner = SymbolRunner(strategy, kernel, label, symbol)
    runner.feed(bars)
    ts_, o_, h_, l_, c_, v_ = runner.rows
    n = len(ts_)
    equity = np.empty(n)
    cash_out = np.empty(n)
    fills, updates = kernel.fills, kernel.updates
    on_bar, step = kernel.on_bar, runner.step
    seen_fills = seen_updates = 0
    for i in range(n):
        on_bar(symbol, ts_[i], o_[i], h_[i], l_[i], c_[i], v_[i])
        if len(fills) != seen_fills or len(updates) != seen_updates:
            runner.deliver(fills[seen_fills:], updates[seen_updates:])
            seen_fills, seen_updates = len(fills), len(updates)
        step(i)
        cash_out[i] = kernel.cash
        equity[i] = kernel.equity()
    return OrderRun(equity, cash_out, kernel)
