"""Same config + data + seed => identical trades and metrics, in-process and
in fresh processes (DESIGN.md §10)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import admf
from tests.integration._support import (
    csv_study,
    metrics_digest,
    random_walk,
    synthetic_study,
    trade_count,
    trades_digest,
    write_csv,
)

REPO = Path(__file__).resolve().parents[2]
MULTI = ("AAA", "BBB", "CCC")
MULTI_GRID = [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": 30},
               "direction": "long_short"},
              {"type": "donchian_breakout", "params": {"period": 20, "exit_period": 10}}]


def digests(config: dict[str, Any]) -> dict[str, Any]:
    result = admf.run_sync(config, write=False)
    return {"trades": trades_digest(result), "metrics": metrics_digest(result),
            "count": trade_count(result)}


def in_fresh_process(config: dict[str, Any], tmp_path: Path, hash_seed: str) -> dict[str, Any]:
    """Run ``config`` in a new interpreter (its own PYTHONHASHSEED) and return its digests."""
    path = tmp_path / f"config-{hash_seed}.json"
    path.write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run([sys.executable, "-m", "tests.integration._support", str(path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def csv_config(tmp_path: Path) -> dict[str, Any]:
    write_csv(tmp_path / "X.csv", random_walk(3000, seed=4))
    return csv_study(tmp_path, tmp_path / "results", risk={"stop_loss": 0.01, "take_profit": 0.03},
                     strategies=[{"type": "ema_crossover", "params": {"fast": 8, "slow": 21},
                                  "direction": "long_short"}])


def configs(tmp_path: Path, csv_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "synthetic": synthetic_study(tmp_path / "results"),
        "multi_symbol": synthetic_study(tmp_path / "results", symbols=MULTI, bars=2000,
                                        strategies=MULTI_GRID),
        "csv": csv_config,
    }


@pytest.mark.parametrize("case", ["synthetic", "multi_symbol", "csv"])
def test_rerun_in_process_is_identical(tmp_path: Path, csv_config: dict[str, Any], case: str) -> None:
    config = configs(tmp_path, csv_config)[case]
    first, second = digests(config), digests(config)
    assert first["count"] > 20
    assert first == second


@pytest.mark.parametrize("case", ["synthetic", "multi_symbol", "csv"])
def test_fresh_processes_agree_with_each_other_and_in_process(tmp_path: Path,
                                                              csv_config: dict[str, Any],
                                                              case: str) -> None:
    config = configs(tmp_path, csv_config)[case]
    here = digests(config)
    one = in_fresh_process(config, tmp_path, "1")
    two = in_fresh_process(config, tmp_path, "2")
    assert one == two
    assert one == here


def test_a_different_seed_gives_different_trades(tmp_path: Path) -> None:
    base = digests(synthetic_study(tmp_path / "results", seed=7))
    other = digests(synthetic_study(tmp_path / "results", seed=8))
    assert other["trades"] != base["trades"]
    assert other["metrics"] != base["metrics"]


def test_multi_symbol_seed_changes_every_symbol(tmp_path: Path) -> None:
    """Each symbol's walk comes from (seed, symbol): distinct symbols differ,
    and a new seed changes them all."""
    def per_symbol(seed: int) -> dict[str, str]:
        result = admf.run_sync(synthetic_study(tmp_path / "r", seed=seed, symbols=MULTI, bars=2000),
                               write=False)
        trades = result.trades
        return {s: trades_digest_of(trades, s) for s in MULTI}

    seven, eight = per_symbol(7), per_symbol(8)
    assert len(set(seven.values())) == 3
    assert all(seven[s] != eight[s] for s in MULTI)


def trades_digest_of(trades: dict[str, Any], symbol: str) -> str:
    mask = trades["symbol"] == symbol
    assert mask.any()
    return hashlib.sha256(trades["entry_price"][mask].tobytes() + trades["pnl"][mask].tobytes()).hexdigest()


def test_written_run_files_are_byte_identical(tmp_path: Path) -> None:
    """Two runs of one study write the same per-run files (timings live only
    in summary.json and the manifest)."""
    config = synthetic_study(tmp_path / "results", symbols=MULTI, bars=2000, strategies=MULTI_GRID,
                             results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    first, second = admf.run_sync(config), admf.run_sync(config)

    def run_files(result: Any) -> dict[str, str]:
        manifest = json.loads((result.path / "manifest.json").read_text())
        return {f["path"]: f["sha256"] for f in manifest["files"] if "/runs/" in f["path"]}

    files = run_files(first)
    assert len(files) == 3 * 4
    assert files == run_files(second)
    assert (first.path / "config.yaml").read_bytes() == (second.path / "config.yaml").read_bytes()
