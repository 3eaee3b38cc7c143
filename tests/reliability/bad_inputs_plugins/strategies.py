"""Strategies that raise or return targets a portfolio cannot use."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from admf.components.context import Context, OrderStrategy, Universe
from admf.components.costs import CommissionModel
from admf.components.per_bar import BarStrategy
from admf.components.rebalance import WeightStrategy
from admf.components.strategies import Strategy


class _Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    at: int = 50  # the bar (from 1) the fault shows at


class Faulty(Strategy):
    """Flat until bar ``at``, then whatever ``mode`` says."""

    name = "faulty"
    Params = _Params
    mode = "ok"

    def __init__(self, params: Any, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.seen = 0

    def targets(self, bars: Any, values: Any) -> Any:
        n = len(bars)
        out = np.zeros(n)
        first, self.seen = self.seen, self.seen + n
        at = self.params.at - 1 - first  # row of bar `at` in this batch
        if not 0 <= at < n:
            return out
        mode = self.mode
        if mode == "short":
            return out[1:]
        if mode == "long":
            return np.zeros(n + 3)
        if mode == "scalar":
            return 1.0
        if mode == "none":
            return None
        if mode == "strings":
            return np.array(["long"] * n)
        if mode == "matrix":
            return np.zeros((n, 2))
        if mode in ("inf", "-inf"):
            out[at] = float(mode)
            return out
        if mode == "raise":
            raise KeyError("no such column")
        return out


def _variant(mode: str) -> type[Faulty]:
    return type(f"Faulty_{mode}", (Faulty,), {"mode": mode, "name": f"faulty_{mode}"})


Short, Long, Scalar, Nothing, Strings, Matrix, Inf, NegInf, Raises = (
    _variant(m) for m in ("short", "long", "scalar", "none", "strings", "matrix", "inf", "-inf",
                          "raise"))


class InitRaises(Strategy):
    name = "init_raises"
    Params = _Params

    def __init__(self, params: Any, **kwargs: Any) -> None:
        raise RuntimeError("cannot open the model file")


class BarRaises(BarStrategy):
    """A per-bar strategy dividing by zero at bar ``at``."""

    at = 50

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.seen = 0

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        self.seen += 1
        return 1.0 / (self.at - self.seen)


class BarWord(BarStrategy):
    """A per-bar strategy returning a word instead of a number."""

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return "buy"  # type: ignore[return-value]


class BarInit(BarStrategy):
    def __init__(self, **params: Any) -> None:
        raise ValueError("bad threshold file")


class CostRaises(CommissionModel, frozen=True):
    """A commission model that fails on the first fill."""

    def __call__(self, quantity: float, price: float) -> float:
        raise ZeroDivisionError("tier table is empty")


class LongParams(BarStrategy):
    """Eight long parameter names: a point id longer than a file name may be."""

    parameter_with_a_rather_long_name_0 = 0
    parameter_with_a_rather_long_name_1 = 1
    parameter_with_a_rather_long_name_2 = 2
    parameter_with_a_rather_long_name_3 = 3
    parameter_with_a_rather_long_name_4 = 4
    parameter_with_a_rather_long_name_5 = 5
    parameter_with_a_rather_long_name_6 = 6
    parameter_with_a_rather_long_name_7 = 7

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return 1.0 if position <= 0 and bar.close > bar.open else None


class BadWeights(WeightStrategy):
    """Weights that are wrong in the way ``kind`` says, from bar ``at``."""

    rebalance = "every_bar"
    kind = "nan"
    at = 50

    def weights(self, ctx: Universe) -> dict[str, float]:
        if ctx["X"].i + 1 < self.at:
            return {"X": 0.5}
        return {"nan": {"X": float("nan")}, "symbol": {"ZZZ": 0.5}, "gross": {"X": 1.5},
                "negative": {"X": -0.5}}[self.kind]


class BadOrder(OrderStrategy):
    """Places an order that is wrong in the way ``kind`` says on bar ``at``."""

    kind = "negative_size"
    at = 50

    def on_bar(self, ctx: Context) -> None:
        if ctx.i + 1 != self.at:
            return
        if self.kind == "negative_size":
            ctx.buy(-3, size_type="units")
        elif self.kind == "stop_above_entry":
            ctx.buy(1, size_type="units", sl=ctx.bar.close * 1.1)
        elif self.kind == "cancel_unknown":
            ctx.cancel(12345)
        else:
            ctx.order(1, 1, size_type="units", kind=self.kind)
