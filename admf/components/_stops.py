"""Where a position's stop-loss, trailing stop or take-profit triggers.

Vectorised over one holding span of one symbol's bars: levels from the entry
price (and, for the trailing stop, the best price of the bars *before* each
bar), checked intrabar on high and low; a gap through a level fills at the
open; a stop beats a target in the same bar.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..messages import BarBatch

__all__ = ("first_trigger", "extreme")


def first_trigger(bars: BarBatch, start: int, end: int, long: bool, entry: float, peak: float,
                   risk: Any) -> tuple[int, float, str] | None:
    """First bar in ``[start, end)`` where a stop or target triggers, with its
    fill price and reason; None if none does."""
    high, low, open_ = bars.high[start:end], bars.low[start:end], bars.open[start:end]
    sign = 1.0 if long else -1.0
    stop = None
    reason = None
    if risk.stop_loss is not None:
        stop = np.full(end - start, entry * (1 - sign * risk.stop_loss))
    if risk.trailing_stop is not None:
        favourable = high if long else low
        extreme = np.empty(end - start)
        extreme[0] = peak
        if end - start > 1:
            acc = (np.maximum if long else np.minimum).accumulate(favourable[:-1])
            extreme[1:] = np.maximum(acc, peak) if long else np.minimum(acc, peak)
        trail = extreme * (1 - sign * risk.trailing_stop)
        if stop is None:
            stop, reason = trail, "trailing_stop"
        else:
            tighter = trail > stop if long else trail < stop
            stop = np.where(tighter, trail, stop)
            reason = np.where(tighter, "trailing_stop", "stop_loss")
    hits = []
    if stop is not None:
        stop_hit = np.flatnonzero(low <= stop if long else high >= stop)
        if len(stop_hit):
            k = int(stop_hit[0])
            level = float(stop[k])
            price = min(float(open_[k]), level) if long else max(float(open_[k]), level)
            why = reason if isinstance(reason, str) else (str(reason[k]) if reason is not None else "stop_loss")
            hits.append((k, 0, price, why))
    if risk.take_profit is not None:
        level = entry * (1 + sign * risk.take_profit)
        target_hit = np.flatnonzero(high >= level if long else low <= level)
        if len(target_hit):
            k = int(target_hit[0])
            price = max(float(open_[k]), level) if long else min(float(open_[k]), level)
            hits.append((k, 1, price, "take_profit"))
    if not hits:
        return None
    k, _, price, why = min(hits)
    return k, price, why


def extreme(bars: BarBatch, start: int, end: int, long: bool, peak: float) -> float:
    if long:
        return max(peak, float(bars.high[start:end].max()))
    return min(peak, float(bars.low[start:end].min()))
