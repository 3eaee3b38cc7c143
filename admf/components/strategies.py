"""Strategies: from bars and indicator values to a target position per bar.

A strategy declares the indicators it needs (:meth:`Strategy.indicators`) and
turns their values into targets (:meth:`Strategy.targets`), vectorised over a
batch, with whatever state it needs carried to the next batch. One instance
serves one symbol. Targets are +1 (long), -1 (short), 0 (flat); the portfolio
acts on changes.

The built-ins are event state machines: each bar may *enter long*, *exit
long*, *enter short* or *exit short*, and the position is whatever the most
recent event left (an exit on the same bar as an entry wins).
``direction`` masks the events: ``long_only`` never enters short,
``short_only`` never enters long. Crossover strategies act on *crossings*:
fast crossing above slow (previous difference <= 0, now > 0) enters long,
crossing below exits long and enters short; the first bar after warm-up is
never a crossing (it has no defined previous difference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
import numpy as np

from ..errors import ConfigError
from ..runtime.registry import register, registry
from .indicators import EMA, MACD, ROC, RSI, SMA, BollingerBands, Donchian, Indicator

__all__ = ("DIRECTIONS", "TARGET_MEANING", "Strategy", "BadTargets", "RowFailed",
           "checked_targets", "hold", "crossings")

DIRECTIONS = ("long_only", "short_only", "long_short")
Values = Mapping[str, Any]


class Strategy:
    """Base class of vectorised strategies. Subclasses set ``name``,
    ``Params`` (a msgspec Struct of parameters with defaults) and implement
    :meth:`indicators` and :meth:`events`."""

    name: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, params: msgspec.Struct, *, direction: str = "long_only") -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        self.params = params
        self.direction = direction
        self.state = 0.0

    def indicators(self) -> dict[str, Indicator]:
        """Fresh indicator instances this strategy reads, by role."""
        return {}

    def events(self, bars: Any, values: Values) -> tuple[np.ndarray, ...]:
        """Boolean arrays ``(enter_long, exit_long, enter_short, exit_short)``."""
        raise NotImplementedError

    def targets(self, bars: Any, values: Values) -> np.ndarray:
        """Target position for every bar of ``bars``."""
        enter_long, exit_long, enter_short, exit_short = self.events(bars, values)
        if self.direction == "long_only":
            enter_short = np.zeros_like(enter_short)
        elif self.direction == "short_only":
            enter_long = np.zeros_like(enter_long)
        target, self.state = hold(enter_long, exit_long, enter_short, exit_short, self.state)
        return target


registry.expect("strategy", Strategy)  # a "pkg.mod:Name" strategy must subclass it

TARGET_MEANING = "+1 long, -1 short, 0 flat, fractions scale, NaN keeps the position"


class BadTargets(Exception):
    """What is wrong with a batch of targets, and at which row (None: the
    whole batch). Not an admf error: the strategy container turns it into a
    :class:`~admf.errors.StrategyError` naming the strategy and the bar."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index


class RowFailed(Exception):
    """A per-row strategy callback failed at row ``index`` of its batch; the
    original error is the ``__cause__``."""

    def __init__(self, index: int) -> None:
        super().__init__(f"row {index}")
        self.index = index


def checked_targets(target: Any, n: int) -> np.ndarray:
    """``target`` as float64 when it is what a portfolio can act on: one
    number (or NaN) per bar of an ``n``-bar batch, none infinite. Anything
    else raises :class:`BadTargets`, so a strategy's mistake is named at the
    strategy instead of surfacing as a broadcast error in a portfolio."""
    if not isinstance(target, np.ndarray):
        if target is None or np.ndim(target) == 0:
            raise BadTargets(f"returned {type(target).__name__} {target!r} instead of an array "
                             f"of {n} targets, one per bar ({TARGET_MEANING})")
        try:
            target = np.asarray(target)
        except (TypeError, ValueError) as exc:
            raise BadTargets(f"returned a {type(target).__name__} that is not an array of "
                             f"targets: {exc}") from None
    if target.ndim != 1 or len(target) != n:
        raise BadTargets(f"returned targets of shape {target.shape} for a batch of {n} bars; "
                         f"expected shape ({n},), one target per bar")
    if target.dtype.kind not in "fiub":
        first = target[0].item() if n else None
        raise BadTargets(f"returned targets of dtype {target.dtype} (first {first!r}); "
                         f"expected numbers ({TARGET_MEANING})")
    if target.dtype != np.float64:
        target = target.astype(np.float64)
    infinite = np.isinf(target)
    if infinite.any():
        i = int(infinite.argmax())
        raise BadTargets(f"returned an infinite target {target[i]} (targets are finite "
                         f"numbers: {TARGET_MEANING})", i)
    return target


def hold(enter_long: np.ndarray, exit_long: np.ndarray, enter_short: np.ndarray,
         exit_short: np.ndarray, state: float) -> tuple[np.ndarray, float]:
    """The position each bar's most recent event leaves, starting from ``state``.

    Long while the last *enter long* is more recent than the last *exit long*
    and the last *enter short*; short symmetrically; flat otherwise.
    """
    n = len(enter_long)
    idx = np.arange(n)

    def last(mask: np.ndarray, initial: int) -> np.ndarray:
        return np.maximum.accumulate(np.where(mask, idx, initial))

    el = last(enter_long, -1 if state > 0 else -2)
    es = last(enter_short, -1 if state < 0 else -2)
    xl, xs = last(exit_long, -2), last(exit_short, -2)
    target = (el > np.maximum(xl, es)).astype(np.float64) - (es > np.maximum(xs, el))
    return target, float(target[-1]) if n else state


class _Lagged:
    """The previous row's value of a series, carried across batches."""

    def __init__(self) -> None:
        self.last = np.nan

    def previous(self, values: np.ndarray) -> np.ndarray:
        out = np.empty(len(values))
        out[:1] = self.last
        out[1:] = values[:-1]
        if len(values):
            self.last = values[-1]
        return out


def crossings(diff: np.ndarray, lag: _Lagged) -> tuple[np.ndarray, np.ndarray]:
    """``(up, down)``: ``diff`` crossing above 0 (previous <= 0, now > 0) and
    below 0 (previous >= 0, now < 0). NaN on either side is no crossing."""
    prev = lag.previous(diff)
    return (diff > 0) & (prev <= 0), (diff < 0) & (prev >= 0)


def _param_error(strategy: str, message: str) -> ConfigError:
    return ConfigError(f"strategy {strategy!r}: {message}")


class _Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class _Crossover(Strategy):
    """Fast line crossing slow line."""

    def __init__(self, params: msgspec.Struct, **options: Any) -> None:
        super().__init__(params, **options)
        if params.fast >= params.slow:  # type: ignore[attr-defined]
            raise _param_error(self.name, f"fast ({params.fast}) must be less than slow "  # type: ignore[attr-defined]
                                          f"({params.slow})")  # type: ignore[attr-defined]
        self._lag = _Lagged()

    def difference(self, values: Values) -> np.ndarray:
        """The series whose sign changes are the crossings."""
        return values["fast"] - values["slow"]

    def events(self, bars: Any, values: Values) -> tuple[np.ndarray, ...]:
        up, down = crossings(self.difference(values), self._lag)
        return up, down, down, up

    def targets(self, bars: Any, values: Values) -> np.ndarray:
        # A crossing sets the position outright (up: long, or flat when short
        # only; down: flat, or short), so the state machine reduces to
        # carrying the last crossing forward.
        up, down = crossings(self.difference(values), self._lag)
        return self._carry(up, down)

    def _carry(self, up: np.ndarray, down: np.ndarray) -> np.ndarray:
        on_up = 0.0 if self.direction == "short_only" else 1.0
        on_down = 0.0 if self.direction == "long_only" else -1.0
        n = len(up)
        last = np.where(up | down, np.arange(n), -1)
        np.maximum.accumulate(last, out=last)
        value = np.where(up, on_up, on_down)
        target = np.where(last >= 0, value[np.maximum(last, 0)], self.state)
        if n:
            self.state = float(target[-1])
        return target


class _FastSlow(_Params, frozen=True):
    fast: int = 10
    slow: int = 30


@register("strategy", "sma_crossover")
class SmaCrossover(_Crossover):
    """Long when the fast SMA crosses above the slow SMA; out (or short) when it
    crosses below. Params: ``fast=10``, ``slow=30``."""

    name = "sma_crossover"
    Params = _FastSlow

    def indicators(self) -> dict[str, Indicator]:
        return {"fast": SMA(period=self.params.fast), "slow": SMA(period=self.params.slow)}


class _EmaParams(_Params, frozen=True):
    fast: int = 12
    slow: int = 26


@register("strategy", "ema_crossover")
class EmaCrossover(_Crossover):
    """EMA crossover (EMAs seeded with their SMA). Params: ``fast=12``, ``slow=26``."""

    name = "ema_crossover"
    Params = _EmaParams

    def indicators(self) -> dict[str, Indicator]:
        return {"fast": EMA(period=self.params.fast), "slow": EMA(period=self.params.slow)}


class _MacdParams(_Params, frozen=True):
    fast: int = 12
    slow: int = 26
    signal: int = 9


@register("strategy", "macd_crossover")
class MacdCrossover(_Crossover):
    """The MACD line crossing its signal line. Params: ``fast=12``, ``slow=26``,
    ``signal=9``."""

    name = "macd_crossover"
    Params = _MacdParams

    def indicators(self) -> dict[str, Indicator]:
        p = self.params
        return {"macd": MACD(fast=p.fast, slow=p.slow, signal=p.signal)}  # type: ignore[attr-defined]

    def difference(self, values: Values) -> np.ndarray:
        macd = values["macd"]
        return macd["macd"] - macd["signal"]


class _RsiParams(_Params, frozen=True):
    period: int = 14
    lower: float = 30.0
    upper: float = 70.0
    exit: float = 50.0


@register("strategy", "rsi_reversion")
class RsiReversion(Strategy):
    """Mean reversion on Wilder's RSI: enter long below ``lower``, exit the long
    at or above ``exit``; enter short above ``upper``, exit the short at or
    below ``exit``. Params: ``period=14``, ``lower=30``, ``upper=70``, ``exit=50``."""

    name = "rsi_reversion"
    Params = _RsiParams

    def __init__(self, params: msgspec.Struct, **options: Any) -> None:
        super().__init__(params, **options)
        p = params
        if not 0 <= p.lower < p.exit < p.upper <= 100:  # type: ignore[attr-defined]
            raise _param_error(self.name, "need 0 <= lower < exit < upper <= 100, got "
                               f"lower={p.lower}, exit={p.exit}, upper={p.upper}")  # type: ignore[attr-defined]

    def indicators(self) -> dict[str, Indicator]:
        return {"rsi": RSI(period=self.params.period)}  # type: ignore[attr-defined]

    def events(self, bars: Any, values: Values) -> tuple[np.ndarray, ...]:
        rsi, p = values["rsi"], self.params
        return rsi < p.lower, rsi >= p.exit, rsi > p.upper, rsi <= p.exit  # type: ignore[attr-defined]


class _BollingerParams(_Params, frozen=True):
    period: int = 20
    k: float = 2.0


@register("strategy", "bollinger_reversion")
class BollingerReversion(Strategy):
    """Enter long when the close falls below the lower band, exit at or above
    the middle band; short above the upper band, exit at or below the middle.
    Params: ``period=20``, ``k=2``."""

    name = "bollinger_reversion"
    Params = _BollingerParams

    def indicators(self) -> dict[str, Indicator]:
        return {"bands": BollingerBands(period=self.params.period, k=self.params.k)}  # type: ignore[attr-defined]

    def events(self, bars: Any, values: Values) -> tuple[np.ndarray, ...]:
        b, close = values["bands"], bars.close
        return close < b["lower"], close >= b["middle"], close > b["upper"], close <= b["middle"]


class _DonchianParams(_Params, frozen=True):
    period: int = 20
    exit_period: int = 10


@register("strategy", "donchian_breakout")
class DonchianBreakout(Strategy):
    """Breakout: enter long when the close exceeds the highest high of the
    previous ``period`` bars, exit when it falls below the lowest low of the
    previous ``exit_period`` bars; shorts mirror. Params: ``period=20``,
    ``exit_period=10``."""

    name = "donchian_breakout"
    Params = _DonchianParams

    def __init__(self, params: msgspec.Struct, **options: Any) -> None:
        super().__init__(params, **options)
        self._lags = {k: _Lagged() for k in ("eu", "el", "xu", "xl")}

    def indicators(self) -> dict[str, Indicator]:
        p = self.params
        return {"entry": Donchian(period=p.period), "exit": Donchian(period=p.exit_period)}  # type: ignore[attr-defined]

    def events(self, bars: Any, values: Values) -> tuple[np.ndarray, ...]:
        close, lag = bars.close, self._lags
        entry_up = lag["eu"].previous(values["entry"]["upper"])
        entry_low = lag["el"].previous(values["entry"]["lower"])
        exit_up = lag["xu"].previous(values["exit"]["upper"])
        exit_low = lag["xl"].previous(values["exit"]["lower"])
        return close > entry_up, close < exit_low, close < entry_low, close > exit_up


class _MomentumParams(_Params, frozen=True):
    period: int = 20
    threshold: float = 0.0


@register("strategy", "momentum")
class Momentum(Strategy):
    """Time-series momentum on the rate of change over ``period`` bars (in
    percent): enter long above ``threshold``, short below ``-threshold``; a
    long exits when the change turns negative, a short when it turns positive.
    Params: ``period=20``, ``threshold=0``."""

    name = "momentum"
    Params = _MomentumParams

    def __init__(self, params: msgspec.Struct, **options: Any) -> None:
        super().__init__(params, **options)
        if params.threshold < 0:  # type: ignore[attr-defined]
            raise _param_error(self.name, f"threshold must be >= 0, got {params.threshold}")  # type: ignore[attr-defined]

    def indicators(self) -> dict[str, Indicator]:
        return {"roc": ROC(period=self.params.period)}  # type: ignore[attr-defined]

    def events(self, bars: Any, values: Values) -> tuple[np.ndarray, ...]:
        roc, t = values["roc"], self.params.threshold  # type: ignore[attr-defined]
        return roc > t, roc < 0, roc < -t, roc > 0
