"""Sequences run for real (admf/research.py): every run reads only its own
bars, sweeps rank and pick by the objective, walk-forward stitches its test
windows, k-fold averages its folds, Monte Carlo draws are seeded.

Independent checks: the expected windows are worked out by hand from the
hourly timeline (bar ``i`` at 2020-01-01T00:00Z + i hours); the expected
metrics come from separate single-pass studies over exactly those bars (CSV
data with ``data.start``/``data.end``), not from the code under test.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import admf
import admf.errors as admf_errors
from admf.research.sequences.run import SequenceResult
from admf.research.sequences.windows import bootstrap_paths
from tests.integration.recording import (
    HOUR_NS,
    hour,
    iso,
    recorded_runs,
    span_counter,
    write_hourly_csv,
)

REC = "tests.integration.recording:Recorder"
CASH = 100_000.0


def study(tmp_path: Path, *, strategies: list[dict[str, Any]], sequence: dict[str, Any],
          bars: int = 240, seed: int = 7, data: dict[str, Any] | None = None,
          **sections: Any) -> dict[str, Any]:
    """A study over ``bars`` synthetic hourly bars (or ``data``), inline executor."""
    config: dict[str, Any] = {
        "name": "research",
        "seed": seed,
        "data": data or {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h",
                         "bars": bars, "start": "2020-01-01"},
        "strategies": strategies,
        "portfolio": {"initial_cash": CASH,
                      "sizing": {"type": "percent_equity", "percent": 50, "whole_units": True}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 1}},
        "sequence": sequence,
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }
    config.update(sections)
    return config


def recorder(log: Path, lookback: Any = (2, 5)) -> list[dict[str, Any]]:
    log.mkdir(parents=True, exist_ok=True)
    values = list(lookback) if isinstance(lookback, tuple) else lookback
    return [{"type": REC, "params": {"log": str(log), "lookback": values}}]


def seen(log: Path) -> Counter[tuple[int, ...]]:
    return Counter(tuple(run) for run in recorded_runs(log))


def run(config: dict[str, Any], **kwargs: Any) -> SequenceResult:
    result = admf.run_sync(config, **kwargs)
    assert isinstance(result, SequenceResult)
    return result


# -- every run reads only its own bars ------------------------------------------------


def test_train_test_runs_read_only_their_own_bars(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = run(study(tmp_path, strategies=recorder(log), bars=240,
                       sequence={"type": "train_test", "split": 0.75, "warmup": 0}))
    # 240 * 0.75 = 180: train bars 0..179 (2020-01-01 00:00 .. 01-08 11:00),
    # test bars 180..239 (01-08 12:00 .. 01-10 23:00). Two grid points each
    # train on the train span; the winner alone runs on the test span.
    assert seen(log) == span_counter([(0, 179), (0, 179), (180, 239)])
    assert result.aggregate["train_span"] == [[iso(0), iso(179)]]
    assert result.aggregate["test_span"] == [iso(180), iso(239)]
    assert result.table[0]["train_bars"] == 180 and result.table[0]["test_bars"] == 60
    assert result.metrics["bars"] == 60
    assert result.best_params is not None and result.best_params["lookback"] in (2, 5)


def test_walk_forward_rolling_runs_read_only_their_own_bars(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = run(study(tmp_path, strategies=recorder(log), bars=240,
                       sequence={"type": "walk_forward", "train": 60, "test": 30, "step": 40,
                                 "warmup": 0}))
    # starts 0, 40, 80, 120: train s..s+59, test s+60..s+89; start 160 would
    # test 220..249, past bar 239 -> dropped (bars 210..239 are read by no run).
    windows = [(0, 59, 60, 89), (40, 99, 100, 129), (80, 139, 140, 169), (120, 179, 180, 209)]
    expected = span_counter([(a, b) for a, b, _, _ in windows for _ in range(2)]
                            + [(c, d) for _, _, c, d in windows])
    runs = recorded_runs(log)
    assert Counter(tuple(r) for r in runs) == expected
    assert max(max(r) for r in runs) == hour(209)
    # cold start: each test run begins at its own first test bar, not earlier
    tests = {(c, d) for _, _, c, d in windows}
    test_runs = [r for r in runs if ((r[0] - hour(0)) // HOUR_NS, (r[-1] - hour(0)) // HOUR_NS) in tests]
    assert len(test_runs) == 4
    assert sorted(r[0] for r in test_runs) == [hour(c) for _, _, c, _ in windows]
    assert [row["test"] for row in result.table] == [[iso(c), iso(d)] for _, _, c, d in windows]
    assert [row["train"] for row in result.table] == [[[iso(a), iso(b)]] for a, b, _, _ in windows]
    assert [row["test_bars"] for row in result.table] == [30] * 4


def test_walk_forward_anchored_duration_runs_read_only_their_own_bars(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = run(study(tmp_path, strategies=recorder(log), bars=130,
                       sequence={"type": "walk_forward", "train": "2d", "test": "1d",
                                 "anchored": True, "warmup": 0}))
    # 130 hourly bars; train "2d" = 48 bars from the window start s, test "1d" =
    # 24 bars from s+48, step = test: s = 0, 24, 48 give tests 48..71, 72..95,
    # 96..119; s = 72 would test 120..143, past bar 129 -> dropped.
    # anchored: train = bars 0..s+47.
    starts = (0, 24, 48)
    expected = span_counter([(0, s + 47) for s in starts for _ in range(2)]
                            + [(s + 48, s + 71) for s in starts])
    assert seen(log) == expected
    assert [row["train_bars"] for row in result.table] == [48, 72, 96]
    assert len(result.equity["equity"]) == 72


def test_walk_forward_step_shorter_than_test_is_refused_or_stitched(tmp_path: Path) -> None:
    """step < test makes test windows overlap (allowed by the config: no
    rule says step >= test). Either the config is refused with a message
    about step, or the out-of-sample curve is stitched with strictly
    increasing times; an internal error after all the runs is neither."""
    log = tmp_path / "log"
    config = study(tmp_path, strategies=recorder(log), bars=120,
                   sequence={"type": "walk_forward", "train": "2d", "test": "1d", "step": "12h"})
    try:
        result = run(config)
    except admf_errors.ConfigError as exc:
        assert "step" in str(exc)
        return
    assert result.equity is not None
    assert np.all(np.diff(result.equity["timestamp"]) > 0)
    # 120 bars: starts 0, 12, 24, 36, 48 test 48..71, 60..83, ..., 96..119
    assert len(result.table) == 5


def test_k_fold_purged_runs_read_only_their_own_bars(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = run(study(tmp_path, strategies=recorder(log), bars=240,
                       sequence={"type": "k_fold", "folds": 3, "purge": 5, "warmup": 0}))
    # folds of 80: 0..79, 80..159, 160..239; purge 5 on each side of the test fold:
    #   fold 0 trains on 85..239; fold 1 on 0..74 and 165..239; fold 2 on 0..154.
    # Each train span is its own run (cold start), for each of the 2 points.
    train = [(85, 239), (0, 74), (165, 239), (0, 154)]
    expected = span_counter([s for s in train for _ in range(2)] + [(0, 79), (80, 159), (160, 239)])
    assert seen(log) == expected
    assert [row["test"] for row in result.table] == [[iso(0), iso(79)], [iso(80), iso(159)],
                                                     [iso(160), iso(239)]]
    assert [row["train_bars"] for row in result.table] == [155, 75 + 75, 155]


def test_train_test_purge_is_applied(tmp_path: Path) -> None:
    """``sequence.purge`` keeps ``purge`` bars between the last train bar and
    the first test bar."""
    log = tmp_path / "log"
    result = run(study(tmp_path, strategies=recorder(log), bars=240,
                       sequence={"type": "train_test", "split": 0.75, "purge": 10, "warmup": 0}))
    # cut at 180 as above; purge 10 drops train bars 170..179: train 0..169
    assert seen(log) == span_counter([(0, 169), (0, 169), (180, 239)])
    assert result.aggregate["train_span"] == [[iso(0), iso(169)]]
    assert result.aggregate["test_span"] == [iso(180), iso(239)]


def test_walk_forward_purge_is_applied(tmp_path: Path) -> None:
    """``sequence.purge`` drops the last ``purge`` bars of every train window."""
    log = tmp_path / "log"
    result = run(study(tmp_path, strategies=recorder(log), bars=240,
                       sequence={"type": "walk_forward", "train": 60, "test": 30, "step": 40,
                                 "purge": 5, "warmup": 0}))
    # windows as in the rolling test (tests s+60..s+89 for s = 0, 40, 80, 120);
    # purge 5: train s..s+54 (bars s+55..s+59 are read by no train run)
    starts = (0, 40, 80, 120)
    assert seen(log) == span_counter([(s, s + 54) for s in starts for _ in range(2)]
                                     + [(s + 60, s + 89) for s in starts])
    assert [row["train_bars"] for row in result.table] == [55] * 4


# -- parameter_sweep ------------------------------------------------------------------------

GRID = {"fast": [5, 10, 20], "slow": [30, 60]}
GRID_IDS = [f"sma_crossover(fast={f},slow={s})" for f in (5, 10, 20) for s in (30, 60)]


def single_pass(config: dict[str, Any], params: dict[str, Any], *, close_at_end: bool = False,
                **data: Any) -> Any:
    """One single-pass study of ``config`` with one strategy point (and data
    restricted by ``data``: start/end); ``close_at_end`` as a test window does."""
    direction = config["strategies"][0].get("direction", "long_only")
    one = {**config, "strategies": [{"type": "sma_crossover", "params": params,
                                     "direction": direction}],
           "sequence": {"type": "single_pass"}}
    if close_at_end:
        one["portfolio"] = {**config.get("portfolio", {}), "close_at_end": True}
    if data:
        one["data"] = {**config["data"], **data}
    return admf.run_sync(one, write=False)


def test_sweep_ranks_by_objective_and_best_matches_separate_runs(tmp_path: Path) -> None:
    config = study(tmp_path, strategies=[{"type": "sma_crossover", "params": GRID}], bars=1500,
                   sequence={"type": "parameter_sweep", "objective": "sharpe_ratio"})
    result = run(config)
    # independent: every point as its own single-pass study
    separate = {pid: single_pass(config, {"fast": f, "slow": s}).metrics
                for pid, (f, s) in zip(GRID_IDS, [(f, s) for f in (5, 10, 20) for s in (30, 60)])}
    sharpe = {pid: m.sharpe_ratio for pid, m in separate.items()}
    assert all(math.isfinite(v) for v in sharpe.values())
    best = max(GRID_IDS, key=lambda pid: (sharpe[pid], -GRID_IDS.index(pid)))
    f, s = best.removeprefix("sma_crossover(fast=").removesuffix(")").split(",slow=")
    assert result.best_params == {"fast": int(f), "slow": int(s)}
    assert result.aggregate["best"] == best
    assert result.aggregate["points"] == 6
    assert result.aggregate["skipped"] == []
    # the table: one row per point, best first, ranks 1..6, metrics as run alone
    assert [row["rank"] for row in result.table] == [1, 2, 3, 4, 5, 6]
    assert sorted(row["portfolio"] for row in result.table) == sorted(GRID_IDS)
    ranked = sorted(GRID_IDS, key=lambda pid: (-sharpe[pid], GRID_IDS.index(pid)))
    assert [row["portfolio"] for row in result.table] == ranked == result.aggregate["ranking"]
    for row in result.table:
        assert row["sharpe_ratio"] == pytest.approx(sharpe[row["portfolio"]], rel=1e-12)
        assert row["trade_count"] == separate[row["portfolio"]].trade_count
    assert result.metrics["sharpe_ratio"] == pytest.approx(sharpe[best], rel=1e-12)

    # a lower-is-better objective picks the smallest drawdown
    config["sequence"] = {"type": "parameter_sweep", "objective": "max_drawdown"}
    by_drawdown = run(config)
    drawdown = {pid: m.max_drawdown for pid, m in separate.items()}
    assert by_drawdown.aggregate["ranking"] == sorted(
        GRID_IDS, key=lambda pid: (drawdown[pid], GRID_IDS.index(pid)))


def test_sweep_ties_keep_grid_order(tmp_path: Path) -> None:
    # open_trades is 0 or 1: many ties; they must keep the grid order
    config = study(tmp_path, strategies=[{"type": "sma_crossover", "params": GRID}], bars=700,
                   sequence={"type": "parameter_sweep", "objective": "open_trades"})
    result = run(config)
    value = {row["portfolio"]: row["open_trades"] for row in result.table}
    assert len(set(value.values())) < len(value)  # there are ties
    expected = sorted(GRID_IDS, key=lambda pid: (-value[pid], GRID_IDS.index(pid)))
    assert result.aggregate["ranking"] == expected


def test_sweep_random_mode_is_seeded(tmp_path: Path) -> None:
    grid = {"fast": [5, 10, 15], "slow": [30, 40, 50]}  # 9 points
    all_ids = [f"sma_crossover(fast={f},slow={s})" for f in (5, 10, 15) for s in (30, 40, 50)]

    def drawn(seed: int) -> frozenset[str]:
        config = study(tmp_path, strategies=[{"type": "sma_crossover", "params": grid}], bars=300,
                       seed=seed, sequence={"type": "parameter_sweep", "mode": "random",
                                            "samples": 4})
        result = run(config, write=False)
        assert result.aggregate["points"] == 4
        ids = [row["portfolio"] for row in result.table]
        assert len(ids) == 4 and set(ids) <= set(all_ids)
        return frozenset(ids)

    first = drawn(1)
    assert drawn(1) == first  # same seed, same subset
    subsets = {drawn(seed) for seed in (2, 3, 4, 5, 6)} | {first}
    assert len(subsets) > 1  # the seed chooses the subset


def test_sweep_skips_invalid_grid_points_and_reports_them(tmp_path: Path) -> None:
    # fast x slow = (5,20) (5,30) (20,20)x (20,30) (40,20)x (40,30)x: fast >= slow is invalid
    config = study(tmp_path, strategies=[{"type": "sma_crossover",
                                          "params": {"fast": [5, 20, 40], "slow": [20, 30]}}],
                   bars=500, sequence={"type": "parameter_sweep"})
    result = run(config)
    skipped = result.aggregate["skipped"]
    assert [s["portfolio"] for s in skipped] == ["sma_crossover(fast=20,slow=20)",
                                                 "sma_crossover(fast=40,slow=20)",
                                                 "sma_crossover(fast=40,slow=30)"]
    assert all("fast" in s["reason"] and "slow" in s["reason"] for s in skipped)
    assert result.aggregate["points"] == 3
    assert sorted(row["portfolio"] for row in result.table) == sorted(
        ["sma_crossover(fast=5,slow=20)", "sma_crossover(fast=5,slow=30)",
         "sma_crossover(fast=20,slow=30)"])
    assert result.best_params is not None and result.best_params["fast"] < result.best_params["slow"]


def test_sweep_in_processes_equals_inline(tmp_path: Path) -> None:
    log = tmp_path / "log"
    config = study(tmp_path, strategies=[{"type": "sma_crossover", "params": GRID},
                                         {"type": "donchian_breakout",
                                          "params": {"period": [20, 40], "exit_period": 10}},
                                         *recorder(log)],
                   bars=1500, sequence={"type": "parameter_sweep"})
    inline = run(config)
    ran_in = {path.name.split("-")[0] for path in log.glob("*.txt")}
    assert ran_in == {str(os.getpid())}
    for path in log.glob("*.txt"):
        path.unlink()
    config["executor"] = {"kind": "processes", "workers": 2}
    pooled = run(config)
    # the runs really happened in worker processes (the recorder names its files by pid)
    workers = {path.name.split("-")[0] for path in log.glob("*.txt")}
    assert workers and str(os.getpid()) not in workers
    assert len(recorded_runs(log)) == 2  # each recorder point ran once, over all 1500 bars
    assert all(len(r) == 1500 for r in recorded_runs(log))
    assert len(inline.table) == 10
    assert pooled.table == inline.table
    assert pooled.best_params == inline.best_params
    assert pooled.metrics == inline.metrics
    assert pooled.aggregate == inline.aggregate


# -- walk_forward / k_fold against separate single passes --------------------------------


@pytest.fixture
def csv_data(tmp_path: Path) -> dict[str, Any]:
    """600 hourly bars of symbol X from 2020-01-01T00:00Z, as a CSV file."""
    write_hourly_csv(tmp_path / "X.csv", 600, seed=5)
    return {"source": "csv", "path": str(tmp_path / "{symbol}.csv"), "symbols": ["X"],
            "timeframe": "1h"}


SMALL_GRID = {"fast": [3, 5], "slow": [10, 20]}
# short averages: every 100-bar test window has signals once they are warm (a
# window can otherwise stay flat; see test_walk_forward_test_window_without_signals_completes)
SMALL = [{"type": "sma_crossover", "params": SMALL_GRID}]
SMALL_POINTS = [{"fast": f, "slow": s} for f in (3, 5) for s in (10, 20)]


def window_metrics(config: dict[str, Any], params: dict[str, Any], first: int, last: int,
                   *, test: bool = False) -> Any:
    """The metrics of ``params`` run alone over bars first..last; a test window
    ends flat (its open position closed at its last close, costs paid)."""
    return single_pass(config, params, close_at_end=test, start=iso(first), end=iso(last))


def best_on(config: dict[str, Any], spans: list[tuple[int, int]]) -> dict[str, Any]:
    """The point with the best bar-weighted mean Sharpe over ``spans``, each
    run separately (NaN last, ties to the earlier grid point)."""
    def score(params: dict[str, Any]) -> float:
        values = [(window_metrics(config, params, a, b).metrics.sharpe_ratio, b - a + 1)
                  for a, b in spans]
        return sum(v * n for v, n in values) / sum(n for _, n in values)

    scores = [score(p) for p in SMALL_POINTS]
    order = sorted(range(len(scores)), key=lambda i: (math.isnan(scores[i]),
                                                      -scores[i] if not math.isnan(scores[i]) else 0, i))
    return SMALL_POINTS[order[0]]


def test_walk_forward_windows_stitch_and_match_separate_runs(tmp_path: Path,
                                                             csv_data: dict[str, Any]) -> None:
    config = study(tmp_path, strategies=SMALL,
                   data=csv_data,
                   sequence={"type": "walk_forward", "train": 200, "test": 100, "step": 100,
                             "warmup": 0})
    result = run(config)
    # 600 bars, train 200, test 100: starts 0, 100, 200, 300 (start 400 would
    # test from bar 600 = the end): tests 200..299, 300..399, 400..499, 500..599
    windows = [(s, s + 199, s + 200, s + 299) for s in (0, 100, 200, 300)]
    assert result.aggregate["windows"] == 4 and len(result.table) == 4
    growth = 1.0
    for row, (a, b, c, d) in zip(result.table, windows):
        assert row["train"] == [[iso(a), iso(b)]] and row["test"] == [iso(c), iso(d)]
        assert (row["train_bars"], row["test_bars"]) == (200, 100)
        chosen = best_on(config, [(a, b)])
        assert row["params"] == chosen, row["window"]
        test = window_metrics(config, chosen, c, d, test=True).metrics
        for key in ("total_return", "sharpe_ratio", "max_drawdown", "final_equity"):
            assert row["test_metrics"][key] == pytest.approx(getattr(test, key), rel=1e-12), key
        assert row["test_metrics"]["trade_count"] == test.trade_count
        assert row["test_metrics"]["bars"] == 100
        growth *= 1 + test.total_return
    assert result.aggregate["chosen_params"] == [row["params"] for row in result.table]

    # the stitched out-of-sample curve: 4 x 100 test bars, from initial cash
    equity = result.equity
    assert equity is not None
    assert len(equity["equity"]) == len(equity["timestamp"]) == 400
    np.testing.assert_array_equal(equity["timestamp"],
                                  [hour(i) for c in (200, 300, 400, 500) for i in range(c, c + 100)])
    assert equity["equity"][0] == pytest.approx(CASH, rel=1e-12)  # no position on the first bar
    assert equity["equity"][-1] == pytest.approx(CASH * growth, rel=1e-9)
    assert result.metrics["total_return"] == pytest.approx(growth - 1, rel=1e-9, abs=1e-12)
    assert result.metrics["bars"] == 400
    # trades and time in the market add up over the windows (100 bars each)
    assert result.metrics["trade_count"] == sum(r["test_metrics"]["trade_count"] for r in result.table)
    assert result.metrics["exposure"] == pytest.approx(
        sum(r["test_metrics"]["exposure"] * 100 for r in result.table) / 400, rel=1e-12)
    assert result.metrics["exposure"] > 0
    # window 2 starts where window 1 ended (its curve rescaled to that capital)
    w1 = window_metrics(config, result.table[0]["params"], 200, 299, test=True)
    np.testing.assert_allclose(equity["equity"][:100], w1.equity["equity"], rtol=1e-12)
    w2 = window_metrics(config, result.table[1]["params"], 300, 399, test=True)
    np.testing.assert_allclose(equity["equity"][100:200],
                               w2.equity["equity"] / CASH * w1.equity["equity"][-1], rtol=1e-12)


def test_k_fold_with_purge_reports_each_fold_and_the_mean(tmp_path: Path,
                                                          csv_data: dict[str, Any]) -> None:
    config = study(tmp_path, strategies=SMALL,
                   data=csv_data, sequence={"type": "k_fold", "folds": 3, "purge": 10,
                                            "warmup": 0})
    result = run(config)
    # folds 0..199, 200..399, 400..599; purge 10:
    #   fold 0 trains on 210..599; fold 1 on 0..189 + 410..599; fold 2 on 0..389
    folds = [((0, 199), [(210, 599)]), ((200, 399), [(0, 189), (410, 599)]),
             ((400, 599), [(0, 389)])]
    assert result.aggregate["folds"] == 3 and len(result.table) == 3
    tests = []
    for row, ((c, d), train) in zip(result.table, folds):
        assert row["test"] == [iso(c), iso(d)]
        assert row["train"] == [[iso(a), iso(b)] for a, b in train]
        assert row["train_bars"] == sum(b - a + 1 for a, b in train)
        chosen = best_on(config, train)
        assert row["params"] == chosen, row["window"]
        test = window_metrics(config, chosen, c, d, test=True).metrics
        assert row["test_metrics"]["total_return"] == pytest.approx(test.total_return, rel=1e-12)
        assert row["test_metrics"]["sharpe_ratio"] == pytest.approx(test.sharpe_ratio, rel=1e-12)
        tests.append(test)
    # the headline is the mean over folds
    for key in ("total_return", "sharpe_ratio", "max_drawdown", "trade_count"):
        mean = sum(getattr(t, key) for t in tests) / 3
        assert result.metrics[key] == pytest.approx(mean, rel=1e-12), key
        assert result.aggregate["test_mean"][key] == pytest.approx(mean, rel=1e-12)
    spread = result.aggregate["test_distribution"]["total_return"]
    assert spread["count"] == 3
    assert spread["p5"] <= spread["p50"] <= spread["p95"]


def test_walk_forward_test_window_without_signals_completes(tmp_path: Path) -> None:
    """A test window too short for the slow average to warm up (cold start)
    produces no signal at all; the window must still be reported (no trade,
    flat equity), not crash while writing its (empty) signals table."""
    config = study(tmp_path, strategies=[{"type": "sma_crossover",
                                          "params": {"fast": 5, "slow": 120}}], bars=600,
                   sequence={"type": "walk_forward", "train": 300, "test": 50, "warmup": 0})
    result = run(config)
    assert len(result.table) == 6  # tests 300..349, ..., 550..599
    for row in result.table:
        assert row["test_metrics"]["trade_count"] == 0
        assert row["test_metrics"]["total_return"] == 0.0
    assert result.metrics["total_return"] == 0.0


# -- monte_carlo --------------------------------------------------------------------------------


def mc(tmp_path: Path, **sequence: Any) -> dict[str, Any]:
    return study(tmp_path, strategies=[{"type": "sma_crossover", "params": {"fast": 10, "slow": 30}}],
                 bars=1000, sequence={"type": "monte_carlo", **sequence})


def test_monte_carlo_bootstrap_draws_differ_and_are_seeded(tmp_path: Path) -> None:
    config = mc(tmp_path, runs=25, method="bootstrap_returns")
    first = run(config)
    again = run(config)
    assert len(first.table) == 25
    assert [row["draw"] for row in first.table] == list(range(25))
    returns = [row["total_return"] for row in first.table]
    assert len(set(returns)) == 25  # no two draws are copies
    assert first.table == again.table
    assert first.metrics == again.metrics
    assert first.aggregate["runs"] == 25
    assert first.aggregate["method"] == "bootstrap_returns"
    for name, dist in first.metrics.items():
        if dist["count"]:
            assert dist["p5"] <= dist["p25"] <= dist["p50"] <= dist["p75"] <= dist["p95"], name
    assert first.metrics["total_return"]["count"] == 25
    # draw i is the same however many draws are made
    fewer = run(mc(tmp_path, runs=10, method="bootstrap_returns"))
    assert fewer.table == first.table[:10]
    # independently: resample the single-pass equity curve's returns
    base = single_pass(config, {"fast": 10, "slow": 30}).equity["equity"]
    bar_returns = np.diff(np.concatenate([[CASH], base])) / np.concatenate([[CASH], base[:-1]])
    for row, path in zip(first.table[:5], bootstrap_paths(bar_returns, 5, seed=7)):
        assert row["final_equity"] == pytest.approx(CASH * float(np.prod(1 + path)), rel=1e-9)
    # another seed, other draws
    other = run({**config, "seed": 8})
    assert [r["total_return"] for r in other.table] != returns


def test_monte_carlo_parameter_noise_draws_differ_and_stay_valid(tmp_path: Path) -> None:
    # fast 20, slow 25 with 30 % noise: many raw draws have fast >= slow and
    # must be redrawn; every kept draw is a valid sma_crossover point
    config = study(tmp_path, strategies=[{"type": "sma_crossover",
                                          "params": {"fast": 20, "slow": 25}}], bars=500,
                   sequence={"type": "monte_carlo", "runs": 20, "method": "parameter_noise",
                             "noise": 0.3})
    result = run(config)
    assert len(result.table) == 20
    pairs = [(row["fast"], row["slow"]) for row in result.table]
    for fast, slow in pairs:
        assert isinstance(fast, int) and isinstance(slow, int)
        assert 1 <= fast < slow
    assert len(set(pairs)) > 5
    assert [row["portfolio"] for row in result.table] == [
        f"sma_crossover(fast=20,slow=25)#draw{i}" for i in range(20)]
    assert run(config).table == result.table  # seeded
    assert result.aggregate["method"] == "parameter_noise"
    tr = result.metrics["total_return"]
    assert tr["count"] == 20 and tr["p5"] <= tr["p25"] <= tr["p50"] <= tr["p75"] <= tr["p95"]
