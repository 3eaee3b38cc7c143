"""Regime classifiers: a label per bar from the bars up to it, no look-ahead.

A classifier is a component of kind ``classifier`` (``admf list
classifiers``). It declares the indicators it reads, like a strategy, and
:meth:`Classifier.classify` returns one code per bar: an index into
``labels``, or -1 where the regime is not yet defined (warm-up). The value
at bar ``t`` uses bars ``0..t`` only, and the result does not depend on how
the bars are cut into batches (state is carried across them).

- ``trend`` (``period``): the slope of the ``period``-bar SMA of the close,
  ``SMA[t] - SMA[t-1]``: ``up`` above zero, ``down`` below; undefined while
  either SMA is, or when the slope is exactly zero.
- ``volatility`` (``period``, ``lookback``, ``quantile``): the bar's ATR as a
  fraction of its close, ``ATR(period)[t] / close[t]``, ranked among the last
  ``lookback`` such values (bar ``t`` included): ``high`` when the share of
  them at or below it exceeds ``quantile``, else ``low``; undefined until
  ``lookback`` values are defined.

Ensembles (:mod:`admf.components.ensembles`) use them to gate members.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ..runtime.registry import register, registry
from .indicators import ATR, SMA, Indicator

__all__ = ("Classifier", "TrendRegime", "VolatilityRegime", "UNDEFINED")

UNDEFINED = -1
"""The code of a bar whose regime is not defined yet."""

_CHUNK = 4096  # rows ranked at once by the volatility percentile (bounded memory)


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{owner}: {name} must be an integer >= 1, got {value!r}")
    return value


class Classifier:
    """Base class of regime classifiers (see the module docstring)."""

    name: ClassVar[str]
    labels: ClassVar[tuple[str, ...]]

    def indicators(self) -> dict[str, Indicator]:
        return {}

    def classify(self, bars: Any, values: dict[str, Any]) -> np.ndarray:
        """One int code per bar of ``bars``: an index into :attr:`labels`, or -1."""
        raise NotImplementedError


registry.expect("classifier", Classifier)


@register("classifier", "trend")
class TrendRegime(Classifier):
    """up / down by the sign of the slope of the period-bar SMA of the close."""

    name = "trend"
    labels = ("up", "down")

    def __init__(self, period: int = 50) -> None:
        self.period = _positive_int("regime trend", "period", period)
        self._last = np.nan

    def indicators(self) -> dict[str, Indicator]:
        return {"ma": SMA(period=self.period)}

    def classify(self, bars: Any, values: dict[str, Any]) -> np.ndarray:
        ma = np.asarray(values["ma"], dtype=np.float64)
        previous = np.concatenate(([self._last], ma[:-1]))
        if len(ma):
            self._last = float(ma[-1])
        slope = ma - previous
        return np.where(slope > 0, 0, np.where(slope < 0, 1, UNDEFINED)).astype(np.int64)


@register("classifier", "volatility")
class VolatilityRegime(Classifier):
    """high / low by the rolling percentile of ATR(period) / close over lookback bars."""

    name = "volatility"
    labels = ("high", "low")

    def __init__(self, period: int = 14, lookback: int = 250, quantile: float = 0.5) -> None:
        self.period = _positive_int("regime volatility", "period", period)
        self.lookback = _positive_int("regime volatility", "lookback", lookback)
        if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) \
                or not 0.0 < float(quantile) < 1.0:
            raise ConfigError(f"regime volatility: quantile must be in (0, 1), got {quantile!r}")
        self.quantile = float(quantile)
        self._history = np.empty(0)  # the last lookback - 1 values, across batches

    def indicators(self) -> dict[str, Indicator]:
        return {"atr": ATR(period=self.period)}

    def classify(self, bars: Any, values: dict[str, Any]) -> np.ndarray:
        close = np.asarray(bars.close, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.asarray(values["atr"], dtype=np.float64) / close
        series = np.concatenate((self._history, level))
        keep = self.lookback - 1
        self._history = series[max(0, len(series) - keep):] if keep else np.empty(0)
        out = np.full(len(level), UNDEFINED, dtype=np.int64)
        offset = len(series) - len(level)  # row i of this batch is series[offset + i]
        for start in range(0, len(level), _CHUNK):
            stop = min(start + _CHUNK, len(level))
            rows = np.arange(start, stop) + offset
            if rows[-1] + 1 < self.lookback:
                continue
            first = max(0, self.lookback - 1 - offset - start)  # rows with a whole window
            rows = rows[first:]
            windows = np.lib.stride_tricks.sliding_window_view(
                series[rows[0] - self.lookback + 1: rows[-1] + 1], self.lookback)
            current = series[rows]
            defined = np.isfinite(windows).all(axis=1) & np.isfinite(current)
            with np.errstate(invalid="ignore"):
                share = (windows <= current[:, None]).mean(axis=1)
            code = np.where(share > self.quantile, 0, 1)
            out[start + first: stop] = np.where(defined, code, UNDEFINED)
        return out
