"""Position sizing: how many units a target weight buys.

A sizer is a frozen msgspec Struct (its fields are its parameters) with
``size(equity, price, weight, volatility) -> units`` (unsigned). ``weight`` is
the absolute target (1.0 = a full position); ``volatility`` is the symbol's
annualised volatility over the sizer's ``lookback`` at decision time (only
computed for sizers with ``needs_volatility``).

- ``fixed_quantity {quantity}``: ``quantity * weight`` units.
- ``fixed_notional {notional, whole_units=true}``: ``notional * weight / price``.
- ``percent_equity {percent=100, whole_units=true}``:
  ``equity * percent / 100 * weight / price``.
- ``volatility_target {target, lookback=20, max_leverage=1, whole_units=true}``:
  ``equity * min(target / volatility, max_leverage) * weight / price``; no
  position while the volatility is unknown (warm-up) or zero.

Whole units round *down*. The portfolio then cuts the quantity to what cash,
``max_position`` and ``max_exposure`` allow.
"""

from __future__ import annotations

import math

import msgspec

from ..runtime.registry import register, registry

__all__ = ("Sizer", "FixedQuantity", "FixedNotional", "PercentEquity", "VolatilityTarget")


class Sizer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every sizer: ``size(equity, price, weight, volatility) -> units``.

    A ``"package.module:Name"`` sizing type must subclass it (the registry
    refuses anything else before calling it)."""

    needs_volatility = False
    lookback = 0

    def size(self, equity: float, price: float, weight: float, volatility: float) -> float:
        raise NotImplementedError


_Sizer = Sizer
registry.expect("sizing", Sizer)


def _units(value: float, whole: bool) -> float:
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return float(math.floor(value + 1e-9)) if whole else value


@register("sizing", "fixed_quantity")
class FixedQuantity(_Sizer, frozen=True):
    quantity: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.quantity) and self.quantity > 0):
            raise ValueError(f"quantity must be > 0 (and finite), got {self.quantity}")

    def size(self, equity: float, price: float, weight: float, volatility: float) -> float:
        return self.quantity * weight


@register("sizing", "fixed_notional")
class FixedNotional(_Sizer, frozen=True):
    notional: float
    whole_units: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.notional) and self.notional > 0):
            raise ValueError(f"notional must be > 0 (and finite), got {self.notional}")

    def size(self, equity: float, price: float, weight: float, volatility: float) -> float:
        return _units(self.notional * weight / price, self.whole_units)


@register("sizing", "percent_equity")
class PercentEquity(_Sizer, frozen=True):
    percent: float = 100.0
    whole_units: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 10_000:
            raise ValueError(f"percent must be in (0, 10000], got {self.percent}")

    def size(self, equity: float, price: float, weight: float, volatility: float) -> float:
        return _units(equity * self.percent * 0.01 * weight / price, self.whole_units)


@register("sizing", "volatility_target")
class VolatilityTarget(_Sizer, frozen=True):
    target: float
    lookback: int = 20
    max_leverage: float = 1.0
    whole_units: bool = True
    needs_volatility = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target) and self.target > 0):
            raise ValueError(f"target must be > 0 (and finite), got {self.target}")
        if self.lookback < 2:
            raise ValueError(f"lookback must be >= 2, got {self.lookback}")
        if not (math.isfinite(self.max_leverage) and self.max_leverage > 0):
            raise ValueError(f"max_leverage must be > 0 (and finite), got {self.max_leverage}")

    def size(self, equity: float, price: float, weight: float, volatility: float) -> float:
        if not volatility > 0:  # NaN during warm-up, or a flat series
            return 0.0
        leverage = min(self.target / volatility, self.max_leverage)
        return _units(equity * leverage * weight / price, self.whole_units)
