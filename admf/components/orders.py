"""Order validation and the mutable state of a working order.

:class:`~admf.messages.Order` is what a strategy asked for (frozen, sendable
between containers); :class:`Working` is the execution kernel's book entry for
it: the units still open, whether a stop-limit has triggered, a trailing
level, how many bars it has been live. Validation happens when an order is
placed, so a bad order fails at the bar that placed it, with that bar named.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from ..errors import OrderError
from ..messages import ORDER_TYPES, Order

__all__ = ("SIZE_TYPES", "TIFS", "LEVEL_KINDS", "TRAIL_KINDS", "TRAIL_ON", "Working", "validate",
           "where", "where_all")

SIZE_TYPES = ("units", "notional", "percent_equity", "target_percent")
TIFS = ("gtc", "day", "bars", "until")
LEVEL_KINDS = ("price", "fraction", "atr")
TRAIL_KINDS = ("percent", "price", "atr")
TRAIL_ON = ("extreme", "close")


def where(strategy: str, symbol: str, ts: int) -> str:
    """``strategy 'x', symbol 'Y', bar 2024-01-02T10:00:00Z`` for messages."""
    return f"{named(strategy)}, symbol {symbol!r}, bar {_stamp(ts)}"


def where_all(strategy: str, symbols: list[str], ts: int) -> str:
    """``strategy 'x', symbols A, B, bar 2024-01-02T10:00:00Z``: a universe's place."""
    return f"{named(strategy)}, symbols {', '.join(symbols)}, bar {_stamp(ts)}"


def _stamp(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def named(strategy: str) -> str:
    """``strategy 'x'``, unless the label already says so."""
    return strategy if strategy.startswith("strategy ") else f"strategy {strategy!r}"


def _choice(value: str, allowed: tuple[str, ...], key: str, at: str) -> None:
    if value not in allowed:
        raise OrderError(f"{at}: order {key} must be one of {', '.join(allowed)}, got {value!r}")


def _level(value: float | None, key: str, at: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise OrderError(f"{at}: order {key} must be a finite price > 0, got {value!r}")


def validate(order: Order, strategy: str, reference: float) -> None:
    """Raise :class:`OrderError` for an order that cannot be meant as placed.

    ``reference`` is the price the entry is expected near (the limit or stop
    level, else the decision bar's close): an absolute stop-loss must lie
    below it for a buy and above it for a sell, a take-profit the other way.
    """
    at = where(strategy, order.symbol, order.ts)
    _choice(order.kind, ORDER_TYPES, "type", at)
    _choice(order.size_type, SIZE_TYPES, "size_type", at)
    _choice(order.tif, TIFS, "tif", at)
    _choice(order.sl_kind, LEVEL_KINDS, "sl_kind", at)
    _choice(order.tp_kind, LEVEL_KINDS, "tp_kind", at)
    _choice(order.trail_kind, TRAIL_KINDS, "trail_kind", at)
    _choice(order.trail_on, TRAIL_ON, "trail_on", at)
    if order.side not in (1, -1):
        raise OrderError(f"{at}: order side must be +1 (buy) or -1 (sell), got {order.side!r}")
    size = order.size
    if not math.isfinite(size) or (size <= 0 and order.size_type != "target_percent"):
        raise OrderError(f"{at}: order size must be a finite number > 0 "
                         f"({order.size_type}), got {size!r}")
    if order.kind in ("limit", "stop_limit") and order.limit is None:
        raise OrderError(f"{at}: a {order.kind} order needs limit=, got none")
    if order.kind in ("stop", "stop_limit") and order.stop is None:
        raise OrderError(f"{at}: a {order.kind} order needs stop=, got none")
    _level(order.limit, "limit", at)
    _level(order.stop, "stop", at)
    for key, value, kind in (("sl", order.sl, order.sl_kind), ("tp", order.tp, order.tp_kind),
                             ("trail", order.trail, order.trail_kind)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise OrderError(f"{at}: order {key} must be a finite number > 0, got {value!r}")
        if value is not None and kind == "atr" and not (order.atr is not None and order.atr > 0):
            raise OrderError(f"{at}: order {key} as an ATR multiple needs a finite atr > 0 "
                             f"(is the ATR indicator still warming up?), got {order.atr!r}")
        if value is not None and kind in ("fraction", "percent") and value >= 1:
            raise OrderError(f"{at}: order {key} as a fraction must be in (0, 1), got {value!r}")
    if order.tif == "bars" and order.tif_bars < 1:
        raise OrderError(f"{at}: tif 'bars' needs tif_bars >= 1, got {order.tif_bars!r}")
    if order.tif == "until" and order.until < order.ts:
        raise OrderError(f"{at}: tif 'until' must not be before the bar placing the order")
    ref = order.limit if order.kind in ("limit", "stop_limit") else (
        order.stop if order.kind == "stop" else reference)
    if order.sl is not None and order.sl_kind == "price" and math.isfinite(ref):
        if (order.side > 0 and order.sl >= ref) or (order.side < 0 and order.sl <= ref):
            side = "below" if order.side > 0 else "above"
            raise OrderError(f"{at}: the stop-loss {order.sl} of a {'buy' if order.side > 0 else 'sell'} "
                             f"must lie {side} its entry (~{ref})")
    if order.tp is not None and order.tp_kind == "price" and math.isfinite(ref):
        if (order.side > 0 and order.tp <= ref) or (order.side < 0 and order.tp >= ref):
            side = "above" if order.side > 0 else "below"
            raise OrderError(f"{at}: the take-profit {order.tp} of a {'buy' if order.side > 0 else 'sell'} "
                             f"must lie {side} its entry (~{ref})")


class Working:
    """The kernel's book entry for one open order (see the module docstring)."""

    __slots__ = ("order", "remaining", "filled", "triggered", "level", "bars_live", "live_from",
                 "day", "children", "sized")

    def __init__(self, order: Order, live_from: int, remaining: float, sized: bool) -> None:
        self.order = order
        self.remaining = remaining
        """Units still to fill (for not-yet-sized orders: NaN until the fill)."""
        self.sized = sized
        self.filled = 0.0
        self.triggered = order.kind != "stop_limit"  # a stop-limit waits for its stop
        self.level = order.stop if order.kind in ("stop", "stop_limit") else order.limit
        self.bars_live = 0
        self.live_from = live_from
        self.day = order.ts // 86_400_000_000_000
        self.children: list[int] = []
