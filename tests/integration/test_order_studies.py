"""Order strategies in studies (issue 8, deliverables 3 and 5): a YAML or dict
study whose strategy places orders and sees its fills runs through every
sequence and writes the same results as a target study.

References: :func:`admf.components.context.run_orders` (one fused loop over
the whole series in memory) for one symbol, and a plain loop written here
for two symbols sharing cash (market orders of fixed units, fills at the next
open, a percentage commission): each row's equity is cash plus units times
close, worked out without the kernel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import admf
from admf.components.context import (
    Context,
    OrderStrategy,
    Universe,
    UniverseStrategy,
    run_orders,
)
from admf.components.costs import PercentageCommission
from admf.errors import AdmfError, ConfigError
from admf.messages import BarBatch, Fill, OrderUpdate
from admf.research.bars import bar_stream
from admf.research.config import load_study

HERE = "tests.integration.test_order_studies"


class Cross(OrderStrategy):
    """SMA cross with a bracket on every entry; exits on the cross back."""

    indicators = {"fast": ("sma", {"period": 8}), "slow": ("sma", {"period": 21})}
    sl = 0.01
    size = 0.5

    def on_bar(self, ctx: Context) -> None:
        if ctx.crossed("fast", "slow") and not ctx.position:
            ctx.buy(self.size, sl=self.sl, sl_kind="fraction", tp=0.02, tp_kind="fraction")
        elif ctx.crossed("slow", "fast") and ctx.position:
            ctx.close()


class Schedule(OrderStrategy):
    """Buys ``units`` on bar ``buy``, sells them on bar ``sell`` (market orders)."""

    units = 3.0
    buy = 2
    sell = 6

    def on_bar(self, ctx: Context) -> None:
        if ctx.i == self.buy:
            ctx.buy(self.units, size_type="units")
        elif ctx.i == self.sell:
            ctx.sell(self.units, size_type="units")


class Heard(OrderStrategy):
    """Tries to sell short on bar 3; records what it hears."""

    log: list = []

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        Heard.log.append((ctx.i, update.status, update.reason))

    def on_bar(self, ctx: Context) -> None:
        if ctx.i == 3:
            ctx.sell(2, size_type="units")


class Peek(OrderStrategy):
    """Checks ``history`` against the bars it was shown, across batches."""

    seen: list = []
    history_bars = 7

    def on_bar(self, ctx: Context) -> None:
        Peek.seen.append(ctx.bar.close)
        if ctx.i >= 6:
            got = ctx.history("close", 7).tolist()
            assert got == Peek.seen[-7:], (ctx.i, got, Peek.seen[-7:])


class Greedy(OrderStrategy):
    history_bars = 3

    def on_bar(self, ctx: Context) -> None:
        if ctx.i == 40:
            ctx.history("close", 10)


def study(symbols: list[str], *, bars: int = 3000, strategy: str = "Cross",
          params: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {"name": "orders", "seed": 3,
            "data": {"source": "synthetic", "symbols": symbols, "bars": bars, "timeframe": "1m",
                     **sections.pop("data", {})},
            "strategies": [{"type": f"{HERE}:{strategy}", "params": params or {},
                            **sections.pop("spec", {})}],
            "execution": {"commission": {"type": "percentage", "rate": 0.001},
                          **sections.pop("execution", {})},
            **sections}


def whole_series(config: dict[str, Any], symbol: str) -> BarBatch:
    batches = list(bar_stream(load_study(config), symbol)())
    return BarBatch(ts=batches[0].ts, symbol=symbol,
                    **{f: np.concatenate([getattr(b, f) for b in batches])
                       for f in ("timestamp", "open", "high", "low", "close", "volume")})


def only(result: Any) -> Any:
    (portfolio,) = result.portfolios.values()
    return portfolio


@pytest.mark.parametrize("batch_rows", [1, 17, 500, 65536])
def test_one_symbol_books_what_the_fused_loop_books(batch_rows: int) -> None:
    config = study(["AAA"], data={"batch_rows": batch_rows},
                   spec={"direction": "long_short"})
    got = only(admf.run_sync(config, write=False))
    bars = whole_series(config, "AAA")
    ref = run_orders(Cross(), bars, cash=100_000.0, commission=PercentageCommission(rate=0.001),
                     whole_units=True, name="Cross")
    assert got.equity["timestamp"].tolist() == bars.timestamp.tolist()
    np.testing.assert_array_equal(got.equity["equity"], ref.equity)
    np.testing.assert_array_equal(got.equity["cash"], ref.cash)
    closed = got.trades["open"] == False  # noqa: E712
    assert int(closed.sum()) == len(ref.trades) > 20
    for column, k in (("entry_time", 2), ("exit_time", 3), ("entry_price", 4),
                      ("exit_price", 5), ("quantity", 6)):
        assert got.trades[column][closed].tolist() == [t[k] for t in ref.trades], column
    assert got.fills == len(ref.fills)
    assert {"stop_loss", "take_profit", "close"} <= set(got.trades["reason"].tolist())


def reference_two_symbols(a: BarBatch, b: BarBatch, units: float, buy: int, sell: int,
                          rate: float, cash: float) -> tuple[list[int], list[float]]:
    """Fills at the open of the bar after the decision, both symbols on one
    cash account; equity = cash + units x close (the last close of a symbol
    without a bar at that time)."""
    rows: dict[int, list[tuple[str, int, BarBatch]]] = {}
    for name, bars in (("AAA", a), ("BBB", b)):
        for i, t in enumerate(bars.timestamp.tolist()):
            rows.setdefault(t, []).append((name, i, bars))
    held = {"AAA": 0.0, "BBB": 0.0}
    last = {"AAA": 0.0, "BBB": 0.0}
    times, equity = [], []
    for t in sorted(rows):
        for name, i, bars in rows[t]:
            side = 1 if i == buy + 1 else -1 if i == sell + 1 else 0
            if side:
                price = float(bars.open[i])
                cash -= side * units * price + units * price * rate
                held[name] += side * units
            last[name] = float(bars.close[i])
        times.append(t)
        equity.append(cash + sum(held[s] * last[s] for s in held))
    return times, equity


def test_two_symbols_share_one_account_as_a_plain_loop_says() -> None:
    config = study(["BBB", "AAA"], bars=40, strategy="Schedule",
                   params={"units": 4.0, "buy": 5, "sell": 20})
    got = only(admf.run_sync(config, write=False))
    a, b = whole_series(config, "AAA"), whole_series(config, "BBB")
    times, equity = reference_two_symbols(a, b, 4.0, 5, 20, 0.001, 100_000.0)
    assert got.equity["timestamp"].tolist() == times
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-9)
    assert got.trades["symbol"].tolist() == ["AAA", "BBB"]
    assert got.trades["reason"].tolist() == ["order", "order"]


@settings(max_examples=12, deadline=None)
@given(batch_rows=st.integers(1, 400), order=st.permutations(["AAA", "BBB", "CCC"]))
def test_results_do_not_depend_on_batching_or_the_listing_of_symbols(
        batch_rows: int, order: list[str]) -> None:
    base = only(admf.run_sync(study(["AAA", "BBB", "CCC"], bars=600), write=False))
    got = only(admf.run_sync(study(order, bars=600, data={"batch_rows": batch_rows}),
                             write=False))
    assert got.trades["symbol"].tolist() == base.trades["symbol"].tolist()
    assert got.trades["pnl"].tolist() == base.trades["pnl"].tolist()
    assert got.equity["equity"].tolist() == base.equity["equity"].tolist()
    assert len(base.trades["pnl"]) > 5


def test_close_at_end_books_the_exit_with_its_costs_on_the_last_row() -> None:
    config = study(["AAA"], bars=50, strategy="Schedule",
                   params={"units": 10.0, "buy": 3, "sell": 10_000},
                   portfolio={"close_at_end": True})
    got = only(admf.run_sync(config, write=False))
    bars = whole_series(config, "AAA")
    entry, last = float(bars.open[4]), float(bars.close[-1])
    cash = 100_000.0 - 10 * entry * 1.001 + 10 * last * 0.999
    assert got.trades["reason"].tolist() == ["end_of_data"]
    assert got.trades["open"].tolist() == [False]
    assert got.equity["equity"][-1] == pytest.approx(cash, abs=1e-9)
    assert got.final_equity == pytest.approx(cash, abs=1e-9)
    assert got.trades["commission"][0] == pytest.approx(10 * entry * 0.001 + 10 * last * 0.001)


def test_long_only_refuses_a_short_and_the_strategy_hears_why() -> None:
    Heard.log = []
    got = only(admf.run_sync(study(["AAA"], bars=30, strategy="Heard"), write=False))
    assert got.fills == 0
    assert Heard.log[0][:2] == (4, "rejected") and "long_only" in Heard.log[0][2]
    Heard.log = []
    shorted = only(admf.run_sync(study(["AAA"], bars=30, strategy="Heard",
                                       spec={"direction": "long_short"}), write=False))
    assert shorted.fills == 1 and Heard.log == []
    assert shorted.trades["direction"].tolist() == [-1]


def test_history_reaches_across_batches_and_says_when_it_reaches_too_far() -> None:
    Peek.seen = []
    admf.run_sync(study(["AAA"], bars=200, strategy="Peek", data={"batch_rows": 5}), write=False)
    assert len(Peek.seen) == 200
    with pytest.raises(AdmfError, match=r"Greedy.*symbol 'AAA'.*history\('close', 10\).*"
                                         r"history_bars to at least 10"):
        admf.run_sync(study(["AAA"], bars=200, strategy="Greedy", data={"batch_rows": 8}),
                      write=False)


def test_walk_forward_trades_each_test_window_from_its_first_bar_only(tmp_path: Path) -> None:
    config = study(["AAA"], bars=6000, params={"sl": [0.005, 0.01, 0.02]},
                   sequence={"type": "walk_forward", "train": 2000, "test": 1000},
                   results={"dir": str(tmp_path)})
    result = admf.run_sync(config)
    windows = result.windows
    starts = [np.datetime64(str(t).rstrip("Z"), "ns").astype(np.int64)
              for t in windows["test_start"]]
    assert len(starts) == 4
    traded = 0
    for w, start in enumerate(starts):
        (run,) = (result.path / "main" / "runs").glob(f"w{w:03d}-test-*")
        equity = pq.read_table(run / "equity.parquet").column("timestamp").cast("int64")
        assert equity[0].as_py() == start  # warm-up bars are not traded or marked
        entries = pq.read_table(run / "trades.parquet").column("entry_time").cast("int64")
        assert all(t >= start for t in entries.to_pylist())
        traded += len(entries)
    assert traded > 0 and result.metrics.trade_count == traded


@pytest.mark.parametrize(("sections", "match"), [
    ({"risk": {"stop_loss": 0.02}}, r"risk\.stop_loss: an order strategy attaches"),
    ({"portfolio": {"sizing": {"type": "fixed_quantity", "quantity": 5}}},
     r"portfolio\.sizing: an order carries its own size"),
    ({"execution": {"fill": "next_close"}}, r"execution\.fill: order strategies fill at"),
    ({"topology": {"pattern": "signal_generation"}}, r"topology\.pattern: 'signal_generation'"),
    ({"params": {"nope": 1}}, r"Cross has no parameter 'nope'"),
])
def test_what_does_not_apply_to_order_strategies_is_refused_by_key(
        sections: dict[str, Any], match: str) -> None:
    params = sections.pop("params", None)
    with pytest.raises(ConfigError, match=match):
        admf.run_sync(study(["AAA"], bars=100, params=params, **sections), write=False)


def test_order_and_target_strategies_do_not_mix_and_intrabar_is_for_orders() -> None:
    mixed = study(["AAA"], bars=100)
    mixed["strategies"].append({"type": "sma_crossover", "params": {"fast": 5, "slow": 20}})
    with pytest.raises(ConfigError, match=r"strategies\[0\] place orders"):
        admf.run_sync(mixed, write=False)
    targets = study(["AAA"], bars=100, execution={"intrabar": "adverse"})
    targets["strategies"] = [{"type": "sma_crossover", "params": {"fast": 5, "slow": 20}}]
    with pytest.raises(ConfigError, match=r"execution\.intrabar applies to order strategies"):
        admf.run_sync(targets, write=False)


class Raises(OrderStrategy):
    def on_fill(self, ctx: Context, fill: Fill) -> None:
        raise KeyError("boom")

    def on_bar(self, ctx: Context) -> None:
        if ctx.i == 2:
            ctx.buy(1, size_type="units")


def test_a_strategy_raising_in_on_fill_is_named_with_its_symbol_and_bar() -> None:
    with pytest.raises(AdmfError, match=r"strategy 'Raises' \(strategies\[0\].*symbol 'AAA', "
                                         r"bar 2020-01-01T00:03:00Z: the strategy raised KeyError: 'boom' "
                                         r"\(.*test_order_studies.py:\d+ in on_fill\)"):
        admf.run_sync(study(["AAA"], bars=20, strategy="Raises"), write=False)


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_every_fill_is_written_beside_the_trades(tmp_path: Path, storage: str) -> None:
    config = study(["AAA", "BBB"], bars=1500, results={"dir": str(tmp_path), "storage": storage},
                   execution={"slippage": {"type": "fixed_bps", "bps": 2}})
    result = admf.run_sync(config)
    (run,) = (result.path / "main" / "runs").iterdir()
    fills = pq.read_table(run / "fills.parquet").to_pydict()
    trades = pq.read_table(run / "trades.parquet").to_pydict()
    metrics = only(result).metrics
    assert len(fills["order_id"]) == only(result).fills > 20
    # every unit bought is sold or still open; costs add up to the trades'
    net = {s: 0.0 for s in ("AAA", "BBB")}
    for s, q in zip(fills["symbol"], fills["quantity"]):
        net[s] += q
    still = {s: sum(q * d for s2, q, d, o in zip(trades["symbol"], trades["quantity"],
                                                   trades["direction"], trades["open"])
                    if s2 == s and o) for s in net}
    assert net == pytest.approx(still, abs=1e-9)
    assert sum(fills["commission"]) == pytest.approx(sum(trades["commission"]), rel=1e-12)
    assert sum(fills["slippage"]) == pytest.approx(sum(trades["slippage"]), rel=1e-12)
    assert all(s > 0 for s in fills["slippage"])
    assert set(fills["phase"]) <= {"open", "intrabar", "close"}
    assert metrics.trade_count == len(trades["pnl"])
    # the result API reads the same table, in memory and from the run directory
    for got in (result.fills, admf.run_sync({**config, "results": {"dir": str(tmp_path)}},
                                            write=False).fills):
        assert len(got) == len(fills["order_id"])
        assert got["quantity"].tolist() == fills["quantity"]
        assert got.columns == list(fills)


def test_a_target_study_has_no_fills_and_says_where_its_trades_are() -> None:
    result = admf.run_sync({"name": "t", "data": {"source": "synthetic", "symbols": ["A"],
                                                  "bars": 300}, "strategies": [{"type": "sma_crossover"}]},
                           write=False)
    assert len(result.trades) > 0
    with pytest.raises(AdmfError, match=r"kept no fills \(fills are an order strategy's"):
        _ = result.fills


def test_the_same_sweep_gives_the_same_results_inline_and_in_processes() -> None:
    def table(kind: str) -> dict[str, list[Any]]:
        config = study(["AAA", "BBB"], bars=2000, params={"sl": [0.005, 0.01, 0.02]},
                       sequence={"type": "parameter_sweep"},
                       executor={"kind": kind, "workers": 2} if kind != "inline" else
                       {"kind": "inline"})
        runs = admf.run_sync(config, write=False).runs
        return {column: list(runs[column]) for column in runs.columns}

    inline, pooled = table("inline"), table("processes")
    assert inline == pooled and len(inline["sl"]) == 3


class Random(OrderStrategy):
    """Places, cancels and replaces orders of every kind at random (seeded
    per symbol), long and short, with brackets and times in force."""

    seed = 0

    def on_bar(self, ctx: Context) -> None:
        import random

        if not hasattr(self, "rng"):
            self.rng = random.Random(self.seed * 1000 + sum(map(ord, ctx.symbol)))
        rng, price = self.rng, ctx.bar.close
        open_ids = [o.id for o in ctx.orders if o.parent is None]
        roll = rng.random()
        if roll < 0.08 and open_ids:
            ctx.cancel(rng.choice(open_ids))
        elif roll < 0.12 and open_ids:
            ctx.replace(rng.choice(open_ids), limit=price * (1 - rng.uniform(0, 0.01)))
        elif roll < 0.3:
            side = rng.choice((1, -1))
            kind = rng.choice(("market", "limit", "stop", "stop_limit"))
            away = price * rng.uniform(0.0, 0.01)
            level = {"limit": {"limit": price - side * away},
                     "stop": {"stop": price + side * away},
                     "stop_limit": {"stop": price + side * away,
                                    "limit": price + side * away * 1.5},
                     "market": {}}[kind]
            extra: dict[str, Any] = {}
            if rng.random() < 0.5:
                extra.update(sl=0.01, sl_kind="fraction", tp=0.015, tp_kind="fraction")
            if rng.random() < 0.2:
                extra.update(trail=0.008)
            if rng.random() < 0.3:
                extra.update(tif="bars", bars=rng.randint(1, 5))
            size = rng.choice((0.2, 5.0, 12.5))
            (ctx.buy if side > 0 else ctx.sell)(size, kind=kind, **level, **extra)
        elif roll < 0.34 and ctx.position:
            ctx.close(rng.choice((0.5, 1.0)))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), batch_rows=st.integers(1, 300),
       symbols=st.sampled_from([["AAA"], ["AAA", "BBB"]]), close=st.booleans(),
       intrabar=st.sampled_from(["ohlc", "adverse"]),
       volume=st.sampled_from([None, 0.002]))
def test_the_broker_actor_books_exactly_what_the_fused_loop_books(
        seed: int, batch_rows: int, symbols: list[str], close: bool, intrabar: str,
        volume: float | None) -> None:
    slippage = ({"type": "volume_share", "limit": volume, "impact": 0.1} if volume
                else {"type": "fixed_bps", "bps": 3})
    def run(pattern: str) -> Any:
        config = study(symbols, bars=400, strategy="Random", params={"seed": seed},
                       spec={"direction": "long_short"}, data={"batch_rows": batch_rows},
                       portfolio={"close_at_end": close}, topology={"pattern": pattern},
                       execution={"intrabar": intrabar, "slippage": slippage})
        return only(admf.run_sync(config, write=False))

    fused, actor = run("orders"), run("orders_broker")
    assert fused.fills > 0
    assert fused.fills == actor.fills
    for column in fused.order_fills:
        assert fused.order_fills[column].tolist() == actor.order_fills[column].tolist(), column
    for column in fused.trades:
        assert fused.trades[column].tolist() == actor.trades[column].tolist(), column
    assert fused.equity["equity"].tolist() == actor.equity["equity"].tolist()
    assert fused.final_equity == actor.final_equity


def test_the_broker_actor_refuses_same_close() -> None:
    config = study(["AAA"], bars=50, topology={"pattern": "orders_broker"},
                   execution={"fill": "same_close"})
    with pytest.raises(ConfigError, match=r"execution\.fill: a strategy trading through a "
                                          r"broker actor fills at next_open"):
        admf.run_sync(config, write=False)


@pytest.mark.anyio
async def test_cancelling_an_order_study_lands_within_half_a_second() -> None:
    # the fused loop trades a 65,536-bar batch without an await per bar; it
    # checkpoints every few thousand bars so a cancel scope is heard at once
    import time

    import anyio

    config = study(["AAA"], bars=3_000_000)
    started = time.perf_counter()
    with anyio.move_on_after(0.3) as scope:
        await admf.run(config, write=False)
    assert scope.cancelled_caught
    assert time.perf_counter() - started < 0.8


def _frame_of(n: int, start: int, step: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]]
    minutes = (start + np.arange(n) * step).astype("timedelta64[m]")
    stamps = (np.datetime64("2024-01-01T00:00") + minutes).astype("datetime64[ns]")
    return {"timestamp": stamps.astype(np.int64), "open": open_,
            "high": np.maximum(open_, close) * 1.003, "low": np.minimum(open_, close) * 0.997,
            "close": close, "volume": np.full(n, 1e5)}


@pytest.mark.parametrize("batch_rows", [1, 5, 64])
def test_symbols_with_other_clocks_and_spans_trade_as_one_batch_does(batch_rows: int) -> None:
    # AAA every minute; BBB every 7 minutes, starting later and ending first
    frames = {"AAA": _frame_of(900, 0, 1, 1), "BBB": _frame_of(90, 100, 7, 2)}

    def run(rows: int) -> Any:
        config = study(["AAA", "BBB"], bars=0, portfolio={"close_at_end": True},
                       spec={"direction": "long_short"})
        config["data"] = {"symbols": ["AAA", "BBB"], "timeframe": "1m", "batch_rows": rows}
        return only(admf.run_sync(config, write=False, data=frames))

    whole, got = run(1_000_000), run(batch_rows)
    assert len(whole.trades["pnl"]) > 10 and "BBB" in whole.trades["symbol"].tolist()
    assert got.trades["pnl"].tolist() == whole.trades["pnl"].tolist()
    assert got.equity["equity"].tolist() == whole.equity["equity"].tolist()
    assert len(got.equity["timestamp"]) == 900


class Rotate(UniverseStrategy):
    """Holds ``units`` of the symbol with the best ``lookback``-bar return."""

    lookback = 5
    units = 10.0

    def on_bars(self, ctx: Universe) -> None:
        momentum = {s: ctx[s].bar.close / ctx[s].history("close", self.lookback + 1)[0]
                    for s in ctx.active}
        leader = max(momentum, key=lambda s: (momentum[s], s))
        if ctx[leader].position or ctx[leader].orders:
            return
        for symbol in ctx.symbols:
            if ctx[symbol].position and not ctx[symbol].orders:
                ctx[symbol].close()
        ctx[leader].buy(self.units, size_type="units")


def reference_rotation(series: dict[str, BarBatch], lookback: int, units: float,
                       rate: float, cash: float) -> tuple[list[float], int]:
    """The rotation as a plain loop: market orders fill at the next bar's open."""
    names = sorted(series)
    n = len(series[names[0]])
    held = dict.fromkeys(names, 0.0)
    pending: dict[str, list[str]] = {s: [] for s in names}
    equity, fills = [], 0
    for i in range(n):
        for s in names:
            for what in pending[s]:
                q = -held[s] if what == "close" else units
                price = float(series[s].open[i])
                cash -= q * price + abs(q) * price * rate
                held[s] += q
                fills += 1
            pending[s] = []
        momentum = {s: float(series[s].close[i]) / float(series[s].close[max(i - lookback, 0)])
                    for s in names}
        leader = max(momentum, key=lambda s: (momentum[s], s))
        if not held[leader]:
            for s in names:
                if held[s]:
                    pending[s].append("close")
            pending[leader].append("buy")
        equity.append(cash + sum(held[s] * float(series[s].close[i]) for s in names))
    return equity, fills


@pytest.mark.parametrize("symbols", [["AAA", "BBB", "CCC"], ["CCC", "AAA", "BBB"]])
def test_a_universe_rotation_books_what_a_plain_loop_books(symbols: list[str]) -> None:
    config = study(symbols, bars=500, strategy="Rotate", params={"lookback": 8},
                   data={"batch_rows": 37})
    got = only(admf.run_sync(config, write=False))
    series = {s: whole_series(config, s) for s in symbols}
    equity, fills = reference_rotation(series, 8, 10.0, 0.001, 100_000.0)
    assert got.fills == fills > 20
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-8)
    assert set(got.trades["symbol"].tolist()) == {"AAA", "BBB", "CCC"}


class Watch(UniverseStrategy):
    seen: list = []

    def on_bars(self, ctx: Universe) -> None:
        Watch.seen.append((ctx.time, tuple(ctx.active)))
        if ctx.time == Watch.probe:
            ctx["BBB"]


def test_a_universe_sees_only_symbols_with_a_bar_and_names_one_it_cannot_see() -> None:
    frames = {"AAA": _frame_of(60, 0, 1, 1), "BBB": _frame_of(10, 20, 3, 2)}
    config = study(["AAA", "BBB"], bars=0, strategy="Watch")
    config["data"] = {"symbols": ["AAA", "BBB"], "timeframe": "1m", "batch_rows": 7}
    Watch.seen, Watch.probe = [], -1
    admf.run_sync(config, write=False, data=frames)
    minute = 60_000_000_000
    base = int(frames["AAA"]["timestamp"][0])
    both = {(t - base) // minute for t, active in Watch.seen if active == ("AAA", "BBB")}
    assert both == set(range(20, 48, 3)) and len(Watch.seen) == 60
    Watch.seen, Watch.probe = [], base + 5 * minute  # before BBB's first bar
    with pytest.raises(AdmfError, match=r"symbol 'BBB', bar .*: 'BBB' has had no bar yet"):
        admf.run_sync(config, write=False, data=frames)
