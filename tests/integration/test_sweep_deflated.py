"""A sweep reports its winner's deflated Sharpe ratio (issue 13), computed
here again from the sweep's own table and the winner's equity file, with the
formula written out (normal CDF from math.erf, quantiles from statistics)."""

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
