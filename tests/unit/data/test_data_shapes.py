"""File shapes as users have them: unnamed index columns, any-case headers,
no volume, explicit column maps, adjusted closes, epochs, date-only bars,
directories and globs of per-symbol files, partitioned Parquet datasets."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from admf.data import iter_bars
from admf.errors import DataError

from .bars_helpers import joined, ns

# backtesting.py's GOOG.csv starts like this: an empty header over the dates
GOOG = """,Open,High,Low,Close,Volume
2004-08-19,100.0,104.06,95.96,100.34,22351900
2004-08-20,101.01,109.08,100.5,108.31,11428600
2004-08-23,110.75,113.48,109.05,109.4,9137200
"""
# EURUSD.csv has hourly bars and no volume in many vendors' exports
EURUSD = """,Open,High,Low,Close
2017-04-19 09:00:00,1.07160,1.07220,1.07083,1.07219
2017-04-19 10:00:00,1.07214,1.07296,1.07214,1.07260
"""


def _write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unnamed_first_column_is_the_timestamp(tmp_path: Path) -> None:
    bars = joined(iter_bars(_write(tmp_path, GOOG), symbol="GOOG"))
    assert bars["timestamp"].tolist() == [ns(2004, 8, 19), ns(2004, 8, 20), ns(2004, 8, 23)]
    assert bars["close"].tolist() == [100.34, 108.31, 109.4]
    assert bars["volume"].tolist() == [22351900.0, 11428600.0, 9137200.0]
    # what a pandas read_csv/to_csv round trip leaves behind
    again = joined(iter_bars(_write(tmp_path, GOOG.replace(",Open", "Unnamed: 0,Open", 1), "rt.csv"), symbol="G"))
    assert again["timestamp"].tolist() == bars["timestamp"].tolist()


def test_missing_volume_is_nan(tmp_path: Path) -> None:
    bars = joined(iter_bars(_write(tmp_path, EURUSD), symbol="EURUSD"))
    assert bars["timestamp"].tolist() == [ns(2017, 4, 19, 9), ns(2017, 4, 19, 10)]
    assert bars["open"].tolist() == [1.0716, 1.07214]
    assert all(math.isnan(v) for v in bars["volume"])


def test_rows_are_still_checked_without_volume_or_header_names(tmp_path: Path) -> None:
    bad = EURUSD.replace("1.07260", "nan")
    with pytest.raises(DataError, match=r"bars\.csv: row 2: NaN in column 'Close'"):
        list(iter_bars(_write(tmp_path, bad), symbol="E"))
    swapped = GOOG.replace("104.06,95.96", "95.0,104.06")  # high below low on row 1
    with pytest.raises(DataError, match=r"row 1: inconsistent OHLC: High 95.0 < Low 104.06"):
        list(iter_bars(_write(tmp_path, swapped, "s.csv"), symbol="G"))
    lines = GOOG.splitlines()
    unsorted = "\n".join([lines[0], lines[1], lines[3], lines[2]]) + "\n"
    with pytest.raises(DataError, match=r"u\.csv: row 3: timestamp 2004-08-20T00:00:00Z is earlier than row 2"):
        list(iter_bars(_write(tmp_path, unsorted, "u.csv"), symbol="G"))
    dup = "\n".join([lines[0], lines[1], lines[1]]) + "\n"
    with pytest.raises(DataError, match=r"d\.csv: row 2: duplicate timestamp"):
        list(iter_bars(_write(tmp_path, dup, "d.csv"), symbol="G"))
    text = GOOG.replace("109.08", "1o9.08")
    with pytest.raises(DataError, match=r"row 2: unparsable number '1o9.08' in column 'High'"):
        list(iter_bars(_write(tmp_path, text, "p.csv"), symbol="G"))


def test_explicit_column_mapping(tmp_path: Path) -> None:
    text = "Open time,o,h,l,Price,qty\n1700000000000,10,11,9,10.5,3\n1700000060000,10.5,12,10,11,4\n"
    path = _write(tmp_path, text)
    mapping = {"timestamp": "Open time", "open": "o", "high": "h", "low": "l", "close": "Price", "volume": "qty"}
    bars = joined(iter_bars(path, symbol="B", columns=mapping))
    assert bars["timestamp"].tolist() == [1_700_000_000 * 10**9, 1_700_000_060 * 10**9]  # epoch ms
    assert bars["close"].tolist() == [10.5, 11.0]
    assert bars["volume"].tolist() == [3.0, 4.0]
    with pytest.raises(DataError, match=r"maps 'close' to column 'Last', which is not there; found \['Open time'"):
        iter_bars(path, symbol="B", columns={**mapping, "close": "Last"})


def test_adjusted_close_scales_ohlc(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,12,8,10,5,100\n2020-01-03,20,22,18,21,21,100\n"
    path = _write(tmp_path, text)
    raw = joined(iter_bars(path, symbol="S"))
    assert raw["close"].tolist() == [10.0, 21.0]  # adjust: none ignores Adj Close
    bars = joined(iter_bars(path, symbol="S", adjust="ohlc"))
    # ratios by hand: 5/10 = 0.5 and 21/21 = 1
    assert bars["open"].tolist() == [5.0, 20.0]
    assert bars["high"].tolist() == [6.0, 22.0]
    assert bars["low"].tolist() == [4.0, 18.0]
    assert bars["close"].tolist() == [5.0, 21.0]
    no_adj = _write(tmp_path, GOOG, "g.csv")
    with pytest.raises(DataError, match="missing columns \\['adj_close'\\].*needs an 'Adj Close' column"):
        iter_bars(no_adj, symbol="G", adjust="ohlc")
    bad = _write(tmp_path, text.replace(",5,", ",-5,"), "bad.csv")
    with pytest.raises(DataError, match=r"bad\.csv: row 1: adjusted close 'Adj Close' = -5.0"):
        list(iter_bars(bad, symbol="S", adjust="ohlc"))


@pytest.mark.parametrize("scale", [1, 1_000, 1_000_000, 1_000_000_000])
def test_epoch_units(tmp_path: Path, scale: int) -> None:
    first = 1_600_000_000
    text = f",open,high,low,close\n{first * scale},1,2,0.5,1.5\n{(first + 60) * scale},1,2,0.5,1.5\n"
    bars = joined(iter_bars(_write(tmp_path, text), symbol="X"))
    assert bars["timestamp"].tolist() == [first * 10**9, (first + 60) * 10**9]


def test_date_only_daily_bars_and_any_case_headers(tmp_path: Path) -> None:
    text = "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME\n2021-03-01,1,2,0.5,1.5,10\n2021-03-02,1,2,0.5,1.5,10\n"
    bars = joined(iter_bars(_write(tmp_path, text), symbol="X", end="2021-03-01"))
    assert bars["timestamp"].tolist() == [ns(2021, 3, 1)]


def test_directory_and_glob_of_per_symbol_files(tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    folder.mkdir()
    _write(folder, GOOG, "GOOG.csv")
    _write(folder, EURUSD, "EURUSD_1h.csv")
    goog = joined(iter_bars(folder, symbol="GOOG"))
    assert goog["close"].tolist() == [100.34, 108.31, 109.4]
    eur = joined(iter_bars(str(folder / "*_1h.csv"), symbol="EURUSD"))
    assert eur["close"].tolist() == [1.07219, 1.0726]
    with pytest.raises(DataError, match=r"no file for symbol 'MSFT'.*found \['EURUSD_1h.csv', 'GOOG.csv'\]"):
        iter_bars(folder, symbol="MSFT")


def _partition(root: Path, symbol: str, name: str, times: list[int], high: list[float]) -> None:
    folder = root / f"symbol={symbol}"
    folder.mkdir(parents=True, exist_ok=True)
    n = len(times)
    table = pa.table({
        "timestamp": pa.array(times, pa.timestamp("ns", "UTC")),
        "open": [1.0] * n, "high": high, "low": [0.5] * n, "close": [1.5] * n, "volume": [1.0] * n,
    })
    pq.write_table(table, folder / name)


def test_partitioned_dataset_pushes_the_window_down(tmp_path: Path) -> None:
    root = tmp_path / "bars"
    old = [ns(2020, 1, 2), ns(2020, 1, 3)]
    new = [ns(2021, 1, 4), ns(2021, 1, 5), ns(2021, 1, 6)]
    # Bad rows outside the window: high below low. The decoder checks every row it
    # is given (rows before ``start`` too), so passing proves they were never read.
    _partition(root, "SPY", "2020.parquet", old, [0.1, 0.1])
    _partition(root, "SPY", "2021.parquet", new, [2.0, 2.0, 2.0])
    _partition(root, "QQQ", "2021.parquet", new, [0.1, 0.1, 0.1])
    bars = joined(iter_bars(root, symbol="SPY", fmt="parquet", start="2021-01-01", end="2021-01-05"))
    assert bars["timestamp"].tolist() == new[:2]
    with pytest.raises(DataError, match=re.escape(f"{root} [symbol=SPY]: row 1: inconsistent OHLC")):
        list(iter_bars(root, symbol="SPY", fmt="parquet"))
    with pytest.raises(DataError, match=r"no partition symbol=IWM in this dataset; found \['symbol=QQQ', 'symbol=SPY'\]"):
        iter_bars(root, symbol="IWM", fmt="parquet")


def test_dataset_order_is_checked(tmp_path: Path) -> None:
    root = tmp_path / "bars"
    _partition(root, "SPY", "a.parquet", [ns(2021, 1, 5), ns(2021, 1, 4)], [2.0, 2.0])
    with pytest.raises(DataError, match=r"\[symbol=SPY\]: row 2: timestamp 2021-01-04T00:00:00Z is earlier"):
        list(iter_bars(root, symbol="SPY"))
    assert np.isfinite(1.0)


def test_config_keys_reach_the_reader(tmp_path: Path) -> None:
    import admf
    from admf.errors import ConfigError

    folder = tmp_path / "d"
    folder.mkdir()
    rows = ["Open time,o,h,l,Price"] + [
        f"2024-01-02 00:{i:02d}:00,{10 + i % 3},{12 + i % 3},{9 + i % 3},{11 + i % 3}" for i in range(40)
    ]
    (folder / "AAA.csv").write_text("\n".join(rows) + "\n")
    config = {
        "data": {"source": "csv", "path": str(folder), "symbols": ["AAA"], "timeframe": "1m",
                 "columns": {"timestamp": "Open time", "open": "o", "high": "h", "low": "l", "close": "Price"}},
        "strategies": [{"type": "sma_crossover", "params": {"fast": 2, "slow": 5}}],
        "results": {"dir": str(tmp_path / "r"), "storage": "memory"},
    }
    result = admf.run_sync(config, write=False)
    assert len(result.equity["equity"]) == 40
    bad = {**config, "data": {**config["data"], "columns": {"closing": "Price"}}}
    with pytest.raises(ConfigError, match=r"data\.columns\.closing.*unknown bar column 'closing'"):
        admf.load(bad)
    with pytest.raises(ConfigError, match=r"data\.adjust"):
        admf.load({**config, "data": {"symbols": ["A"], "adjust": "ohlc"}})
    no_volume = {**config, "execution": {"slippage": {"type": "volume_share"}}}
    with pytest.raises(admf.AdmfError, match="volume_share slippage needs bar volume"):
        admf.run_sync(no_volume, write=False)
