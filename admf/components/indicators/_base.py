"""What every indicator is built from: the :class:`Indicator` base classes,
parameter validation, vectorised window helpers and the state carried between
batches (window tails, lags, seeded exponential recursions).

scipy is imported on first use, not with this module.
"""

from __future__ import annotations

import functools
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...errors import ConfigError, DataError
from ...runtime.registry import registry

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
    """Mean of every complete ``n``-window of ``ext``, within about one ulp
    of the exact mean of the float inputs.

    A running sum of window-to-window changes drifts by ~100 ulps over a
    chunk, enough to flip a crossover on an exact tie (3·Σ10 = Σ30 on
    cent prices). Instead each value is split exactly as ``hi + lo``: ``hi``
    rounded to a power-of-two grid coarse enough that every prefix sum of the
    ``hi`` parts is an integer multiple of the grid below 2**53 (so prefix
    sums and their window differences are exact), ``lo = x - hi`` the tiny
    exact remainder, summed the ordinary way (its error is ~eps² of the
    window). The window sum ``Σhi + Σlo`` is then rounded once, and the mean
    once more: the result matches ``math.fsum(window) / n`` (backtrader's SMA,
    pandas' compensated sums) bit for bit on all but rare half-way cases.
    """
    if len(ext) < n:
        return ext[:0]
    scale = max(float(ext.max()), -float(ext.min())) * (len(ext) + 1)
    if not math.isfinite(scale) or scale == 0.0:  # NaN/inf or all zero: plain sums
        return _running_mean(ext, n)
    grid = math.ldexp(1.0, math.frexp(scale)[1] - 52)  # prefix sums stay < 2**52 grid steps
    shift = 1.5 * grid * 2.0**52  # x + shift - shift rounds x to a multiple of grid, exactly
    m = len(ext)
    hi = np.empty(m + 1)
    hi[0] = 0.0
    np.add(ext, shift, out=hi[1:])
    hi[1:] -= shift
    lo = np.empty(m + 1)
    lo[0] = 0.0
    np.subtract(ext, hi[1:], out=lo[1:])  # exact: |lo| <= grid / 2
    np.cumsum(hi, out=hi)
    np.cumsum(lo, out=lo)
    sums = hi[n:] - hi[:-n]  # exact
    sums += np.subtract(lo[n:], lo[:-n], out=lo[: m + 1 - n])  # one rounding of the sum
    sums /= n
    return sums


def _running_mean(ext: np.ndarray, n: int) -> np.ndarray:
    """Window means by a running sum of changes (non-finite input only: NaN
    and inf propagate as a running sum propagates them)."""
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
        """Values for the rows of ``bars``, the next rows of the series. An
        indicator that reads ``volume`` refuses bars that have none (a file
        without a volume column reads as NaN volume) rather than give NaN."""
        cols = [np.asarray(getattr(bars, f), dtype=np.float64) for f in self._fields]
        rows = len(cols[0])
        if rows and "volume" in self._fields and np.isnan(cols[self._fields.index("volume")]).all():
            raise DataError(f"indicator {self!r} reads bar volume, but the data has no volume "
                            "(no volume column, or every volume NaN); give the data a volume "
                            "column or use another source")
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


registry.expect("indicator", Indicator)  # a "pkg.mod:Name" indicator must subclass it


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
