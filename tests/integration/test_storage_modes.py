"""Storage modes and the results layout of CONFIG.md ("Results on disk")."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

import admf
from admf.errors import StrategyError
from tests.integration._support import (
    csv_study,
    random_walk,
    synthetic_study,
    write_csv,
)

BARS = 3000
EQUITY_COLUMNS = ["timestamp", "equity", "cash", "exposure", "drawdown"]
SIGNAL_COLUMNS = ["timestamp", "symbol", "target"]
GRID = [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": 30}}]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    write_csv(path / "X.csv", random_walk(BARS, seed=21))
    return path


def study(data_dir: Path, results: Path, storage: str, *, keep_equity: bool = True,
          **sections: Any) -> dict[str, Any]:
    return csv_study(data_dir, results, results={"dir": str(results), "storage": storage,
                                                 "keep_equity_curves": keep_equity}, **sections)


def run_dirs(result: Any) -> dict[str, Path]:
    """Each portfolio id -> its run directory (found through metrics.json)."""
    out = {}
    for metrics in result.path.glob("main/runs/*/metrics.json"):
        out[json.loads(metrics.read_text())["portfolio"]] = metrics.parent
    return out


def only_run(result: Any) -> Path:
    dirs = run_dirs(result)
    assert len(dirs) == 1
    return next(iter(dirs.values()))


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def column(table: Any, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


# -- the three modes -----------------------------------------------------------


def test_memory_returns_everything_and_writes_everything(data_dir: Path, tmp_path: Path) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "r", "memory"))
    assert result.bars == BARS
    assert len(result.trades["pnl"]) > 10
    assert len(result.equity["equity"]) == BARS
    res = next(iter(result.portfolios.values()))
    assert res.signals is not None and len(res.signals["target"]) > 0
    run = only_run(result)
    assert {p.name for p in run.iterdir()} == {"metrics.json", "trades.parquet", "equity.parquet",
                                                "signals.parquet"}
    equity = pq.read_table(run / "equity.parquet")
    assert equity.column_names == EQUITY_COLUMNS
    np.testing.assert_array_equal(column(equity, "equity"), result.equity["equity"])
    trades = pq.read_table(run / "trades.parquet")
    assert trades.num_rows == len(result.trades["pnl"])
    np.testing.assert_array_equal(column(trades, "pnl"), result.trades["pnl"])
    signals = pq.read_table(run / "signals.parquet")
    assert signals.column_names == SIGNAL_COLUMNS
    np.testing.assert_array_equal(column(signals, "target"), res.signals["target"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["metrics"]["trade_count"] == result.metrics.trade_count


def test_disk_returns_summaries_and_streams_tables(data_dir: Path, tmp_path: Path) -> None:
    memory = admf.run_sync(study(data_dir, tmp_path / "m", "memory"))
    result = admf.run_sync(study(data_dir, tmp_path / "d", "disk"))
    assert next(iter(result.portfolios.values())).trades is None  # streamed, not kept
    # streamed to disk, yet the result still has them: read back from the run directory
    np.testing.assert_array_equal(result.trades["pnl"], memory.trades["pnl"])
    np.testing.assert_array_equal(result.equity["equity"], memory.equity["equity"])
    np.testing.assert_array_equal(result.trades["entry_time"], memory.trades["entry_time"])
    assert next(iter(result.portfolios.values())).signals is None
    assert result.metrics.to_dict() == memory.metrics.to_dict()
    run, mem_run = only_run(result), only_run(memory)
    equity = pq.read_table(run / "equity.parquet")
    assert equity.num_rows == BARS
    assert equity.column_names == EQUITY_COLUMNS
    assert equity.equals(pq.read_table(mem_run / "equity.parquet"))
    for name in ("trades", "signals"):
        assert pq.read_table(run / f"{name}.parquet").equals(pq.read_table(mem_run / f"{name}.parquet"))
    assert pq.read_table(run / "trades.parquet").num_rows == len(memory.trades["pnl"])


def test_hybrid_keeps_trades_in_memory_and_curves_on_disk(data_dir: Path, tmp_path: Path) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "h", "hybrid"))
    assert result.trades is not None and len(result.trades["pnl"]) > 10
    assert next(iter(result.portfolios.values())).equity is None  # streamed, not kept
    run = only_run(result)
    np.testing.assert_array_equal(result.equity["equity"], column(pq.read_table(run / "equity.parquet"), "equity"))
    equity = pq.read_table(run / "equity.parquet")
    assert equity.num_rows == BARS
    assert equity.column_names == EQUITY_COLUMNS
    assert pq.read_table(run / "trades.parquet").num_rows == len(result.trades["pnl"])
    assert (run / "signals.parquet").is_file()


@pytest.mark.parametrize("storage", ["memory", "disk", "hybrid"])
def test_keep_equity_curves_false_writes_no_equity(data_dir: Path, tmp_path: Path, storage: str) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "r", storage, keep_equity=False))
    with pytest.raises(admf.AdmfError, match="keep_equity_curves is false"):
        result.equity
    run = only_run(result)
    assert not (run / "equity.parquet").exists()
    assert {p.name for p in run.iterdir()} == {"metrics.json", "trades.parquet", "signals.parquet"}
    assert (result.path / "manifest.json").is_file()


def test_write_false_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "r", "disk"), write=False)
    assert result.path is None and result.run_id is None
    assert len(result.trades["pnl"]) > 10  # nothing on disk, so everything in memory
    assert not (tmp_path / "r").exists()


# -- the layout ----------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory", "disk", "hybrid"])
def test_layout_and_manifest(data_dir: Path, tmp_path: Path, storage: str) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "results", storage, strategies=GRID))
    root = result.path
    assert root.parent == tmp_path / "results"
    assert root.name == result.run_id
    dirs = run_dirs(result)
    assert set(dirs) == set(result.portfolios) == {"sma_crossover(fast=5,slow=30)",
                                                    "sma_crossover(fast=10,slow=30)"}
    expected = {"manifest.json", "inputs.json", "config.yaml", "main/summary.json",
                "main/runs.parquet", "main/trades.parquet"}  # across the runs
    for run in dirs.values():
        assert run.parent == root / "main" / "runs"
        for name in ("metrics.json", "trades.parquet", "equity.parquet", "signals.parquet"):
            expected.add(f"main/runs/{run.name}/{name}")
    assert all_files(root) == expected

    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["run_id"] == result.run_id
    assert manifest["seed"] == 7
    assert manifest["phases"] == ["main"]
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == expected - {"manifest.json"}
    for rel, entry in listed.items():
        data = (root / rel).read_bytes()
        assert entry["size"] == len(data), rel
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), rel

    summary = json.loads((root / "main" / "summary.json").read_text())
    assert summary["bars"] == BARS
    assert set(summary["portfolios"]) == set(result.portfolios)
    for pid, entry in summary["portfolios"].items():
        assert entry["params"] == result.points[pid].params
        assert entry["metrics"]["trade_count"] == result.portfolios[pid].metrics.trade_count
        metrics = json.loads((dirs[pid] / "metrics.json").read_text())
        assert metrics["params"] == result.points[pid].params
        assert metrics["metrics"] == entry["metrics"]
        assert pq.read_table(dirs[pid] / "equity.parquet").num_rows == BARS


def test_config_yaml_is_the_merged_config_and_reloads(data_dir: Path, tmp_path: Path) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "r", "hybrid"),
                           overrides=["risk.stop_loss=0.02"])
    text = (result.path / "config.yaml").read_text()
    merged = yaml.safe_load(text)
    assert merged["risk"]["stop_loss"] == 0.02
    assert merged["execution"]["fill"] == "next_open"  # defaults are filled in
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert admf.load(result.path / "config.yaml").fingerprint == manifest["fingerprint"]


def test_each_run_gets_its_own_directory(data_dir: Path, tmp_path: Path) -> None:
    config = study(data_dir, tmp_path / "r", "hybrid")
    first, second = admf.run_sync(config), admf.run_sync(config)
    assert first.run_id != second.run_id
    assert (first.path / "manifest.json").is_file() and (second.path / "manifest.json").is_file()


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_signals_are_sparse(data_dir: Path, tmp_path: Path, storage: str) -> None:
    result = admf.run_sync(study(data_dir, tmp_path / "r", storage))
    signals = pq.read_table(only_run(result) / "signals.parquet")
    target = column(signals, "target")
    stamps = column(signals, "timestamp").astype("datetime64[ns]").astype(np.int64)
    assert 0 < signals.num_rows < BARS // 10
    assert set(column(signals, "symbol").tolist()) == {"X"}
    assert np.all(np.diff(stamps) > 0)
    assert target[0] != 0.0  # the position starts flat: the first change is away from 0
    assert np.all(target[1:] != target[:-1])  # only changes


# -- a failing run ---------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory", "disk", "hybrid"])
def test_failing_run_leaves_nothing_that_looks_complete(data_dir: Path, tmp_path: Path,
                                                        storage: str) -> None:
    strategies = [{"type": "tests.integration._support:Boom", "params": {"fail_at": 2500}},
                  {"type": "sma_crossover", "params": {"fast": 5, "slow": 20}}]
    config = study(data_dir, tmp_path / "r", storage, strategies=strategies)
    config["data"]["batch_rows"] = 256  # curves are mid-stream when it fails
    with pytest.raises(StrategyError) as info:  # named at the strategy, with the bar
        admf.run_sync(config)
    error = info.value
    assert (error.container, error.stage) == ("strategies", "execute")  # kept, not printed
    assert "container" not in str(error) and "stage" not in str(error)
    assert "RuntimeError: boom at bar 2500" in str(error)
    assert isinstance(error.__cause__, RuntimeError)
    files = all_files(tmp_path / "r") if (tmp_path / "r").exists() else set()
    assert not [f for f in files if f.endswith("manifest.json")]
    assert not [f for f in files if f.endswith((".parquet", ".tmp", "metrics.json"))], files
    # only the input record and the merged config, written first so an
    # interrupted run can be resumed
    assert {f.rsplit("/", 1)[-1] for f in files} <= {"inputs.json", "config.yaml"}, files



def three_symbol_signals(tmp_path: Path, batch_rows: int | None = None) -> Any:
    config = synthetic_study(tmp_path / "r", symbols=("AAA", "BBB", "CCC"), bars=2000,
                             results={"dir": str(tmp_path / "r"), "storage": "disk"})
    if batch_rows is not None:
        config["data"]["batch_rows"] = batch_rows
    result = admf.run_sync(config)
    assert pq.read_table(only_run(result) / "equity.parquet").num_rows == 2000
    return pq.read_table(only_run(result) / "signals.parquet")


def test_signals_are_sparse_per_symbol(tmp_path: Path) -> None:
    signals = three_symbol_signals(tmp_path)
    symbols = np.array(column(signals, "symbol").tolist())
    target = column(signals, "target")
    stamps = column(signals, "timestamp").astype("datetime64[ns]").astype(np.int64)
    assert set(symbols.tolist()) == {"AAA", "BBB", "CCC"}
    for symbol in ("AAA", "BBB", "CCC"):
        mine = target[symbols == symbol]
        assert 0 < len(mine) < 2000 // 10
        assert mine[0] != 0.0
        assert np.all(mine[1:] != mine[:-1]), symbol
        assert np.all(np.diff(stamps[symbols == symbol]) > 0), symbol


def test_signals_file_is_in_time_order_whatever_the_batch_size(tmp_path: Path) -> None:
    """Bars are merged by event time; the signal log should be too, not grouped
    by symbol within each internal frame (which makes the file's row order
    depend on ``batch_rows``)."""
    whole = three_symbol_signals(tmp_path / "whole")
    small = three_symbol_signals(tmp_path / "small", batch_rows=64)
    stamps = column(whole, "timestamp").astype("datetime64[ns]").astype(np.int64)
    assert np.all(np.diff(stamps) >= 0), "signals.parquet is not in time order"
    assert whole.equals(small)
