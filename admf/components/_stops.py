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

__all__ = ("first_trigger", "extreme", "level_fill", "span_triggers")


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
            price = level_fill(float(open_[k]), level, long, False)
            why = reason if isinstance(reason, str) else (str(reason[k]) if reason is not None else "stop_loss")
            hits.append((k, 0, price, why))
    if risk.take_profit is not None:
        level = entry * (1 + sign * risk.take_profit)
        target_hit = np.flatnonzero(high >= level if long else low <= level)
        if len(target_hit):
            k = int(target_hit[0])
            price = level_fill(float(open_[k]), level, long, True)
            hits.append((k, 1, price, "take_profit"))
    if not hits:
        return None
    k, _, price, why = min(hits)
    return k, price, why


def level_fill(open_: float, level: float, long: bool, take_profit: bool) -> float:
    """The fill of a triggered level on a bar opening at ``open_``: the level,
    or the open when the bar gapped through it (worse for a stop, better for
    a target)."""
    if long != take_profit:  # a long's stop or a short's target: the price fell to it
        return min(open_, level)
    return max(open_, level)


def extreme(bars: BarBatch, start: int, end: int, long: bool, peak: float) -> float:
    if long:
        return max(peak, float(bars.high[start:end].max()))
    return min(peak, float(bars.low[start:end].min()))


def span_triggers(bars: BarBatch, starts: np.ndarray, ends: np.ndarray, long: np.ndarray,
                  entries: np.ndarray, risk: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`first_trigger` of many holding spans at once, for a fixed
    stop-loss and take-profit (no trailing stop): the spans ``[starts[k],
    ends[k])`` (int64) are ascending and disjoint, ``long[k]`` is the side and
    ``entries[k]`` the entry price of span ``k``.

    Returns, per span, the first bar (frame-local) where a level triggers
    (-1: none), that level, and whether it is the take-profit (a stop beats a
    target in the same bar). Every bar is compared with the level of the span
    holding it (NaN between spans) in a few passes over the frame, with the
    float operations of :func:`first_trigger`; a property test holds the two
    equal."""
    n, count = len(bars), len(starts)
    found, levels, target = np.full(count, -1), np.full(count, np.nan), np.zeros(count, bool)
    if not count:
        return found, levels, target
    # the frame as pieces: gap before span 0, span 0, gap, span 1, ..., gap after the last
    pieces = np.empty(2 * count + 1, dtype=np.int64)
    pieces[0:-1:2] = starts - np.concatenate([[0], ends[:-1]])
    pieces[1::2] = ends - starts
    pieces[-1] = n - ends[-1]

    def per_bar(values: np.ndarray, between: object) -> np.ndarray:
        spread = np.empty(2 * count + 1, dtype=values.dtype)
        spread[0::2], spread[1::2] = between, values
        return np.repeat(spread, pieces)

    side = per_bar(long, False)
    owner_of = per_bar(np.arange(count), -1)  # the span holding each bar (-1: none)

    def first(hit: np.ndarray) -> np.ndarray:
        at = np.full(count, -1)
        where = np.flatnonzero(hit)
        owner = owner_of[where]
        new = np.ones(len(owner), bool)
        new[1:] = owner[1:] != owner[:-1]
        at[owner[new]] = where[new]
        return at

    sign = np.where(long, 1.0, -1.0)
    high, low = bars.high, bars.low
    if risk.stop_loss is not None:
        stop = entries * (1 - sign * risk.stop_loss)
        level = per_bar(stop, np.nan)
        with np.errstate(invalid="ignore"):
            found = first(np.where(side, low <= level, high >= level))
        levels = np.where(found >= 0, stop, np.nan)
    if risk.take_profit is not None:
        take = entries * (1 + sign * risk.take_profit)
        level = per_bar(take, np.nan)
        with np.errstate(invalid="ignore"):
            hit = first(np.where(side, high >= level, low <= level))
        target = (hit >= 0) & ((found < 0) | (hit < found))
        found = np.where(target, hit, found)
        levels = np.where(target, take, levels)
    return found, levels, target
