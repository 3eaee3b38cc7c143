"""The state behind the drawdown and daily-loss limits of a portfolio.

Fed with the equity marked at every bar's close (in order, in chunks of any
size), it carries the running peak, each UTC day's opening equity (the
previous close) and the halts: once a close is at or past ``max_drawdown``
below the peak, entries stop for the rest of the run; once a close is at or
past ``daily_loss_limit`` below the day's opening equity, for the rest of
that day — even if equity recovers before the next entry is tried.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

__all__ = ("DAY_NS", "RiskLimits", "RiskState")

DAY_NS = 86_400 * 10**9


class RiskLimits(msgspec.Struct, kw_only=True, frozen=True):
    """The risk settings a portfolio engine applies (``None``: not set). The
    config's ``risk`` section is validated where it is loaded; this is the
    plain value the engine holds."""

    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    max_position: float | None = None
    max_exposure: float | None = None
    max_drawdown: float | None = None
    daily_loss_limit: float | None = None


class RiskState:
    """Peak, day opening and halts of one portfolio (see the module docstring)."""

    def __init__(self, limits: Any, initial_equity: float) -> None:
        self.limits = limits
        self.peak = initial_equity
        self.day = -1
        self.day_open = initial_equity
        self.last = initial_equity  # equity at the last tracked close
        self.halted = False
        self.day_halted = -1

    def track(self, equity: np.ndarray, times: np.ndarray) -> None:
        """Absorb the closes ``equity`` at ``times`` (after every earlier one)."""
        if not len(equity):
            return
        limits = self.limits
        peak = np.maximum.accumulate(np.maximum(equity, self.peak))
        if limits.max_drawdown is not None and np.any(1 - equity / peak >= limits.max_drawdown):
            self.halted = True
        self.peak = float(peak[-1])
        days = times // DAY_NS
        turns = np.flatnonzero(np.diff(days, prepend=self.day))
        opens = np.full(len(equity), self.day_open)
        if len(turns):
            before = np.concatenate(([self.last], equity))[turns]  # the close before each turn
            segment = np.searchsorted(turns, np.arange(len(equity)), side="right") - 1
            opens = np.where(segment >= 0, before[np.maximum(segment, 0)], self.day_open)
            self.day, self.day_open = int(days[-1]), float(before[-1])
        if limits.daily_loss_limit is not None:
            breached = np.flatnonzero(1 - equity / opens >= limits.daily_loss_limit)
            if len(breached):
                self.day_halted = max(self.day_halted, int(days[breached[-1]]))
        self.last = float(equity[-1])

    def blocks_entry(self, time: int) -> bool:
        """Whether an entry at ``time`` is refused, given every close tracked so
        far (a bar that opens a new day starts it at the last close)."""
        day = int(time) // DAY_NS
        if day != self.day:
            self.day, self.day_open = day, self.last
        return self.halted or self.day_halted == day
