"""Technical indicators computed incrementally, one batch of bars at a time.

Every indicator keeps the state it needs between batches (the tail of the
previous batch for rolling windows, the last value of a recursion), so feeding
a series in batches of any size gives the same values as feeding it whole, to
floating-point rounding (well inside 1e-12 relative). Work is vectorised per
batch: rolling windows run over *carried tail + batch*, and the exponential
recursions (EMA, Wilder smoothing) run in C through :func:`scipy.signal.lfilter`
with their filter state carried in ``zi``. Batches longer than ``CHUNK`` rows
are processed ``CHUNK`` rows at a time, which bounds the rounding of per-batch
cumulative sums whatever the batch size.

Outputs are float64 arrays aligned with the batch rows; rows before an
indicator's warm-up is complete are NaN. ``Indicator.warmup`` is the number of
leading NaN rows of the whole series (for several outputs, of the slowest one).
Inputs are expected finite (the data layer rejects NaN): a NaN fed to a
recursive indicator stays in its state until :meth:`Indicator.reset`.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError, PluginError
from ..runtime.registry import register, registry

__all__ = (
    "CHUNK",
    "SOURCES",
    "Bars",
    "Indicator",
    "SingleOutputIndicator",
    "MultiOutputIndicator",
    "SMA",
    "EMA",
    "WMA",
    "RSI",
    "ATR",
    "BollingerBands",
    "MACD",
    "Stochastic",
    "Donchian",
    "StdDev",
    "ROC",
    "ZScore",
    "build",
)

CHUNK = 4096
"""Longest run of rows processed in one vectorised step."""

SOURCES = ("open", "high", "low", "close", "volume")
"""Bar fields a single-price indicator can read."""

_NAN = float("nan")


# scipy.signal and scipy.ndimage take ~0.6 s to import; only studies whose
# indicators need them pay for it (an SMA study starts in a fraction of that).
@functools.cache
def _lfilter() -> Any:
    from scipy.signal import lfilter

    return lfilter


@functools.cache
def _filters() -> tuple[Any, Any]:
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    return maximum_filter1d, minimum_filter1d
_Out = TypeVar("_Out", np.ndarray, dict[str, np.ndarray])


class Bars(Protocol):
    """What indicators read: float64 arrays of equal length (a ``BarBatch``);
    an indicator reads only the fields it needs."""

    @property
    def open(self) -> np.ndarray: ...
    @property
    def high(self) -> np.ndarray: ...
    @property
    def low(self) -> np.ndarray: ...
    @property
    def close(self) -> np.ndarray: ...
    @property
    def volume(self) -> np.ndarray: ...


# --------------------------------------------------------------- validation


def _fail(indicator: str, param: str, expected: str, got: object) -> ConfigError:
    return ConfigError(f"indicator {indicator!r}: parameter {param!r} must be {expected}, got {got!r}")


def _int_param(indicator: str, param: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise _fail(indicator, param, f"an integer >= {minimum}", value)
    return int(value)


def _positive_param(indicator: str, param: str, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number > 0:
            return number
    raise _fail(indicator, param, "a finite number > 0", value)


def _source_param(indicator: str, value: object) -> str:
    if value not in SOURCES:
        raise _fail(indicator, "source", f"one of {', '.join(map(repr, SOURCES))}", value)
    return str(value)


# ------------------------------------------------------------ array helpers


def _fit(values: np.ndarray, length: int) -> np.ndarray:
    """``values`` as the last rows of a ``length``-row array, NaN in front."""
    if len(values) == length:
        return values
    out = np.full(length, _NAN)
    if len(values):
        out[length - len(values) :] = values
    return out


def _rolling_mean(ext: np.ndarray, n: int) -> np.ndarray:
    """Mean of every complete ``n``-window of ``ext``.

    The first window is summed directly, the next ones by a cumulative sum of
    window-to-window changes ``ext[j] - ext[j-n]``. The partial sums stay the
    size of one window's drift, and restart on every chunk (``ext`` is at most
    ``CHUNK + n - 1`` long), so rounding stays far below 1e-12 relative.
    """
    if len(ext) < n:
        return ext[:0]
    first = float(np.sum(ext[:n]))
    sums = np.empty(len(ext) - n + 1)
    sums[0] = first
    np.cumsum(ext[n:] - ext[:-n], out=sums[1:])
    sums[1:] += first
    return sums / n


def _window_moments(ext: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance (ddof=0) of every complete ``n``-window.

    Deviations are taken from each window's last value, so a flat window has
    a variance of exactly 0; ``var = mean(d**2) - mean(d)**2`` loses at most a
    factor ``n`` to cancellation (Samuelson: ``|x - mean| <= std*sqrt(n-1)``).
    """
    if len(ext) < n:
        return ext[:0], ext[:0]
    win = sliding_window_view(ext, n)
    dev = win - win[:, -1:]
    mean_dev = (dev @ np.ones(n)) / n
    var = np.einsum("ij,ij->i", dev, dev) / n - mean_dev * mean_dev
    return win[:, -1] + mean_dev, np.maximum(var, 0.0, out=var)


def _rolling_extreme(ext: np.ndarray, n: int, extreme_filter: Callable[..., np.ndarray]) -> np.ndarray:
    """Max (or min) of every complete ``n``-window: an O(len) scipy filter,
    its window shifted by ``origin`` to end on each row."""
    if len(ext) < n:
        return ext[:0]
    out = np.asarray(extreme_filter(ext, n, origin=(n - 1) // 2))
    return out[n - 1 :]


def _ratio(num: np.ndarray, den: np.ndarray, where_zero: float) -> np.ndarray:
    """``num / den``, ``where_zero`` where ``den == 0`` (NaN stays NaN)."""
    out = np.full(len(num), where_zero)
    np.divide(num, den, out=out, where=den != 0)
    return out


# ----------------------------------------------------------- stateful parts


class _Window:
    """Carries the last ``size - 1`` values so each batch sees whole windows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tail = np.empty(0)

    def extend(self, x: np.ndarray) -> np.ndarray:
        """The carried tail followed by ``x``; keeps the new tail."""
        ext = np.concatenate((self._tail, x)) if len(self._tail) else x
        keep = min(self.size - 1, len(ext))
        self._tail = ext[len(ext) - keep :].copy()
        return ext


class _Lag:
    """``x`` shifted one row later, the first row of the series NaN."""

    def __init__(self) -> None:
        self._last = _NAN

    def shift(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return x
        out = np.concatenate(([self._last], x[:-1]))
        self._last = float(x[-1])
        return out


class _SeededEwm:
    """``y[t] = a*x[t] + (1-a)*y[t-1]``, seeded with the mean of the first
    ``period`` inputs (placed on the ``period``-th input; earlier rows NaN)."""

    def __init__(self, period: int, alpha: float) -> None:
        self.period = period
        self._b = np.array([alpha])
        self._a = np.array([1.0, alpha - 1.0])
        self._decay = 1.0 - alpha
        self._seed = np.empty(0)
        self._last: float | None = None

    def run(self, x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), _NAN)
        start = 0
        if self._last is None:
            need = self.period - len(self._seed)
            self._seed = np.concatenate((self._seed, x[:need]))
            if len(self._seed) < self.period:
                return out
            self._last = float(np.sum(self._seed)) / self.period
            out[need - 1] = self._last
            start = need
        if start < len(x):
            y, _ = _lfilter()(self._b, self._a, x[start:], zi=np.array([self._decay * self._last]))
            out[start:] = y
            self._last = float(y[-1])
        return out


class _Sma:
    """Simple moving average of a stream."""

    def __init__(self, period: int) -> None:
        self._window = _Window(period)

    def run(self, x: np.ndarray) -> np.ndarray:
        return _fit(_rolling_mean(self._window.extend(x), self._window.size), len(x))


# ------------------------------------------------------------------- base


class Indicator(ABC, Generic[_Out]):
    """An incremental indicator: feed the batches of one series to :meth:`update`.

    Subclasses declare ``name`` (registry name) and ``outputs``, pass to
    ``__init__`` the bar fields they read, their warm-up and their canonical
    parameters, build their state in ``reset`` and implement ``_step``.
    """

    name: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]]
    warmup: int
    """Leading rows of the series whose output is NaN (of the slowest output)."""
    _step: Callable[..., tuple[np.ndarray, ...]]
    """Advance over at most ``CHUNK`` rows: one array per field in, one per output out."""

    def __init__(self, *, fields: tuple[str, ...], warmup: int, params: dict[str, object]) -> None:
        self.warmup = warmup
        self._fields = fields
        self._params = params
        self.reset()

    @property
    def params(self) -> dict[str, object]:
        """The validated constructor parameters, in canonical order."""
        return dict(self._params)

    @property
    def key(self) -> tuple[object, ...]:
        """Canonical identity, e.g. ``("sma", "close", 10)``: equal keys give
        equal outputs, so a parameter grid computes each distinct one once."""
        return (self.name, *self._params.values())

    def reset(self) -> None:
        """Forget all state, as if newly built."""
        self._seen = 0

    def update(self, bars: Bars) -> _Out:
        """Values for the rows of ``bars``, the next rows of the series."""
        cols = [np.asarray(getattr(bars, f), dtype=np.float64) for f in self._fields]
        rows = len(cols[0])
        if rows <= CHUNK:
            return self._pack(self._advance(cols))
        pieces = [self._advance([c[i : i + CHUNK] for c in cols]) for i in range(0, rows, CHUNK)]
        return self._pack(tuple(np.concatenate(p) for p in zip(*pieces, strict=True)))

    @abstractmethod
    def _pack(self, parts: tuple[np.ndarray, ...]) -> _Out: ...

    def _advance(self, cols: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        parts = self._step(*cols)
        self._seen += len(cols[0])
        return parts

    def _first_valid(self, warmup: int, rows: int) -> int:
        """Index in the current chunk of the first row past ``warmup``."""
        return min(max(warmup - self._seen, 0), rows)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


class SingleOutputIndicator(Indicator[np.ndarray]):
    """An indicator whose :meth:`update` returns one float64 array."""

    def _pack(self, parts: tuple[np.ndarray, ...]) -> np.ndarray:
        return parts[0]


class MultiOutputIndicator(Indicator[dict[str, np.ndarray]]):
    """An indicator whose :meth:`update` returns ``{output: float64 array}``."""

    def _pack(self, parts: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        return dict(zip(self.outputs, parts, strict=True))


class _SingleSource(SingleOutputIndicator):
    """An indicator of one price series with one ``period``."""

    def __init__(self, *, period: object, source: object, warmup_extra: int = -1) -> None:
        self.period = _int_param(self.name, "period", period)
        self.source = _source_param(self.name, source)
        params: dict[str, object] = {"source": self.source, "period": self.period}
        super().__init__(fields=(self.source,), warmup=self.period + warmup_extra, params=params)


# ------------------------------------------------------------- indicators


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


@register("indicator", "stddev")
class StdDev(_SingleSource):
    """Rolling population standard deviation (ddof=0) over ``n`` values;
    exactly 0 on a flat window. Warm-up ``n - 1``."""

    name = "stddev"
    outputs = ("stddev",)

    def __init__(self, *, period: int = 20, source: str = "close") -> None:
        super().__init__(period=period, source=source)

    def reset(self) -> None:
        super().reset()
        self._window = _Window(self.period)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        _, var = _window_moments(self._window.extend(x), self.period)
        return (_fit(np.sqrt(var), len(x)),)


@register("indicator", "zscore")
class ZScore(_SingleSource):
    """Rolling z-score ``(x[t] - SMA_n[t]) / std_n[t]`` (population std, the
    window includes ``x[t]``); NaN on a flat window. Warm-up ``n - 1``."""

    name = "zscore"
    outputs = ("zscore",)

    def __init__(self, *, period: int = 20, source: str = "close") -> None:
        super().__init__(period=period, source=source)

    def reset(self) -> None:
        super().reset()
        self._window = _Window(self.period)

    def _step(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        mean, var = _window_moments(self._window.extend(x), self.period)
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


# ------------------------------------------------------------------ build


def build(name: str, params: Mapping[str, Any]) -> Indicator[Any]:
    """The indicator registered as ``name`` (or ``"pkg.mod:Name"``) built from
    ``params``; an unknown or missing parameter raises ConfigError naming it."""
    try:
        cls = registry.get("indicator", name)
    except PluginError as exc:
        raise ConfigError(str(exc)) from None
    signature = inspect.signature(cls).parameters
    for param in params:
        if param not in signature:
            close = difflib.get_close_matches(param, list(signature), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"indicator {name!r} has no parameter {param!r}{hint} (expected: {', '.join(signature)})"
            )
    missing = [p for p, spec in signature.items() if spec.default is spec.empty and p not in params]
    if missing:
        raise ConfigError(f"indicator {name!r}: missing parameter {', '.join(map(repr, missing))}")
    indicator: Indicator[Any] = cls(**params)
    return indicator
