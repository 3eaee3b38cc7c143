"""Several symbols in one portfolio when their data does not cover the same span.

The merge route delivers batches in order of their first row's time, so the
portfolio container can frame every pending row before the arriving batch's
first row: a symbol whose data ends early must not hold the other symbols'
batches in the buffer (memory and copying would grow with the run). With
``close_at_end``, the position of a symbol that ended early is closed at
that symbol's last close and time, and its cash shows in the equity curve.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import numpy as np
import pytest

import admf
import admf.research.study
from admf.components import costs, sizing
from admf.components.per_bar import BarStrategy
from admf.components.portfolio import PortfolioEngine, RiskLimits
from admf.containers.portfolio import PortfolioContainer
from admf.errors import AdmfError
from admf.messages import BarBatch, SignalBatch

from ._support import HEADER, random_walk, write_csv

MIN = 60 * 10**9
BARS = 3000
SYMBOLS = ("AAA", "BBB", "CCC")


class AlwaysLong(BarStrategy):
    """Long from the first bar on: every symbol holds a position at its end."""

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return 1.0


class Watched(PortfolioContainer):
    """Records the most rows one symbol had waiting and every frame it booked."""

    watched: ClassVar[list[Watched]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.most_pending = 0
        self.booked: list[tuple[int, int, int]] = []  # (first time, last time, rows)
        Watched.watched.append(self)

    def _cut(self, bound: Any) -> Any:
        rows = [sum(len(b) for b in pending) for pending in self._pending.values()]
        self.most_pending = max([self.most_pending, *rows])  # one symbol's rows waiting
        return super()._cut(bound)

    def _book(self, frame: Any, *, last: bool) -> None:
        stamps = np.concatenate([bars.timestamp for _, bars, _ in frame])
        self.booked.append((int(stamps.min()), int(stamps.max()), len(stamps)))
        super()._book(frame, last=last)


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[Watched]:
    Watched.watched = []
    monkeypatch.setattr(admf.research.study, "PortfolioContainer", Watched)
    return Watched.watched


def write_data(directory: Path, *, ends: dict[str, int] | None = None,
               every: dict[str, int] | None = None, offset: dict[str, int] | None = None) -> Path:
    """One-minute CSVs per symbol: ``ends`` cuts a symbol after that many rows,
    ``every`` keeps one row in so many, ``offset`` drops that many first rows
    (so symbols start, step and end differently but share time stamps)."""
    directory.mkdir(parents=True, exist_ok=True)
    for seed, symbol in enumerate(SYMBOLS):
        rows = random_walk(BARS, seed=seed + 1)
        rows = rows[(offset or {}).get(symbol, 0):(ends or {}).get(symbol, BARS)]
        rows = rows[::(every or {}).get(symbol, 1)]
        write_csv(directory / f"{symbol}.csv", rows, HEADER)
    return directory


def config(data: Path, results: Path, *, batch_rows: int, close_at_end: bool = False,
           strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": "multi",
        "seed": 7,
        "data": {"source": "csv", "path": str(data / "{symbol}.csv"), "symbols": list(SYMBOLS),
                 "timeframe": "1m", "batch_rows": batch_rows},
        "strategies": [strategy or {"type": "sma_crossover", "params": {"fast": 5, "slow": 20},
                                    "direction": "long_short"}],
        "portfolio": {"initial_cash": 100_000, "close_at_end": close_at_end,
                      "sizing": {"type": "percent_equity", "percent": 30}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 1}},
        "results": {"dir": str(results), "storage": "memory"},
    }


def only(result: Any) -> Any:
    (portfolio,) = result.portfolios.values()
    return portfolio


# ------------------------------------------------------------------ the stall


def test_a_symbol_ending_early_does_not_pile_up_the_others(tmp_path: Path,
                                                           watched: list[Watched]) -> None:
    data = write_data(tmp_path / "data", ends={"CCC": BARS // 10})
    result = admf.run_sync(config(data, tmp_path / "r", batch_rows=50), write=False)
    container = watched[-1]  # the one that ran (the study builds one first to check it)
    # 60 batches of 50 rows per long symbol: before the fix every row after
    # CCC's end waited (and was copied again at every arrival)
    assert container.most_pending <= 2 * 50, container.most_pending
    assert container.max_pending_batches <= 2
    assert container.max_pending_rows <= 2 * 50 * len(SYMBOLS)
    # every bar booked exactly once, in time order across frames
    assert sum(rows for _, _, rows in container.booked) == 2 * BARS + BARS // 10
    for (_, last, _), (first, _, _) in zip(container.booked, container.booked[1:]):
        assert last < first
    assert len(only(result).equity["timestamp"]) == BARS


@pytest.mark.parametrize("close_at_end", [False, True])
@pytest.mark.parametrize("layout", [
    {"ends": {"CCC": BARS // 10}},
    {"ends": {"AAA": BARS // 3, "CCC": BARS // 10}},
    {"offset": {"BBB": 7, "CCC": 1200}, "every": {"BBB": 3, "CCC": 2}, "ends": {"AAA": 2001}},
], ids=["one-ends-early", "two-end-early", "staggered"])
def test_results_do_not_depend_on_the_batching(tmp_path: Path, layout: dict[str, Any],
                                               close_at_end: bool, watched: list[Watched]) -> None:
    """Small batches (many frames, ties between symbols' first rows) book
    exactly what one batch per symbol (one frame) books."""
    data = write_data(tmp_path / "data", **layout)
    outcomes = []
    for batch_rows in (1_000_000, 50, 37, 1):
        outcomes.append(only(admf.run_sync(config(data, tmp_path / f"r{batch_rows}",
                                                  batch_rows=batch_rows,
                                                  close_at_end=close_at_end), write=False)))
    reference = outcomes[0]
    assert reference.fills > 20
    for outcome in outcomes[1:]:
        for name in reference.equity:
            np.testing.assert_array_equal(outcome.equity[name], reference.equity[name], name)
        for name in reference.trades:
            np.testing.assert_array_equal(outcome.trades[name], reference.trades[name], name)
        assert outcome.final_equity == reference.final_equity
    for container in watched:
        assert container.max_pending_batches <= 2
        for (_, last, _), (first, _, _) in zip(container.booked, container.booked[1:]):
            assert last < first


def test_signals_out_of_event_time_order_are_refused() -> None:
    """Framing before the arriving batch's first row is right only when
    batches come merged by event time; anything else is an error, not a
    silent misbooking."""
    engine = PortfolioEngine("p", ["A", "B"], initial_cash=1000.0,
                             sizer=sizing.FixedQuantity(quantity=1),
                             commission=costs.NoCommission(), slippage=costs.NoSlippage())
    container = PortfolioContainer("p", engine, close_at_end=False, equity_sink=None,
                                   signal_sink=None)
    container._receive(signal("A", [0, 1, 2]))
    container._receive(signal("B", [5, 6, 7]))  # frames A's rows before 5
    with pytest.raises(AdmfError, match="merged by event time"):
        container._receive(signal("A", [3, 4]))


def signal(symbol: str, minutes: list[int], target: float = 1.0) -> SignalBatch:
    stamps = np.array(minutes, dtype=np.int64) * MIN
    prices = np.full(len(stamps), 10.0)
    bars = BarBatch(ts=int(stamps[0]), symbol=symbol, timestamp=stamps, open=prices,
                    high=prices, low=prices, close=prices, volume=np.full(len(stamps), 1e6))
    return SignalBatch(ts=int(stamps[0]), strategy="s", bars=bars,
                       target=np.full(len(stamps), target))


# ------------------------------------------------------------ close at end


def bars_of(symbol: str, closes: list[float], first_minute: int = 0) -> BarBatch:
    c = np.array(closes, dtype=float)
    t = (np.arange(len(c)) + first_minute).astype(np.int64) * MIN
    return BarBatch(ts=int(t[0]), symbol=symbol, timestamp=t, open=c, high=c, low=c, close=c,
                    volume=np.full(len(c), 1e6))


@pytest.mark.parametrize("general", [False, True])
def test_close_at_end_closes_a_symbol_that_ended_in_an_earlier_frame(general: bool) -> None:
    e = PortfolioEngine("p", ["A", "B"], initial_cash=1000.0,
                        sizer=sizing.FixedQuantity(quantity=10),
                        commission=costs.FixedCommission(amount=2.0),
                        slippage=costs.NoSlippage(), risk=msgspec.convert({}, RiskLimits))
    if general:
        e.plain_allowed = False
    a = bars_of("A", [10, 11, 12, 13, 14, 15, 16, 17])
    b = bars_of("B", [20, 21, 22, 23])  # ends at minute 3
    first = e.process([("A", a.slice(0, 4), np.ones(4)), ("B", b, np.ones(4))])
    last = e.process([("A", a.slice(4, 8), np.ones(4))], last=True, close_at_end=True)
    trades = e.finish()
    assert not trades["open"].any()
    rows = {s: i for i, s in enumerate(trades["symbol"])}
    assert trades["reason"][rows["B"]] == "end_of_data"
    assert trades["exit_time"][rows["B"]] == 3 * MIN  # B's own last time and close
    assert trades["exit_price"][rows["B"]] == 23.0
    assert trades["reason"][rows["A"]] == "end_of_data"
    assert trades["exit_price"][rows["A"]] == 17.0
    # entries at minute 1 (A at 11, B at 21), exits: A at 17, B at 23; 2.0 per fill
    cash = 1000.0 - 10 * 11 - 10 * 21 - 4 * 2.0 + 10 * 17 + 10 * 23
    assert last.cash[-1] == pytest.approx(cash)
    assert last.equity[-1] == last.cash[-1] == pytest.approx(e.final_equity())
    # B is held at its last close until the final row, where every exit is booked
    assert np.all(last.cash[:-1] == first.cash[-1])
    np.testing.assert_allclose(last.equity[:-1], first.cash[-1] + 10 * a.close[4:7] + 10 * 23)
    assert last.equity[-1] == pytest.approx(last.equity[-2] + 10 * (17 - 16) - 2 * 2.0)
    assert e.ledger.positions == {}


def test_close_at_end_in_a_study_closes_every_symbol(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data", ends={"CCC": BARS // 10, "AAA": BARS // 2})
    strategy = {"type": "tests.integration.test_multi_symbol:AlwaysLong"}
    for batch_rows in (1_000_000, 64):
        result = only(admf.run_sync(config(data, tmp_path / f"r{batch_rows}", batch_rows=batch_rows,
                                           close_at_end=True, strategy=strategy), write=False))
        trades = result.trades
        assert not trades["open"].any()
        for symbol, end in (("AAA", BARS // 2), ("BBB", BARS), ("CCC", BARS // 10)):
            mine = trades["symbol"] == symbol
            assert mine.sum() == 1
            assert trades["reason"][mine][0] == "end_of_data"
            closes = np.loadtxt(data / f"{symbol}.csv", delimiter=",", skiprows=1, usecols=4)
            assert len(closes) == end
            # the exit's reference price is the symbol's last close (1 bp slippage on a sale)
            assert trades["exit_price"][mine][0] == pytest.approx(closes[-1] * (1 - 1e-4))
            start = np.datetime64("2024-01-02T00:00:00", "ns").astype(np.int64)
            assert trades["exit_time"][mine][0] == start + (end - 1) * MIN
        equity, cash = result.equity["equity"], result.equity["cash"]
        assert equity[-1] == cash[-1] == result.final_equity
        assert math.isfinite(result.metrics.sharpe_ratio)


def test_a_frame_of_one_symbol_sizes_on_the_equity_of_every_position() -> None:
    """A frame with bars of one symbol only (the others ended, or have no bar
    in its span) still sizes entries on the whole portfolio's equity: the
    specialised one-symbol loop must not be used while another symbol holds
    a position."""
    def booked(plain: bool) -> dict[str, np.ndarray]:
        e = PortfolioEngine("p", ["A", "B"], initial_cash=1000.0,
                            sizer=sizing.PercentEquity(percent=20.0, whole_units=True),
                            commission=costs.NoCommission(), slippage=costs.NoSlippage())
        e.plain_allowed = plain
        a = bars_of("A", [10, 10, 10, 10, 10, 10])
        b = bars_of("B", [20, 20, 40])  # B doubles, then ends
        e.process([("A", a.slice(0, 3), np.array([0.0, 0, 0])), ("B", b, np.ones(3))])
        e.process([("A", a.slice(3, 6), np.array([1.0, 1, 1]))], last=True)
        return e.finish()

    general, plain = booked(False), booked(True)
    for name in general:
        np.testing.assert_array_equal(plain[name], general[name], name)
    a_entry = general["quantity"][general["symbol"] == "A"][0]
    # B: 10 units bought at 20 (20 % of 1000); equity at A's entry = 800 + 10 * 40 = 1200
    assert a_entry == 24  # 20 % of 1200 at 10, not 20 % of the 800 cash
