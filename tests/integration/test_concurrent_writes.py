"""A sweep's run directories are written several at once
(``admf.research.results.runs.write_runs``): the files must be the same
bytes as when written one by one, and a failing write must surface as the
same error whatever the threads' timing, leaving the runs it did not finish
without ``metrics.json`` so a resume redoes exactly those."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.research import tasks
from admf.research.results import runs as result_runs
from admf.research.results.store import RunStore

GRID = {"fast": [5, 10, 15], "slow": [20, 40, 60]}
FAILING = ("fast=10,slow=40", "fast=15,slow=20")  # the first in grid order is fast=10,slow=40


def study(results: Path) -> dict[str, Any]:
    return {
        "name": "written", "seed": 3,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 1500,
                 "start": "2020-01-01"},
        "strategies": [{"type": "sma_crossover", "params": GRID, "direction": "long_short"}],
        "sequence": {"type": "parameter_sweep", "objective": "sharpe_ratio"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(results), "storage": "memory", "keep_equity_curves": True},
    }


def run_files(root: Path) -> dict[str, bytes]:
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    runs = run_dir / "main" / "runs"
    return {p.relative_to(runs).as_posix(): p.read_bytes() for p in sorted(runs.rglob("*"))
            if p.is_file()}


def test_runs_written_at_once_are_the_same_bytes_as_one_by_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(result_runs, "WRITER_THREADS", 1)
    admf.run_sync(study(tmp_path / "serial"))
    monkeypatch.setattr(result_runs, "WRITER_THREADS", 4)
    admf.run_sync(study(tmp_path / "threads"))

    serial, threads = run_files(tmp_path / "serial"), run_files(tmp_path / "threads")
    assert len([k for k in serial if k.endswith("metrics.json")]) == 9
    assert {k for k in serial if k.endswith(".parquet")} >= {
        f"sma_crossover_fast=5,slow=20/{t}.parquet" for t in ("trades", "equity")}
    assert serial.keys() == threads.keys()
    assert [k for k in serial if serial[k] != threads[k]] == []


def test_a_failed_write_raises_the_first_failure_and_leaves_those_runs_incomplete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = RunStore.write_metrics

    def write_metrics(self: RunStore, obj: Any) -> None:
        for key in FAILING:
            if self.key.endswith(key):
                raise OSError(errno.ENOSPC, f"no space left writing {key}", str(self.path))
        original(self, obj)

    monkeypatch.setattr(RunStore, "write_metrics", write_metrics)
    monkeypatch.setattr(result_runs, "WRITER_THREADS", 4)
    # a failed piece stops the sweep, so the pieces after it never run: one first
    # piece (the probe, fast=5,slow=20), then the other eight in one piece
    monkeypatch.setattr(tasks, "PIECE_SECONDS", (1e9, 1e10))
    with pytest.raises(Exception) as caught:
        admf.run_sync(study(tmp_path))
    assert "fast=10,slow=40" in str(caught.value) and "fast=15,slow=20" not in str(caught.value)

    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    runs = run_dir / "main" / "runs"
    complete = {d.name for d in runs.iterdir() if (d / "metrics.json").is_file()}
    assert len(complete) == 7  # every other run was still written and completed
    assert not any(k.endswith(FAILING) for k in complete)
    assert not (run_dir / "manifest.json").exists()
    assert not list(run_dir.rglob("*.tmp"))
