"""Commission and slippage models, applied on every fill, entries and exits alike.

Each model is a frozen msgspec Struct: its fields are its parameters, so a
config is validated by converting it (unknown or mistyped parameters are
rejected with the key named). Models are called once per fill with plain
floats.

Commission ``model(quantity, price) -> currency`` (quantity unsigned):

- ``none``: 0.
- ``per_share {rate, minimum=0}``: ``max(rate * quantity, minimum)``.
- ``percentage {rate}``: ``rate * quantity * price``.
- ``fixed {amount}``: ``amount`` per fill.
- ``tiered {tiers}``: ``tiers`` is a list of ``[threshold, rate]``; the rate of
  the highest threshold not above the fill's notional applies to the whole
  notional (per-order brackets).

Slippage ``model.price(price, quantity, volume) -> fill price`` (quantity
signed: buys pay up, sells receive less):

- ``none``: the reference price.
- ``fixed_bps {bps}``: ``price * (1 ± bps / 10_000)``.
- ``percentage {rate}``: ``price * (1 ± rate)``.
- ``volume_share {limit=0.025, impact=0.1}``: ``price * (1 ± impact * share²)``
  with ``share = |quantity| / bar volume``; an *entry* is cut down to at most
  ``limit`` of the bar's volume (exits always fill in full so a position can be
  closed).
"""

from __future__ import annotations

import math

import msgspec

from ..runtime.registry import register, registry

__all__ = (
    "CommissionModel", "SlippageModel", "NoCommission", "PerShareCommission", "PercentageCommission", "FixedCommission",
    "TieredCommission", "NoSlippage", "FixedBpsSlippage", "PercentageSlippage",
    "VolumeShareSlippage",
)


class _Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class CommissionModel(_Model, frozen=True):
    """Base of every commission model: ``model(quantity, price) -> currency``.

    A ``"package.module:Name"`` commission type must subclass it (the
    registry refuses anything else before calling it)."""

    def __call__(self, quantity: float, price: float) -> float:
        raise NotImplementedError


class SlippageModel(_Model, frozen=True):
    """Base of every slippage model: ``model.price(price, quantity, volume) -> fill price``.

    A ``"package.module:Name"`` slippage type must subclass it."""

    def price(self, price: float, quantity: float, volume: float) -> float:
        raise NotImplementedError


registry.expect("commission", CommissionModel)
registry.expect("slippage", SlippageModel)


@register("commission", "none")
class NoCommission(CommissionModel, frozen=True):
    def __call__(self, quantity: float, price: float) -> float:
        return 0.0


@register("commission", "per_share")
class PerShareCommission(CommissionModel, frozen=True):
    rate: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        _non_negative(self, "rate", "minimum")

    def __call__(self, quantity: float, price: float) -> float:
        return max(self.rate * quantity, self.minimum) if quantity else 0.0


@register("commission", "percentage")
class PercentageCommission(CommissionModel, frozen=True):
    rate: float

    def __post_init__(self) -> None:
        _non_negative(self, "rate")

    def __call__(self, quantity: float, price: float) -> float:
        return self.rate * quantity * price


@register("commission", "fixed")
class FixedCommission(CommissionModel, frozen=True):
    amount: float

    def __post_init__(self) -> None:
        _non_negative(self, "amount")

    def __call__(self, quantity: float, price: float) -> float:
        return self.amount if quantity else 0.0


@register("commission", "tiered")
class TieredCommission(CommissionModel, frozen=True):
    tiers: list[tuple[float, float]]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("tiers must list at least one [threshold, rate] pair")
        thresholds = [t for t, _ in self.tiers]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError(f"tier thresholds must be strictly increasing, got {thresholds}")
        if thresholds[0] != 0:
            raise ValueError(f"the first tier must start at threshold 0, got {thresholds[0]}")
        if any(rate < 0 for _, rate in self.tiers):
            raise ValueError("tier rates must be >= 0")

    def __call__(self, quantity: float, price: float) -> float:
        notional = quantity * price
        rate = 0.0
        for threshold, tier_rate in self.tiers:
            if notional < threshold:
                break
            rate = tier_rate
        return rate * notional


@register("slippage", "none")
class NoSlippage(SlippageModel, frozen=True):
    limit = None

    def price(self, price: float, quantity: float, volume: float) -> float:
        return price


@register("slippage", "fixed_bps")
class FixedBpsSlippage(SlippageModel, frozen=True):
    bps: float
    limit = None

    def __post_init__(self) -> None:
        _non_negative(self, "bps")

    def price(self, price: float, quantity: float, volume: float) -> float:
        shift = self.bps * 1e-4
        return price * (1.0 + shift) if quantity > 0 else price * (1.0 - shift)


@register("slippage", "percentage")
class PercentageSlippage(SlippageModel, frozen=True):
    rate: float
    limit = None

    def __post_init__(self) -> None:
        _non_negative(self, "rate")

    def price(self, price: float, quantity: float, volume: float) -> float:
        return price * (1.0 + self.rate) if quantity > 0 else price * (1.0 - self.rate)


@register("slippage", "volume_share")
class VolumeShareSlippage(SlippageModel, frozen=True):
    limit: float = 0.025
    impact: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.limit <= 1:
            raise ValueError(f"limit must be in (0, 1], got {self.limit}")
        _non_negative(self, "impact")

    def price(self, price: float, quantity: float, volume: float) -> float:
        share = abs(quantity) / volume if volume > 0 else 1.0
        shift = self.impact * share * share
        return price * (1.0 + shift) if quantity > 0 else price * (1.0 - shift)


def _non_negative(model: msgspec.Struct, *fields: str) -> None:
    for name in fields:
        value = getattr(model, name)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be >= 0 (and finite), got {value}")
