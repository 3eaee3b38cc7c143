"""The portfolio engine: turns targets into fills, marks to market every bar.

Conventions (the defaults a user expects; DESIGN.md §6):

- A target computed from bar *t* is an order. ``next_open`` (default) fills it
  at bar *t+1*'s open, ``next_close`` at bar *t+1*'s close, ``same_close`` at
  bar *t*'s close (look-ahead-prone: opt in only if you trade the close).
  Orders act on *changes* of the target (NaN = keep); after a stop-out the
  portfolio stays flat until the target changes again.
- Within one bar: fills at the open, then intrabar stop-loss / trailing-stop /
  take-profit checks on high and low (a stop beats a target in the same bar:
  the bar's path is unknown, so assume the worse), then fills at the close.
  A gap through a level fills at the open. A trailing stop trails the highest
  high (lowest low for shorts) of the bars *before* the one being checked.
- A reversal is two fills: close, then open the other way; each pays costs.
- Equity is marked at every bar's close: ``cash + sum(quantity * close)``,
  closes carried forward for symbols without a bar at that time.
- Risk: ``max_position`` (units per symbol), ``max_exposure`` (gross exposure /
  equity after the fill), ``max_drawdown`` (once the equity falls this far
  from its peak, no new entries for the rest of the run), ``daily_loss_limit``
  (no new entries for the rest of a UTC day once equity is this far below
  the day's opening equity). Limits cut or refuse entries; exits always run.

- ``close_at_end``: at the end of the data every open position is closed at
  its own symbol's last close, with that symbol's last time and bar (reason
  ``end_of_data``), costs applied — also the position of a symbol whose data
  ended earlier, even in an earlier frame. Every such exit is booked on the
  *final row* of the run (the last frame's last row), after that row's other
  fills: a symbol that ended early is held, marked at its last close, until
  then, so its exit's cash and costs show on the final row only. Booking it
  at the symbol's own last row instead would make the result depend on the
  batching (a streamed run learns that a symbol ended only when the data
  ends). The final row's equity is the cash after every exit.

The engine processes *frames*: for each symbol, consecutive bars and targets,
covering the same span of time or ending (or starting) inside it; a symbol
without bars in a frame is marked at its last close. Fills are booked in event-time
order across symbols (they share cash) by one scalar loop over the sparse
events; everything per bar is vectorised once per frame.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Sequence

import msgspec
import numpy as np

from ..messages import BarBatch
from ._frames import (
    Fills,
    FrameSymbol,
    SymbolState,
    carried_close,
    collector_paused,
    forward_fill,
    rolling_volatility,
    union_times,
)
from ._marks import mark_frame, ranked_positions
from ._plain import run_plain
from ._risk import RiskLimits, RiskState
from ._stops import extreme, first_trigger
from .costs import FixedBpsSlippage, NoCommission, NoSlippage, PercentageSlippage
from .ledger import Ledger

__all__ = ("RiskLimits", "PortfolioEngine", "FrameResult", "FILL_MODES")

FILL_MODES = ("next_open", "next_close", "same_close")
OPEN, INTRABAR, CLOSE, END = 0, 1, 2, 3


class FrameResult(msgspec.Struct, frozen=True):
    """One frame's marked-to-market rows and its target changes."""

    timestamp: np.ndarray
    equity: np.ndarray
    cash: np.ndarray
    exposure: np.ndarray
    signal_time: np.ndarray
    signal_symbol: np.ndarray
    signal_target: np.ndarray


class PortfolioEngine:
    """One isolated portfolio: it books only its own targets' orders and fills."""

    def __init__(self, name: str, symbols: Sequence[str], *, initial_cash: float, sizer: object,
                 commission: object, slippage: object, risk: RiskLimits = RiskLimits(),
                 fill: str = "next_open", periods_per_year: float = 252.0) -> None:
        if fill not in FILL_MODES:
            raise ValueError(f"fill must be one of {', '.join(FILL_MODES)}, got {fill!r}")
        self.name = name
        self.ledger = Ledger(initial_cash)
        self.initial_cash = float(initial_cash)
        self.sizer = sizer
        self.commission = commission
        self.slippage = slippage
        self.risk = risk
        self.fill = fill
        self.periods_per_year = periods_per_year
        # ranked by name, not by listing: fills booked at one instant (which share
        # cash, so the last may be cut to what is left) and sums of marks then
        # never depend on the order a config lists its symbols in
        self.symbols = {s: SymbolState(rank=i) for i, s in enumerate(sorted(symbols))}
        self._slip = slippage.price  # type: ignore[attr-defined]
        self._frictionless = isinstance(slippage, NoSlippage) and isinstance(commission, NoCommission)
        self._volume_limit = getattr(slippage, "limit", None)
        self._whole = bool(getattr(sizer, "whole_units", False))
        self._size = sizer.size  # type: ignore[attr-defined]
        self._needs_vol = bool(getattr(sizer, "needs_volatility", False))
        self.has_stops = any(v is not None for v in (risk.stop_loss, risk.take_profit,
                                                     risk.trailing_stop))
        self.tracks_equity = risk.max_drawdown is not None or risk.daily_loss_limit is not None
        self._limited = (self.tracks_equity or risk.max_position is not None
                         or risk.max_exposure is not None or self._volume_limit is not None)
        # the specialised loop knows every entry's price before booking it when the
        # slippage moves a price by the order's side only (see _plain)
        self._plain_stops = risk.trailing_stop is None and type(slippage) in (
            NoSlippage, FixedBpsSlippage, PercentageSlippage)
        self.plain_allowed = True
        """The specialised loop is used where it applies (tests turn it off to
        check it books exactly what the general loop books)."""
        self.risk_state = RiskState(risk, self.initial_cash)
        self._marked_row = 0
        self._frame: tuple[list[FrameSymbol], list[np.ndarray], np.ndarray] = ([], [], np.empty(0))
        self._frame_index: dict[str, int] = {}  # symbol -> its position in self._frame
        self._group: tuple[int, int] = (-1, -1)  # (row, phase) of the order being booked
        self._snapshot_key: tuple[int, int] | None = None
        self._snapshot_cash = 0.0
        self._snapshot_own: dict[str, float] = {}
        self._snapshot_held: dict[str, float] = {}

    # -- frames ------------------------------------------------------------------

    def process(self, frame: Sequence[tuple[str, BarBatch, np.ndarray]], *,
                last: bool = False, close_at_end: bool = False) -> FrameResult:
        """Book every order and stop in ``frame`` and mark each of its bars.
        On the ``last`` frame with ``close_at_end``, every open position is
        closed at its symbol's last close (reason ``end_of_data``), including
        those of symbols without bars in this frame (see the module docstring)."""
        times = union_times([bars.timestamp for _, bars, _ in frame])
        symbols, events, sig = [], [], ([], [], [])
        for name, bars, target in frame:
            fs, symbol_events = self._prepare(name, bars, target, times, sig)
            symbols.append(fs)
            events.extend(symbol_events)
            if last and close_at_end:  # on the final row (see the module docstring)
                end = len(bars) - 1
                events.append((len(times) - 1, END, fs.state.rank, end, 0.0,
                               "end_of_data", float(bars.close[end]), float(bars.volume[end]),
                               int(bars.timestamp[end])))
        closers = self._closers(symbols, len(times) - 1, events) if last and close_at_end else []
        if len(frame) > 1 or (last and close_at_end):
            events.sort()
        closes = [carried_close(fs, len(times)) for fs in symbols]
        # symbols closed here without bars in the frame are marked at their last close
        marked = symbols + closers
        marks = closes + [np.full(len(times), fs.state.last_close) for fs in closers]
        self._frame = (marked, marks, times)
        self._frame_index = {fs.name: k for k, fs in enumerate(marked)}
        self._marked_row = 0
        start = (self.ledger.cash, {fs.name: self.ledger.quantity(fs.name) for fs in marked})
        with collector_paused():
            fills = self._run_events(events, symbols, closers)
        result = mark_frame(self.ledger, self.symbols, times, marked, marks, fills, start)
        if self.tracks_equity:  # the rows after the frame's last fill count too
            self.risk_state.track(result[1][self._marked_row:], times[self._marked_row:])
        for fs, close in zip(symbols, closes):
            st = fs.state
            if fs.volatility is not None and len(fs.volatility):
                st.last_vol = float(fs.volatility[-1])
            st.last_close = float(close[-1])
            st.last_time = int(fs.bars.timestamp[-1])
            st.last_volume = float(fs.bars.volume[-1])
            st.bars += len(fs.bars)
        sig_t, sig_s, sig_v = sig
        if not sig_t:
            return FrameResult(*result, np.empty(0, np.int64), np.empty(0, object), np.empty(0))
        stamps = np.concatenate(sig_t)
        order = np.argsort(stamps, kind="stable")  # symbols interleaved in time order
        return FrameResult(*result, stamps[order], np.concatenate(sig_s)[order],
                           np.concatenate(sig_v)[order])

    def _closers(self, symbols: list[FrameSymbol], row: int,
                 events: list[tuple]) -> list[FrameSymbol]:
        """The open positions of symbols without bars in this (last) frame,
        each with its ``end_of_data`` exit appended to ``events``: at the
        symbol's last close, volume and time, booked on frame row ``row``."""
        present = {fs.name for fs in symbols}
        closers = []
        for name in list(self.ledger.positions):
            if name in present:
                continue
            st = self.symbols[name]
            last = BarBatch(ts=st.last_time, symbol=name,
                            timestamp=np.array([st.last_time], dtype=np.int64),
                            open=np.array([st.last_close]), high=np.array([st.last_close]),
                            low=np.array([st.last_close]), close=np.array([st.last_close]),
                            volume=np.array([st.last_volume]))
            # bar -1: the symbol's last bar seen (the ledger counts st.bars + bar)
            closers.append(FrameSymbol(st, name, last, np.array([row]), [], None))
            events.append((row, END, st.rank, -1, 0.0, "end_of_data", st.last_close,
                           st.last_volume, st.last_time))
        return closers

    def _prepare(self, name: str, bars: BarBatch, target: np.ndarray, times: np.ndarray,
                 sig: tuple[list, list, list]) -> tuple[FrameSymbol, list[tuple]]:
        st = self.symbols[name]
        n = len(bars)
        union_index = (np.arange(n) if len(times) == n
                       else np.searchsorted(times, bars.timestamp))
        filled = forward_fill(target, st.target)
        previous = np.empty(n)
        previous[0] = st.target
        previous[1:] = filled[:-1]
        changed = np.flatnonzero(filled != previous)
        st.target = float(filled[-1])
        if len(changed):
            sig[0].append(bars.timestamp[changed])
            sig[1].append(np.full(len(changed), name, dtype=object))
            sig[2].append(filled[changed])
        decisions = changed.tolist()
        values = filled[changed].tolist()
        if self.fill == "same_close":
            fill_bars, phase = decisions, CLOSE
        else:
            fill_bars = [d + 1 for d in decisions]
            phase = OPEN if self.fill == "next_open" else CLOSE
        pending, st.pending = st.pending, None
        if fill_bars and fill_bars[-1] == n:
            st.pending = values.pop()
            fill_bars.pop()
        if pending is not None:
            fill_bars.insert(0, 0)
            values.insert(0, pending)
        at = np.asarray(fill_bars, dtype=np.int64)
        rows = (union_index[at] if len(times) != n else at).tolist()
        prices = (bars.open if phase == OPEN else bars.close)[at].tolist()
        volumes, stamps = bars.volume[at].tolist(), bars.timestamp[at].tolist()
        rank = st.rank
        events = [(row, phase, rank, b, v, "signal", p, vol, t)
                  for row, b, v, p, vol, t in zip(rows, fill_bars, values, prices, volumes, stamps)]
        volatility = (rolling_volatility(st, bars, self.sizer.lookback, self.periods_per_year)  # type: ignore[attr-defined]
                      if self._needs_vol else None)
        return FrameSymbol(st, name, bars, union_index, fill_bars, volatility), events

    # -- the event loop ------------------------------------------------------------

    def _run_events(self, events: list[tuple], symbols: list[FrameSymbol],
                    closers: Sequence[FrameSymbol] = ()) -> Fills:
        """Book the frame's fills (signals and stops) in event-time order;
        ``closers`` are symbols without bars here whose positions the events
        close at the end of the data."""
        fills = Fills()
        self._snapshot_key = None  # rows restart with every frame
        if not closers and self._plain(events, symbols):
            run_plain(self, symbols[0], events, fills)
            return fills
        stops: list[tuple] = []
        if self.has_stops:  # positions carried in from the previous frame
            for fs in symbols:
                if fs.name in self.ledger.positions:
                    self._search_stop(fs, 0, -1, stops)
        by_rank = {fs.state.rank: fs for fs in (*symbols, *closers)}
        order = self._order
        has_stops = self.has_stops
        i, n = 0, len(events)
        while i < n or stops:
            if stops and (i >= n or stops[0][:3] < events[i][:3]):
                row, _, rank, bar, epoch, price, reason = heapq.heappop(stops)
                fs = by_rank[rank]
                if epoch == fs.state.stop_epoch:
                    self._group = (row, INTRABAR)
                    order(fs, row, bar, 0.0, price, float(fs.bars.volume[bar]),
                          int(fs.bars.timestamp[bar]), reason, fills)
                continue
            row, phase, rank, bar, target, reason, price, volume, time = events[i]
            i += 1
            fs = by_rank[rank]
            before = self.ledger.quantity(fs.name)
            self._group = (row, phase)
            order(fs, row, bar, target, price, volume, time, reason, fills)
            if has_stops and fs.name in self.ledger.positions:
                after = self.ledger.positions[fs.name].quantity
                if before == 0 or (before > 0) != (after > 0) or abs(after) > abs(before):
                    fs.state.peak = self.ledger.positions[fs.name].price  # new levels
                self._search_stop(fs, bar if phase == OPEN else bar + 1, bar, stops)
        return fills

    def _plain(self, events: list[tuple], symbols: list[FrameSymbol]) -> bool:
        """Whether the frame fits the specialised loop (see :mod:`._plain`): one
        symbol, whole targets, no trailing stop (and a side-only slippage when
        it stops), no limits, no position in another
        symbol (its loop sizes on its own cash and position: a symbol without
        bars in this frame may still hold one), and no carried position that
        the first order would add to."""
        if (len(symbols) != 1 or self._limited or self._needs_vol or not self.plain_allowed
                or (self.has_stops and not self._plain_stops)):
            return False
        name = symbols[0].name
        if any(held != name for held in self.ledger.positions):
            return False
        if any(e[4] not in (-1.0, 0.0, 1.0) for e in events):
            return False
        held = self.ledger.quantity(symbols[0].name)
        return not (events and held and (held > 0) == (events[0][4] > 0) and events[0][4])

    def _order(self, fs: FrameSymbol, row: int, bar: int, target: float, price: float,
               volume: float, time: int, reason: str, fills: Fills) -> None:
        """Move ``fs`` towards ``target`` (signed weight) with a fill at ``price``
        (the reference price before slippage) on bar ``bar`` of ``volume``."""
        position = self.ledger.positions.get(fs.name)
        held = position.quantity if position is not None else 0.0
        shared = len(self._frame_index) > 1 or any(n != fs.name for n in self.ledger.positions)
        if shared and self._group != self._snapshot_key:
            self._take_snapshot(row)
        if held and (target == 0.0 or (held > 0) != (target > 0)):
            self._fill(fs, row, bar, -held, price, volume, time, reason, fills)
            held = 0.0
        if target == 0.0:
            return
        if not shared:
            equity = self.ledger.cash + held * price
        else:
            equity = self._equity_at(fs, held, price)
        volatility = self._vol(fs, bar) if self._needs_vol else math.nan
        wanted = math.copysign(self._size(equity, price, abs(target), volatility), target)
        delta = wanted - held
        if delta and (held == 0.0 or (delta > 0) == (held > 0)):  # an entry or an increase
            delta = self._limit_entry(fs, row, held, delta, price, volume, equity)
        if delta:
            self._fill(fs, row, bar, delta, price, volume, time, reason, fills)

    def _fill(self, fs: FrameSymbol, row: int, bar: int, quantity: float, reference: float,
              volume: float, time: int, reason: str, fills: Fills) -> None:
        if self.tracks_equity:  # mark earlier bars at the holdings before this fill
            self._entries_halted(row)
        price = self._slip(reference, quantity, volume)
        size = abs(quantity)
        commission = self.commission(size, price)  # type: ignore[operator]
        st = fs.state
        ledger = self.ledger
        cash = ledger.cash
        ledger.buy_or_sell(fs.name, quantity, price, commission,
                           abs(price - reference) * size, time, st.bars + bar, reason)
        if self._snapshot_key is not None:
            own = self._snapshot_own
            own[fs.name] = own.get(fs.name, 0.0) + (ledger.cash - cash)
        fills.add(row, st.rank, ledger.quantity(fs.name), ledger.cash)
        st.stop_epoch += 1

    def _limit_entry(self, fs: FrameSymbol, row: int, held: float, delta: float,
                     price: float, volume: float, equity: float) -> float:
        """Cut an entry to what cash and the risk limits allow (0 = refuse)."""
        if not self._limited:
            size = self._affordable(delta, price, volume) if delta > 0 else -delta
            if self._whole:
                size = math.floor(size + 1e-9)
            return math.copysign(size, delta) if size > 0 else 0.0
        risk = self.risk
        if self.tracks_equity and self._entries_halted(row):
            return 0.0
        size = abs(delta)
        if risk.max_position is not None:
            size = min(size, max(risk.max_position - abs(held), 0.0))
        if risk.max_exposure is not None:
            room = risk.max_exposure * equity - self._gross_exposure(row, fs) - abs(held) * price
            size = min(size, max(room, 0.0) / price)
        if self._volume_limit is not None:
            size = min(size, self._volume_limit * volume)
        if delta > 0:
            size = self._affordable(size, price, volume)
        if self._whole:
            size = math.floor(size + 1e-9)
        return math.copysign(size, delta) if size > 0 else 0.0

    def _affordable(self, size: float, price: float, volume: float) -> float:
        """The largest buy of at most ``size`` units whose cost, slippage and
        commission included, fits in cash (bisection: cost grows with size)."""
        cash = self.ledger.cash + 1e-9

        def cost(quantity: float) -> float:
            fill = self._slip(price, quantity, volume)
            return quantity * fill + self.commission(quantity, fill)  # type: ignore[operator]

        if size <= 0 or cost(size) <= cash:
            return size
        if self._whole:
            low, high = 0, math.floor(size)
            while low < high:
                middle = (low + high + 1) // 2
                if cost(middle) <= cash:
                    low = middle
                else:
                    high = middle - 1
            return float(low)
        low_f, high_f = 0.0, size
        for _ in range(60):
            middle_f = (low_f + high_f) / 2
            if cost(middle_f) <= cash:
                low_f = middle_f
            else:
                high_f = middle_f
        return low_f

    def _vol(self, fs: FrameSymbol, bar: int) -> float:
        if fs.volatility is None:
            return math.nan
        decision = bar if self.fill == "same_close" else bar - 1
        return float(fs.volatility[decision]) if decision >= 0 else fs.state.last_vol

    # -- marks and risk state --------------------------------------------------------

    def _mark_price(self, row: int, fs: FrameSymbol) -> float:
        """The latest close of ``fs`` strictly before frame row ``row``."""
        close = self._frame[1][self._frame_index[fs.name]]
        return float(close[row - 1]) if row > 0 else fs.state.last_close

    def _take_snapshot(self, row: int) -> None:
        """Freeze cash and every holding, marked at its latest close before
        ``row``, before the first fill of a group of simultaneous orders (one
        row and phase): sizing within the group then reads this snapshot, so
        it cannot depend on which symbol of the group is listed first."""
        self._snapshot_key = self._group
        self._snapshot_cash = self.ledger.cash
        self._snapshot_own = {}
        held = {}
        for name, position in self.ledger.positions.items():
            other = self._frame_symbol(name)
            mark = self._mark_price(row, other) if other else self.symbols[name].last_close
            held[name] = position.quantity * mark
        self._snapshot_held = held

    def _equity_at(self, trading: FrameSymbol, held: float, price: float) -> float:
        """Equity for sizing an order of ``trading`` at reference ``price``: the
        group snapshot's cash and other holdings (see :meth:`_take_snapshot`),
        plus the cash of this symbol's own fills in the group and its current
        ``held`` units at ``price``. With no other symbol it is exactly
        ``cash + held * price``."""
        equity = self._snapshot_cash + self._snapshot_own.get(trading.name, 0.0)
        for name, value in self._snapshot_held.items():
            if name != trading.name:
                equity += value
        return equity + held * price

    def _gross_exposure(self, row: int, trading: FrameSymbol) -> float:
        gross = 0.0
        for name, position in self.ledger.positions.items():
            if name != trading.name:
                other = self._frame_symbol(name)
                mark = self._mark_price(row, other) if other else self.symbols[name].last_close
                gross += abs(position.quantity) * mark
        return gross

    def _frame_symbol(self, name: str) -> FrameSymbol | None:
        k = self._frame_index.get(name)
        return self._frame[0][k] if k is not None else None

    def _entries_halted(self, row: int) -> bool:
        """Drawdown and daily-loss checks on every close before ``row``."""
        _, closes, times = self._frame
        start = self._marked_row
        if row > start:  # holdings are unchanged since the last fill: mark those bars now
            equity = np.full(row - start, self.ledger.cash)
            index = self._frame_index
            for name, position in ranked_positions(self.ledger, self.symbols):
                k = index.get(name)
                if k is not None:
                    equity += position.quantity * closes[k][start:row]
                else:  # no bars in this frame: at its last close
                    equity += position.quantity * self.symbols[name].last_close
            self.risk_state.track(equity, times[start:row])
            self._marked_row = row
        return self.risk_state.blocks_entry(int(times[row]))

    # -- stops -------------------------------------------------------------------------

    def _search_stop(self, fs: FrameSymbol, start: int, after: int, stops: list[tuple]) -> None:
        """Schedule the first trigger of the open position's stop or target in
        bars ``start..`` up to the symbol's next signal fill after bar ``after``."""
        position = self.ledger.positions[fs.name]
        st = fs.state
        nxt = bisect_right(fs.fill_bars, after)
        end = fs.fill_bars[nxt] if nxt < len(fs.fill_bars) else len(fs.bars)
        if self.fill != "next_open" and end < len(fs.bars):
            end += 1  # a close fill comes after that bar's intrabar checks
        if start >= end:
            return
        hit = first_trigger(fs.bars, start, end, position.quantity > 0, position.price,
                             st.peak, self.risk)
        if hit is None:
            st.peak = extreme(fs.bars, start, end, position.quantity > 0, st.peak)
            return
        offset, price, reason = hit
        bar = start + offset
        row = int(fs.union_index[bar])
        heapq.heappush(stops, (row, INTRABAR, st.rank, bar, st.stop_epoch, price, reason))

    def finish(self) -> dict[str, np.ndarray]:
        """The trade table: closed trades, then positions still open valued at
        their symbol's last close (``open`` true, no exit commission).

        When the ledger streams trades to a sink, every row is written there
        and only the ``pnl``, ``return`` and ``open`` columns come back."""
        marks = {s: (st.last_close, st.last_time, st.bars - 1) for s, st in self.symbols.items()}
        open_rows = self.ledger.open_rows(marks)
        if self.ledger.sink is None:
            return self.ledger.trade_table(self.ledger.rows + open_rows)
        metrics = self.ledger.metric_columns(open_rows)
        self.ledger.rows.extend(open_rows)
        self.ledger.flush()
        return metrics

    def final_equity(self) -> float:
        equity = self.ledger.cash
        for symbol, position in self.ledger.positions.items():
            equity += position.quantity * self.symbols[symbol].last_close
        return equity
