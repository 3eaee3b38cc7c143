"""Symbols with the characters real tickers use run end to end: from data
files named by the ``{symbol}`` template and from a directory of per-symbol
files; results are keyed by the real symbol (issue 15, item 8)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

import admf
from admf.errors import AdmfError
from tests.integration._support import csv_study, random_walk, write_csv

TICKERS = ["BRK.B", "BF-B", "^GSPC", "EURUSD=X", "BTC/USD"]
FILES = {"BRK.B": "BRK.B.csv", "BF-B": "BF-B.csv", "^GSPC": "^GSPC.csv",
         "EURUSD=X": "EURUSD=X.csv", "BTC/USD": "BTC%2FUSD.csv"}


def _data(tmp_path: Path) -> Path:
    folder = tmp_path / "bars"
    folder.mkdir()
    for i, ticker in enumerate(TICKERS):
        write_csv(folder / FILES[ticker], random_walk(300, seed=20 + i))
    return folder


@pytest.mark.parametrize("layout", ["template", "directory"])
def test_ticker_symbols_run_and_key_results_by_the_real_symbol(tmp_path: Path, layout: str) -> None:
    folder = _data(tmp_path)
    config = csv_study(tmp_path, tmp_path / "results")
    config["data"].update(symbols=TICKERS,
                          path=str(folder / "{symbol}.csv") if layout == "template" else str(folder))
    config["portfolio"]["sizing"] = {"type": "percent_equity", "percent": 15}
    config["results"] = {"dir": str(tmp_path / "results"), "storage": "hybrid"}
    admf.load(config)
    result = admf.run_sync(config)
    run = next((result.path / "main" / "runs").iterdir())
    signals = pq.read_table(run / "signals.parquet")
    assert sorted(set(signals.column("symbol").to_pylist())) == sorted(TICKERS)
    trades = pq.read_table(run / "trades.parquet")
    assert set(trades.column("symbol").to_pylist()) <= set(TICKERS)
    assert len(set(trades.column("symbol").to_pylist())) >= 2


def test_each_symbol_reads_its_own_file(tmp_path: Path) -> None:
    # two symbols whose plain names would collide as files stay apart
    folder = tmp_path / "bars"
    folder.mkdir()
    write_csv(folder / "A%2FB.csv", random_walk(100, seed=1))
    config = csv_study(tmp_path, tmp_path / "results")
    config["data"].update(symbols=["A/B", "A%2FB"], path=str(folder / "{symbol}.csv"))
    with pytest.raises(AdmfError) as info:
        admf.run_sync(config)  # A%2FB's own file is A%252FB.csv, which is not there
    assert "A%252FB.csv" in str(info.value)
