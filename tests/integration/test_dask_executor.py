"""Runs sent to a Dask cluster give exactly what inline runs give."""

from __future__ import annotations

from pathlib import Path

import pytest

import admf
from admf.errors import ConfigError

distributed = pytest.importorskip("distributed")


def sweep(tmp_path: Path, executor: dict) -> dict:
    return {
        "name": "dask_sweep", "seed": 3,
        "data": {"source": "synthetic", "symbols": ["A"], "bars": 4000},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": [30, 60]}}],
        "sequence": {"type": "parameter_sweep"},
        "executor": executor,
        "results": {"dir": str(tmp_path / "r")},
    }


def test_dask_cluster_at_an_address_matches_inline(tmp_path: Path) -> None:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = admf.run_sync(sweep(tmp_path, {"kind": "dask",
                                                "address": cluster.scheduler_address}))
    local = admf.run_sync(sweep(tmp_path, {"kind": "inline"}))
    assert remote.table == local.table
    assert remote.best_params == local.best_params
    # the runs were written by the cluster's workers into the same layout
    assert sorted(p.name for p in (remote.path / "main" / "runs").iterdir()) == \
        sorted(p.name for p in (local.path / "main" / "runs").iterdir())


def test_address_without_dask_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="executor.address: only used by kind 'dask'"):
        admf.run_sync(sweep(tmp_path, {"kind": "processes", "address": "tcp://nowhere:8786"}))
