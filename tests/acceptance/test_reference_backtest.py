"""The whole pipeline against an independent plain-Python backtest.

``reference`` below is written from the stated conventions only (it imports
nothing from admf): SMA crossover, next-open fills, commission and slippage on
both legs, percent-of-equity whole-unit sizing, an optional stop-loss that
triggers intrabar and fills at the open on a gap. admf must produce the same
trades and equity to 1e-6.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import admf
from tests._walks import walk_arrays as random_walk

START = datetime(2024, 1, 2, tzinfo=timezone.utc)


def write_csv(path: Path, bars: tuple[np.ndarray, ...]) -> None:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for i, row in enumerate(zip(*bars)):
            stamp = (START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
            out.writerow([stamp, *(repr(float(v)) for v in row)])


def sma(values: list[float], period: int) -> list[float]:
    out = []
    for i in range(len(values)):
        if i < period - 1:
            out.append(math.nan)
        else:
            out.append(sum(values[i - period + 1 : i + 1]) / period)
    return out


def reference(bars, *, fast, slow, direction="long_only", cash=100_000.0, percent=100.0,
              rate=0.0, bps=0.0, stop_loss=None):
    """Plain loop: returns (trades, equity per bar)."""
    o, h, l, c, _ = (list(map(float, a)) for a in bars)
    n = len(c)
    f, s = sma(c, fast), sma(c, slow)
    slip = bps / 10_000
    pos = 0  # signed units
    entry_px = entry_comm = 0.0
    entry_bar = 0
    target = 0.0
    pending = None
    trades, equity = [], []

    def fill_price(ref, buying):
        return ref * (1 + slip) if buying else ref * (1 - slip)

    def close_position(i, ref, reason):
        nonlocal pos, cash
        px = fill_price(ref, buying=pos < 0)
        qty = abs(pos)
        comm = rate * qty * px
        cash += pos * px - comm
        direction_ = 1 if pos > 0 else -1
        pnl = (px - entry_px) * qty * direction_ - entry_comm - comm
        trades.append((entry_bar, i, round(entry_px, 9), round(px, 9), qty, round(pnl, 6), reason))
        pos = 0

    for i in range(n):
        if pending is not None:
            new, pending = pending, None
            if pos != 0 and (new == 0 or (new > 0) != (pos > 0)):
                close_position(i, o[i], "signal")
            if new != 0 and pos == 0:
                px = fill_price(o[i], buying=new > 0)
                qty = math.floor(cash * percent / 100 / o[i] + 1e-9)
                if new > 0:
                    while qty > 0 and qty * px + rate * qty * px > cash + 1e-9:
                        qty -= 1
                if qty > 0:
                    entry_comm = rate * qty * px
                    cash -= (qty if new > 0 else -qty) * px + entry_comm
                    pos = qty if new > 0 else -qty
                    entry_px, entry_bar = px, i
        if stop_loss is not None and pos != 0:
            if pos > 0:
                level = entry_px * (1 - stop_loss)
                if l[i] <= level:
                    close_position(i, min(o[i], level), "stop_loss")
            else:
                level = entry_px * (1 + stop_loss)
                if h[i] >= level:
                    close_position(i, max(o[i], level), "stop_loss")
        if i > 0 and not math.isnan(f[i - 1]) and not math.isnan(s[i - 1]):
            d, prev = f[i] - s[i], f[i - 1] - s[i - 1]
            new = target
            if d > 0 and prev <= 0:
                new = 1.0
            elif d < 0 and prev >= 0:
                new = 0.0 if direction == "long_only" else -1.0
            if new != target:
                target = new
                pending = new
        equity.append(cash + pos * c[i])
    return trades, np.array(equity)


def admf_run(tmp_path: Path, bars, *, fast, slow, direction="long_only", rate=0.0, bps=0.0,
             stop_loss=None, batch_rows=65536):
    path = tmp_path / "X.csv"
    if not path.exists():
        write_csv(path, bars)
    config = {
        "name": "ref",
        "data": {"source": "csv", "path": str(tmp_path / "{symbol}.csv"), "symbols": ["X"],
                 "batch_rows": batch_rows},
        "strategies": [{"type": "sma_crossover", "params": {"fast": fast, "slow": slow},
                        "direction": direction}],
        "portfolio": {"initial_cash": 100_000,
                      "sizing": {"type": "percent_equity", "percent": 100, "whole_units": True}},
        "execution": {"commission": {"type": "percentage", "rate": rate} if rate else {"type": "none"},
                      "slippage": {"type": "fixed_bps", "bps": bps} if bps else {"type": "none"}},
        "risk": {"stop_loss": stop_loss} if stop_loss else {},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }
    result = admf.run_sync(config)
    return result


def admf_trades(result) -> list[tuple]:
    t = result.trades
    closed = ~t["open"]
    start = np.datetime64(START.replace(tzinfo=None), "ns").astype(np.int64)
    minute = 60 * 10**9
    return [(int((et - start) // minute), int((xt - start) // minute), round(float(ep), 9),
             round(float(xp), 9), float(q), round(float(p), 6), str(r))
            for et, xt, ep, xp, q, p, r in zip(t["entry_time"][closed], t["exit_time"][closed],
                                               t["entry_price"][closed], t["exit_price"][closed],
                                               t["quantity"][closed], t["pnl"][closed],
                                               t["reason"][closed])]


CASES = {
    "long_only": {"fast": 5, "slow": 20},
    "long_short": {"fast": 5, "slow": 20, "direction": "long_short"},
    "costs_both_legs": {"fast": 5, "slow": 20, "rate": 0.001, "bps": 5.0},
    "costs_long_short": {"fast": 8, "slow": 21, "direction": "long_short", "rate": 0.0005, "bps": 2.0},
    "stop_loss": {"fast": 5, "slow": 20, "stop_loss": 0.01, "rate": 0.0005},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference_loop(tmp_path: Path, case: str) -> None:
    bars = random_walk(3000, seed=11)
    kwargs = CASES[case]
    expected_trades, expected_equity = reference(bars, **kwargs)
    result = admf_run(tmp_path, bars, **kwargs)
    got = admf_trades(result)
    assert len(expected_trades) > 20
    assert [t[:5] + (t[6],) for t in got] == [t[:5] + (t[6],) for t in expected_trades]
    np.testing.assert_allclose([t[5] for t in got], [t[5] for t in expected_trades], atol=1e-6)
    np.testing.assert_allclose(result.equity["equity"], expected_equity, rtol=0, atol=1e-6)
    assert result.portfolios[next(iter(result.portfolios))].final_equity == pytest.approx(
        expected_equity[-1], abs=1e-6)


def test_batching_does_not_change_results(tmp_path: Path) -> None:
    bars = random_walk(2000, seed=5)
    whole = admf_run(tmp_path, bars, fast=5, slow=20, stop_loss=0.01)
    small = admf_run(tmp_path, bars, fast=5, slow=20, stop_loss=0.01, batch_rows=37)
    assert admf_trades(whole) == admf_trades(small)
    np.testing.assert_array_equal(whole.equity["equity"], small.equity["equity"])


def test_gap_through_stop_fills_at_open(tmp_path: Path) -> None:
    # rising closes make SMA(2) cross above SMA(4) at bar 5; enter at bar 6's open (105);
    # bar 8 gaps down to 90, far below the 5% stop at 99.75: the stop fills at 90.
    closes = [100, 99, 98, 97, 99, 104, 106, 107, 92, 93, 94, 95]
    opens = [100, 100, 99, 98, 97, 99, 105, 106, 90, 92, 93, 94]
    highs = [max(o, c) + 0.5 for o, c in zip(opens, closes)]
    lows = [min(o, c) - 0.5 for o, c in zip(opens, closes)]
    bars = tuple(np.array(a, dtype=float) for a in (opens, highs, lows, closes, [1e6] * 12))
    result = admf_run(tmp_path, bars, fast=2, slow=4, stop_loss=0.05)
    trades = admf_trades(result)
    expected, _ = reference(bars, fast=2, slow=4, stop_loss=0.05)
    assert trades[0][:4] == (6, 8, 105.0, 90.0)
    assert trades[0][6] == "stop_loss"
    assert [t[:5] for t in trades] == [t[:5] for t in expected]


def test_no_look_ahead_under_next_open(tmp_path: Path) -> None:
    """A strategy that wants to be long exactly on the bars that close above
    their open. It could only profit by trading a bar after seeing its close;
    under next_open its order fills at the next bar's open, so it earns
    nothing systematic, while the same signal applied to its own bar would
    be a money machine."""
    bars = random_walk(4000, seed=3)
    open_, _, _, close, _ = bars
    write_csv(tmp_path / "X.csv", bars)
    result = admf.run_sync({
        "name": "peek",
        "data": {"source": "csv", "path": str(tmp_path / "{symbol}.csv"), "symbols": ["X"]},
        "strategies": [{"type": "tests.acceptance.peeking:Peek"}],
        "portfolio": {"sizing": {"type": "fixed_quantity", "quantity": 100}},
        "results": {"dir": str(tmp_path / "r"), "storage": "memory"},
    })
    oracle = float(np.sum(np.maximum(close - open_, 0.0)) * 100 / 100_000)
    assert oracle > 1.0  # +100% if the signal could trade its own bar
    assert abs(result.metrics.total_return) < 0.2
    # every entry is at the open of a bar *after* a bar that closed up
    t = result.trades
    start = np.datetime64(START.replace(tzinfo=None), "ns").astype(np.int64)
    entry_bars = (t["entry_time"] - start) // (60 * 10**9)
    assert len(entry_bars) > 100
    assert np.all(close[entry_bars - 1] > open_[entry_bars - 1])
    np.testing.assert_allclose(t["entry_price"], open_[entry_bars])
