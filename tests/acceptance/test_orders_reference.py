"""The execution kernel and strategy context against the tick-walk reference.

Every golden number comes from :mod:`tests.acceptance.order_reference`, which
walks each bar one cent at a time and imports nothing from admf. Each case
places the same orders on the same bars in both and compares every fill
(bar, signed units, price), the order outcomes and the final cash.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components.context import OrderStrategy, run_orders
from admf.errors import OrderError
from admf.messages import BarBatch
from tests.acceptance.order_reference import DAY, RefState, reference

HOUR = 3_600_000_000_000

Bars = list[tuple[int, int, int, int, int, float]]


def make_bars(rows: list[tuple[int, int, int, int]], *, volume: float = 1e9,
              step: int = HOUR) -> Bars:
    return [(i * step, o, h, lo, c, volume) for i, (o, h, lo, c) in enumerate(rows)]


def batch(bars: Bars) -> BarBatch:
    cols = list(zip(*bars))
    return BarBatch(ts=0, symbol="X", timestamp=np.array(cols[0], dtype=np.int64),
                    open=np.array(cols[1]) / 100, high=np.array(cols[2]) / 100,
                    low=np.array(cols[3]) / 100, close=np.array(cols[4]) / 100,
                    volume=np.array(cols[5], dtype=float))


def to_admf(spec: dict[str, Any]) -> dict[str, Any]:
    out = {"side": spec["side"], "size": float(spec["units"]), "size_type": "units"}
    for key in ("limit", "stop", "sl", "tp"):
        if spec.get(key) is not None:
            out[key] = spec[key] / 100
    for key in ("oco", "tif", "bars", "until", "reduce_only", "tag"):
        if key in spec:
            out[key] = spec[key]
    return out


class Scripted(OrderStrategy):
    """Places ``script[i]`` (reference order dicts) after bar ``i``."""

    script: dict = {}

    def on_bar(self, ctx: Any) -> None:
        for spec in self.script.get(ctx.i, []):
            spec = to_admf(spec)
            ctx.order(spec.pop("side"), spec.pop("size"), **spec)


def compare(bars: Bars, script: dict[int, list[dict]], *, cash: float = 100_000.0,
            **execution: Any) -> tuple[RefState, Any]:
    ref = reference(bars, lambda i, s: [dict(x) for x in script.get(i, [])], cash=cash,
                    **execution)
    got = run_orders(Scripted(script=script), batch(bars), cash=cash, **execution)
    index = {ts: i for i, (ts, *_rest) in enumerate(bars)}
    fills = [(index[f.ts], round(f.quantity, 9), round(f.price, 9)) for f in got.fills]
    expected = [(b, round(q, 9), round(p, 9)) for b, _, q, p, _ in ref.fills]
    assert fills == expected
    assert got.kernel.cash == pytest.approx(ref.cash)
    assert got.kernel.position("X").units == pytest.approx(ref.units)
    return ref, got


def statuses(got: Any) -> dict[int, str]:
    out: dict[int, str] = {}
    for u in got.updates:
        out[u.order_id] = u.status
    return out


FLAT = [(1000, 1010, 990, 1000)] * 3

# ---------------------------------------------------------------- each order type


def test_market_order_fills_at_the_next_open() -> None:
    bars = make_bars([(1000, 1010, 990, 1005), (1020, 1030, 1010, 1025), (1030, 1040, 1020, 1035)])
    compare(bars, {0: [{"side": 1, "units": 10}], 1: [{"side": -1, "units": 10}]})


@pytest.mark.parametrize("limit_fill", ["touch", "through"])
def test_limit_touched_exactly(limit_fill: str) -> None:
    # bar 1's low is exactly the limit 990: touch fills at 9.90, through does not
    bars = make_bars([(1000, 1010, 995, 1000), (1000, 1005, 990, 1000), (1000, 1005, 985, 1000)])
    ref, got = compare(bars, {0: [{"side": 1, "units": 5, "kind": "limit", "limit": 990}]},
                       limit_fill=limit_fill)
    first = ref.fills[0][0]
    assert first == (1 if limit_fill == "touch" else 2)


def test_limit_gapped_through_fills_at_the_better_open() -> None:
    bars = make_bars([(1000, 1010, 995, 1000), (980, 985, 975, 982), (982, 990, 980, 985)])
    ref, _ = compare(bars, {0: [{"side": 1, "units": 5, "kind": "limit", "limit": 990}]})
    assert ref.fills[0][3] == 9.80


def test_stop_entry_and_a_gapped_stop() -> None:
    # buy stop at 10.20 triggers intrabar on bar 1; its stop-loss at 9.80 is gapped on bar 3
    bars = make_bars([(1000, 1010, 995, 1000), (1005, 1025, 1000, 1022), (1022, 1030, 1015, 1020),
                      (970, 975, 960, 965)])
    ref, _ = compare(bars, {0: [{"side": 1, "units": 7, "kind": "stop", "stop": 1020, "sl": 980}]})
    assert [f[3] for f in ref.fills] == [10.20, 9.70]


def test_stop_limit_triggers_then_rests_as_a_limit() -> None:
    # stop 10.20 triggers on bar 1 (high 10.25), the limit 10.10 is not available there
    # after the trigger (the price walks up, then down to 10.15 only); bar 2 reaches 10.05
    bars = make_bars([(1000, 1010, 995, 1000), (1005, 1025, 1015, 1018), (1018, 1020, 1005, 1010),
                      (1010, 1012, 1000, 1005)])
    ref, _ = compare(bars, {0: [{"side": 1, "units": 3, "kind": "stop_limit", "stop": 1020,
                                 "limit": 1010}]})
    assert ref.fills[0][0] == 2 and ref.fills[0][3] == 10.10


# ------------------------------------------------------------------- brackets, OCO


def test_bracket_take_profit_cancels_its_stop() -> None:
    bars = make_bars([(1000, 1010, 995, 1000), (1000, 1010, 995, 1005), (1005, 1060, 1000, 1050),
                      (1050, 1055, 900, 910)])
    ref, got = compare(bars, {0: [{"side": 1, "units": 10, "sl": 950, "tp": 1050}]})
    assert [f[4] for f in ref.fills] == ["", "take_profit"]
    assert sorted(statuses(got).values()).count("cancelled") == 1


def test_stop_and_target_in_one_bar_follow_the_path() -> None:
    # bar 2 spans both the target (high first in ohlc) and the stop: the target fills
    bars = make_bars([(1000, 1010, 995, 1000), (1000, 1005, 995, 1000), (1000, 1060, 940, 1000)])
    ref, _ = compare(bars, {0: [{"side": 1, "units": 10, "sl": 950, "tp": 1050}]})
    assert ref.fills[-1][4] == "take_profit"


def test_oco_pair_one_fills_the_other_is_cancelled() -> None:
    bars = make_bars([(1000, 1010, 995, 1000), (1000, 1030, 998, 1020), (1020, 1025, 960, 970)])
    script = {0: [{"side": 1, "units": 4, "kind": "stop", "stop": 1025, "oco": "g"},
                  {"side": 1, "units": 4, "kind": "limit", "limit": 970, "oco": "g"}]}
    ref, got = compare(bars, script)
    assert len(ref.fills) == 1
    assert sorted(statuses(got).values()) == ["cancelled", "filled"]


# ------------------------------------------------------------------- time in force


@pytest.mark.parametrize(("tif", "extra", "fills"), [
    ("gtc", {}, 1),
    ("bars", {"bars": 2}, 0),
    ("until", {"until": 2 * HOUR}, 0),
    ("day", {}, 0),
])
def test_each_time_in_force(tif: str, extra: dict, fills: int) -> None:
    # the limit 9.80 is reached on bar 3 only; step = 8 h so bar 3 is the next UTC day
    rows = [(1000, 1010, 995, 1000), (1000, 1005, 990, 1000), (1000, 1005, 990, 1000),
            (990, 995, 975, 985)]
    bars = make_bars(rows, step=8 * HOUR)
    if tif == "until":
        extra = {"until": 2 * 8 * HOUR}
    ref, got = compare(bars, {0: [{"side": 1, "units": 2, "kind": "limit", "limit": 980,
                                   "tif": tif, **extra}]})
    assert len(ref.fills) == fills
    if not fills:
        assert list(statuses(got).values()) == ["expired"]
    assert bars[3][0] // DAY != bars[0][0] // DAY


# ------------------------------------------------------------------ partial fills


def test_volume_share_fills_partially_and_the_rest_rests() -> None:
    bars = make_bars([(1000, 1010, 995, 1000)] * 4, volume=100.0)
    ref, got = compare(bars, {0: [{"side": 1, "units": 25}]}, volume_share=0.1)
    assert [f[2] for f in ref.fills] == [10, 10, 5]
    assert [u.status for u in got.updates if u.status.endswith("filled")] == \
        ["partially_filled", "partially_filled", "filled"]


# ------------------------------------------------------------ a reacting strategy


class Cooldown(OrderStrategy):
    """Buy on every bar while flat with a stop-loss 1 % under the close,
    except for ``wait`` bars after a stop-out (learnt from ``on_fill``)."""

    wait = 3

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.blocked_until = -1
        self.stop_outs = 0

    def on_fill(self, ctx: Any, fill: Any) -> None:
        if fill.reason == "stop_loss":
            self.stop_outs += 1
            self.blocked_until = ctx.i + self.wait

    def on_bar(self, ctx: Any) -> None:
        if not ctx.position and not ctx.orders and ctx.i > self.blocked_until:
            ctx.buy(10, sl=round(ctx.bar.close * 0.99, 2))


def _cooldown_reference(bars: Bars, wait: int) -> RefState:
    blocked = [-1]
    seen = [0]

    def decide(i: int, s: RefState) -> list[dict]:
        for f in s.fills[seen[0]:]:
            if f[4] == "stop_loss":
                blocked[0] = i + wait
        seen[0] = len(s.fills)
        if s.units == 0 and not s.orders and i > blocked[0]:
            return [{"side": 1, "units": 10, "sl": round(bars[i][4] * 0.99)}]
        return []

    return reference(bars, decide, cash=100_000.0)


@settings(max_examples=30, deadline=None)
@given(moves=st.lists(st.tuples(st.integers(-30, 30), st.integers(0, 25), st.integers(0, 25),
                                st.integers(-30, 30)), min_size=5, max_size=60),
       wait=st.integers(0, 4))
def test_a_strategy_reacting_to_its_stop_outs(moves: list[tuple[int, ...]], wait: int) -> None:
    rows, close = [], 1000
    for gap, up, down, move in moves:
        o = max(close + gap, 100)
        c = max(o + move, 100)
        rows.append((o, max(o, c) + up, max(min(o, c) - down, 50), c))
        close = c
    bars = make_bars(rows)
    ref = _cooldown_reference(bars, wait)
    got = run_orders(Cooldown(wait=wait), batch(bars), cash=100_000.0)
    index = {ts: i for i, (ts, *_r) in enumerate(bars)}
    assert [(index[f.ts], round(f.quantity, 9), round(f.price, 9)) for f in got.fills] == \
        [(b, round(q, 9), round(p, 9)) for b, _, q, p, _ in ref.fills]
    assert got.kernel.cash == pytest.approx(ref.cash)


def test_a_stop_limit_triggers_in_a_bar_whose_volume_is_used_up() -> None:
    # found by hypothesis: bar 1's volume share (3 units) goes to the buy limit, the
    # sell stop-limit's stop (9.99) is touched in that bar anyway, so it rests as a
    # limit at 10.00 and fills at bar 2's open, although the price never revisits 9.99
    bars = make_bars([(1000, 1000, 1000, 1000), (1000, 1000, 999, 1000),
                      (1000, 1000, 1000, 1000)], volume=6.0)
    ref, _ = compare(bars, {0: [{"side": 1, "units": 3, "kind": "limit", "limit": 999},
                                {"side": -1, "units": 1, "kind": "stop_limit", "limit": 1000,
                                 "stop": 999}]}, volume_share=0.5)
    assert [(f[0], f[2], f[3]) for f in ref.fills] == [(1, 3.0, 9.99), (2, -1.0, 10.0)]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_orders_match_the_reference(data: st.DataObject) -> None:
    n = data.draw(st.integers(3, 15))
    rows, close = [], 1000
    for _ in range(n):
        o = close + data.draw(st.integers(-20, 20))
        c = o + data.draw(st.integers(-20, 20))
        rows.append((o, max(o, c) + data.draw(st.integers(0, 15)),
                     min(o, c) - data.draw(st.integers(0, 15)), c))
        close = c
    script: dict[int, list[dict]] = {}
    for i in range(n - 1):
        if data.draw(st.booleans()):
            kind = data.draw(st.sampled_from(["market", "limit", "stop", "stop_limit"]))
            side = data.draw(st.sampled_from([1, -1]))
            spec: dict[str, Any] = {"side": side, "units": data.draw(st.integers(1, 5)),
                                    "kind": kind}
            ref_px = rows[i][3]
            if kind in ("limit", "stop_limit"):
                spec["limit"] = ref_px + data.draw(st.integers(-25, 25))
            if kind in ("stop", "stop_limit"):
                spec["stop"] = ref_px + data.draw(st.integers(-25, 25))
            script[i] = [spec]
    limit_fill = data.draw(st.sampled_from(["touch", "through"]))
    share = data.draw(st.sampled_from([None, 0.5]))
    bars = make_bars(rows, volume=6.0)
    compare(bars, script, limit_fill=limit_fill, volume_share=share)


# ------------------------------------------------------------------------ bad input


class Bad(OrderStrategy):
    what = "nan"

    def on_bar(self, ctx: Any) -> None:
        if ctx.i != 1:
            return
        if self.what == "nan":
            ctx.buy(float("nan"))
        elif self.what == "negative":
            ctx.buy(-3)
        elif self.what == "sl_side":
            ctx.buy(1, sl=ctx.bar.close * 1.1)
        elif self.what == "kind":
            ctx.order(1, 1, kind="iceberg")
        elif self.what == "cancel":
            ctx.cancel(99)


class RaisesOnFill(OrderStrategy):
    def on_fill(self, ctx: Any, fill: Any) -> None:
        raise ValueError("oops")

    def on_bar(self, ctx: Any) -> None:
        if ctx.i == 0:
            ctx.buy(1)


@pytest.mark.parametrize(("what", "expected"), [
    ("nan", "size must be a finite number > 0"),
    ("negative", "size must be a finite number > 0"),
    ("sl_side", "must lie below its entry"),
    ("kind", "type must be one of market, limit, stop, stop_limit"),
    ("cancel", "cannot cancel order 99: it is not open"),
])
def test_bad_orders_name_strategy_symbol_and_bar(what: str, expected: str) -> None:
    bars = batch(make_bars(FLAT))
    with pytest.raises(OrderError, match=expected) as info:
        run_orders(Bad(what=what), bars, name="s1")
    assert "strategy 's1', symbol 'X', bar 1970-01-01T01:00:00Z" in str(info.value)


def test_a_strategy_raising_in_on_fill_is_named() -> None:
    with pytest.raises(OrderError, match=r"strategy 'RaisesOnFill', symbol 'X', bar "
                                         r"1970-01-01T01:00:00Z: the strategy raised ValueError"):
        run_orders(RaisesOnFill(), batch(make_bars(FLAT)))
