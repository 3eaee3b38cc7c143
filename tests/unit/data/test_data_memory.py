"""Bars handed to admf.run in memory: the same results as the same bars from a
file, on every executor and sequence type, and the same row checks."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pytest

import admf
from admf.errors import AdmfError, DataError
from tests._walks import walk_arrays

N = 400
START = np.datetime64("2024-01-02T00:00", "ns")


def _bars() -> dict[str, np.ndarray]:
    o, h, lo, c, v = walk_arrays(N, 11)
    ts = START + np.arange(N) * np.timedelta64(60, "s")
    return {"timestamp": ts, "open": o, "high": h, "low": lo, "close": c, "volume": v}


def _config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "memory", "seed": 3,
        "data": {"symbols": ["SPY"], "timeframe": "1m"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5], "slow": 12}}],
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
        **extra,
    }


def _csv(tmp_path: Path, bars: dict[str, np.ndarray]) -> Path:
    path = tmp_path / "SPY.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(list(bars))
        for i in range(N):
            stamp = str(bars["timestamp"][i].astype("datetime64[s]")).replace("T", " ")
            out.writerow([stamp, *(repr(float(bars[k][i])) for k in list(bars)[1:])])
    return path


def _digest(result: Any) -> bytes:
    table = result.table() if callable(result.table) else result.table
    assert table, "a result with no rows proves nothing"
    return msgspec.json.encode(table, enc_hook=repr)


def _file_result(tmp_path: Path, **extra: Any) -> bytes:
    _csv(tmp_path, _bars())
    config = _config(tmp_path, **extra)
    config["data"] = {**config["data"], "source": "csv", "path": str(tmp_path / "{symbol}.csv")}
    return _digest(admf.run_sync(config, write=False))


def test_numpy_dict_and_arrow_table_equal_the_csv_file(tmp_path: Path) -> None:
    expected = _file_result(tmp_path)
    bars = _bars()
    assert _digest(admf.run_sync(_config(tmp_path), write=False, data={"SPY": bars})) == expected
    table = pa.table(bars)
    assert _digest(admf.run_sync(_config(tmp_path), write=False, data={"SPY": table})) == expected


def test_pandas_and_polars_equal_the_csv_file(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    expected = _file_result(tmp_path)
    bars = _bars()
    frame = pd.DataFrame({k: v for k, v in bars.items() if k != "timestamp"},
                         index=pd.DatetimeIndex(bars["timestamp"]))
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    assert _digest(admf.run_sync(_config(tmp_path), write=False, data={"SPY": frame})) == expected
    with_column = pd.DataFrame(bars)
    assert _digest(admf.run_sync(_config(tmp_path), write=False, data={"SPY": with_column})) == expected
    polars = pl.DataFrame(bars)
    assert _digest(admf.run_sync(_config(tmp_path), write=False, data={"SPY": polars})) == expected


@pytest.mark.parametrize("extra", [
    {"sequence": {"type": "parameter_sweep"}, "executor": {"kind": "processes", "workers": 2}},
    {"sequence": {"type": "walk_forward", "train": 150, "test": 100, "step": 100},
     "executor": {"kind": "processes", "workers": 2}},
    {"sequence": {"type": "walk_forward", "train": 150, "test": 100, "step": 100}},
    {"sequence": {"type": "train_test", "split": 0.6}},
], ids=["sweep_processes", "walk_forward_processes", "walk_forward", "train_test"])
def test_every_executor_and_sequence_reads_the_frames(tmp_path: Path, extra: dict[str, Any]) -> None:
    expected = _file_result(tmp_path, **extra)
    got = admf.run_sync(_config(tmp_path, **extra), write=False, data={"SPY": _bars()})
    assert _digest(got) == expected


def _error(tmp_path: Path, frame: Any) -> str:
    with pytest.raises(AdmfError) as caught:
        admf.run_sync(_config(tmp_path), write=False, data={"SPY": frame})
    return str(caught.value)


def test_bad_rows_name_the_symbol_and_the_position(tmp_path: Path) -> None:
    bars = _bars()
    nan = {**bars, "close": bars["close"].copy()}
    nan["close"][7] = np.nan
    assert "data['SPY']: row 7: NaN in column 'close'" in _error(tmp_path, nan)
    crossed = {**bars, "high": bars["high"].copy()}
    crossed["high"][5] = bars["low"][5] / 2
    assert "data['SPY']: row 5: inconsistent OHLC" in _error(tmp_path, crossed)
    ts = bars["timestamp"].copy()
    ts[[3, 4]] = ts[[4, 3]]
    assert "data['SPY']: row 4: timestamp" in _error(tmp_path, {**bars, "timestamp": ts})
    ts = bars["timestamp"].copy()
    ts[9] = ts[8]
    assert "data['SPY']: row 9: duplicate timestamp" in _error(tmp_path, {**bars, "timestamp": ts})
    text = {**bars, "close": np.array([repr(float(x)) for x in bars["close"]], dtype=object)}
    text["close"][2] = "n/a"
    assert "data['SPY']: row 2: unparsable number 'n/a' in column 'close'" in _error(tmp_path, text)


def test_bad_shapes_say_what_was_expected(tmp_path: Path) -> None:
    bars = _bars()
    no_time = {k: v for k, v in bars.items() if k != "timestamp"}
    assert "data['SPY']: missing columns ['timestamp']" in _error(tmp_path, no_time)
    assert "expected a pandas or polars DataFrame" in _error(tmp_path, [1, 2, 3])
    config = _config(tmp_path)
    config["data"]["columns"] = {"close": "Last"}
    with pytest.raises(DataError, match=r"data\['SPY'\]: data.columns maps 'close' to column 'Last', which is not"):
        admf.run_sync(config, write=False, data={"SPY": bars})
    with pytest.raises(AdmfError, match=r"data.symbols lists \['QQQ'\] but data= has no frames"):
        admf.run_sync({**config, "data": {"symbols": ["QQQ"]}}, write=False, data={"SPY": bars})
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(no_time, index=pd.Index([f"r{i}" for i in range(N)]))
    message = _error(tmp_path, frame)
    assert "data['SPY']: the index is Index of " in message
    assert "not time-like; expected a DatetimeIndex or a timestamp column" in message


def test_numeric_columns_are_taken_without_a_copy() -> None:
    from admf.data.memory import to_table

    bars = _bars()
    table = to_table(bars, "data['X']")
    assert table.column("close").chunk(0).buffers()[1].address == bars["close"].ctypes.data
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"close": bars["close"]}, index=pd.DatetimeIndex(bars["timestamp"]))
    column = to_table(frame, "data['X']").column("close").chunk(0)
    assert column.buffers()[1].address == frame["close"].to_numpy(copy=False).ctypes.data


def test_runtime_takes_frames_and_removes_the_staging(tmp_path: Path) -> None:
    import anyio

    expected = _file_result(tmp_path)

    async def main() -> Any:
        runtime = admf.Runtime(_config(tmp_path), write=False, level="none", data={"SPY": _bars()})
        staged = Path(runtime.config.data.path).parent
        assert staged.is_dir()
        async with runtime:
            result = await runtime.wait()
        assert not staged.exists()
        return result

    assert _digest(anyio.run(main)) == expected
