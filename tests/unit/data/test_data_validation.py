"""iter_bars refuses bad data with a DataError naming the file, the row and the problem.

Row numbers count data rows from 1; the header is not counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.data import _sources, iter_bars
from admf.errors import DataError

WriteCsv = Callable[..., Path]
GOOD = [f"2024-01-02 09:3{minute},10,11,9,10.5,100" for minute in range(6)]


def error_of(path: Path, **options: object) -> str:
    with pytest.raises(DataError) as caught:
        for _ in iter_bars(path, symbol="X", **options):  # type: ignore[arg-type]
            pass
    return str(caught.value)


def with_row(row: int, text: str) -> list[str]:
    """The good rows with data row ``row`` (1-based) replaced by ``text``."""
    rows = list(GOOD)
    rows[row - 1] = text
    return rows


@pytest.mark.parametrize(
    ("row", "text", "problem"),
    [
        (3, "2024-01-02 09:3x,10,11,9,10.5,100", "unparsable timestamp '2024-01-02 09:3x'"),
        (2, "2024-13-02 09:31,10,11,9,10.5,100", "unparsable timestamp '2024-13-02 09:31'"),
        (
            2,
            "2024-01-02T09:31Z,10,11,9,10.5,100",
            "unparsable timestamp '2024-01-02T09:31Z' (expected ISO-8601 without a zone offset",
        ),
        (4, "1704188100,10,11,9,10.5,100", "unparsable timestamp '1704188100'"),
        (2, "2024-01-02 09:31,abc,11,9,10.5,100", "unparsable number 'abc' in column 'open'"),
        (5, "2024-01-02 09:34,10,11,9,10.5,1O0", "unparsable number '1O0' in column 'volume'"),
        (3, "2024-01-02 09:31,10,11,9,10.5,100", "duplicate timestamp 2024-01-02T09:31:00Z (same as row 2)"),
        (
            3,
            "2024-01-02 09:30,10,11,9,10.5,100",
            "timestamp 2024-01-02T09:30:00Z is earlier than row 2's 2024-01-02T09:31:00Z",
        ),
        (2, "2024-01-02 09:31,10,8,9,8.5,100", "inconsistent OHLC: high 8.0 < low 9.0"),
        (2, "2024-01-02 09:31,10,10.2,9,10.5,100", "inconsistent OHLC: high 10.2 < close 10.5"),
        (2, "2024-01-02 09:31,10.7,10.6,9,10.5,100", "inconsistent OHLC: high 10.6 < open 10.7"),
        (2, "2024-01-02 09:31,10,11,10.2,10.5,100", "inconsistent OHLC: low 10.2 > open 10.0"),
        (2, "2024-01-02 09:31,10.6,11,10.55,10.5,100", "inconsistent OHLC: low 10.55 > close 10.5"),
        (6, "2024-01-02 09:35,0,11,9,10.5,100", "non-positive price: open = 0.0"),
        (2, "2024-01-02 09:31,-1,-0.5,-2,-1,100", "non-positive price: open = -1.0"),
        (2, "2024-01-02 09:31,10,11,9,10.5,-5", "negative volume: volume = -5.0"),
        (2, "2024-01-02 09:31,10,11,9,NaN,100", "NaN in column 'close'"),
        (2, "2024-01-02 09:31,10,inf,9,10.5,100", "infinite value inf in column 'high'"),
        (2, "2024-01-02 09:31,10,11,9,,100", "empty cell in column 'close'"),
        (2, "2024-01-02 09:31,10,11,9,10.5,", "empty cell in column 'volume'"),
        (2, ",10,11,9,10.5,100", "empty cell in column 'timestamp'"),
        (4, "2024-01-02 09:33,10,11,9,10.5", "expected 6 fields, got 5"),
        (1, "99999999999,10,11,9,10.5,100", "epoch timestamp 99999999999 is out of range"),
    ],
)
def test_bad_row_is_named(write_csv_text: WriteCsv, row: int, text: str, problem: str) -> None:
    path = write_csv_text(with_row(row, text))
    message = error_of(path)
    assert message.startswith(f"{path}: row {row}: ")
    assert problem in message


def test_the_earliest_problem_is_reported(write_csv_text: WriteCsv) -> None:
    rows = list(GOOD)
    rows[1] = "2024-01-02 09:31,10,11,9,10.5,-1"  # negative volume, row 2
    rows[2] = "2024-01-02 09:3x,10,11,9,10.5,100"  # bad timestamp, row 3
    rows[3] = "2024-01-02 09:33,1x,11,9,10.5,100"  # bad number, row 4
    assert "row 2: negative volume" in error_of(write_csv_text(rows))


def test_on_one_row_a_missing_value_outranks_the_rest(write_csv_text: WriteCsv) -> None:
    path = write_csv_text(with_row(2, "2024-01-02 09:30,,8,9,10.5,-1"))
    assert "row 2: empty cell in column 'open'" in error_of(path)


def test_messages_use_the_files_column_names(write_csv_text: WriteCsv) -> None:
    rows = [row.replace(",100", ",-100") if i == 1 else row for i, row in enumerate(GOOD)]
    path = write_csv_text(rows, header="Date,Open,High,Low,Close,VOLUME")
    assert "row 2: negative volume: VOLUME = -100.0" in error_of(path)


def test_ambiguous_local_time(write_csv_text: WriteCsv) -> None:
    path = write_csv_text(["2024-11-03 00:30,10,11,9,10.5,100", "2024-11-03 01:30,10,11,9,10.5,100"])
    message = error_of(path, tz="America/New_York")
    assert "row 2: local time '2024-11-03 01:30' is ambiguous or does not exist in America/New_York" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=re.escape(f"{path}: file not found")):
        iter_bars(path, symbol="X")
    # a directory is a collection of per-symbol files: it names the symbol it lacks
    with pytest.raises(DataError, match="no file for symbol 'X'"):
        iter_bars(tmp_path, symbol="X", fmt="csv")


def test_missing_columns_are_listed_with_those_found(write_csv_text: WriteCsv) -> None:
    path = write_csv_text(["2024-01-02,1,2,0.5"], header="Time,Open,High,Low")
    with pytest.raises(DataError) as caught:
        iter_bars(path, symbol="X")
    message = str(caught.value)
    assert message.startswith(f"{path}: missing columns ['close']; found ['Time', 'Open', 'High', 'Low']")  # volume is optional


def test_ambiguous_columns(write_csv_text: WriteCsv) -> None:
    path = write_csv_text([], header="date,time,open,high,low,close,volume")
    with pytest.raises(DataError, match="columns 'date' and 'time' could both be the timestamp"):
        iter_bars(path, symbol="X")
    path = write_csv_text([], header="timestamp,open,high,low,close,Close,volume", name="twice.csv")
    with pytest.raises(DataError, match=r"columns \['close', 'Close'\] all match 'close'"):
        iter_bars(path, symbol="X")


def test_empty_file_header_only_and_empty_window(tmp_path: Path, write_csv_text: WriteCsv) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=re.escape(f"{empty}: no header row")):
        iter_bars(empty, symbol="X")
    assert error_of(write_csv_text([], name="header.csv")).endswith("header.csv: no data rows")
    path = write_csv_text(GOOD)
    assert "no bars from 2025-01-01T00:00:00Z to the end (6 rows examined)" in error_of(path, start="2025-01-01")
    assert "no bars from the start to 2023-12-31T23:59:59.999999999Z (0 rows examined)" in error_of(
        path, end="2023-12-31"
    )
    between = error_of(path, start="2024-01-02 09:30:30", end="2024-01-02 09:30:45")
    assert "no bars from 2024-01-02T09:30:30Z to 2024-01-02T09:30:45Z" in between


def test_parquet_problems(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    stamps = pa.array([1704188100 + 60 * i for i in range(4)], pa.int64())
    table = pa.table({"timestamp": stamps, "open": [10.0] * 4, "high": [11.0, 11.0, None, 11.0]})
    table = table.append_column("low", pa.array([9.0] * 4)).append_column("close", pa.array([10.5] * 4))
    pq.write_table(table.append_column("volume", pa.array([True] * 4)), path)
    with pytest.raises(DataError, match="column 'volume' has type bool; expected numbers"):
        list(iter_bars(path, symbol="X"))
    pq.write_table(table.append_column("volume", pa.array([1.0] * 4)), path)
    assert error_of(path).startswith(f"{path}: row 3: empty cell in column 'high'")
    bogus = tmp_path / "bogus.parquet"
    bogus.write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        iter_bars(bogus, symbol="X")


def test_out_of_order_across_parquet_batches(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    stamps = [1704188100, 1704188160, 1704188100 + 30, 1704188220]  # row 3 goes back in time
    prices = {name: [value] * 4 for name, value in zip(("open", "high", "low", "close", "volume"), (10, 11, 9, 10, 1))}
    pq.write_table(pa.table({"timestamp": stamps, **prices}), path)
    for batch_rows in (1, 2, 4):  # with 2, rows 2 and 3 sit in different batches
        assert "row 3: timestamp 2024-01-02T09:35:30Z is earlier than row 2's" in error_of(path, batch_rows=batch_rows)


def test_duplicate_across_csv_blocks(write_csv_text: WriteCsv) -> None:
    # Blocks of 64 bytes hold 2-3 rows, so one of these duplicates straddles a block boundary.
    for row in range(100, 105):
        rows = [f"{1704188100 + 60 * i},10,11,9,10.5,100" for i in range(200)]
        rows[row] = rows[row - 1]
        path = write_csv_text(rows)
        with mock.patch.object(_sources, "_BLOCK_BYTES", 64):
            assert f"row {row + 1}: duplicate timestamp" in error_of(path, batch_rows=1)


@settings(max_examples=25, deadline=None)
@given(bad_row=st.integers(1, 120), block=st.sampled_from([64, 200, 1000, 1 << 20]), batch_rows=st.integers(1, 50))
def test_errors_do_not_depend_on_chunking(
    tmp_path_factory: pytest.TempPathFactory, bad_row: int, block: int, batch_rows: int
) -> None:
    rows = [f"{1704188100 + 60 * i},10,11,9,10.5,100" for i in range(120)]
    rows[bad_row - 1] = rows[bad_row - 1].replace(",11,", ",x,")
    rows[-1] = rows[-1].replace(",9,", ",12,")  # a later inconsistent row must not win
    path = tmp_path_factory.mktemp("chunks") / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    with mock.patch.object(_sources, "_BLOCK_BYTES", block):
        message = error_of(path, batch_rows=batch_rows)
    assert message == f"{path}: row {bad_row}: unparsable number 'x' in column 'high'"
