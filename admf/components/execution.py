"""The execution kernel: one fill procedure per bar for every order path.

An order placed while bar *t* is processed is live from bar *t+1*
(``fill="next_open"``, the default); with ``fill="same_close"`` a market
order placed on bar *t* fills at bar *t*'s close at once (opt-in: it trades a
close the strategy has already seen). For each symbol's bar, in order:

====  ==========================================================================
step  what fills
====  ==========================================================================
1     expiries: ``day`` orders of an earlier UTC day, ``until`` orders past
      their time (``bars`` orders expire after their last live bar, step 5)
2     **open**: market orders at the open; resting orders the open gapped
      through at the open (a buy limit with open <= limit, a buy stop with
      open >= stop, a stop-limit whose stop and limit the open both satisfy)
3     **intrabar**: the price walks the ``intrabar`` path ``ohlc``
      (open-high-low-close), ``olhc``, or ``adverse`` (for a long the low
      first, for a short the high first: stops before targets). Along each
      leg the first level reached fills first: a limit at its limit (or at
      the price, if better, when it becomes live mid-bar), a stop at its stop
      (a stop-limit then rests as a limit). ``limit_fill: touch`` fills a
      limit when the price reaches it, ``through`` only when it trades past it
4     **close**: the bar ends at its close; trailing stops move (trailing the
      bar's high/low, or its close, per order), so a level set from this bar
      is first checked on the next one
5     ``bars`` orders with no bars left expire; bars held advance
====  ==========================================================================

An entry's attached stop-loss / take-profit / trailing stop become live the
moment the entry fills (they may fill later in the same bar's path), as one
OCO group, reduce-only, sized to the units the entry filled. A fill of any
member of an OCO group cancels the others. ``volume_share`` caps the units
filled per symbol and bar at that share of the bar's volume; the rest of a
partially filled order stays working. Buys are cut to the cash available
(costs included); a cut to nothing rejects the order.

Several symbols' bars of one timestamp (:meth:`ExecutionKernel.on_bars`)
run step 2 for every symbol before step 3 for any: the symbols whose first
order to fill at the open sells go first, then the others, each in name
order, so what a rebalance sells pays for what it buys; steps 3 to 5 then
follow per symbol. Sizing there reads the equity before the timestamp's
first fill (cash and every other symbol at its last earlier close, plus
this symbol's own fills), so no symbol's size depends on which filled
first, and no close of that timestamp is read before it happens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..messages import Fill, Order, OrderUpdate
from .orders import Working

__all__ = ("Account", "ExecutionKernel", "Margin", "Position", "INTRABAR_PATHS", "LIMIT_FILLS", "DIRECTIONS")

INTRABAR_PATHS = ("ohlc", "olhc", "adverse")
DIRECTIONS = ("long_only", "short_only", "long_short")
LIMIT_FILLS = ("touch", "through")
_DAY = 86_400_000_000_000


class Margin:
    """A margin account: a position needs ``initial`` × its value of equity to
    open or grow (``1 / leverage``); below ``maintenance`` × the gross
    exposure a margin call liquidates (:meth:`ExecutionKernel.margin_call`)."""

    __slots__ = ("initial", "maintenance")

    def __init__(self, initial: float, maintenance: float) -> None:
        if not 0 < initial <= 1:
            raise ValueError(f"initial margin must be in (0, 1], got {initial!r}")
        if not 0 < maintenance <= initial:
            raise ValueError(f"maintenance margin must be in (0, initial = {initial}], got "
                             f"{maintenance!r}")
        self.initial = float(initial)
        self.maintenance = float(maintenance)

    @property
    def leverage(self) -> float:
        return 1.0 / self.initial


class Position:
    """The open position of one symbol (netted)."""

    __slots__ = ("units", "avg_price", "entry_time", "bars", "last", "realised")

    def __init__(self) -> None:
        self.units = 0.0
        self.avg_price = 0.0
        self.entry_time = 0
        self.bars = 0
        """Bars completed while the current position was open."""
        self.last = math.nan
        """The symbol's latest close seen (its mark)."""
        self.realised = 0.0

    @property
    def pnl(self) -> float:
        """Unrealised PnL at the latest close."""
        return (self.last - self.avg_price) * self.units if self.units else 0.0

    @property
    def is_long(self) -> bool:
        return self.units > 0

    @property
    def is_short(self) -> bool:
        return self.units < 0

    def __bool__(self) -> bool:
        return self.units != 0

    def __repr__(self) -> str:
        return f"Position(units={self.units}, avg_price={self.avg_price}, bars={self.bars})"


class Account:
    """Cash, positions, the open-order book and order ids: what a strategy's
    context reads, whether the kernel is here or behind a broker
    (:class:`~admf.components.broker.KernelProxy`)."""

    def __init__(self, cash: float, whole_units: bool = False) -> None:
        self.cash = float(cash)
        self.whole_units = whole_units
        self.positions: dict[str, Position] = {}
        self.book: dict[int, Working] = {}
        self.fills: list[Fill] = []
        self.updates: list[OrderUpdate] = []
        self._next_id = 1

    def new_id(self) -> int:
        oid = self._next_id
        self._next_id += 1
        return oid

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position()
        return pos

    def equity(self) -> float:
        eq = self.cash
        for pos in self.positions.values():
            if pos.units:
                eq += pos.units * pos.last
        return eq


class ExecutionKernel(Account):
    """Order book, cash and positions of one portfolio (any number of symbols)."""

    def __init__(self, cash: float, *, commission: Callable[[float, float], float] | None = None,
                 slippage: Any = None, intrabar: str = "ohlc", limit_fill: str = "touch",
                 volume_share: float | None = None, fill: str = "next_open",
                 whole_units: bool = False, direction: str = "long_short",
                 margin: Margin | None = None) -> None:
        if intrabar not in INTRABAR_PATHS:
            raise ValueError(f"intrabar must be one of {', '.join(INTRABAR_PATHS)}, got {intrabar!r}")
        if limit_fill not in LIMIT_FILLS:
            raise ValueError(f"limit_fill must be one of {', '.join(LIMIT_FILLS)}, got {limit_fill!r}")
        if fill not in ("next_open", "same_close"):
            raise ValueError(f"fill must be next_open or same_close, got {fill!r}")
        if volume_share is not None and not 0 < volume_share <= 1:
            raise ValueError(f"volume_share must be in (0, 1], got {volume_share!r}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        self.direction = direction
        """``long_only`` never lets a sell open or grow a short (it may only
        reduce a long), ``short_only`` the mirror; ``long_short`` both."""
        super().__init__(cash, whole_units)
        self.commission = commission
        self.slip = slippage.price if slippage is not None else None
        self.intrabar = intrabar
        self.through = limit_fill == "through"
        self.volume_share = volume_share
        self.fill = fill
        self.margin = margin
        """None: a cash account (buys cut to the cash, shorts uncapped); a
        :class:`Margin`: buying power, margin calls and an equity floor."""
        self.leverage = margin.leverage if margin is not None else 1.0
        """Gross exposure over equity a fill may reach (1: a cash account)."""
        self.halted = False
        """Set when a margin call has left no equity: every later order is rejected."""
        self.trades: list[tuple] = []
        """Closed trades: (symbol, direction, entry_time, exit_time, entry, exit, units, pnl)."""
        self._bar_index: dict[str, int] = {}
        self._budget = math.inf
        self._snapshot: tuple[float, list[tuple[Position, float]]] | None = None
        self._own_cash: dict[int, float] = {}
        self._marks: dict[int, float] | None = None

    # -- placing -------------------------------------------------------------------

    def submit(self, order: Order) -> int:
        """Book a (validated) order; live from the symbol's next bar."""
        units = initial_units(order, self.whole_units)
        self._next_id = max(self._next_id, order.id + 1)  # an id given by a remote strategy side
        live_from = self._bar_index.get(order.symbol, -1) + 1
        self.book[order.id] = Working(order, live_from, units, order.size_type == "units")
        self.updates.append(OrderUpdate(ts=order.ts, order_id=order.id, symbol=order.symbol,
                                        status="accepted", remaining=units if units == units else 0.0))
        return order.id

    def fill_now(self, order_id: int, close: float, volume: float, ts: int) -> None:
        """``same_close``: fill a just placed market order at ``close``."""
        w = self.book.get(order_id)
        if w is not None and w.order.kind == "market":
            self._budget = self.volume_share * volume if self.volume_share else math.inf
            self._execute(w, close, volume, ts, "close")

    def cancel(self, order_id: int, ts: int, reason: str = "cancelled") -> bool:
        """Cancel an open order (False when it is not open)."""
        w = self.book.pop(order_id, None)
        if w is None:
            return False
        self.updates.append(OrderUpdate(ts=ts, order_id=order_id, symbol=w.order.symbol,
                                        status="cancelled", filled=w.filled,
                                        remaining=_rest(w), reason=reason))
        return True

    # -- one bar -------------------------------------------------------------------

    def on_bar(self, symbol: str, ts: int, o: float, h: float, lo: float, c: float,
               v: float) -> None:
        """Run the fill procedure (module docstring) for ``symbol``'s next bar."""
        bar = self._begin(symbol, ts, o, h, lo, c, v)
        if bar is not None:
            self._sweep(symbol, bar[1], o, o, v, ts, "open")
            self._finish(bar)
        if self.margin is not None:
            self.margin_call(ts)

    def on_bars(self, group: Any) -> None:
        """Run the fill procedure for several symbols' bars of one timestamp
        (``(symbol, ts, o, h, lo, c, v)`` each, in symbol-name order): every
        open before any intrabar path, and at the open the symbols whose
        first order to fill sells before the others, so that what a
        rebalance sells pays for what it buys."""
        if len(group) == 1:
            self.on_bar(*group[0])
            return
        # before any bar of this time moves a mark (a held symbol with nothing
        # working is marked at its close at once): what sizing and margin read
        self._snapshot = (self.cash, [(p, p.units * p.last) for p in self.positions.values()
                                      if p.units])
        self._marks = {id(p): p.last for p in self.positions.values()}
        self._own_cash = {}
        begun = [bar for bar in (self._begin(*g) for g in group) if bar is not None]
        first = [self._sells_first(bar) for bar in begun]
        for bar in [b for b, f in zip(begun, first) if f] + [b for b, f in zip(begun, first) if not f]:
            symbol, index, _, _, ts, o, v = bar[:7]
            self._budget = bar[-1]
            self._sweep(symbol, index, o, o, v, ts, "open")
            bar[-1] = self._budget
        for bar in begun:
            self._budget = bar[-1]
            self._finish(bar)
        self._snapshot = self._marks = None
        if self.margin is not None:
            self.margin_call(group[0][1])

    def pass_bars(self, symbol: str, count: int, close: float) -> None:
        """``count`` bars of ``symbol`` with no order working, the last closing
        at ``close``: what :meth:`on_bar` does for each (bar index, mark, bars
        held), at once."""
        assert not any(w.order.symbol == symbol for w in self.book.values()), symbol
        self._bar_index[symbol] = self._bar_index.get(symbol, -1) + count
        pos = self.position(symbol)
        pos.last = close
        if pos.units:
            pos.bars += count

    def _begin(self, symbol: str, ts: int, o: float, h: float, lo: float, c: float,
               v: float) -> list[Any] | None:
        """Steps 1 and the path of a bar; None when nothing can fill or is held."""
        index = self._bar_index.get(symbol, -1) + 1
        self._bar_index[symbol] = index
        pos = self.positions.get(symbol) or self.position(symbol)
        if not self.book and not pos.units:  # nothing working, nothing held
            pos.last = c
            return None
        live = [w for w in self.book.values() if w.order.symbol == symbol and w.live_from <= index]
        if not live:  # held, nothing working: the bar only marks it (no order of it is pending)
            pos.last = c
            if pos.units:
                pos.bars += 1
            return None
        day = ts // _DAY
        for w in live:  # 1: expiries before the bar trades
            od = w.order
            if (od.tif == "day" and day != w.day) or (od.tif == "until" and ts > od.until):
                self._expire(w, ts)
        self._budget = self.volume_share * v if self.volume_share else math.inf
        if self.intrabar == "ohlc":
            path = (o, h, lo, c)
        elif self.intrabar == "olhc":
            path = (o, lo, h, c)
        else:
            path = (o, lo, h, c) if pos.units > 0 or (pos.units == 0 and self._buying(symbol)) \
                else (o, h, lo, c)
        return [symbol, index, pos, path, ts, o, v, h, lo, c, self._budget]

    def _sells_first(self, bar: list[Any]) -> bool:
        """Whether the first order of ``bar``'s symbol to fill at its open sells."""
        symbol, index, pos, _, _, o = bar[:6]
        for w in self.book.values():
            od = w.order
            if od.symbol != symbol or w.live_from > index:
                continue
            if od.kind == "market" or self._hit(w, o, o) is not None:
                return self._side(od, pos, o) < 0
        return False

    def _finish(self, bar: list[Any]) -> None:
        """Steps 3 to 5 of a bar whose open has been swept."""
        symbol, index, pos, path, ts, _, v, h, lo, c = bar[:10]
        self._walk(symbol, index, path, v, ts)
        # 4: the close: marks and trailing levels
        pos.last = c
        for w in list(self.book.values()):
            od = w.order
            if od.symbol != symbol or w.live_from > index:
                continue
            if od.trail is not None and od.parent is not None and od.kind == "stop":
                self._trail(w, h if od.trail_on == "extreme" else c,
                            lo if od.trail_on == "extreme" else c)
            w.bars_live += 1
            if od.tif == "bars" and w.bars_live >= od.tif_bars:
                self._expire(w, ts)
        if pos.units:
            pos.bars += 1

    def _buying(self, symbol: str) -> bool:
        return any(w.order.side > 0 for w in self.book.values() if w.order.symbol == symbol)

    def _walk(self, symbol: str, index: int, path: tuple[float, ...], volume: float, ts: int) -> None:
        """The intrabar path after the open (step 3)."""
        cur = path[0]
        phase = "intrabar"
        for target in path[1:]:
            while True:
                # with no volume left nothing more fills this bar, but a stop-limit's
                # trigger is a price event, not a fill: it still turns into a limit
                dry = self._budget <= 0
                best = None
                for w in list(self.book.values()):
                    if w.order.symbol != symbol or w.live_from > index or w.order.kind == "market":
                        continue
                    if dry and (w.order.kind != "stop_limit" or w.triggered):
                        continue
                    price = self._hit(w, cur, target)
                    if price is not None:
                        dist = abs(price - cur)
                        if best is None or dist < best[0]:
                            best = (dist, price, w)
                if best is None:
                    break
                _, price, w = best
                cur = price
                self._act(w, price, volume, ts, phase)
            cur = target

    def _sweep(self, symbol: str, index: int, price: float, _: float, volume: float, ts: int,
               phase: str) -> None:
        """Fill, in placement order, everything fillable at ``price`` (the open);
        orders a fill makes live (brackets) are swept too."""
        progress = True
        while progress:
            progress = False
            for w in list(self.book.values()):
                if w.order.id not in self.book or w.order.symbol != symbol or w.live_from > index:
                    continue
                if w.order.kind == "market" or self._hit(w, price, price) is not None:
                    before = (w.filled, w.triggered, len(self.book))
                    self._act(w, price, volume, ts, phase)
                    if (w.filled, w.triggered, len(self.book)) != before:
                        progress = True

    def _hit(self, w: Working, cur: float, target: float) -> float | None:
        """Where on the leg ``cur -> target`` ``w`` acts (its fill or trigger price)."""
        od = w.order
        if od.kind == "market":
            return cur
        buy = od.side > 0
        if not w.triggered or od.kind == "stop":  # a stop level
            s = w.level
            if buy:
                return cur if cur >= s else (s if target >= s else None)
            return cur if cur <= s else (s if target <= s else None)
        lim = od.limit
        if buy:
            if cur < lim or (cur == lim and not self.through):
                return cur
            if target < lim or (target == lim and not self.through):
                return lim
            return None
        if cur > lim or (cur == lim and not self.through):
            return cur
        if target > lim or (target == lim and not self.through):
            return lim
        return None

    def _act(self, w: Working, price: float, volume: float, ts: int, phase: str) -> None:
        od = w.order
        if od.kind == "stop_limit" and not w.triggered:
            w.triggered = True  # from here on a limit order
            if self._hit(w, price, price) is None:
                return
        self._execute(w, price, volume, ts, phase)

    # -- executing -------------------------------------------------------------------

    def _units_for(self, w: Working, price: float, pos: Position) -> float:
        od = w.order
        if w.sized:
            return w.remaining
        equity = self._sizing_equity(pos, price)
        if od.size_type == "notional":
            units = od.size / price
        elif od.size_type == "percent_equity":
            units = equity * od.size / 100.0 / price
        else:  # target_percent: what moves the position to the target
            units = abs(equity * od.size / 100.0 / price - pos.units)
        if od.whole_units or self.whole_units:
            units = math.floor(units + 1e-9)
        w.remaining, w.sized = units, True
        return units

    def _side(self, od: Order, pos: Position, price: float) -> int:
        """The side ``od`` trades at ``price``: its own, or for a
        ``target_percent`` order the side that moves the position to target."""
        if od.size_type != "target_percent":
            return od.side
        eq = self._sizing_equity(pos, price)
        return 1 if eq * od.size / 100.0 / price > pos.units else -1

    def _sizing_equity(self, pos: Position, price: float) -> float:
        """Cash, other symbols at their latest close, this one at ``price``.
        Within :meth:`on_bars` the cash and the other symbols are those
        before the timestamp's first fill, plus the cash of this symbol's own
        fills: a symbol's size never depends on which symbol filled first."""
        snapshot = self._snapshot
        if snapshot is None:
            others = self.cash + sum(p.units * p.last for p in self.positions.values()
                                     if p.units and p is not pos)
            return others + pos.units * price
        cash, values = snapshot
        own = self._own_cash.get(id(pos), 0.0)
        return cash + own + sum(v for p, v in values if p is not pos) + pos.units * price

    def _execute(self, w: Working, reference: float, volume: float, ts: int, phase: str) -> None:
        od = w.order
        pos = self.position(od.symbol)
        units = self._units_for(w, reference, pos)
        side = self._side(od, pos, reference)
        if od.reduce_only:
            if pos.units == 0 or (pos.units > 0) == (side > 0):
                self._drop(w, ts, "cancelled", "reduce-only order with no position to reduce")
                return
            units = min(units, abs(pos.units))
        if self.direction != "long_short" and (side > 0) != (self.direction == "long_only"):
            # the side this strategy may not hold: only what reduces the other side fills
            units = min(units, abs(pos.units) if (pos.units > 0) != (side > 0) else 0.0)
            if units <= 0:
                self._drop(w, ts, "rejected", f"{self.direction}: a "
                           f"{'buy' if side > 0 else 'sell'} with no "
                           f"{'short' if side > 0 else 'long'} position to reduce")
                return
        units = min(units, self._budget)
        whole = od.whole_units or self.whole_units
        if self.halted:
            self._drop(w, ts, "rejected", "the account has no equity left (margin call)")
            return
        if self.margin is not None:
            units = self._within_margin(pos, units, side, reference, volume, whole)
            if units <= 0:
                self._drop(w, ts, "rejected", "insufficient margin")
                return
        elif side > 0:
            units = self._affordable(units, reference, volume, whole)
        if whole:
            units = math.floor(units + 1e-9)
        if units <= 0:
            if self._budget <= 0:
                return  # no volume left this bar: keep working
            self._drop(w, ts, "rejected", "insufficient cash" if side > 0 else "nothing to fill")
            return
        quantity = units * side
        price = self.slip(reference, quantity, volume) if self.slip else reference
        fee = self.commission(units, price) if self.commission else 0.0
        self._book_fill(od.symbol, pos, quantity, price, fee, ts)
        self._budget -= units
        w.filled += units
        w.remaining = max(w.remaining - units, 0.0)
        self.fills.append(Fill(ts=ts, order_id=od.id, symbol=od.symbol, quantity=quantity,
                               price=price, commission=fee, phase=phase, reason=od.tag,
                               slippage=abs(price - reference) * units))
        done = w.remaining <= 1e-12 or (whole and w.remaining < 1)
        self.updates.append(OrderUpdate(ts=ts, order_id=od.id, symbol=od.symbol,
                                        status="filled" if done else "partially_filled",
                                        filled=w.filled, remaining=0.0 if done else w.remaining))
        if done:
            self.book.pop(od.id, None)
        if od.oco is not None:
            for other in [x for x in self.book.values() if x.order.oco == od.oco and x is not w]:
                self.cancel(other.order.id, ts, reason=f"oco {od.oco}: order {od.id} filled")
        if od.parent is None and (od.sl is not None or od.tp is not None or od.trail is not None):
            self._attach(w, units, price, ts)
        if pos.units == 0 or od.parent is None:  # attached exits that no longer reduce go
            for other in [x for x in self.book.values()
                          if x.order.parent is not None and x.order.symbol == od.symbol
                          and (pos.units == 0 or (x.order.side > 0) == (pos.units > 0))]:
                self.cancel(other.order.id, ts, reason="position closed")

    def close_out(self, symbol: str, price: float, volume: float, ts: int,
                  reason: str = "end_of_data") -> None:
        """Cancel ``symbol``'s working orders and close its position at
        ``price`` (slippage and commission applied, no volume cap): how a run
        that closes at the end of its data books the exit. Order id 0: no
        order placed it."""
        for w in [x for x in self.book.values() if x.order.symbol == symbol]:
            self.cancel(w.order.id, ts, reason=reason)
        pos = self.positions.get(symbol)
        if pos is None or not pos.units:
            return
        quantity = -pos.units
        units = abs(quantity)
        fill = self.slip(price, quantity, volume) if self.slip else price
        fee = self.commission(units, fill) if self.commission else 0.0
        self._book_fill(symbol, pos, quantity, fill, fee, ts)
        self.fills.append(Fill(ts=ts, order_id=0, symbol=symbol, quantity=quantity, price=fill,
                               commission=fee, phase="margin" if reason == "margin_call" else "end",
                               reason=reason,
                               slippage=abs(fill - price) * units))

    def _within_margin(self, pos: Position, units: float, side: int, price: float,
                       volume: float, whole: bool) -> float:
        """Cut a fill of ``units`` so that, after it and its costs, equity
        covers the initial margin of every position (this one marked at the
        fill). What reduces the position always fills."""
        assert self.margin is not None
        initial = self.margin.initial
        reducing = min(units, abs(pos.units)) if pos.units and (pos.units > 0) != (side > 0) else 0.0
        others_value = others_gross = 0.0
        marks = self._marks
        for p in self.positions.values():
            if p.units and p is not pos:
                mark = p.last if marks is None else marks.get(id(p), p.last)
                value = p.units * (mark if mark == mark else p.last)  # NaN: no close before
                others_value += value
                others_gross += abs(value)

        def fits(q: float) -> bool:
            quantity = q * side
            px = self.slip(price, quantity, volume) if self.slip else price
            fee = self.commission(q, px) if self.commission else 0.0
            after = pos.units + quantity
            equity = self.cash - quantity * px - fee + others_value + after * px
            return equity + 1e-9 >= initial * (others_gross + abs(after * px))

        if units <= reducing or fits(units):
            return units
        lo_, hi_ = reducing, units
        if reducing and not fits(reducing):
            return reducing
        for _ in range(60):
            mid = (lo_ + hi_) / 2
            if fits(mid):
                lo_ = mid
            else:
                hi_ = mid
        return max(math.floor(lo_ + 1e-9), math.floor(reducing + 1e-9)) if whole else lo_

    def margin_call(self, ts: int) -> None:
        """Step 6 of a margin account, after a timestamp's marks: while equity
        is below the maintenance margin of the gross exposure, close the
        largest position (by absolute value at its last close; ties by
        name) at its last close, costs paid, cancelling its orders. Equity
        that a gap left below zero is floored at zero and the account stops
        trading."""
        margin = self.margin
        if margin is None or self.halted:
            return
        while True:
            held = [(abs(p.units * p.last), s) for s, p in self.positions.items() if p.units]
            equity = self.equity()
            gross = sum(v for v, _ in held)
            if not held or equity >= margin.maintenance * gross:
                break
            _, symbol = min(held, key=lambda x: (-x[0], x[1]))
            pos = self.positions[symbol]
            self.close_out(symbol, pos.last, math.inf, ts, reason="margin_call")
        if self.cash <= 0 and not any(p.units for p in self.positions.values()):
            self.cash = 0.0  # the floor: a gap's loss past zero is not owed
            self.halted = True
            for w in list(self.book.values()):
                self.cancel(w.order.id, ts, reason="margin call: no equity left")

    def _affordable(self, units: float, price: float, volume: float, whole: bool) -> float:
        cash = self.cash + 1e-9

        def cost(q: float) -> float:
            px = self.slip(price, q, volume) if self.slip else price
            return q * px + (self.commission(q, px) if self.commission else 0.0)

        if units <= 0 or cost(units) <= cash:
            return units
        lo_, hi_ = 0.0, units
        for _ in range(60):
            mid = (lo_ + hi_) / 2
            if cost(mid) <= cash:
                lo_ = mid
            else:
                hi_ = mid
        return math.floor(lo_ + 1e-9) if whole else lo_

    def _book_fill(self, symbol: str, pos: Position, quantity: float, price: float, fee: float,
                   ts: int) -> None:
        self.cash -= quantity * price + fee
        if self._snapshot is not None:
            self._own_cash[id(pos)] = self._own_cash.get(id(pos), 0.0) - quantity * price - fee
        if pos.last != pos.last:  # no close seen yet (its first bar): marked at its fill
            pos.last = price
        held = pos.units
        if held == 0 or (held > 0) == (quantity > 0):
            total = held + quantity
            # an entry's price is its fill's, exactly (price * q / q may be off by an ulp)
            pos.avg_price = price if held == 0 else \
                (pos.avg_price * abs(held) + price * abs(quantity)) / abs(total)
            if held == 0:
                pos.entry_time, pos.bars = ts, 0
            pos.units = total
            pos.realised -= fee
            return
        closed = min(abs(quantity), abs(held))
        direction = 1 if held > 0 else -1
        pnl = (price - pos.avg_price) * closed * direction - fee
        pos.realised += pnl
        self.trades.append((symbol, direction, pos.entry_time, ts, pos.avg_price, price, closed, pnl))
        rest = held + quantity
        if abs(rest) <= 1e-12:
            pos.units, pos.avg_price = 0.0, 0.0
        elif (rest > 0) == (held > 0):
            pos.units = rest
        else:  # reversed through zero: the remainder opens at this price
            pos.units, pos.avg_price, pos.entry_time, pos.bars = rest, price, ts, 0

    def _attach(self, w: Working, units: float, price: float, ts: int) -> None:
        """Create (or grow) the entry's stop-loss / take-profit / trailing stop."""
        od = w.order
        if w.children:
            for cid in w.children:
                child = self.book.get(cid)
                if child is not None:
                    child.remaining += units
            return
        side = -od.side
        group = f"bracket-{od.id}"
        index = self._bar_index.get(od.symbol, 0)

        def level(value: float, kind: str, sign: int) -> float:
            if kind == "price":
                return value
            dist = value * price if kind in ("fraction", "percent") else value * float(od.atr or 0)
            return price + sign * dist

        specs = []
        if od.sl is not None:
            specs.append(("stop", level(od.sl, od.sl_kind, -od.side), None, "stop_loss"))
        if od.tp is not None:
            specs.append(("limit", level(od.tp, od.tp_kind, od.side), None, "take_profit"))
        if od.trail is not None:
            specs.append(("stop", level(od.trail, od.trail_kind, -od.side), od.trail, "trailing_stop"))
        for kind, lvl, trail, tag in specs:
            child = Order(ts=ts, id=self.new_id(), symbol=od.symbol, side=side, size=units,
                          kind=kind, stop=lvl if kind == "stop" else None,
                          limit=lvl if kind == "limit" else None, oco=group, reduce_only=True,
                          parent=od.id, trail=trail, trail_kind=od.trail_kind,
                          trail_on=od.trail_on, atr=od.atr, tag=tag)
            cw = Working(child, index, units, True)
            self.book[child.id] = cw
            w.children.append(child.id)
            self.updates.append(OrderUpdate(ts=ts, order_id=child.id, symbol=od.symbol,
                                            status="accepted", remaining=units, reason=tag))

    def _trail(self, w: Working, high: float, low: float) -> None:
        od = w.order
        if od.trail_kind == "percent":
            if od.side < 0:  # protects a long: trails the high
                w.level = max(w.level, high * (1 - od.trail))
            else:
                w.level = min(w.level, low * (1 + od.trail))
            return
        dist = od.trail if od.trail_kind == "price" else od.trail * float(od.atr or 0)
        w.level = max(w.level, high - dist) if od.side < 0 else min(w.level, low + dist)

    def _expire(self, w: Working, ts: int) -> None:
        self._drop(w, ts, "expired", f"time in force {w.order.tif}")

    def _drop(self, w: Working, ts: int, status: str, reason: str) -> None:
        if self.book.pop(w.order.id, None) is None:
            return
        self.updates.append(OrderUpdate(ts=ts, order_id=w.order.id, symbol=w.order.symbol,
                                        status=status, filled=w.filled, remaining=_rest(w),
                                        reason=reason))


def initial_units(order: Order, whole_units: bool) -> float:
    """The units an order is booked with: its size in units (whole when
    asked), NaN until the fill for any other size type."""
    if order.size_type != "units":
        return math.nan
    return math.floor(order.size + 1e-9) if order.whole_units or whole_units else order.size


def _rest(w: Working) -> float:
    return w.remaining if w.remaining == w.remaining else 0.0
