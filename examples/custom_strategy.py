"""A per-bar strategy of your own, loaded by ``"examples.custom_strategy:Breakout"``:

    admf run examples/custom_strategy.yaml
"""

from __future__ import annotations

from typing import Any

from admf.components.per_bar import BarStrategy


class Breakout(BarStrategy):
    """Long when the close clears the upper Bollinger band with RSI below
    ``rsi_cap``; out when the close falls back under the middle band."""

    indicators = {"bands": ("bollinger", {"period": 40, "k": 2.0}), "rsi": ("rsi", {"period": 14})}
    rsi_cap = 80.0

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        if position <= 0 and bar.close > ind.bands_upper and ind.rsi < self.rsi_cap:
            return 1.0
        if position > 0 and bar.close < ind.bands_middle:
            return 0.0
        return None
