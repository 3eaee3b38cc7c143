"""An independent reference for the order semantics: a tick-by-tick walk.

It imports nothing from admf. Prices are integer cents; within a bar the
price is walked one cent at a time open -> high -> low -> close (``ohlc``),
and at every tick every live order is checked in placement order: it fills
at that tick's price, except a limit traded *through* (``through`` mode) or a
stop/limit crossed while walking, which fill at their level — the walk makes
"the first level reached fills first" a consequence rather than a rule.
Market orders fill at the open tick. Brackets (stop-loss and take-profit as
prices) are created when their entry fills, OCO with each other, reduce-only.
Time in force: gtc, day (UTC day of placement), bars (live bars), until.
``volume_share`` caps units filled per bar. Netted position, cash with no
costs, whole or fractional units as ordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

DAY = 86_400_000_000_000


@dataclass
class ROrder:
    oid: int
    side: int
    units: float
    kind: str = "market"
    limit: int | None = None  # cents
    stop: int | None = None
    sl: int | None = None
    tp: int | None = None
    oco: str | None = None
    tif: str = "gtc"
    bars: int = 0
    until: int = 0
    reduce_only: bool = False
    placed_ts: int = 0
    live_from: int = 0
    triggered: bool = False
    filled: float = 0.0
    live_bars: int = 0
    tag: str = ""
    parent: int | None = None


@dataclass
class RefState:
    cash: float
    units: float = 0.0
    avg: float = 0.0
    orders: list[ROrder] = field(default_factory=list)
    fills: list[tuple] = field(default_factory=list)  # (bar, oid, signed units, price, tag)
    events: list[tuple] = field(default_factory=list)  # (bar, oid, status)
    next_id: int = 1


def reference(bars: list[tuple[int, int, int, int, int, float]],
              decide: Callable[[int, RefState], list[dict[str, Any]]], *, cash: float,
              limit_fill: str = "touch", volume_share: float | None = None) -> RefState:
    """``bars``: (ts, open, high, low, close, volume) in cents; ``decide(i, state)``
    returns order dicts to place after bar ``i``."""
    s = RefState(cash=cash)

    def close_oco(o: ROrder, i: int) -> None:
        for other in list(s.orders):
            if other is not o and o.oco is not None and other.oco == o.oco:
                s.orders.remove(other)
                s.events.append((i, other.oid, "cancelled"))

    def fill(o: ROrder, i: int, price_c: int, budget: list[float]) -> None:
        price = price_c / 100
        want = o.units - o.filled
        if o.reduce_only:
            if s.units == 0 or (s.units > 0) == (o.side > 0):
                s.orders.remove(o)
                s.events.append((i, o.oid, "cancelled"))
                return
            want = min(want, abs(s.units))
        want = min(want, budget[0])
        if o.side > 0 and want * price > s.cash + 1e-9:
            want = int(s.cash / price) if float(o.units).is_integer() else s.cash / price
        if want <= 0:
            if budget[0] > 0:
                s.orders.remove(o)
                s.events.append((i, o.oid, "rejected"))
            return
        q = want * o.side
        s.cash -= q * price
        if s.units == 0 or (s.units > 0) == (q > 0):
            s.avg = (s.avg * abs(s.units) + price * abs(q)) / abs(s.units + q)
        s.units += q
        if abs(s.units) < 1e-12:
            s.units, s.avg = 0.0, 0.0
        budget[0] -= want
        o.filled += want
        s.fills.append((i, o.oid, q, price, o.tag))
        if o.units - o.filled <= 1e-12:
            s.orders.remove(o)
            s.events.append((i, o.oid, "filled"))
        else:
            s.events.append((i, o.oid, "partially_filled"))
        close_oco(o, i)
        if o.parent is None and (o.sl is not None or o.tp is not None):
            group = f"b{o.oid}"
            for kind, level, tag in (("stop", o.sl, "stop_loss"), ("limit", o.tp, "take_profit")):
                if level is None:
                    continue
                child = ROrder(oid=s.next_id, side=-o.side, units=want, kind=kind,
                               limit=level if kind == "limit" else None,
                               stop=level if kind == "stop" else None, oco=group,
                               reduce_only=True, live_from=i, tag=tag, parent=o.oid)
                s.next_id += 1
                s.orders.append(child)
        if s.units == 0:  # a flat position takes its attached exits with it
            for c in [c for c in s.orders if c.parent is not None]:
                s.orders.remove(c)
                s.events.append((i, c.oid, "cancelled"))

    def check(o: ROrder, i: int, price: int, prev: int | None, budget: list[float]) -> None:
        buy = o.side > 0
        if o.kind == "market":
            fill(o, i, price, budget)
            return
        if o.kind in ("stop", "stop_limit") and not o.triggered:
            hit = price >= o.stop if buy else price <= o.stop
            if not hit:
                return
            at = o.stop if (prev is not None and (prev < o.stop if buy else prev > o.stop)) else price
            if o.kind == "stop":
                fill(o, i, at, budget)
                return
            o.triggered = True
        lim = o.limit
        through = limit_fill == "through"
        ok = (price < lim or (price == lim and not through)) if buy else \
             (price > lim or (price == lim and not through))
        if ok:
            crossed = prev is not None and (prev >= lim if buy else prev <= lim)
            fill(o, i, lim if crossed else price, budget)

    for i, (ts, o_, h, lo, c, vol) in enumerate(bars):
        for o in list(s.orders):
            if o.live_from > i:
                continue
            if (o.tif == "day" and ts // DAY != o.placed_ts // DAY) or (o.tif == "until" and ts > o.until):
                s.orders.remove(o)
                s.events.append((i, o.oid, "expired"))
        budget = [volume_share * vol if volume_share else float("inf")]
        ticks = [o_]
        for target in (h, lo, c):
            step = 1 if target > ticks[-1] else -1
            ticks.extend(range(ticks[-1] + step, target + step, step) if target != ticks[-1] else [])
        prev: int | None = None
        for t in ticks:
            changed = True
            while changed:  # orders made live by a fill at this tick are checked at it too
                changed = False
                for o in list(s.orders):
                    if o not in s.orders or o.live_from > i:
                        continue
                    if o.kind == "market" and prev is not None:
                        continue
                    before = (o.filled, o.triggered, len(s.orders), len(s.fills))
                    check(o, i, t, prev, budget)
                    if (o.filled, o.triggered, len(s.orders), len(s.fills)) != before:
                        changed = True
            prev = t
        for o in list(s.orders):
            if o.live_from > i:
                continue
            o.live_bars += 1
            if o.tif == "bars" and o.live_bars >= o.bars:
                s.orders.remove(o)
                s.events.append((i, o.oid, "expired"))
        for spec in decide(i, s):
            o = ROrder(oid=s.next_id, placed_ts=ts, live_from=i + 1, **spec)
            s.next_id += 1
            s.orders.append(o)
    return s
