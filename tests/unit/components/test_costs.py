"""Commission and slippage models against hand-worked numbers.

Every expected value is worked out in the comment next to it from the model's
documented formula; nothing is produced by admf itself.
"""

from __future__ import annotations

import math

import msgspec
import pytest

from admf.components import costs
from admf.errors import ConfigError
from admf.runtime.registry import instantiate, registry

# ------------------------------------------------------------- commission


def test_no_commission_is_zero() -> None:
    model = msgspec.convert({}, costs.NoCommission)
    assert model(100.0, 50.0) == 0.0
    assert model(0.0, 50.0) == 0.0


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        # rate 0.005/share, minimum 1.00
        (100.0, 1.0),  # 0.005 * 100 = 0.50 -> the minimum 1.00
        (200.0, 1.0),  # 0.005 * 200 = 1.00 == minimum
        (201.0, 1.005),  # 0.005 * 201 = 1.005 > minimum
        (1000.0, 5.0),  # 0.005 * 1000 = 5.00
        (0.0, 0.0),  # no fill, no fee (the minimum is per fill)
    ],
)
def test_per_share_with_minimum(quantity: float, expected: float) -> None:
    model = msgspec.convert({"rate": 0.005, "minimum": 1.0}, costs.PerShareCommission)
    assert model(quantity, 123.45) == pytest.approx(expected, abs=1e-12)


def test_per_share_ignores_price_and_minimum_defaults_to_zero() -> None:
    model = msgspec.convert({"rate": 0.01}, costs.PerShareCommission)
    assert model.minimum == 0.0
    assert model(10.0, 1.0) == pytest.approx(0.1)  # 0.01 * 10
    assert model(10.0, 1000.0) == pytest.approx(0.1)  # per share: price does not matter


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (100.0, 50.0, 2.5),  # 0.0005 * 100 * 50 = 2.5
        (3.0, 10.0, 0.015),  # 0.0005 * 30 = 0.015
        (0.5, 200.0, 0.05),  # fractional units: 0.0005 * 100 = 0.05
    ],
)
def test_percentage(quantity: float, price: float, expected: float) -> None:
    model = msgspec.convert({"rate": 0.0005}, costs.PercentageCommission)
    assert model(quantity, price) == pytest.approx(expected, abs=1e-12)


def test_fixed_is_per_fill_whatever_the_size() -> None:
    model = msgspec.convert({"amount": 4.95}, costs.FixedCommission)
    assert model(1.0, 10.0) == 4.95
    assert model(10_000.0, 500.0) == 4.95
    assert model(0.0, 10.0) == 0.0  # no fill


TIERS = [[0, 0.01], [1000, 0.005], [10_000, 0.001]]


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        # notional -> bracket (highest threshold <= notional) -> rate * whole notional
        (10.0, 50.0, 5.0),  # 500 -> [0, 1000): 1% of 500 = 5
        (99.0, 10.0, 9.9),  # 990 -> 1%: 9.9
        (100.0, 10.0, 5.0),  # exactly 1000 -> the 1000 tier: 0.5% of 1000 = 5
        (999.0, 10.0, 49.95),  # 9990 -> 0.5%: 49.95
        (1000.0, 10.0, 10.0),  # exactly 10_000 -> 0.1% of 10_000 = 10
        (5000.0, 10.0, 50.0),  # 50_000 -> 0.1%: 50
        (0.0, 10.0, 0.0),  # no notional, no fee
    ],
)
def test_tiered_brackets_and_threshold_edges(quantity: float, price: float, expected: float) -> None:
    model = msgspec.convert({"tiers": TIERS}, costs.TieredCommission)
    assert model(quantity, price) == pytest.approx(expected, abs=1e-9)


def test_tiered_is_a_per_order_bracket_not_marginal() -> None:
    # 2000 notional with [0, 1%], [1000, 0.5%]: per-order bracket = 0.5% * 2000 = 10
    # (a marginal schedule would be 1% * 1000 + 0.5% * 1000 = 15)
    model = msgspec.convert({"tiers": [[0, 0.01], [1000, 0.005]]}, costs.TieredCommission)
    assert model(20.0, 100.0) == pytest.approx(10.0)


# --------------------------------------------------------------- slippage


def test_no_slippage_returns_the_reference() -> None:
    model = msgspec.convert({}, costs.NoSlippage)
    assert model.price(100.0, 10.0, 1000.0) == 100.0
    assert model.price(100.0, -10.0, 1000.0) == 100.0


def test_fixed_bps_buy_pays_up_sell_receives_less() -> None:
    model = msgspec.convert({"bps": 5}, costs.FixedBpsSlippage)
    # 5 bps of 100 = 0.05
    assert model.price(100.0, 10.0, 1e6) == pytest.approx(100.05, abs=1e-12)
    assert model.price(100.0, -10.0, 1e6) == pytest.approx(99.95, abs=1e-12)
    # independent of size and volume
    assert model.price(100.0, 1e6, 1.0) == pytest.approx(100.05, abs=1e-12)


def test_percentage_slippage() -> None:
    model = msgspec.convert({"rate": 0.002}, costs.PercentageSlippage)
    assert model.price(50.0, 3.0, 1e6) == pytest.approx(50.1, abs=1e-12)  # 50 * 1.002
    assert model.price(50.0, -3.0, 1e6) == pytest.approx(49.9, abs=1e-12)  # 50 * 0.998


@pytest.mark.parametrize(
    ("quantity", "volume", "expected"),
    [
        # price 100, impact 0.1: price * (1 ± 0.1 * (|q| / volume)^2)
        (100.0, 1000.0, 100.1),  # share 0.1 -> 0.1 * 0.01 = 0.001 -> 100.1
        (-100.0, 1000.0, 99.9),  # a sell receives less
        (500.0, 1000.0, 102.5),  # share 0.5 -> 0.1 * 0.25 = 0.025 -> 102.5
        (-500.0, 1000.0, 97.5),
        (1000.0, 1000.0, 110.0),  # the whole bar: 0.1 * 1 = 10%
        (25.0, 1000.0, 100.00625),  # share 0.025 -> 0.1 * 0.000625 = 6.25e-5
    ],
)
def test_volume_share_impact_and_direction(quantity: float, volume: float, expected: float) -> None:
    model = msgspec.convert({"limit": 0.5, "impact": 0.1}, costs.VolumeShareSlippage)
    assert model.price(100.0, quantity, volume) == pytest.approx(expected, abs=1e-9)


def test_volume_share_defaults_and_limit() -> None:
    model = msgspec.convert({}, costs.VolumeShareSlippage)
    assert (model.limit, model.impact) == (0.025, 0.1)
    # the fixed models carry no volume limit (the portfolio reads .limit)
    for name in ("none", "fixed_bps", "percentage"):
        assert getattr(registry.get("slippage", name), "limit", None) is None


def test_registry_names_every_documented_model() -> None:
    for name, cls in [("none", costs.NoCommission), ("per_share", costs.PerShareCommission),
                      ("percentage", costs.PercentageCommission), ("fixed", costs.FixedCommission),
                      ("tiered", costs.TieredCommission)]:
        assert registry.get("commission", name) is cls
    for name, cls in [("none", costs.NoSlippage), ("fixed_bps", costs.FixedBpsSlippage),
                      ("percentage", costs.PercentageSlippage),
                      ("volume_share", costs.VolumeShareSlippage)]:
        assert registry.get("slippage", name) is cls


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (costs.PerShareCommission, {"rate": -0.01}, "rate must be >= 0"),
        (costs.PerShareCommission, {"rate": 0.01, "minimum": -1}, "minimum must be >= 0"),
        (costs.PercentageCommission, {"rate": -0.001}, "rate must be >= 0"),
        (costs.FixedCommission, {"amount": -1}, "amount must be >= 0"),
        (costs.TieredCommission, {"tiers": []}, "at least one"),
        (costs.TieredCommission, {"tiers": [[0, 0.01], [500, 0.02], [100, 0.03]]},
         "strictly increasing"),
        (costs.TieredCommission, {"tiers": [[0, 0.01], [0, 0.02]]}, "strictly increasing"),
        (costs.TieredCommission, {"tiers": [[10, 0.01]]}, "threshold 0"),
        (costs.TieredCommission, {"tiers": [[0, -0.01]]}, "rates must be >= 0"),
        (costs.FixedBpsSlippage, {"bps": -1}, "bps must be >= 0"),
        (costs.PercentageSlippage, {"rate": -0.1}, "rate must be >= 0"),
        (costs.VolumeShareSlippage, {"limit": 0}, "limit must be in (0, 1]"),
        (costs.VolumeShareSlippage, {"limit": 1.5}, "limit must be in (0, 1]"),
        (costs.VolumeShareSlippage, {"impact": -0.1}, "impact must be >= 0"),
        (costs.PercentageCommission, {}, "missing required field `rate`"),
        (costs.PercentageCommission, {"rate": "cheap"}, "Expected `float`"),
        (costs.PercentageCommission, {"rate": 0.1, "rte": 0.1}, "unknown field `rte`"),
        (costs.NoCommission, {"rate": 0.1}, "unknown field `rate`"),
    ],
)
def test_invalid_params_are_rejected(cls: type, params: dict, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=_literal(message)):
        msgspec.convert(params, cls)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (costs.PercentageCommission, {"rate": math.nan}),
        (costs.PerShareCommission, {"rate": math.nan}),
        (costs.FixedCommission, {"amount": math.inf}),
        (costs.FixedBpsSlippage, {"bps": math.nan}),
        (costs.PercentageSlippage, {"rate": math.nan}),
        (costs.VolumeShareSlippage, {"impact": math.nan}),
    ],
)
def test_non_finite_params_are_rejected(cls: type, params: dict) -> None:
    # A NaN cost silently turns every fill price, cash balance and equity
    # value into NaN: it must fail at validation like a negative one does.
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(params, cls)


def test_instantiate_names_the_config_key() -> None:
    with pytest.raises(ConfigError, match=r"execution\.commission.*rate must be >= 0"):
        instantiate("commission", {"type": "percentage", "rate": -1}, "execution.commission")
    model = instantiate("commission", {"type": "tiered", "tiers": [[0, 0.01], [1000, 0.005]]},
                        "execution.commission")
    assert model(100.0, 10.0) == pytest.approx(5.0)  # 1000 notional -> 0.5% = 5


def _literal(text: str) -> str:
    import re

    return re.escape(text)
