"""Tables across a phase's runs (issue 12 item 4): runs.parquet and
trades.parquet beside the per-run files, checked against each run's own
metrics.json and trades.parquet, and read by pandas and polars in one call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import admf
from admf.research.results.tables import _column
from tests.integration.test_research import study

GRID = [{"type": "sma_crossover", "params": {"fast": [3, 5], "slow": [20, 40]}},
        {"type": "momentum", "params": {"period": [10, 30]}}]


def sweep(tmp_path: Path, **sections: object) -> admf.Result:
    config = study(tmp_path, strategies=GRID, bars=1500, sequence={"type": "parameter_sweep"},
                   risk={"stop_loss": [0.01, 0.05]},
                   results={"dir": str(tmp_path / "results"), "storage": "hybrid"}, **sections)
    return admf.run_sync(config)


def test_runs_parquet_has_every_run_with_its_params_and_metrics(tmp_path: Path) -> None:
    result = sweep(tmp_path)
    phase = Path(result.path) / "main"
    table = pq.read_table(phase / "runs.parquet").to_pylist()
    dirs = sorted(d for d in (phase / "runs").iterdir())
    assert [row["run"] for row in table] == [d.name for d in dirs] and len(dirs) == 12
    for row, run in zip(table, dirs, strict=True):
        doc = json.loads((run / "metrics.json").read_text())
        assert row["portfolio"] == doc["portfolio"] and row["strategy"] == doc["strategy"]
        for name, value in doc["params"].items():
            assert row[name] == value
        assert row["risk.stop_loss"] == doc["portfolio_params"]["risk.stop_loss"]
        for name, value in doc["metrics"].items():
            assert row[name] == value, name
        # a parameter of the other strategy type is null in this row
        other = {"fast", "slow", "period"} - set(doc["params"])
        assert all(row[name] is None for name in other)
    best = max(table, key=lambda r: r["sharpe_ratio"])
    assert best["portfolio"] == result.table[0]["portfolio"]  # ranked by sharpe_ratio


def test_trades_parquet_is_every_runs_trades_with_its_key(tmp_path: Path) -> None:
    result = sweep(tmp_path)
    phase = Path(result.path) / "main"
    joined = pq.read_table(phase / "trades.parquet")
    assert joined.schema.names[0] == "run"
    total = 0
    for run in sorted((phase / "runs").iterdir()):
        own = pq.read_table(run / "trades.parquet")
        mine = joined.filter(np.array(joined.column("run").to_pylist()) == run.name)
        assert mine.drop_columns(["run"]).equals(own)
        total += own.num_rows
    assert joined.num_rows == total > 0
    listed = {f["path"] for f in
              json.loads((Path(result.path) / "manifest.json").read_text())["files"]}
    assert "main/runs.parquet" in listed and "main/trades.parquet" in listed


def test_pandas_and_polars_read_them_in_one_call(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    phase = Path(sweep(tmp_path).path) / "main"
    frame = pd.read_parquet(phase / "runs.parquet")
    assert len(frame) == 12 and frame["risk.stop_loss"].notna().all()
    trades = pl.read_parquet(phase / "trades.parquet")
    per_run = trades.group_by("run").len()
    assert per_run.height == 12


def test_a_walk_forward_lists_its_train_and_test_runs(tmp_path: Path) -> None:
    config = study(tmp_path, strategies=[GRID[0]], bars=1500,
                   sequence={"type": "walk_forward", "train": 600, "test": 300},
                   results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    result = admf.run_sync(config)
    phase = Path(result.path) / "main"
    runs = pq.read_table(phase / "runs.parquet").column("run").to_pylist()
    assert runs == sorted(d.name for d in (phase / "runs").iterdir())
    assert any("test" in r for r in runs) and any("train" in r for r in runs)


def test_a_column_mixing_numbers_and_text_is_kept_as_text() -> None:
    assert _column([1, 2.5, None]).to_pylist() == [1.0, 2.5, None]
    assert _column([1, 2, None]).to_pylist() == [1, 2, None]
    assert _column([1, "fast", [1, 2]]).to_pylist() == ["1", "fast", "[1, 2]"]
    assert _column([True, None]).to_pylist() == [True, None]
