"""Indicators of one price series over a moving window or an exponential
recursion: SMA, EMA, WMA, StdDev, ZScore, ROC, Bollinger bands and MACD."""

from __future__ import annotations

import numpy as np

from ...runtime.registry import register
from ._base import (
    _NAN,
    MultiOutputIndicator,
    _fail,
    _fit,
    _int_param,
    _positive_param,
    _ratio,
    _SeededEwm,
    _SingleSource,
    _Sma,
    _source_param,
    _Window,
    _window_moments,
)


@register("indicator", "sma")
class SMA(_SingleSource):
    """Simple moving average: ``mean(x[t-n+1..t])``. Warm-up ``n - 1``."""

    name = "sma"
    outputs = ("sma",)

    def __init__(self, *, period: int, source: str = "close") -> None:
        super().__init__(period=period, source=source)

    def reset(self) -> None:
        super().reset()
        self._sma = _Sma(self.period)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        return (self._sma.run(x),)


@register("indicator", "ema")
class EMA(_SingleSource):
    """Exponential moving average, ``a = 2 / (n + 1)``:
    ``ema[t] = a*x[t] + (1-a)*ema[t-1]``, seeded (TA-Lib style) with the SMA of
    the first ``n`` values at row ``n - 1``. Warm-up ``n - 1``."""

    name = "ema"
    outputs = ("ema",)

    def __init__(self, *, period: int, source: str = "close") -> None:
        super().__init__(period=period, source=source)

    def reset(self) -> None:
        super().reset()
        self._ewm = _SeededEwm(self.period, 2.0 / (self.period + 1))

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        return (self._ewm.run(x),)


@register("indicator", "wma")
class WMA(_SingleSource):
    """Linearly weighted moving average: weights ``1..n``, newest heaviest,
    ``sum(w_i * x_i) / (n(n+1)/2)``. Warm-up ``n - 1``."""

    name = "wma"
    outputs = ("wma",)

    def __init__(self, *, period: int, source: str = "close") -> None:
        super().__init__(period=period, source=source)
        self._kernel = np.arange(self.period, 0, -1, dtype=np.float64)  # convolve flips it
        self._denominator = self.period * (self.period + 1) / 2

    def reset(self) -> None:
        super().reset()
        self._window = _Window(self.period)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        ext = self._window.extend(x)
        if len(ext) < self.period:
            return (_fit(ext[:0], len(x)),)
        return (_fit(np.convolve(ext, self._kernel, "valid") / self._denominator, len(x)),)


class _RollingMoments(_SingleSource):
    """A single-source indicator of the rolling mean and variance of ``n`` values."""

    def __init__(self, *, period: int = 20, source: str = "close") -> None:
        super().__init__(period=period, source=source)

    def reset(self) -> None:
        super().reset()
        self._window = _Window(self.period)

    def _moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _window_moments(self._window.extend(x), self.period)


@register("indicator", "stddev")
class StdDev(_RollingMoments):
    """Rolling population standard deviation (ddof=0) over ``n`` values;
    exactly 0 on a flat window. Warm-up ``n - 1``."""

    name = "stddev"
    outputs = ("stddev",)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        _, var = self._moments(x)
        return (_fit(np.sqrt(var), len(x)),)


@register("indicator", "zscore")
class ZScore(_RollingMoments):
    """Rolling z-score ``(x[t] - SMA_n[t]) / std_n[t]`` (population std, the
    window includes ``x[t]``); NaN on a flat window. Warm-up ``n - 1``."""

    name = "zscore"
    outputs = ("zscore",)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        mean, var = self._moments(x)
        last = x[len(x) - len(mean) :]
        return (_fit(_ratio(last - mean, np.sqrt(var), _NAN), len(x)),)


@register("indicator", "roc")
class ROC(_SingleSource):
    """Rate of change in percent: ``100 * (x[t] - x[t-n]) / x[t-n]``
    (±inf / NaN where ``x[t-n]`` is 0). Warm-up ``n``."""

    name = "roc"
    outputs = ("roc",)

    def __init__(self, *, period: int = 10, source: str = "close") -> None:
        super().__init__(period=period, source=source, warmup_extra=0)

    def reset(self) -> None:
        super().reset()
        self._window = _Window(self.period + 1)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        ext = self._window.extend(x)
        complete = max(len(ext) - self.period, 0)
        then, now = ext[:complete], ext[len(ext) - complete :]
        with np.errstate(divide="ignore", invalid="ignore"):
            return (_fit(100.0 * (now - then) / then, len(x)),)


@register("indicator", "bollinger")
class BollingerBands(MultiOutputIndicator):
    """Bollinger bands: ``middle = SMA_n``, ``upper/lower = middle ± k*std_n``
    (population std, ddof=0). Warm-up ``n - 1`` for every output."""

    name = "bollinger"
    outputs = ("middle", "upper", "lower")

    def __init__(self, *, period: int = 20, k: float = 2.0, source: str = "close") -> None:
        self.period = _int_param(self.name, "period", period)
        self.k = _positive_param(self.name, "k", k)
        self.source = _source_param(self.name, source)
        params: dict[str, object] = {"source": self.source, "period": self.period, "k": self.k}
        super().__init__(fields=(self.source,), warmup=self.period - 1, params=params)

    def reset(self) -> None:
        super().reset()
        self._window = _Window(self.period)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        mean, var = _window_moments(self._window.extend(x), self.period)
        width = self.k * np.sqrt(var)
        return tuple(_fit(v, len(x)) for v in (mean, mean + width, mean - width))


@register("indicator", "macd")
class MACD(MultiOutputIndicator):
    """Moving average convergence/divergence.

    ``macd = EMA_fast - EMA_slow`` (each EMA seeded with its own SMA, see
    :class:`EMA`), from row ``slow - 1``; ``signal = EMA_signal(macd)`` seeded
    with the mean of the first ``signal`` MACD values; ``histogram = macd -
    signal``. Warm-up: ``slow - 1`` for ``macd``, ``slow + signal - 2`` for
    ``signal`` and ``histogram`` (``warmup``).
    """

    name = "macd"
    outputs = ("macd", "signal", "histogram")

    def __init__(self, *, fast: int = 12, slow: int = 26, signal: int = 9, source: str = "close") -> None:
        self.fast = _int_param(self.name, "fast", fast)
        self.slow = _int_param(self.name, "slow", slow)
        self.signal = _int_param(self.name, "signal", signal)
        if self.fast >= self.slow:
            raise _fail(self.name, "fast", f"less than slow={self.slow}", self.fast)
        self.source = _source_param(self.name, source)
        params = {"source": self.source, "fast": self.fast, "slow": self.slow, "signal": self.signal}
        super().__init__(fields=(self.source,), warmup=self.slow + self.signal - 2, params=params)

    def reset(self) -> None:
        super().reset()
        self._fast = _SeededEwm(self.fast, 2.0 / (self.fast + 1))
        self._slow = _SeededEwm(self.slow, 2.0 / (self.slow + 1))
        self._signal = _SeededEwm(self.signal, 2.0 / (self.signal + 1))

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        line = self._fast.run(x) - self._slow.run(x)
        i0 = self._first_valid(self.slow - 1, len(x))
        signal = _fit(self._signal.run(line[i0:]), len(x))
        return line, signal, line - signal
