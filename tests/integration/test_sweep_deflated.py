"""A sweep reports its winner's deflated Sharpe ratio and its probability of
backtest overfitting (issue 13), computed here again from the sweep's own
table and equity files, with the formulas written out (normal CDF from
math.erf, quantiles from statistics, CSCV as a plain loop)."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pyarrow.parquet as pq
import pytest

import admf
from admf.research.results.runs import run_key
from tests.integration.test_research import study
from tests.unit.research.test_overfitting import reference_pbo


def test_sweep_aggregate_has_the_deflated_sharpe_ratio(tmp_path: Path) -> None:
    config = study(tmp_path, strategies=[{"type": "sma_crossover",
                                          "params": {"fast": [3, 5, 8], "slow": [20, 40]}}],
                   bars=1500, sequence={"type": "parameter_sweep"},
                   results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    result = admf.run_sync(config)
    got = result.aggregate["deflated_sharpe"]
    assert got["moments_from"] == "returns"
    root = math.sqrt(365.25 * 24)  # hourly bars, 24/7
    sharpes = [row["sharpe_ratio"] / root for row in result.table]
    top = max(result.table, key=lambda r: r["sharpe_ratio"])
    assert got["point"] == top["portfolio"] and got["trials"] == 6
    equity = pq.read_table(Path(result.path) / "main" / "runs" / run_key(top["portfolio"])
                           / "equity.parquet").column("equity").to_numpy()
    r = equity / np.concatenate([[100_000.0], equity[:-1]]) - 1
    m = r.mean()
    skew = float(np.mean((r - m) ** 3) / np.mean((r - m) ** 2) ** 1.5)
    kurt = float(np.mean((r - m) ** 4) / np.mean((r - m) ** 2) ** 2)
    mean_sr = sum(sharpes) / 6
    variance = sum((s - mean_sr) ** 2 for s in sharpes) / 5
    g, z = 0.5772156649015329, NormalDist().inv_cdf
    sr0 = math.sqrt(variance) * ((1 - g) * z(1 - 1 / 6) + g * z(1 - 1 / (6 * math.e)))
    sr = top["sharpe_ratio"] / root
    t = top["bars"]
    stat = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr ** 2)
    assert got["skewness"] == pytest.approx(skew, rel=1e-9)
    assert got["kurtosis"] == pytest.approx(kurt, rel=1e-9)
    assert got["value"] == pytest.approx(0.5 * (1 + math.erf(stat / math.sqrt(2))), abs=1e-9)


@pytest.mark.parametrize("kind", ["inline", "processes"])
def test_sweep_aggregate_has_the_pbo_of_its_equity_files(tmp_path: Path, kind: str) -> None:
    """The PBO each run's streamed block moments give is the plain CSCV over
    the return columns read back from the runs' equity files."""
    config = study(tmp_path, strategies=[{"type": "sma_crossover",
                                          "params": {"fast": [3, 5, 8, 13], "slow": [20, 40]}},
                                         {"type": "momentum", "params": {"period": [10, 30]}}],
                   bars=2003, sequence={"type": "parameter_sweep"},
                   executor={"kind": kind, "workers": 2},
                   results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    result = admf.run_sync(config)
    got = result.aggregate["pbo"]
    runs = Path(result.path) / "main" / "runs"
    columns = []
    for row in sorted(result.table, key=lambda r: r["portfolio"]):
        equity = pq.read_table(runs / run_key(row["portfolio"]) / "equity.parquet")
        values = equity.column("equity").to_numpy()
        columns.append(values / np.concatenate([[100_000.0], values[:-1]]) - 1)
    matrix = np.stack(columns, axis=1)
    assert matrix.shape == (2003, 10)
    expected, median = reference_pbo(matrix, 16)
    assert got["trials"] == 10 and got["blocks"] == 16 and got["combinations"] == 12_870
    assert got["value"] == expected
    assert got["median_logit"] == pytest.approx(median, abs=1e-12)


def test_a_one_point_sweep_has_no_pbo(tmp_path: Path) -> None:
    config = study(tmp_path, strategies=[{"type": "sma_crossover",
                                          "params": {"fast": 5, "slow": 20}}],
                   sequence={"type": "parameter_sweep"})
    got = admf.run_sync(config, write=False).aggregate["pbo"]
    assert got["value"] is None and "one point" in got["why"]
