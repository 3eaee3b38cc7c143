"""The interactive report's numbers against independent computations.

The bars are a CSV this test writes, so the buy-and-hold benchmark is
checked against ``capital * close / close0`` from the test's own closes; the
monthly returns table against a plain loop over the run's equity.parquet;
the heatmap and leaderboard against loops over each run's metrics.json; the
stitched out-of-sample curve against chaining the test windows by hand and
against the curve the sequence runner stitched in memory; the Monte Carlo
histograms against the draws in summary.json.
"""

from __future__ import annotations

import csv
import html
import json
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import admf
from admf.report import write_report
from admf.report._calc import heatmap, monthly_returns

pytest.importorskip("plotly")

START = datetime(2022, 1, 3, tzinfo=timezone.utc)
CASH = 40_000.0


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, float]]:
    """500 daily bars of a seeded walk; the closes by epoch-ns timestamp."""
    rng = np.random.default_rng(5)
    close = (100 * np.exp(np.cumsum(rng.normal(0.0004, 0.015, 500)))).tolist()
    folder = tmp_path_factory.mktemp("bars")
    closes = {}
    with (folder / "ZZZ.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        prev = close[0]
        for i, c in enumerate(close):
            when = START + timedelta(days=i)
            o = float(prev)
            out.writerow([when.strftime("%Y-%m-%d"), repr(o), repr(max(o, c) * 1.004),
                          repr(min(o, c) * 0.996), repr(float(c)), "1000"])
            closes[int(when.timestamp()) * 1_000_000_000] = float(c)
            prev = c
    return folder, closes


def study(tmp: Path, folder: Path, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "content", "seed": 2,
        "data": {"source": "csv", "path": str(folder / "{symbol}.csv"), "symbols": ["ZZZ"],
                 "timeframe": "1d"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "portfolio": {"initial_cash": CASH},
        "executor": {"kind": "inline"}, "results": {"dir": str(tmp / "results")},
    }
    config.update(sections)
    return config


def specs(page: str) -> list[dict[str, Any]]:
    found = re.findall(r'<script type="application/json" id="spec\d+">(.*?)</script>', page,
                       re.DOTALL)
    return [json.loads(text) for text in found]


def trace(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in spec["data"] if t.get("name") == name)


def run_figure(page: str) -> dict[str, Any]:
    return next(s for s in specs(page) if "data" in s and any(
        t.get("name") == "equity" for t in s["data"]))


def _month_loop(stamps: list[int], equity: list[float], initial: float) -> list[tuple]:
    """Month-end equity over the previous month-end's, by walking the rows."""
    ends: dict[tuple[int, int], float] = {}
    for ns, value in zip(stamps, equity):
        when = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
        ends[(when.year, when.month)] = value  # the last row of a month wins
    out, previous = [], initial
    for (year, month), value in ends.items():
        out.append((year, month, value / previous - 1))
        previous = value
    return out


def test_monthly_returns_match_a_plain_loop() -> None:
    rng = np.random.default_rng(1)
    stamps = np.cumsum(rng.integers(3600, 5 * 86400, 400)) * 1_000_000_000 + 1_600_000_000 * 10**9
    equity = 1000 * np.cumprod(1 + rng.normal(0, 0.01, 400))
    got = monthly_returns(stamps, equity, 1000.0)
    expected = _month_loop(stamps.tolist(), equity.tolist(), 1000.0)
    assert [(y, m) for y, m, _ in got] == [(y, m) for y, m, _ in expected]
    np.testing.assert_allclose([r for *_, r in got], [r for *_, r in expected], rtol=1e-12)
    assert monthly_returns(stamps[:0], equity[:0]) == []


def test_the_single_run_page_matches_its_bars_and_equity(
        tmp_path: Path, data: tuple[Path, dict[int, float]]) -> None:
    folder, closes = data
    result = admf.run_sync(study(tmp_path, folder))
    page = write_report(result.path, interactive=True).read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()) == 1  # plotly.js inlined once
    ours = page.replace(get_plotlyjs(), "")
    assert "http" not in ours and "<link" not in ours and "src=" not in ours  # nothing fetched
    run_dir = next((Path(result.path) / "main" / "runs").iterdir())
    curve = pq.read_table(run_dir / "equity.parquet")
    stamps = curve.column("timestamp").cast("int64").to_pylist()
    equity = curve.column("equity").to_pylist()

    figure = run_figure(page)
    bench = trace(figure, "buy and hold")
    first = closes[stamps[0]]
    for ms, value in zip(bench["x"], bench["y"]):
        assert value == pytest.approx(CASH * closes[ms * 1_000_000] / first, rel=1e-6)
    assert len(bench["x"]) == len(stamps)  # 500 bars: nothing thinned
    shown = trace(figure, "equity")
    by_time = dict(zip(stamps, equity))
    for ms, value in zip(shown["x"], shown["y"]):
        assert value == pytest.approx(by_time[ms * 1_000_000], rel=1e-6)

    cells = re.search(r'<table class="monthly">(.*?)</table>', page, re.DOTALL).group(1)
    rows = re.findall(r"<tr><th>(\d{4})</th>(.*?)</tr>", cells, re.DOTALL)
    table = {}
    for year, body in rows:
        values = re.findall(r"<td[^>]*>(.*?)</td>", body)
        for month, text in enumerate(values, start=1):
            if text:
                table[(int(year), month)] = float(text.rstrip("%")) / 100
    expected = _month_loop(stamps, equity, CASH)
    assert len(expected) >= 12 and sorted(table) == [(y, m) for y, m, _ in expected]
    for year, month, value in expected:
        assert table[(year, month)] == pytest.approx(value, abs=0.00005)  # shown to 0.01%
    for year, body in rows:  # the year column compounds its months
        total = math.prod(1 + r for (y, _, r) in [(y, m, r) for y, m, r in expected]
                          if y == int(year)) - 1
        year_cell = re.findall(r"<th>(-?[\d.]+)%</th>", body)[-1]
        assert float(year_cell) / 100 == pytest.approx(total, abs=0.00005)

    doc = json.loads((run_dir / "metrics.json").read_text())
    metrics = html.unescape(re.search(r'<table class="metrics">(.*?)</table>', page).group(1))
    assert f"<th class=\"metric\">sharpe_ratio</th><td>{doc['metrics']['sharpe_ratio']:.3f}" \
        in metrics


def _runs(phase: Path) -> list[dict[str, Any]]:
    rows = []
    for run in sorted((phase / "runs").iterdir()):
        doc = json.loads((run / "metrics.json").read_text())
        rows.append({"run": run.name, **doc["params"], **doc["metrics"]})
    return rows


def test_the_sweep_heatmap_and_leaderboard_match_loops_over_the_runs(
        tmp_path: Path, data: tuple[Path, dict[int, float]]) -> None:
    folder, _ = data
    grid = {"fast": [5, 8, 12], "slow": [20, 26], "signal": [4, 9]}
    result = admf.run_sync(study(tmp_path, folder, sequence={"type": "parameter_sweep"},
                                 strategies=[{"type": "macd_crossover", "params": grid}]))
    page = write_report(result.path, interactive=True).read_text(encoding="utf-8")
    rows = _runs(Path(result.path) / "main")
    assert len(rows) == 12

    grids = next(s["heatmap"] for s in specs(page) if "heatmap" in s)["grids"]
    for x, y in (("fast", "slow"), ("signal", "fast"), ("slow", "signal")):
        for agg, fold in (("mean", lambda v: sum(v) / len(v)), ("max", max), ("min", min),
                          ("median", lambda v: float(np.median(v)))):
            cell = grids[f"{x}|{y}|{agg}"]
            assert cell["x"] == sorted(grid[x]) and cell["y"] == sorted(grid[y])
            for j, b in enumerate(cell["y"]):
                for i, a in enumerate(cell["x"]):
                    values = [r["sharpe_ratio"] for r in rows if r[x] == a and r[y] == b]
                    assert cell["z"][j][i] == pytest.approx(fold(values), rel=1e-12)
    assert heatmap(rows, "fast", "slow", "sharpe_ratio", "mean")[2] == grids["fast|slow|mean"]["z"]

    board = next(s for s in specs(page) if "columns" in s and "rank" in s["columns"])
    at = board["columns"].index("sharpe_ratio")
    shown = [r[at] for r in board["rows"]]
    assert shown == sorted((r["sharpe_ratio"] for r in rows), reverse=True)
    assert [r[0] for r in board["rows"]] == list(range(1, 13))


def test_the_stitched_out_of_sample_curve_chains_the_test_windows(
        tmp_path: Path, data: tuple[Path, dict[int, float]]) -> None:
    folder, _ = data
    result = admf.run_sync(study(
        tmp_path, folder, sequence={"type": "walk_forward", "train": 150, "test": 80},
        strategies=[{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": [20, 40]}}]))
    page = write_report(result.path, interactive=True).read_text(encoding="utf-8")
    phase = Path(result.path) / "main"
    summary = json.loads((phase / "summary.json").read_text())
    stamps: list[int] = []
    chained: list[float] = []
    capital = CASH
    for window in summary["table"]:
        test = next(p for p in (phase / "runs").iterdir()
                    if p.name.startswith(f"w{window['window']:03d}-test"))
        curve = pq.read_table(test / "equity.parquet")
        values = [v * capital / CASH for v in curve.column("equity").to_pylist()]
        stamps += curve.column("timestamp").cast("int64").to_pylist()
        chained += values
        capital = values[-1]
    memory = result.raw.equity
    np.testing.assert_allclose(memory["equity"], chained, rtol=1e-12)
    shown = trace(run_figure(page), "equity")
    by_time = dict(zip(stamps, chained))
    assert len(shown["x"]) == len(stamps)
    for ms, value in zip(shown["x"], shown["y"]):
        assert value == pytest.approx(by_time[ms * 1_000_000], rel=1e-6)
    windows = next(s for s in specs(page) if "columns" in s and "test_start" in s["columns"])
    at = windows["columns"].index("test_start")
    assert [r[at] for r in windows["rows"]] == [w["test"][0] for w in summary["table"]]
    fast = windows["columns"].index("fast")
    assert [r[fast] for r in windows["rows"]] == [w["params"]["fast"] for w in summary["table"]]


def test_the_monte_carlo_histograms_hold_every_draw(
        tmp_path: Path, data: tuple[Path, dict[int, float]]) -> None:
    folder, _ = data
    result = admf.run_sync(study(tmp_path, folder, sequence={
        "type": "monte_carlo", "runs": 25, "method": "bootstrap_returns"}))
    page = write_report(result.path, interactive=True).read_text(encoding="utf-8")
    summary = json.loads((Path(result.path) / "main" / "summary.json").read_text())
    figure = next(s for s in specs(page) if "data" in s and s["data"][0]["type"] == "histogram")
    base = next((Path(result.path) / "main" / "runs").iterdir())
    actual = json.loads((base / "metrics.json").read_text())["metrics"]
    lines = {round(s["x0"], 9) for s in figure["layout"]["shapes"]}
    for hist in figure["data"]:
        draws = [r[hist["name"]] for r in summary["table"] if r.get(hist["name"]) is not None]
        np.testing.assert_allclose(sorted(hist["x"]), sorted(draws), rtol=1e-12)
        assert round(actual[hist["name"]], 9) in lines


def test_candles_merge_bars_into_buckets_like_a_plain_loop() -> None:
    from admf.report._calc import candles

    rng = np.random.default_rng(3)
    n = 10_007
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    ts = np.arange(n, dtype=np.int64) * 60_000_000_000
    got = candles(ts, open_, high, low, close, points=1000)
    assert len(got[0]) == 1000
    edges = [int(e) for e in np.linspace(0, n, 1001)]
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        assert (got[0][k], got[1][k], got[4][k]) == (ts[lo], open_[lo], close[hi - 1])
        assert got[2][k] == max(high[lo:hi]) and got[3][k] == min(low[lo:hi])
    np.testing.assert_array_equal(candles(ts[:50], open_[:50], high[:50], low[:50], close[:50])[2],
                                  high[:50])  # few bars: drawn as they are


def test_without_plotly_the_static_report_is_written_with_one_line_saying_so(
        tmp_path: Path, data: tuple[Path, dict[int, float]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from admf.cli import main
    from admf.report import MISSING

    folder, _ = data
    result = admf.run_sync(study(tmp_path, folder))
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if not installed
    assert main(["report", str(result.path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [MISSING]
    assert "admf[report]" in MISSING
    page = (Path(result.path) / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "Plotly" not in page
