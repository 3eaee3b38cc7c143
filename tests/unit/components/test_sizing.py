"""Position sizers against hand-worked numbers (see each comment)."""

from __future__ import annotations

import math

import msgspec
import pytest

from admf.components import sizing
from admf.runtime.registry import registry

NAN = math.nan


def make(cls: type, **params: object) -> object:
    return msgspec.convert(params, cls)


def test_registry_names() -> None:
    assert registry.get("sizing", "fixed_quantity") is sizing.FixedQuantity
    assert registry.get("sizing", "fixed_notional") is sizing.FixedNotional
    assert registry.get("sizing", "percent_equity") is sizing.PercentEquity
    assert registry.get("sizing", "volatility_target") is sizing.VolatilityTarget


@pytest.mark.parametrize(
    ("weight", "expected"),
    [(1.0, 100.0), (0.5, 50.0), (0.25, 25.0), (2.0, 200.0)],  # quantity * weight
)
def test_fixed_quantity(weight: float, expected: float) -> None:
    sizer = make(sizing.FixedQuantity, quantity=100)
    # equity, price and volatility do not matter
    assert sizer.size(1e9, 3.21, weight, NAN) == expected
    assert sizer.size(10.0, 999.0, weight, 0.3) == expected


@pytest.mark.parametrize(
    ("notional", "whole", "price", "weight", "expected"),
    [
        (10_000, True, 30.0, 1.0, 333.0),  # 10000 / 30 = 333.33 -> floor 333
        (10_000, False, 30.0, 1.0, 10_000 / 30),  # fractional: 333.333...
        (10_000, True, 30.0, 0.5, 166.0),  # 5000 / 30 = 166.67 -> 166
        (10_000, True, 25.0, 1.0, 400.0),  # exactly 400: no off-by-one from the floor
        (10_000, True, 0.1, 1.0, 100_000.0),  # 10000 / 0.1 = 99999.99999999999 in floats -> 100000
        (10_000, True, 20_000.0, 1.0, 0.0),  # 0.5 of a unit -> 0 whole units
        (10_000, False, 20_000.0, 1.0, 0.5),
    ],
)
def test_fixed_notional(notional: float, whole: bool, price: float, weight: float,
                        expected: float) -> None:
    sizer = make(sizing.FixedNotional, notional=notional, whole_units=whole)
    assert sizer.size(1.0, price, weight, NAN) == pytest.approx(expected, rel=1e-12)


def test_fixed_notional_whole_units_by_default() -> None:
    assert make(sizing.FixedNotional, notional=1000).whole_units is True


@pytest.mark.parametrize(
    ("equity", "percent", "whole", "price", "weight", "expected"),
    [
        (100_000, 100, True, 37.0, 1.0, 2702.0),  # 100000 / 37 = 2702.7 -> 2702
        (100_000, 50, True, 37.0, 1.0, 1351.0),  # 50000 / 37 = 1351.35 -> 1351
        (100_000, 100, True, 37.0, 0.5, 1351.0),  # weight halves the same way
        (100_000, 200, True, 37.0, 1.0, 5405.0),  # 200000 / 37 = 5405.4 -> 5405
        (100_000, 100, False, 37.0, 1.0, 100_000 / 37),
        (1000, 10, True, 33.0, 1.0, 3.0),  # 100 / 33 = 3.03 -> 3
        (1000, 100, True, 2000.0, 1.0, 0.0),  # can't afford one unit
        (0, 100, True, 10.0, 1.0, 0.0),  # no equity, no position
        (-500, 100, True, 10.0, 1.0, 0.0),  # negative equity: never a negative size
    ],
)
def test_percent_equity(equity: float, percent: float, whole: bool, price: float, weight: float,
                        expected: float) -> None:
    sizer = make(sizing.PercentEquity, percent=percent, whole_units=whole)
    assert sizer.size(equity, price, weight, NAN) == pytest.approx(expected, rel=1e-12)


def test_percent_equity_defaults() -> None:
    sizer = make(sizing.PercentEquity)
    assert (sizer.percent, sizer.whole_units) == (100.0, True)
    assert sizer.size(1000.0, 3.0, 1.0, NAN) == 333.0  # 1000 / 3 -> 333


@pytest.mark.parametrize(
    ("vol", "expected"),
    [
        # equity 100000, price 50, target 0.10, max_leverage 2
        (0.20, 1000.0),  # leverage 0.1/0.2 = 0.5 -> 50000 / 50 = 1000
        (0.40, 500.0),  # leverage 0.25 -> 25000 / 50 = 500
        (0.30, 666.0),  # leverage 1/3 -> 33333.3 / 50 = 666.67 -> 666
        (0.04, 4000.0),  # 0.1/0.04 = 2.5 capped at 2 -> 200000 / 50 = 4000
        (0.05, 4000.0),  # exactly at the cap: 2 -> 4000
        (NAN, 0.0),  # warm-up: unknown volatility -> no position
        (0.0, 0.0),  # a flat series -> no position (not an infinite one)
    ],
)
def test_volatility_target(vol: float, expected: float) -> None:
    sizer = make(sizing.VolatilityTarget, target=0.10, lookback=20, max_leverage=2.0)
    assert sizer.size(100_000.0, 50.0, 1.0, vol) == pytest.approx(expected, rel=1e-12)


def test_volatility_target_default_leverage_cap_is_one() -> None:
    sizer = make(sizing.VolatilityTarget, target=0.5)
    assert (sizer.lookback, sizer.max_leverage, sizer.whole_units) == (20, 1.0, True)
    # 0.5 / 0.1 = 5 -> capped at 1: 10000 / 100 = 100 units
    assert sizer.size(10_000.0, 100.0, 1.0, 0.1) == 100.0
    # weight scales after the cap: 0.5 * 100 = 50
    assert sizer.size(10_000.0, 100.0, 0.5, 0.1) == 50.0


def test_volatility_target_fractional() -> None:
    sizer = make(sizing.VolatilityTarget, target=0.15, whole_units=False)
    # leverage 0.15 / 0.25 = 0.6 -> 1000 * 0.6 / 7 = 85.714...
    assert sizer.size(1000.0, 7.0, 1.0, 0.25) == pytest.approx(600 / 7, rel=1e-12)


def test_only_volatility_target_needs_volatility() -> None:
    assert make(sizing.VolatilityTarget, target=0.1).needs_volatility is True
    for sizer in (make(sizing.FixedQuantity, quantity=1), make(sizing.FixedNotional, notional=1),
                  make(sizing.PercentEquity)):
        assert sizer.needs_volatility is False


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (sizing.FixedQuantity, {"quantity": 0}, "quantity must be > 0"),
        (sizing.FixedQuantity, {"quantity": -5}, "quantity must be > 0"),
        (sizing.FixedQuantity, {}, "missing required field `quantity`"),
        (sizing.FixedNotional, {"notional": 0}, "notional must be > 0"),
        (sizing.PercentEquity, {"percent": 0}, "percent must be in (0, 10000]"),
        (sizing.PercentEquity, {"percent": 20_000}, "percent must be in (0, 10000]"),
        (sizing.PercentEquity, {"percent": 50, "whole": True}, "unknown field `whole`"),
        (sizing.VolatilityTarget, {"target": 0}, "target must be > 0"),
        (sizing.VolatilityTarget, {"target": 0.1, "lookback": 1}, "lookback must be >= 2"),
        (sizing.VolatilityTarget, {"target": 0.1, "max_leverage": 0}, "max_leverage must be > 0"),
        (sizing.VolatilityTarget, {"target": 0.1, "lookback": 2.5}, "Expected `int`"),
    ],
)
def test_invalid_params_are_rejected(cls: type, params: dict, message: str) -> None:
    import re

    with pytest.raises(msgspec.ValidationError, match=re.escape(message)):
        msgspec.convert(params, cls)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (sizing.FixedQuantity, {"quantity": math.nan}),
        (sizing.FixedNotional, {"notional": math.inf}),
        (sizing.VolatilityTarget, {"target": math.nan}),
        (sizing.VolatilityTarget, {"target": 0.1, "max_leverage": math.nan}),
    ],
)
def test_non_finite_params_are_rejected(cls: type, params: dict) -> None:
    # NaN slips through "> 0" checks written as "if x <= 0: raise"; a NaN
    # quantity makes every fill NaN.
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(params, cls)
