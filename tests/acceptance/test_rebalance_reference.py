"""Target weights and rebalancing (issue 9, deliverables 2 and 4) against plain
reference loops written here, which import nothing of admf's fill procedure.

The references follow the documented rules: an order decided on a bar's
close fills at each symbol's next open, sized there to its target weight of
the equity before that time's first fill (cash, the other symbols at their
last close), this one at the open; at one open the symbols that sell go first, in name order, then the
ones that buy; buys are cut to the cash there is, whole units round down,
and a percentage commission is paid on every leg. Equity is cash plus units
times close.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import admf
from admf.components.execution import ExecutionKernel
from admf.components.rebalance import WeightStrategy, next_due
from admf.errors import AdmfError, ConfigError
from admf.messages import BarBatch, Order
from tests.integration.test_order_studies import only, whole_series

HERE = "tests.acceptance.test_rebalance_reference"
RATE = 0.001
CASH = 100_000.0
NS = 1_000_000_000


def study(symbols: list[str], strategy: str, params: dict[str, Any] | None = None,
          **sections: Any) -> dict[str, Any]:
    return {"name": "rebalance", "seed": 11,
            "data": {"source": "synthetic", "symbols": symbols, "bars": 3000, "timeframe": "1h",
                     **sections.pop("data", {})},
            "strategies": [{"type": strategy, "params": params or {}, **sections.pop("spec", {})}],
            "portfolio": {"initial_cash": CASH},
            "execution": {"commission": {"type": "percentage", "rate": RATE}},
            **sections}


def month_of(ts: int) -> int:
    return int(np.datetime64(ts, "ns").astype("datetime64[M]").astype(np.int64))


class Book:
    """The reference's account: cash, units held and last closes per symbol."""

    def __init__(self, names: list[str]) -> None:
        self.cash = CASH
        self.held = dict.fromkeys(names, 0.0)
        self.last = dict.fromkeys(names, 0.0)
        self.before = (self.cash, dict(self.held))

    def want(self, s: str, w: float | None, price: float) -> float:
        """The units a target weight ``w`` asks for at ``price`` (None: close):
        of the equity before this time's first fill (cash, the others at their
        last close), this symbol at ``price``. Each symbol fills at most once
        per time here, so its own earlier fills at this time are none."""
        if w is None:
            return 0.0
        cash, held = self.before
        eq = cash + sum(u * self.last[o] for o, u in held.items() if o != s and u) \
            + self.held[s] * price
        return eq * (w * 100.0) / 100.0 / price

    def fill(self, s: str, w: float | None, price: float, shorts: bool) -> float:
        held, target = self.held[s], self.want(s, w, price)
        if w is None:
            return -held
        units = math.floor(abs(target - held) + 1e-9)
        if target <= held:
            return -float(units if shorts else min(units, held))
        if units * price + RATE * units * price > self.cash + 1e-9:  # cut to the cash
            units = math.floor((self.cash + 1e-9) / (price * (1 + RATE)) + 1e-9)
        return float(units)


def reference(series: dict[str, BarBatch], decide: Any, due: Any = None,
              shorts: bool = False) -> tuple[list[float], list]:
    """The rebalance loop: ``decide(i, names)`` gives the target weights on
    bar ``i`` when ``due(i)`` (every bar when None; not ready: None, asked
    again next bar); returns the equity per bar and every fill."""
    names = sorted(series)
    book = Book(names)
    orders: dict[str, float | None] = {}  # symbol -> target weight (None: close)
    equity, fills = [], []
    pending_due = False
    for i in range(len(series[names[0]])):
        opens = {s: float(series[s].open[i]) for s in names}
        book.before = (book.cash, dict(book.held))
        sellers = [s for s in names if s in orders
                   and book.want(s, orders[s], opens[s]) < book.held[s]]
        for s in sellers + [s for s in names if s in orders and s not in sellers]:
            q = book.fill(s, orders[s], opens[s], shorts)
            if q:
                book.cash -= q * opens[s] + RATE * abs(q) * opens[s]
                book.held[s] += q
                fills.append((i, s, q))
        orders = {}
        for s in names:
            book.last[s] = float(series[s].close[i])
        eq = book.cash + sum(book.held[s] * book.last[s] for s in names)
        equity.append(eq)
        pending_due = pending_due or due is None or due(i)
        target = decide(i, names) if pending_due else None
        if target is not None:
            pending_due = False
            for s in names:
                w = target.get(s, 0.0)
                if w == 0.0:
                    if book.held[s]:
                        orders[s] = None
                elif book.held[s] * book.last[s] / eq != w:
                    orders[s] = w
    return equity, fills


def got_fills(result: Any) -> list[tuple[int, str, float]]:
    table = result.order_fills
    index = {int(t): i for i, t in enumerate(result.equity["timestamp"])}
    return [(index[int(t)], s, float(q)) for t, s, q in
            zip(table["timestamp"], table["symbol"], table["quantity"])]


def monthly(series: dict[str, BarBatch]) -> Any:
    stamps = next(iter(series.values())).timestamp
    months = [month_of(int(t)) for t in stamps]
    return lambda i: i == 0 or months[i] != months[i - 1]


# -- the kernel's open across symbols -----------------------------------------------------


def _kernel(cash: float) -> ExecutionKernel:
    return ExecutionKernel(cash, whole_units=True)


def _order(oid: int, symbol: str, side: int, units: float, **kw: Any) -> Order:
    return Order(ts=0, id=oid, symbol=symbol, side=side, size=units, size_type="units", **kw)


def test_at_one_open_sales_pay_for_purchases_whatever_the_names() -> None:
    # 10 BBB held and no cash: the AAA buy placed first can only fill once BBB is sold
    kernel = _kernel(1_000.0)
    kernel.submit(_order(1, "BBB", 1, 10))
    kernel.on_bars([("AAA", 1, 100.0, 100.0, 100.0, 100.0, 1e6),
                    ("BBB", 1, 100.0, 100.0, 100.0, 100.0, 1e6)])
    assert kernel.cash == 0.0 and kernel.positions["BBB"].units == 10
    kernel.submit(_order(2, "AAA", 1, 10))
    kernel.submit(_order(3, "BBB", -1, 10))
    kernel.on_bars([("AAA", 2, 50.0, 50.0, 50.0, 50.0, 1e6),
                    ("BBB", 2, 60.0, 60.0, 60.0, 60.0, 1e6)])
    assert [(f.symbol, f.quantity, f.price) for f in kernel.fills[1:]] == \
        [("BBB", -10.0, 60.0), ("AAA", 10.0, 50.0)]
    assert kernel.cash == 100.0


def test_every_open_comes_before_any_intrabar_fill() -> None:
    # AAA's stop fills intrabar; BBB's open buy must not spend what that stop frees
    kernel = _kernel(1_000.0)
    kernel.submit(_order(1, "AAA", 1, 10))
    kernel.on_bar("AAA", 1, 100.0, 100.0, 100.0, 100.0, 1e6)
    kernel.submit(_order(2, "AAA", -1, 10, kind="stop", stop=95.0))
    kernel.submit(_order(3, "BBB", 1, 5))
    kernel.on_bars([("AAA", 2, 99.0, 99.0, 90.0, 92.0, 1e6),
                    ("BBB", 2, 10.0, 10.0, 10.0, 10.0, 1e6)])
    rejected = [u for u in kernel.updates if u.order_id == 3 and u.status == "rejected"]
    assert rejected and rejected[0].reason == "insufficient cash"
    assert kernel.cash == 950.0 and kernel.positions["AAA"].units == 0


def test_on_the_first_bar_a_symbol_just_bought_is_marked_at_its_fill() -> None:
    # no close seen yet: BBB's half of equity counts AAA at its fill price, not NaN
    kernel = _kernel(10_000.0)
    for oid, symbol in ((1, "AAA"), (2, "BBB")):
        kernel.submit(Order(ts=0, id=oid, symbol=symbol, side=1, size=50.0,
                            size_type="percent_equity"))
    kernel.on_bars([("AAA", 1, 100.0, 100.0, 100.0, 100.0, 1e6),
                    ("BBB", 1, 50.0, 50.0, 50.0, 50.0, 1e6)])
    assert [(f.symbol, f.quantity) for f in kernel.fills] == [("AAA", 50.0), ("BBB", 100.0)]


def test_an_open_is_sized_on_marks_before_the_time_not_on_its_closes() -> None:
    # AAA held with nothing working closes at 200 at the time BBB opens: BBB's 25 % of
    # equity counts AAA at its earlier close (100), not at the close it has not seen
    kernel = _kernel(2_000.0)
    kernel.submit(_order(1, "AAA", 1, 10))
    kernel.on_bar("AAA", 1, 100.0, 100.0, 100.0, 100.0, 1e6)
    kernel.submit(Order(ts=1, id=2, symbol="BBB", side=1, size=25.0, size_type="percent_equity"))
    kernel.on_bars([("AAA", 2, 100.0, 200.0, 100.0, 200.0, 1e6),
                    ("BBB", 2, 10.0, 10.0, 10.0, 10.0, 1e6)])
    assert [(f.symbol, f.quantity) for f in kernel.fills] == [("AAA", 10.0), ("BBB", 50.0)]


def test_one_symbol_at_a_time_is_the_single_bar_procedure() -> None:
    a, b = _kernel(1_000.0), _kernel(1_000.0)
    for k in (a, b):
        k.submit(_order(1, "AAA", 1, 3, kind="limit", limit=99.0))
    a.on_bar("AAA", 1, 100.0, 101.0, 98.0, 100.5, 1e6)
    b.on_bars([("AAA", 1, 100.0, 101.0, 98.0, 100.5, 1e6)])
    assert a.fills == b.fills and a.cash == b.cash


# -- schedules ------------------------------------------------------------------------------


def _ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


@pytest.mark.parametrize(("rule", "day", "now", "due"), [
    ("daily", 0, "2024-03-05T15:00", "2024-03-06T00:00"),
    ("weekly", 0, "2024-03-05T15:00", "2024-03-11T00:00"),    # a Tuesday: next Monday
    ("weekly", 4, "2024-03-05T15:00", "2024-03-08T00:00"),    # the same week's Friday
    ("weekly", 1, "2024-03-05T00:00", "2024-03-12T00:00"),    # exactly due: the next one
    ("monthly", 1, "2024-01-31T23:59", "2024-02-01T00:00"),
    ("monthly", 15, "2024-02-10T00:00", "2024-02-15T00:00"),
    ("monthly", 15, "2024-02-20T00:00", "2024-03-15T00:00"),
    ("quarterly", 1, "2024-02-10T00:00", "2024-04-01T00:00"),
    ("yearly", 1, "2024-02-10T00:00", "2025-01-01T00:00"),
])
def test_the_next_due_time_of_each_rule(rule: str, day: int, now: str, due: str) -> None:
    assert next_due(rule, day, _ns(now)) == _ns(due)


# -- studies against the reference loops ----------------------------------------------------


@pytest.mark.parametrize("symbols", [["AAA", "BBB", "CCC", "DDD"], ["DDD", "BBB", "AAA", "CCC"]])
def test_a_monthly_equal_weight_rebalance_with_costs_books_the_reference(
        symbols: list[str]) -> None:
    config = study(symbols, "equal_weight", {"rebalance": "monthly"}, data={"batch_rows": 97})
    got = only(admf.run_sync(config, write=False))
    series = {s: whole_series(config, s) for s in symbols}
    equity, fills = reference(series, lambda i, names: dict.fromkeys(names, 1 / len(names)),
                              monthly(series))
    assert got_fills(got) == fills and len(fills) > 4 * 4
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-6)
    months = len({month_of(int(t)) for t in series["AAA"].timestamp})
    assert len({i for i, _, _ in fills}) == months  # one rebalance a month, filled next bar


def test_a_top_n_rotation_books_the_reference() -> None:
    symbols = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    lookback, top = 48, 2
    config = study(symbols, "momentum_rotation", {"lookback": lookback, "top": top,
                                                  "rebalance": "weekly"})
    got = only(admf.run_sync(config, write=False))
    series = {s: whole_series(config, s) for s in symbols}
    stamps = series["AAA"].timestamp
    weeks = [(int(t) // (86_400 * NS) - 4) // 7 for t in stamps]

    def decide(i: int, names: list[str]) -> dict[str, float] | None:
        if i < lookback:
            return None
        score = {s: float(series[s].close[i]) / float(series[s].close[i - lookback]) - 1
                 for s in names}
        return dict.fromkeys(sorted(names, key=lambda s: (-score[s], s))[:top], 1 / top)

    equity, fills = reference(series, decide, lambda i: i == 0 or weeks[i] != weeks[i - 1])
    assert got_fills(got) == fills and len(fills) > 20
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-6)
    assert set(got.trades["symbol"].tolist()) == set(symbols)


class Pairs(WeightStrategy):
    """Long the cheap leg, short the rich one when the log-price spread's
    z-score over ``lookback`` bars passes ``entry``; flat inside ``exit``."""

    rebalance = "every_bar"
    lookback = 50
    entry = 1.5
    exit = 0.3

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.side = 0

    def weights(self, ctx: Any) -> dict[str, float] | None:
        a = np.log(ctx["AAA"].history("close", self.lookback))
        b = np.log(ctx["BBB"].history("close", self.lookback))
        if len(a) < self.lookback:
            return None
        spread = a - b
        z = (spread[-1] - spread.mean()) / spread.std()
        if self.side == 0 and abs(z) > self.entry:
            self.side = -1 if z > 0 else 1
        elif self.side != 0 and abs(z) < self.exit:
            self.side = 0
        return {"AAA": 0.4 * self.side, "BBB": -0.4 * self.side} if self.side else {}


def test_a_pairs_strategy_books_the_reference() -> None:
    config = study(["AAA", "BBB"], f"{HERE}:Pairs", spec={"direction": "long_short"})
    got = only(admf.run_sync(config, write=False))
    series = {s: whole_series(config, s) for s in ("AAA", "BBB")}
    side = 0

    def decide(i: int, names: list[str]) -> dict[str, float] | None:
        nonlocal side
        if i < 49:
            return None
        a = np.log(series["AAA"].close[i - 49: i + 1])
        b = np.log(series["BBB"].close[i - 49: i + 1])
        spread = a - b
        z = (spread[-1] - spread.mean()) / spread.std()
        if side == 0 and abs(z) > 1.5:
            side = -1 if z > 0 else 1
        elif side != 0 and abs(z) < 0.3:
            side = 0
        return {"AAA": 0.4 * side, "BBB": -0.4 * side} if side else {}

    equity, fills = reference(series, decide, shorts=True)
    assert got_fills(got) == fills and len(fills) > 10
    assert any(q < 0 for _, s, q in fills if s == "AAA") and any(q > 0 for _, s, q in fills
                                                                    if s == "AAA")
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-6)


@settings(max_examples=12, deadline=None)
@given(order=st.permutations(["AAA", "BBB", "CCC"]), rows=st.integers(1, 400),
       rule=st.sampled_from(["weekly", "monthly"]), drift=st.sampled_from([0.0, 0.02]))
def test_results_do_not_depend_on_the_order_symbols_are_listed(order: list[str], rows: int,
                                                               rule: str, drift: float) -> None:
    def run(symbols: list[str], batch_rows: int) -> Any:
        return only(admf.run_sync(study(symbols, "inverse_volatility",
                                        {"lookback": 30, "rebalance": rule, "drift": drift},
                                        data={"bars": 1500, "batch_rows": batch_rows}),
                                  write=False))

    base, got = run(["AAA", "BBB", "CCC"], 100_000), run(order, rows)
    assert got.equity["equity"].tolist() == base.equity["equity"].tolist()
    assert got_fills(got) == got_fills(base) and len(got_fills(base)) > 3


def test_drift_skips_small_differences() -> None:
    symbols = ["AAA", "BBB", "CCC"]
    runs = {d: only(admf.run_sync(study(symbols, "equal_weight",
                                        {"rebalance": "every_bar", "drift": d}), write=False))
            for d in (0.0, 0.05)}
    assert 3 < len(got_fills(runs[0.05])) < len(got_fills(runs[0.0])) / 10


def test_the_broker_actor_books_what_the_fused_loop_books() -> None:
    base = study(["AAA", "BBB", "CCC"], "momentum_rotation", {"lookback": 24, "top": 1})
    fused = only(admf.run_sync(base, write=False))
    actor = only(admf.run_sync({**base, "topology": {"pattern": "orders_broker"}}, write=False))
    assert got_fills(actor) == got_fills(fused) and len(got_fills(fused)) > 5
    assert actor.equity["equity"].tolist() == fused.equity["equity"].tolist()


# -- bad weights and rules ------------------------------------------------------------------


class Fixed(WeightStrategy):
    """Returns ``Fixed.target`` on every due bar."""

    target: Any = None
    rebalance = "every_bar"

    def weights(self, ctx: Any) -> Any:
        return Fixed.target


@pytest.mark.parametrize(("target", "expected"), [
    ({"AAA": float("nan")}, r"symbol 'AAA', bar 2020-01-01T00:00:00Z: weight nan is not a finite"),
    ({"AAA": -0.2}, r"symbol 'AAA', bar .*: negative weight -0.2 with direction long_only"),
    ({"AAA": 0.3, "BBB": 0.75}, r"symbol 'BBB', bar .*: weights sum to 1.05 \(absolute\), "
                                r"above the leverage cap of 1 a cash account has"),
    ({"ZZZ": 0.5}, r"symbol 'ZZZ', bar .*: a weight for 'ZZZ', which is not a symbol of this "
                   r"study \(symbols: AAA, BBB\)"),
    ({"AAA": 0.7, "BBB": 0.6}, r"symbol 'AAA', bar .*: weights sum to 1.3 \(absolute\), above "
                               "the leverage cap"),
    ({"AAA": "half"}, r"symbol 'AAA', bar .*: weight 'half' is not a number"),
    ([0.5, 0.5], r"symbols AAA, BBB, bar 2020-01-01T00:00:00Z: weights\(\) must return a mapping"),
])
def test_bad_weights_name_the_strategy_symbol_and_bar(target: Any, expected: str) -> None:
    Fixed.target = target
    with pytest.raises(AdmfError, match=r"strategy 'Fixed' .*, " + expected):
        admf.run_sync(study(["AAA", "BBB"], f"{HERE}:Fixed"), write=False)


@pytest.mark.parametrize(("params", "expected"), [
    ({"rebalance": "fortnightly"}, r"rebalance must be one of every_bar, daily, weekly"),
    ({"every": 0}, r"every must be a whole number of periods >= 1, got 0 \(a rule that never "
                   "fires\\)"),
    ({"rebalance": "monthly", "day": 31}, r"day must be a whole number in 1 … 28 for rebalance "
                                         "'monthly', got 31 \\(a day some months do not have\\)"),
    ({"rebalance": "weekly", "day": 7}, r"day must be a whole number in 0 … 6"),
    ({"drift": -0.1}, r"drift must be a weight difference in \[0, 1\)"),
    ({"top": 0}, r"top must be a whole number >= 1"),
])
def test_a_rule_that_cannot_fire_is_refused_before_any_bar(params: dict[str, Any],
                                                           expected: str) -> None:
    with pytest.raises(ConfigError, match=r"strategies.*params: momentum_rotation: .*" + expected):
        admf.run_sync(study(["AAA", "BBB"], "momentum_rotation", params), write=False)


# -- the vectorised marks between due times ---------------------------------------------


def _frames(spec: list[tuple[int, int, int]], seed: int) -> dict[str, dict[str, np.ndarray]]:
    """One hourly series per (bars, first hour, one hour in ``holes`` missing):
    late starts, early ends and holes."""
    out = {}
    for k, (n, start, holes) in enumerate(spec):
        rng = np.random.default_rng(seed + k)
        kept = np.flatnonzero(rng.integers(0, holes, n) != 0) if holes > 1 else np.arange(n)
        n = len(kept)
        close = 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, n)))
        open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.002, n))
        hours = (start + kept).astype("timedelta64[h]")
        stamps = (np.datetime64("2021-01-01T00:00") + hours).astype("datetime64[ns]")
        out[f"S{k}"] = {"timestamp": stamps.astype(np.int64), "open": open_,
                        "high": np.maximum(open_, close) * 1.002,
                        "low": np.minimum(open_, close) * 0.998, "close": close,
                        "volume": np.full(n, 1e6)}
    return out


@settings(max_examples=25, deadline=None)
@given(spec=st.lists(st.tuples(st.integers(200, 900), st.integers(0, 300),
                               st.sampled_from([1, 4, 6, 10])),
                     min_size=1, max_size=4),
       strategy=st.sampled_from([("equal_weight", {}), ("inverse_volatility", {"lookback": 20}),
                                 ("momentum_rotation", {"lookback": 30, "top": 2})]),
       rule=st.sampled_from(["daily", "weekly", "monthly"]), every=st.integers(1, 3),
       drift=st.sampled_from([0.0, 0.03]), rows=st.integers(1, 500), seed=st.integers(0, 99))
def test_marking_spans_between_due_times_books_what_the_per_row_loop_books(
        spec: list[tuple[int, int, int]], strategy: tuple[str, dict[str, Any]], rule: str,
        every: int, drift: float, rows: int, seed: int) -> None:
    import admf.containers.orders as orders

    frames = _frames(spec, seed)
    kind, params = strategy
    config = study(sorted(frames), kind, {**params, "rebalance": rule, "every": every,
                                          "drift": drift},
                   data={"batch_rows": rows}, portfolio={"initial_cash": CASH,
                                                         "close_at_end": True})
    config["data"] = {"symbols": sorted(frames), "timeframe": "1h", "batch_rows": rows}
    got = {}
    for spans in (True, False):
        orders.MARK_SPANS = spans
        try:
            got[spans] = only(admf.run_sync(config, write=False, data=frames))
        finally:
            orders.MARK_SPANS = True
    fast, slow = got[True], got[False]
    assert fast.equity["equity"].tolist() == slow.equity["equity"].tolist()
    assert fast.equity["exposure"].tolist() == slow.equity["exposure"].tolist()
    assert fast.equity["timestamp"].tolist() == slow.equity["timestamp"].tolist()
    assert got_fills(fast) == got_fills(slow)
    assert fast.trades["pnl"].tolist() == slow.trades["pnl"].tolist()
    assert fast.trades["bars_held"].tolist() == slow.trades["bars_held"].tolist()


def test_a_margin_account_lets_weights_reach_its_leverage() -> None:
    Fixed.target = {"AAA": 0.75, "BBB": 0.75}
    config = study(["AAA", "BBB"], f"{HERE}:Fixed", portfolio={
        "initial_cash": CASH, "account": {"type": "margin", "leverage": 2}})
    got = only(admf.run_sync(config, write=False))
    exposure = got.equity["exposure"][5:]
    assert 1.4 < float(np.median(exposure)) < 1.6
    Fixed.target = {"AAA": 1.5, "BBB": 0.75}
    with pytest.raises(AdmfError, match=r"weights sum to 2.25 \(absolute\), above the leverage "
                                        r"cap of 2 of the margin account"):
        admf.run_sync(config, write=False)


def test_a_short_only_strategy_refuses_a_long_weight() -> None:
    Fixed.target = {"AAA": 0.5}
    with pytest.raises(AdmfError, match=r"symbol 'AAA', bar .*: positive weight 0.5 with "
                                        r"direction short_only"):
        admf.run_sync(study(["AAA", "BBB"], f"{HERE}:Fixed", spec={"direction": "short_only"}),
                      write=False)


# -- a weights matrix computed elsewhere ----------------------------------------------------


def _table_rows(stamps: np.ndarray, every: int, names: list[str], seed: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Row times between bar times (a row at 10:30 is applied on the 11:00 bar)
    and random long weights summing to 0.9."""
    rng = np.random.default_rng(seed)
    times = stamps[::every][1:] - 30 * 60 * NS
    return times, rng.dirichlet(np.ones(len(names)), len(times)) * 0.9


@pytest.mark.parametrize("form", ["wide_csv", "long_parquet"])
def test_a_weights_table_books_the_reference(tmp_path: Any, form: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    symbols = ["AAA", "BBB", "CCC"]
    probe = study(symbols, "equal_weight")
    series = {s: whole_series(probe, s) for s in symbols}
    stamps = series["AAA"].timestamp
    times, weights = _table_rows(stamps, 97, symbols, 4)
    iso = np.datetime_as_string(times.astype("datetime64[ns]"), unit="s")
    if form == "wide_csv":
        path = tmp_path / "weights.csv"
        lines = ["Date," + ",".join(symbols)]
        lines += [f"{t}Z," + ",".join(repr(float(w)) for w in row) for t, row in zip(iso, weights)]
        path.write_text("\n".join(lines) + "\n")
    else:
        path = tmp_path / "weights.parquet"
        k = np.arange(len(times)).repeat(len(symbols))[::-1]  # the long form in any row order
        pq.write_table(pa.table({
            "timestamp": pa.array(times[k].astype("datetime64[ns]"), pa.timestamp("ns", "UTC")),
            "symbol": [symbols[j] for j in np.tile(np.arange(len(symbols)), len(times))[::-1]],
            "weight": weights.reshape(-1)[::-1]}), path)
    got = only(admf.run_sync(study(symbols, "weights_table", {"path": str(path)}), write=False))

    def decide(i: int, names: list[str]) -> dict[str, float] | None:
        row = int(np.searchsorted(times, stamps[i], side="right")) - 1
        if row < 0 or row == decide.applied:  # type: ignore[attr-defined]
            return None
        decide.applied = row  # type: ignore[attr-defined]
        return {s: float(w) for s, w in zip(symbols, weights[row])}

    decide.applied = -1  # type: ignore[attr-defined]
    equity, fills = reference(series, decide)
    assert got_fills(got) == fills and len({i for i, _, _ in fills}) == len(times)
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("text", "expected"), [
    (None, r"no such weights file"),
    ("when,AAA\n2020-01-01,0.5\n", r"no time column \(expected one of timestamp, date"),
    ("date,AAA\n2020-01-01,0.5\n2020-01-03,nan\n", r"row 2: the weight of 'AAA' is not a finite"),
    ("date,AAA\n2020-01-03,0.5\n2020-01-02,0.4\n", r"row 2: times must increase \(row 2 is before"),
    ("date,AAA\n2020-01-02,0.5\n2020-01-02,0.4\n", r"row 2: times must increase \(row 2 is the same"),
    ("date\n2020-01-02\n", r"no weight columns"),
    ("date,symbol,weight\n2020-01-02,AAA,0.5\n2020-01-02,AAA,0.4\n",
     r"row 2: a second weight for 'AAA' at the same time"),
    ("date,AAA\nsoon,0.5\n", r"column 'date' .* expected times"),
])
def test_a_bad_weights_table_names_the_file_and_row(tmp_path: Any, text: str | None,
                                                    expected: str) -> None:
    path = tmp_path / "weights.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=r"strategies\[0\]\.params: weights_table: .*"
                                          + r"weights\.csv: " + expected):
        admf.run_sync(study(["AAA"], "weights_table", {"path": str(path)}), write=False)


def test_a_table_naming_a_symbol_not_in_the_study_is_named_at_its_bar(tmp_path: Any) -> None:
    path = tmp_path / "weights.csv"
    path.write_text("date,AAA,ZZZ\n2020-01-01,0.5,0.2\n")
    with pytest.raises(AdmfError, match=r"symbol 'ZZZ', bar 2020-01-01T00:00:00Z: a weight for "
                                        r"'ZZZ', which is not a symbol of this study"):
        admf.run_sync(study(["AAA", "BBB"], "weights_table", {"path": str(path)}), write=False)


def test_a_weight_sweep_gives_the_same_results_inline_and_in_processes(tmp_path: Any) -> None:
    # the span path, the table cache and the schedule are per process: none may show
    path = tmp_path / "weights.csv"
    path.write_text("date,AAA,BBB\n2020-01-01,0.3,0.6\n2020-01-20,0.7,0.2\n2020-02-11,0.5,0.5\n")

    def table(kind: str) -> dict[str, list[Any]]:
        config = study(["AAA", "BBB"], "momentum_rotation",
                       {"lookback": [24, 48], "top": 1, "rebalance": ["daily", "weekly"]},
                       executor={"kind": kind, "workers": 2} if kind != "inline" else
                       {"kind": "inline"}, sequence={"type": "parameter_sweep"})
        config["strategies"].append({"type": "weights_table", "params": {"path": str(path)}})
        runs = admf.run_sync(config, write=False).runs
        return {column: list(runs[column]) for column in runs.columns}

    inline, pooled = table("inline"), table("processes")
    np.testing.assert_equal(inline, pooled)  # NaN where a strategy lacks a parameter
    assert len(inline["run"]) == 5
