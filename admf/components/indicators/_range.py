"""Oscillators and ranges: Wilder-smoothed RSI and ATR, and the high/low
channels of the stochastic oscillator and the Donchian channel."""

from __future__ import annotations

import numpy as np

from ...runtime.registry import register
from ._base import (
    MultiOutputIndicator,
    SingleOutputIndicator,
    _filters,
    _fit,
    _int_param,
    _Lag,
    _ratio,
    _rolling_extreme,
    _SeededEwm,
    _SingleSource,
    _Sma,
    _Window,
)


@register("indicator", "rsi")
class RSI(_SingleSource):
    """Wilder's relative strength index over changes ``d[t] = x[t] - x[t-1]``.

    Average gain ``G`` and loss ``L`` are seeded with the simple means of the
    first ``n`` gains / losses (rows 1..n), then Wilder-smoothed:
    ``G[t] = (G[t-1]*(n-1) + gain[t]) / n``. ``RSI = 100*G/(G+L)``
    (``= 100 - 100/(1 + G/L)``); 50 when ``G + L == 0`` (no movement).
    Warm-up ``n``.
    """

    name = "rsi"
    outputs = ("rsi",)

    def __init__(self, *, period: int = 14, source: str = "close") -> None:
        super().__init__(period=period, source=source, warmup_extra=0)

    def reset(self) -> None:
        super().reset()
        self._lag = _Lag()
        self._gain = _SeededEwm(self.period, 1.0 / self.period)
        self._loss = _SeededEwm(self.period, 1.0 / self.period)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        change = x - self._lag.shift(x)
        i0 = self._first_valid(1, len(x))
        gain = self._gain.run(np.maximum(change[i0:], 0.0))
        loss = self._loss.run(np.maximum(-change[i0:], 0.0))
        return (_fit(_ratio(100.0 * gain, gain + loss, 50.0), len(x)),)


@register("indicator", "atr")
class ATR(SingleOutputIndicator):
    """Wilder's average true range.

    ``TR[t] = max(high - low, |high - close[t-1]|, |low - close[t-1]|)`` from
    row 1 (row 0 has no previous close); ``ATR`` is seeded with the mean of
    ``TR[1..n]`` at row ``n`` and then ``ATR[t] = (ATR[t-1]*(n-1) + TR[t])/n``.
    Warm-up ``n`` (TA-Lib convention).
    """

    name = "atr"
    outputs = ("atr",)

    def __init__(self, *, period: int = 14) -> None:
        self.period = _int_param(self.name, "period", period)
        super().__init__(fields=("high", "low", "close"), warmup=self.period, params={"period": self.period})

    def reset(self) -> None:
        super().reset()
        self._lag = _Lag()
        self._ewm = _SeededEwm(self.period, 1.0 / self.period)

    def _step(self, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, ...]:
        prev = self._lag.shift(close)
        true_range = np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))
        i0 = self._first_valid(1, len(close))
        return (_fit(self._ewm.run(true_range[i0:]), len(close)),)


@register("indicator", "stochastic")
class Stochastic(MultiOutputIndicator):
    """Fast stochastic oscillator.

    ``%K = 100 * (close - LL) / (HH - LL)`` with ``HH``/``LL`` the highest
    high / lowest low of the last ``k_period`` bars (50 when ``HH == LL``);
    ``%D = SMA_{d_period}(%K)``. Warm-up ``k_period - 1`` for ``k``,
    ``k_period + d_period - 2`` for ``d`` (``warmup``).
    """

    name = "stochastic"
    outputs = ("k", "d")

    def __init__(self, *, k_period: int = 14, d_period: int = 3) -> None:
        self.k_period = _int_param(self.name, "k_period", k_period)
        self.d_period = _int_param(self.name, "d_period", d_period)
        params: dict[str, object] = {"k_period": self.k_period, "d_period": self.d_period}
        warmup = self.k_period + self.d_period - 2
        super().__init__(fields=("high", "low", "close"), warmup=warmup, params=params)

    def reset(self) -> None:
        super().reset()
        self._highs = _Window(self.k_period)
        self._lows = _Window(self.k_period)
        self._d = _Sma(self.d_period)

    def _step(self, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, ...]:
        hh = _rolling_extreme(self._highs.extend(high), self.k_period, _filters()[0])
        ll = _rolling_extreme(self._lows.extend(low), self.k_period, _filters()[1])
        last = close[len(close) - len(hh) :]
        k = _fit(_ratio(100.0 * (last - ll), hh - ll, 50.0), len(close))
        i0 = self._first_valid(self.k_period - 1, len(close))
        return k, _fit(self._d.run(k[i0:]), len(close))


@register("indicator", "donchian")
class Donchian(MultiOutputIndicator):
    """Donchian channel: ``upper`` = highest high and ``lower`` = lowest low of
    the last ``n`` bars, ``middle = (upper + lower) / 2``. Warm-up ``n - 1``."""

    name = "donchian"
    outputs = ("upper", "lower", "middle")

    def __init__(self, *, period: int = 20) -> None:
        self.period = _int_param(self.name, "period", period)
        super().__init__(fields=("high", "low"), warmup=self.period - 1, params={"period": self.period})

    def reset(self) -> None:
        super().reset()
        self._highs = _Window(self.period)
        self._lows = _Window(self.period)

    def _step(self, high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, ...]:
        upper = _fit(_rolling_extreme(self._highs.extend(high), self.period, _filters()[0]), len(high))
        lower = _fit(_rolling_extreme(self._lows.extend(low), self.period, _filters()[1]), len(low))
        return upper, lower, (upper + lower) / 2
