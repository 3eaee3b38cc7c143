"""iter_bars: timestamp forms, columns, windows, formats and batch shapes."""

from __future__ import annotations

import datetime as dt
import gzip
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.data import (
    _sources,
    detect_format,
    iter_bars,
    parse_time,
    synthetic_bars,
    write_csv,
    write_parquet,
)
from admf.errors import ConfigError, DataError
from admf.messages import BarBatch
from tests.unit.data.bars_helpers import assert_same_bars, joined, ns

WriteCsv = Callable[..., Path]
OHLCV = "1,2,0.5,1.5,10"


def read_ts(path: Path, **options: object) -> list[int]:
    return joined(iter_bars(path, symbol="X", **options))["timestamp"].tolist()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["2024-01-02", "2024-01-03"], [ns(2024, 1, 2), ns(2024, 1, 3)]),
        (["2024-01-02T09:30", "2024-01-02T09:31"], [ns(2024, 1, 2, 9, 30), ns(2024, 1, 2, 9, 31)]),
        (["2024-01-02 09:30:00", "2024-01-02 09:30:01"], [ns(2024, 1, 2, 9, 30), ns(2024, 1, 2, 9, 30, 1)]),
        (
            ["2024-01-02 09:30:00.000000001", "2024-01-02 09:30:00.25"],
            [ns(2024, 1, 2, 9, 30) + 1, ns(2024, 1, 2, 9, 30) + 250_000_000],
        ),
        (["2024-01-02T09:30:00Z", "2024-01-02T09:31:00Z"], [ns(2024, 1, 2, 9, 30), ns(2024, 1, 2, 9, 31)]),
        (
            ["2024-01-02T09:30:00+01:00", "2024-01-02T09:30:00-05:00"],
            [ns(2024, 1, 2, 8, 30), ns(2024, 1, 2, 14, 30)],
        ),
        (["2024-01-02 09:30:00+0100", "2024-01-02 09:30:00-0000"], [ns(2024, 1, 2, 8, 30), ns(2024, 1, 2, 9, 30)]),
        (["1704153600", "1704153660"], [ns(2024, 1, 2), ns(2024, 1, 2, 0, 1)]),
        (["1704153600000", "1704153600001"], [ns(2024, 1, 2), ns(2024, 1, 2) + 1_000_000]),
        (["1704153600000000", "1704153600000001"], [ns(2024, 1, 2), ns(2024, 1, 2) + 1_000]),
        (["1704153600000000000", "1704153600000000001"], [ns(2024, 1, 2), ns(2024, 1, 2) + 1]),
        (["1704153600.5", "1704153601.25"], [ns(2024, 1, 2) + 500_000_000, ns(2024, 1, 2, 0, 0, 1) + 250_000_000]),
        (["0", "60"], [0, 60 * 10**9]),
    ],
)
def test_timestamp_forms(write_csv_text: WriteCsv, cells: list[str], expected: list[int]) -> None:
    path = write_csv_text([f"{cell},{OHLCV}" for cell in cells])
    assert read_ts(path) == expected


def test_naive_timestamps_use_tz_and_explicit_ones_do_not(write_csv_text: WriteCsv) -> None:
    new_york = zoneinfo.ZoneInfo("America/New_York")
    naive = write_csv_text([f"2024-01-02 09:30,{OHLCV}", f"2024-07-02 09:30,{OHLCV}"], name="naive.csv")
    assert read_ts(naive, tz="America/New_York") == [
        ns(2024, 1, 2, 9, 30, tz=new_york),
        ns(2024, 7, 2, 9, 30, tz=new_york),
    ]
    explicit = write_csv_text([f"2024-01-02T09:30Z,{OHLCV}"], name="explicit.csv")
    assert read_ts(explicit, tz="America/New_York") == [ns(2024, 1, 2, 9, 30)]
    epoch = write_csv_text([f"1704153600,{OHLCV}"], name="epoch.csv")
    assert read_ts(epoch, tz="America/New_York") == [ns(2024, 1, 2)]


def test_prices_and_volume_are_read_as_float64(write_csv_text: WriteCsv) -> None:
    path = write_csv_text(["2024-01-02,10.5,11.25,9.75,11,1200", "2024-01-03,11,12,10,1e1,0"])
    (batch,) = iter_bars(path, symbol="SPY")
    assert isinstance(batch, BarBatch) and batch.symbol == "SPY" and batch.ts == ns(2024, 1, 2)
    assert batch.timestamp.dtype == np.int64
    for name, values in [("open", [10.5, 11]), ("high", [11.25, 12]), ("low", [9.75, 10]), ("close", [11, 10])]:
        column = getattr(batch, name)
        assert column.dtype == np.float64 and column.flags.c_contiguous
        assert column.tolist() == values
    assert batch.volume.tolist() == [1200.0, 0.0]


@pytest.mark.parametrize(
    "header",
    [
        "Timestamp,Open,High,Low,Close,Volume",
        "TIMESTAMP,OPEN,HIGH,LOW,CLOSE,VOLUME",
        "datetime,open,high,low,close,volume",
        "Date,open,high,low,close,volume",
        "time,open,high,low,close,volume",
        " timestamp , open , high , low , close , volume ",
    ],
)
def test_columns_match_case_insensitively_and_by_alias(write_csv_text: WriteCsv, header: str) -> None:
    path = write_csv_text([f"2024-01-02,{OHLCV}"], header=header)
    assert read_ts(path) == [ns(2024, 1, 2)]


def test_extra_columns_are_ignored_and_order_is_free(write_csv_text: WriteCsv) -> None:
    path = write_csv_text(["x,10,1.5,2,0.5,2024-01-02,1,y"], header="note,volume,close,high,low,Date,open,extra")
    bars = joined(iter_bars(path, symbol="X"))
    assert bars["timestamp"].tolist() == [ns(2024, 1, 2)]
    assert [bars[k][0] for k in ("open", "high", "low", "close", "volume")] == [1, 2, 0.5, 1.5, 10]


def test_timestamp_column_wins_over_aliases(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"2024-01-02,junk,{OHLCV}"], header="timestamp,date,open,high,low,close,volume")
    assert read_ts(path) == [ns(2024, 1, 2)]


DAY_ROWS = [f"2024-01-0{day} {hour:02d}:00,{OHLCV}" for day in (2, 3, 4) for hour in (0, 12, 23)]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, 9),
        ("2024-01-03", None, 6),
        (None, "2024-01-03", 6),  # a date-only end includes the whole day, 23:00 too
        ("2024-01-03", "2024-01-03", 3),
        ("2024-01-03 12:00", "2024-01-04 00:00", 3),  # both ends inclusive
        ("2024-01-03 12:00:00.000000001", "2024-01-03 23:00", 1),
        (dt.date(2024, 1, 4), dt.datetime(2024, 1, 4, 12), 2),
        ("2023-01-01", "2030-01-01", 9),
    ],
)
def test_start_and_end_are_inclusive(write_csv_text: WriteCsv, start: object, end: object, expected: int) -> None:
    path = write_csv_text(DAY_ROWS)
    stamps = read_ts(path, start=start, end=end)
    assert len(stamps) == expected
    if start is not None:
        assert min(stamps) >= parse_time(start)  # type: ignore[arg-type]
    if end is not None:
        assert max(stamps) <= parse_time(end, end=True)  # type: ignore[arg-type]


def test_window_uses_tz_for_naive_bounds(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"2024-01-03T04:59Z,{OHLCV}", f"2024-01-03T05:00Z,{OHLCV}", f"2024-01-04T04:59Z,{OHLCV}"])
    assert read_ts(path, start="2024-01-03", end="2024-01-03", tz="America/New_York") == [
        ns(2024, 1, 3, 5),
        ns(2024, 1, 4, 4, 59),
    ]


def test_rows_after_end_are_not_examined(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"2024-01-02,{OHLCV}", f"2024-01-03,{OHLCV}", "2024-01-04,x,y,z,w,v", "not,a,row"])
    assert read_ts(path, end="2024-01-03") == [ns(2024, 1, 2), ns(2024, 1, 3)]


def test_bad_window_arguments(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"2024-01-02,{OHLCV}"])
    with pytest.raises(ConfigError, match="is after end"):
        iter_bars(path, symbol="X", start="2024-01-03", end="2024-01-02")
    with pytest.raises(ConfigError, match="as a time"):
        iter_bars(path, symbol="X", start="soon")
    with pytest.raises(ConfigError, match="unknown time zone"):
        iter_bars(path, symbol="X", tz="Nowhere/Else")
    with pytest.raises(ConfigError, match="batch_rows"):
        iter_bars(path, symbol="X", batch_rows=0)


def test_batches_have_exactly_batch_rows(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"{1704153600 + 60 * i},{OHLCV}" for i in range(10)])
    batches = list(iter_bars(path, symbol="X", batch_rows=4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [b.ts for b in batches] == [int(b.timestamp[0]) for b in batches]
    assert all(not b.close.flags.writeable for b in batches)


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write(f"timestamp,open,high,low,close,volume\n2024-01-02,{OHLCV}\n")
    assert read_ts(path) == [ns(2024, 1, 2)]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pa.array([ns(2024, 1, 2) // 10**9], pa.timestamp("s")), ns(2024, 1, 2)),
        (pa.array([ns(2024, 1, 2) // 10**6], pa.timestamp("ms", "UTC")), ns(2024, 1, 2)),
        (pa.array([ns(2024, 1, 2, 9, 30) // 10**3], pa.timestamp("us", "America/New_York")), ns(2024, 1, 2, 9, 30)),
        (pa.array([dt.date(2024, 1, 2)], pa.date32()), ns(2024, 1, 2)),
        (pa.array([1_704_153_600_000], pa.int64()), ns(2024, 1, 2)),
        (pa.array([1_704_153_600.5], pa.float64()), ns(2024, 1, 2) + 500_000_000),
        (pa.array(["2024-01-02T09:30Z"], pa.large_string()), ns(2024, 1, 2, 9, 30)),
        (pa.array(["2024-01-02"]).dictionary_encode(), ns(2024, 1, 2)),
    ],
)
def test_parquet_timestamp_types(tmp_path: Path, column: pa.Array, expected: int) -> None:
    path = tmp_path / "bars.parquet"
    numbers = {name: pa.array([value]) for name, value in zip(("Open", "High", "Low", "Close"), (1.0, 2.0, 0.5, 1.5))}
    pq.write_table(pa.table({"Timestamp": column, **numbers, "Volume": pa.array([10], pa.int32())}), path)
    (batch,) = iter_bars(path, symbol="X")
    assert batch.timestamp.tolist() == [expected]
    assert batch.volume.dtype == np.float64 and batch.volume.tolist() == [10.0]


def test_naive_parquet_timestamps_use_tz(tmp_path: Path) -> None:
    path = tmp_path / "bars.pq"
    stamps = pa.array([dt.datetime(2024, 1, 2, 9, 30)], pa.timestamp("ns"))
    prices = {name: [value] for name, value in zip(("open", "high", "low", "close", "volume"), (1, 2, 0.5, 1.5, 9))}
    pq.write_table(pa.table({"timestamp": stamps, **prices}), path)
    assert read_ts(path, tz="America/New_York") == [ns(2024, 1, 2, 14, 30)]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("a.CSV", "csv"), ("a.csv.gz", "csv"), ("a.parquet", "parquet"), ("a.pq", "parquet")],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_format_from_argument_when_the_name_does_not_tell(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"2024-01-02,{OHLCV}"], name="bars.txt")
    with pytest.raises(ConfigError, match="cannot tell the format"):
        iter_bars(path, symbol="X")
    assert read_ts(path, fmt="csv") == [ns(2024, 1, 2)]
    with pytest.raises(ConfigError, match="unknown data format"):
        iter_bars(path, symbol="X", fmt="xlsx")  # type: ignore[arg-type]


def test_file_and_columns_are_checked_before_iteration(tmp_path: Path, write_csv_text: WriteCsv) -> None:
    with pytest.raises(DataError, match="file not found"):
        iter_bars(tmp_path / "absent.csv", symbol="X")
    path = write_csv_text([f"2024-01-02,{OHLCV}"], header="timestamp,open,high,low,price,volume")
    with pytest.raises(DataError, match="missing columns"):
        iter_bars(path, symbol="X")


def test_abandoned_iteration_closes_cleanly(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([f"{1704153600 + 60 * i},{OHLCV}" for i in range(10)])
    bars = iter_bars(path, symbol="X", batch_rows=2)
    assert len(next(bars)) == 2
    bars.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def market_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, np.ndarray]]:
    folder = tmp_path_factory.mktemp("market")
    hourly = {"symbol": "X", "bars": 3_000, "seed": 5, "start": "2024-01-02", "timeframe": "1h"}
    reference = joined(synthetic_bars(**hourly))  # type: ignore[arg-type]
    write_csv(folder / "bars.csv", synthetic_bars(**hourly))  # type: ignore[arg-type]
    write_parquet(folder / "bars.parquet", synthetic_bars(**hourly, batch_rows=77))  # type: ignore[arg-type]
    return folder / "bars.csv", folder / "bars.parquet", reference


@settings(max_examples=30, deadline=None)
@given(
    batch_rows=st.integers(1, 4_000),
    block=st.sampled_from([128, 1_000, 10_000, 1 << 20]),
    window=st.sampled_from(
        [(None, None), ("2024-01-10", None), ("2024-02-01 13:00", "2024-03-05"), (None, "2024-01-02")]
    ),
    parquet=st.booleans(),
)
def test_results_do_not_depend_on_batching(
    market_files: tuple[Path, Path, dict[str, np.ndarray]],
    batch_rows: int,
    block: int,
    window: tuple[str | None, str | None],
    parquet: bool,
) -> None:
    csv_path, parquet_path, reference = market_files
    start, end = window
    keep = np.ones(len(reference["timestamp"]), dtype=bool)
    if start is not None:
        keep &= reference["timestamp"] >= parse_time(start)
    if end is not None:
        keep &= reference["timestamp"] <= parse_time(end, end=True)
    expected = {name: values[keep] for name, values in reference.items()}
    with mock.patch.object(_sources, "_BLOCK_BYTES", block):
        path = parquet_path if parquet else csv_path
        batches = list(iter_bars(path, symbol="X", start=start, end=end, batch_rows=batch_rows))
    assert all(len(b) == batch_rows for b in batches[:-1]) and 0 < len(batches[-1]) <= batch_rows
    assert_same_bars(joined(batches), expected)
