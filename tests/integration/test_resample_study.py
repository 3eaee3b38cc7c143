"""``data.resample`` in a study: minute bars resampled by admf give the same
results as the same bars resampled by pandas and handed in as hourly bars;
windows of a walk-forward see exactly the whole series' coarse bars; metrics
annualise by the resampled timeframe; bad settings name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

import admf
from admf.components.metrics import periods_per_year
from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.study import bars_per_year
from tests._walks import walk_arrays

pd = pytest.importorskip("pandas")

N = 6_000  # minute bars: 100 hours
START = np.datetime64("2024-01-02T00:00", "ns")


def _minutes(offset_minutes: int = 0) -> Any:
    o, h, lo, c, v = walk_arrays(N, 5)
    index = pd.DatetimeIndex(START + (np.arange(N) + offset_minutes) * np.timedelta64(60, "s"))
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=index)


def _pandas_hourly(frame: Any, label: str) -> Any:
    """pandas' own resampling, the last bucket dropped unless the data reaches its end."""
    side = "right" if label == "end" else "left"
    out = frame.resample("1h", label=side, closed=side).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna()
    last = frame.index[-1] + (pd.Timedelta(0) if label == "end" else pd.Timedelta("1min"))
    end = out.index[-1] + (pd.Timedelta(0) if label == "end" else pd.Timedelta("1h"))
    return out if last >= end else out.iloc[:-1]


def _config(tmp_path: Path, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "resample", "seed": 3,
        "data": {"symbols": ["SPY"], **data},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5], "slow": 12}}],
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
        **extra,
    }


def _digest(result: Any) -> bytes:
    table = result.table() if callable(result.table) else result.table
    assert table, "a result with no rows proves nothing"
    return msgspec.json.encode(table, enc_hook=repr)


def _write(frame: Any, path: Path) -> Path:
    frame.rename_axis("timestamp").to_csv(path, date_format="%Y-%m-%d %H:%M:%S")
    return path


@pytest.mark.parametrize("label", ["end", "start"])
@pytest.mark.parametrize("offset", [0, 17])  # buckets aligned with the data, or cut mid-hour
def test_resampled_minutes_equal_pandas_hourly_bars(tmp_path: Path, label: str, offset: int) -> None:
    minutes = _minutes(offset)
    hourly = _pandas_hourly(minutes, label)
    (tmp_path / "fine").mkdir()
    (tmp_path / "coarse").mkdir()
    _write(minutes, tmp_path / "fine" / "SPY.csv")
    _write(hourly, tmp_path / "coarse" / "SPY.csv")
    fine = _config(tmp_path, {"source": "csv", "path": str(tmp_path / "fine/{symbol}.csv"),
                              "timeframe": "1m", "resample": "1h", "resample_label": label,
                              "batch_rows": 1000})
    coarse = _config(tmp_path, {"source": "csv", "path": str(tmp_path / "coarse/{symbol}.csv"),
                                "timeframe": "1h"})
    got = admf.run_sync(fine, write=False)
    expected = admf.run_sync(coarse, write=False)
    assert got.bars == expected.bars == len(hourly)
    assert _digest(got) == _digest(expected)
    # and from a DataFrame in memory, read batch by batch in a different split
    memory = _config(tmp_path, {"timeframe": "1m", "resample": "1H", "resample_label": label,
                                "batch_rows": 777})
    assert _digest(admf.run_sync(memory, write=False, data={"SPY": minutes})) == _digest(expected)


@pytest.mark.parametrize("sequence", [
    {"type": "walk_forward", "train": 30, "test": 20, "step": 20},
    {"type": "train_test", "split": 0.6},
])
def test_windows_see_the_whole_series_coarse_bars(tmp_path: Path, sequence: dict[str, Any]) -> None:
    minutes = _minutes(17)
    hourly = _pandas_hourly(minutes, "end")
    got = admf.run_sync(_config(tmp_path, {"timeframe": "1m", "resample": "1h", "batch_rows": 500},
                                sequence=sequence), write=False, data={"SPY": minutes})
    expected = admf.run_sync(_config(tmp_path, {"timeframe": "1h"}, sequence=sequence), write=False,
                             data={"SPY": hourly})
    assert _digest(got) == _digest(expected)


def test_synthetic_bars_resample_too(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "synthetic", "timeframe": "1m", "bars": 3_000,
                                "resample": "1h"})
    result = admf.run_sync(config, write=False)
    # 00:00 alone closes the first bucket; then 49 whole hours; 00:01-00:59 of hour 50 dropped
    assert result.bars == 1 + 49


def test_metrics_annualise_by_the_resampled_timeframe(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: a\ndata: {symbols: [X], timeframe: 1m, resample: 1h}\n"
                    "strategies: [{type: sma_crossover}]\n")
    assert bars_per_year(load_config(path)) == periods_per_year(3_600 * 10**9) == 365.25 * 24


@pytest.mark.parametrize(("data", "expected"), [
    ({"timeframe": "1h", "resample": "1m"}, "data.resample: expected an interval coarser than data.timeframe"),
    ({"timeframe": "1h", "resample": "1h"}, "data.resample: expected an interval coarser"),
    ({"timeframe": "2m", "resample": "5m"}, "data.resample: expected a whole multiple of data.timeframe"),
    ({"timeframe": "1m", "resample": "1x"}, "data.resample: expected a bar interval"),
    ({"timeframe": "1m", "resample": "1M"}, "data.resample: expected a bar interval"),
    ({"timeframe": "1h", "resample": "7h", "calendar": "equity"}, "data.resample: under data.calendar"),
    ({"timeframe": "1m", "resample_label": "start"}, "data.resample_label: only used with data.resample"),
    ({"timeframe": "1m", "resample": "1h", "resample_label": "middle"}, "data.resample_label"),
])
def test_bad_resample_settings_name_the_key(tmp_path: Path, data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        admf.run_sync(_config(tmp_path, {"source": "synthetic", **data}), write=False)


def test_resampled_bars_have_their_own_data_digest(tmp_path: Path) -> None:
    from admf.research.results.runs import data_digest

    def digest(**data: Any) -> str:
        path = tmp_path / "c.yaml"
        fields = ", ".join(f"{k}: {v}" for k, v in {"symbols": "[X]", "timeframe": "1m", **data}.items())
        path.write_text(f"name: a\ndata: {{{fields}}}\nstrategies: [{{type: sma_crossover}}]\n")
        return data_digest(load_config(path))

    # stored signals of minute bars must not be replayed over hourly ones
    assert len({digest(), digest(resample="1h"), digest(resample="1h", resample_label="start"),
                digest(resample="2h")}) == 4
