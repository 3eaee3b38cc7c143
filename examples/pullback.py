"""An order strategy: a limit entry on a dip with its own stop and target,
and a cooldown after a stop-out (``examples/pullback.yaml`` runs it as a
walk-forward study)."""

from __future__ import annotations

from typing import Any

from admf.components.context import Context, OrderStrategy
from admf.messages import Fill


class Pullback(OrderStrategy):
    indicators = {"fast": ("sma", {"period": 10}), "slow": ("sma", {"period": 30})}
    cooldown = 5        # bars to sit out after a stop-out
    stop = 0.03         # stop-loss, a fraction below the fill
    target = 0.06       # take-profit, a fraction above the fill

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.blocked_until = -1

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        if fill.reason == "stop_loss":
            self.blocked_until = ctx.i + self.cooldown

    def on_bar(self, ctx: Context) -> None:
        if ctx.position or ctx.orders or ctx.i <= self.blocked_until:
            return
        if ctx.ind.fast > ctx.ind.slow:  # buy a dip to this bar's low, for 3 bars
            ctx.buy(0.5, limit=ctx.bar.low, sl=self.stop, sl_kind="fraction",
                    tp=self.target, tp_kind="fraction", tif="bars", bars=3)
