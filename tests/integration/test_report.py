"""The static report (``admf report RUN_DIR`` without plotly), ``admf trace
RUN_DIR`` (DESIGN.md §9), and the report's chart downsampling.

The report is checked against the run's own files: every run directory's
name, its metrics.json numbers formatted as the report formats them, and one
equity and one drawdown chart per run where an equity curve was kept.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import admf
from admf.cli import main
from admf.errors import DataError
from admf.report import downsample, write_report
from admf.runtime.tracing import read_events


def study(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "reported",
        "seed": 21,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 2500,
                 "start": "2020-01-01", "batch_rows": 800},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": 30},
                        "direction": "long_short"}],
        "portfolio": {"initial_cash": 100_000, "sizing": {"type": "percent_equity", "percent": 50}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005}},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"},
    }
    config.update(sections)
    return config


def sections(page: str) -> dict[str, str]:
    """Run directory name -> that run's <section> of the report."""
    found = re.findall(r"<section><h3>(.*?)</h3>(.*?)</section>", page, re.DOTALL)
    return {html.unescape(name): body for name, body in found}


def cell(section: str, metric: str) -> str:
    match = re.search(rf"<tr><th>{metric}</th><td>(.*?)</td></tr>", section)
    assert match, metric
    return html.unescape(match.group(1))


def report(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The static report (what ``admf report`` writes without plotly)."""
    target = write_report(run_dir, interactive=False)
    assert target == run_dir / "report.html"
    return target.read_text(encoding="utf-8")


@pytest.mark.parametrize("sequence", ["single_pass", "parameter_sweep"])
def test_the_report_shows_every_run_its_metrics_and_its_charts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], sequence: str) -> None:
    result = admf.run_sync(study(tmp_path, sequence={"type": sequence}))
    run_dir = Path(result.path)
    page = report(run_dir, capsys)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "http://" not in page and "https://" not in page  # self-contained
    runs = sorted(d for d in (run_dir / "main" / "runs").iterdir())
    shown = sections(page)
    assert sorted(shown) == [d.name for d in runs] and len(runs) == 2
    for run in runs:
        doc = json.loads((run / "metrics.json").read_text())
        metrics, body = doc["metrics"], shown[run.name]
        assert cell(body, "total_return") == f"{metrics['total_return'] * 100:.2f}%"
        assert cell(body, "max_drawdown") == f"{metrics['max_drawdown'] * 100:.2f}%"
        assert cell(body, "sharpe_ratio") == f"{metrics['sharpe_ratio']:.3f}"
        assert cell(body, "trade_count") == f"{metrics['trade_count']:,}"
        assert cell(body, "final_equity") == f"{metrics['final_equity']:,.2f}"
        assert metrics["trade_count"] > 0
        assert html.escape(", ".join(f"{k}={v}" for k, v in doc["params"].items())) in body
        assert body.count("<svg") == 2  # equity and drawdown
        assert 'aria-label="equity"' in body and 'aria-label="drawdown"' in body
        points = re.search(r'aria-label="equity".*?<polyline points="([^"]+)"', body, re.DOTALL)
        assert points and 3 <= len(points.group(1).split()) <= 1500
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert "reported" in title and result.run_id in title


def test_the_report_has_no_chart_when_equity_curves_were_not_kept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = admf.run_sync(study(tmp_path, results={"dir": str(tmp_path / "results"),
                                                    "storage": "hybrid",
                                                    "keep_equity_curves": False}))
    run_dir = Path(result.path)
    assert not list(run_dir.rglob("equity.parquet"))
    page = report(run_dir, capsys)
    assert "<svg" not in page
    shown = sections(page)
    assert len(shown) == 2
    for name, body in shown.items():
        doc = json.loads((run_dir / "main" / "runs" / name / "metrics.json").read_text())
        assert cell(body, "sharpe_ratio") == f"{doc['metrics']['sharpe_ratio']:.3f}"


def test_the_report_goes_where_output_says(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path))
    target = tmp_path / "elsewhere.html"
    assert main(["report", str(result.path), "-o", str(target)]) == 0
    assert target.is_file() and not (Path(result.path) / "report.html").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_the_report_refuses_a_directory_without_a_manifest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = admf.run_sync(study(tmp_path))
    run_dir = Path(result.path)
    (run_dir / "manifest.json").unlink()  # an unfinished run
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    with pytest.raises(DataError, match="not a complete admf run"):
        write_report(run_dir, interactive=False)
    assert "manifest.json" in err and str(run_dir) in err
    assert not (run_dir / "report.html").exists()
    with pytest.raises(DataError, match="not a complete admf run"):
        write_report(tmp_path)


# -- downsampling -------------------------------------------------------------------------


def _buckets(n: int, points: int) -> list[tuple[int, int]]:
    """The report's buckets: ``points // 3`` equal spans of the index."""
    edges = np.linspace(0, n, points // 3 + 1).astype(np.int64)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


values_arrays = hnp.arrays(np.float64, st.integers(0, 4000),
                           elements=st.floats(-1e9, 1e9, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(values=values_arrays, points=st.integers(3, 1600))
def test_downsample_keeps_every_buckets_extremes_within_the_limit(
        values: np.ndarray, points: int) -> None:
    index, sample = downsample(values, points)
    assert len(index) == len(sample) <= points
    assert np.all(np.diff(index) > 0)  # in order, no repeats
    np.testing.assert_array_equal(sample, values[index])
    if len(values) <= points:
        assert len(index) == len(values)
        return
    kept = set(index.tolist())
    for lo, hi in _buckets(len(values), points):
        chunk = values[lo:hi]
        assert lo in kept
        assert chunk.min() in values[[i for i in kept if lo <= i < hi]]
        assert chunk.max() in values[[i for i in kept if lo <= i < hi]]
    assert values.min() == sample.min() and values.max() == sample.max()


def test_downsample_keeps_a_single_spike() -> None:
    values = np.zeros(100_000)
    values[77_777] = 5.0
    values[12_345] = -3.0
    index, sample = downsample(values)
    assert len(index) <= 1500
    assert 77_777 in index and 12_345 in index
    assert sample.max() == 5.0 and sample.min() == -3.0


@pytest.mark.parametrize("points", [1, 2])
def test_downsample_to_fewer_than_three_points_stays_within_the_limit(points: int) -> None:
    """Fails today: ``points // 3`` is 0 buckets, the kept index list is
    empty and ``np.asarray([])`` is float, so indexing raises IndexError."""
    values = np.arange(10, dtype=np.float64)
    index, sample = downsample(values, points)
    assert len(index) <= points
    np.testing.assert_array_equal(sample, values[index])


# -- admf trace ----------------------------------------------------------------------------


def _counts(out: str) -> dict[tuple[str, str], int]:
    rows = {}
    for line in out.splitlines():
        match = re.fullmatch(r"  (\S+)\s+(\S+)\s+(\d+)", line)
        if match:
            rows[(match.group(1), match.group(2))] = int(match.group(3))
    return rows


def test_admf_trace_counts_events_per_kind_and_container_and_filters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = admf.run_sync(study(tmp_path, tracing={"level": "normal"}))
    run_dir = Path(result.path)
    trace = run_dir / "main" / "trace" / "events.jsonl"
    events = list(read_events(trace))
    expected = Counter((e["kind"], e.get("container") or "-") for e in events)

    assert main(["trace", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{trace}: {len(events)} events"
    assert _counts(out) == dict(expected)
    assert _counts(out)[("stage_entered", "strategies")] == 6
    assert _counts(out)[("message", "source_AAA")] == 4  # 2500 bars in batches of 800

    assert main(["trace", str(run_dir), "--kind", "message", "--container", "strategies",
                 "--limit", "3"]) == 0
    out = capsys.readouterr().out
    signals = [e for e in events if e["kind"] == "message" and e.get("container") == "strategies"]
    assert out.splitlines()[0] == f"{trace}: {len(signals)} events"
    assert len(signals) == 2 * 4
    assert _counts(out) == {("message", "strategies"): len(signals)}
    printed = [line for line in out.splitlines() if line.startswith("   {")]
    assert len(printed) == 3 and all("'kind': 'message'" in line for line in printed)

    assert main(["trace", str(trace), "--kind", "route"]) == 0  # a trace file works too
    out = capsys.readouterr().out
    assert _counts(out) == {("route", "-"): 2}


def test_admf_trace_reads_msgpack_traces(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    result = admf.run_sync(study(tmp_path, tracing={"level": "minimal", "format": "msgpack"}))
    assert main(["trace", str(result.path), "--container", "portfolio_1"]) == 0
    out = capsys.readouterr().out
    assert "events.msgpack: 12 events" in out.splitlines()[0]
    assert _counts(out) == {("stage_entered", "portfolio_1"): 6, ("stage_exited", "portfolio_1"): 6}


def test_admf_trace_without_a_trace_is_an_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    result = admf.run_sync(study(tmp_path))
    assert main(["trace", str(result.path)]) == 2
    assert "no trace files" in capsys.readouterr().err
