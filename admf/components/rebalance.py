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
           "SCHEDULES", "next_due")

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
        if not isinstance(self.every, int) or isinstance(self.every, bool) or self.every < 1:
            raise OrderError(f"{name}.every must be a whole number of periods >= 1, got "
                             f"{self.every!r} (a rule that never fires)")
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
        self.rebalances = 0
        """How many rebalances have placed orders (or found nothing to trade)."""

    def weights(self, ctx: Universe) -> Mapping[str, float] | None:
        raise NotImplementedError(f"{type(self).__name__} must define weights(self, ctx)")

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
        self.rebalances += 1
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
        if not isinstance(self.lookback, int) or self.lookback < 2:
            raise OrderError(f"InverseVolatility.lookback must be a whole number >= 2, got "
                             f"{self.lookback!r}")
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
        for name in ("lookback", "top"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OrderError(f"MomentumRotation.{name} must be a whole number >= 1, got "
                                 f"{value!r}")
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
