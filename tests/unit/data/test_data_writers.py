"""write_csv / write_parquet: exact round trips through iter_bars, atomic replacement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from admf.data import iter_bars, synthetic_bars, write_csv, write_parquet
from admf.messages import BarBatch
from tests.unit.data.bars_helpers import assert_same_bars, joined, ns

ROWS = 70_000  # crosses the generator's internal block boundary


@pytest.fixture(scope="module")
def generated() -> dict[str, np.ndarray]:
    return joined(synthetic_bars(symbol="SPY", bars=ROWS, seed=3))


@pytest.mark.parametrize("name", ["bars.csv", "bars.csv.gz", "bars.parquet"])
def test_round_trip_equals_the_generator(tmp_path: Path, generated: dict[str, np.ndarray], name: str) -> None:
    path = tmp_path / name
    writer = write_parquet if name.endswith(".parquet") else write_csv
    assert writer(path, synthetic_bars(symbol="SPY", bars=ROWS, seed=3, batch_rows=10_000)) == ROWS
    assert_same_bars(joined(iter_bars(path, symbol="SPY")), generated)


def test_csv_timestamps_are_utc_iso_text(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    write_csv(path, synthetic_bars(symbol="SPY", bars=2, seed=3, start="2024-01-02 09:30"))
    lines = path.read_text().splitlines()
    assert lines[0] == "timestamp,open,high,low,close,volume"
    assert lines[1].startswith("2024-01-02 09:30:00Z,100,")


def sub_second_bars() -> Iterator[BarBatch]:
    """Two batches: the first needs nanoseconds, the second microseconds."""
    day = ns(2024, 1, 2)
    for stamps in ([day, day + 1], [day + 1_500, day + 86_400 * 10**9]):
        ts, one = np.array(stamps, dtype=np.int64), np.ones(2)
        yield BarBatch(ts=stamps[0], symbol="X", timestamp=ts, open=one, high=one * 2, low=one / 2, close=one, volume=one)


@pytest.mark.parametrize("name", ["ns.csv", "ns.parquet"])
def test_nanosecond_timestamps_survive(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    (write_parquet if name.endswith(".parquet") else write_csv)(path, sub_second_bars())
    assert_same_bars(joined(iter_bars(path, symbol="X")), joined(sub_second_bars()))


def test_writers_create_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bars.parquet"
    assert write_parquet(path, synthetic_bars(symbol="SPY", bars=3, seed=1)) == 3
    assert path.is_file()


@pytest.mark.parametrize("name", ["bars.csv", "bars.parquet"])
def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("previous content")

    def failing() -> Iterator[BarBatch]:
        yield from synthetic_bars(symbol="SPY", bars=10, seed=1, batch_rows=5)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        (write_parquet if name.endswith(".parquet") else write_csv)(path, failing())
    assert path.read_text() == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
