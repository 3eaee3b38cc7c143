"""Bad data and bad config fail with an error naming the place (DESIGN.md §10),
run through ``admf.run_sync(dict)``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.errors import AdmfError, ConfigError, ContainerError, DataError
from tests.integration._support import HEADER, csv_study, random_walk, write_csv

ROWS = random_walk(300, seed=9)
BAD = 120  # index of the row we spoil; the readers count data rows from 1
ROW = f"row {BAD + 1}"


def run(tmp_path: Path, **sections: Any) -> None:
    admf.run_sync(csv_study(tmp_path, tmp_path / "results", **sections))


def data_file(tmp_path: Path, rows: list[list[Any]] | None = None,
              header: list[str] = HEADER) -> str:
    return str(write_csv(tmp_path / "X.csv", ROWS if rows is None else rows, header))


def spoiled(column: str, value: Any, index: int = BAD) -> list[list[Any]]:
    rows = copy.deepcopy(ROWS)
    rows[index][HEADER.index(column)] = value
    return rows


def data_error(info: pytest.ExceptionInfo[AdmfError], symbol: str = "X") -> str:
    """The message of a data error: ``admf.run`` raises the :class:`DataError`
    itself (issue 12 item 7), naming file and row and no actor; the source
    that met it is kept in ``container`` and ``stage``, not in the message."""
    error = info.value
    assert isinstance(error, DataError) and not isinstance(error, ContainerError)
    assert "container" not in str(error) and "stage '" not in str(error)
    if hasattr(error, "container"):  # met while running, by the symbol's source
        assert error.container == f"source_{symbol}"
        assert error.stage in ("initialize", "execute")
    return str(error)


# -- data ----------------------------------------------------------------------


def test_missing_column(tmp_path: Path) -> None:
    # volume is optional (NaN volume); close is not
    path = data_file(tmp_path, [r[:4] + r[5:] for r in ROWS], HEADER[:4] + HEADER[5:])
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message
    assert "missing columns ['close']" in message


def test_unparsable_number(tmp_path: Path) -> None:
    path = data_file(tmp_path, spoiled("close", "12,5"))
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message and ROW in message
    assert "'12,5'" in message and "'close'" in message


def test_unparsable_number_in_a_later_batch_counts_rows_from_the_file(tmp_path: Path) -> None:
    data_file(tmp_path, spoiled("open", "n/a", index=250))
    config = csv_study(tmp_path, tmp_path / "results")
    config["data"].update(batch_rows=16, start="2024-01-02 01:00")
    with pytest.raises((DataError, ContainerError)) as info:
        admf.run_sync(config)
    message = data_error(info)
    assert "row 251" in message and "'n/a'" in message and "'open'" in message


def test_unparsable_timestamp(tmp_path: Path) -> None:
    path = data_file(tmp_path, spoiled("timestamp", "yesterday"))
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message and ROW in message and "'yesterday'" in message


def test_out_of_order_timestamps(tmp_path: Path) -> None:
    rows = copy.deepcopy(ROWS)
    rows[BAD][0], rows[BAD + 1][0] = rows[BAD + 1][0], rows[BAD][0]
    path = data_file(tmp_path, rows)
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message
    assert f"row {BAD + 2}" in message and "earlier than" in message


def test_duplicate_timestamp(tmp_path: Path) -> None:
    rows = copy.deepcopy(ROWS)
    rows[BAD + 1][0] = rows[BAD][0]
    path = data_file(tmp_path, rows)
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message
    assert f"row {BAD + 2}" in message and "duplicate timestamp" in message


def test_high_below_low(tmp_path: Path) -> None:
    path = data_file(tmp_path, spoiled("high", "1.0"))
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message and ROW in message
    assert "high 1.0 < low" in message


@pytest.mark.parametrize(("value", "expected"), [("", "empty cell in column 'volume'"),
                                                 ("nan", "NaN in column 'volume'")])
def test_nan_or_empty_cell(tmp_path: Path, value: str, expected: str) -> None:
    path = data_file(tmp_path, spoiled("volume", value))
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message and ROW in message and expected in message


@pytest.mark.parametrize("value", ["0", "-3.5"])
def test_non_positive_price(tmp_path: Path, value: str) -> None:
    rows = spoiled("low", value)
    path = data_file(tmp_path, rows)
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert path in message and ROW in message
    assert "non-positive price" in message and "low" in message


@pytest.mark.parametrize(("start", "end"), [("2025-01-01", None),
                                            (None, "2023-12-31"),
                                            ("2024-01-02 12:00", "2024-01-02 13:00")])
def test_empty_selection_is_an_error(tmp_path: Path, start: str | None, end: str | None) -> None:
    path = data_file(tmp_path)  # 300 one-minute bars from 2024-01-02 00:00
    config = csv_study(tmp_path, tmp_path / "results")
    config["data"].update({k: v for k, v in (("start", start), ("end", end)) if v})
    with pytest.raises((DataError, ContainerError)) as info:
        admf.run_sync(config)
    message = data_error(info)
    assert path in message and "no bars" in message


def test_start_after_end(tmp_path: Path) -> None:
    data_file(tmp_path)
    config = csv_study(tmp_path, tmp_path / "results")
    config["data"].update(start="2024-02-01", end="2024-01-01")
    with pytest.raises(ConfigError, match=r"data\.end"):
        admf.run_sync(config)


def test_missing_data_file(tmp_path: Path) -> None:
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    message = data_error(info)
    assert str(tmp_path / "X.csv") in message and "not found" in message


def test_missing_data_file_of_one_symbol(tmp_path: Path) -> None:
    data_file(tmp_path)
    config = csv_study(tmp_path, tmp_path / "results")
    config["data"]["symbols"] = ["X", "Y"]
    with pytest.raises((DataError, ContainerError)) as info:
        admf.run_sync(config)
    message = data_error(info, symbol="Y")
    assert str(tmp_path / "Y.csv") in message


def test_header_only_file(tmp_path: Path) -> None:
    path = data_file(tmp_path, [])
    with pytest.raises((DataError, ContainerError)) as info:
        run(tmp_path)
    assert path in data_error(info)


# -- config ----------------------------------------------------------------------


def config_error(tmp_path: Path, **sections: Any) -> str:
    data_file(tmp_path)
    with pytest.raises(ConfigError) as info:
        run(tmp_path, **sections)
    return str(info.value)


def test_unknown_strategy_type_suggests(tmp_path: Path) -> None:
    message = config_error(tmp_path, strategies=[{"type": "sma_crosover"}])
    assert message.startswith("strategies[0].type")
    assert "unknown strategy 'sma_crosover'" in message
    assert "did you mean 'sma_crossover'?" in message


def test_unknown_plugin_path(tmp_path: Path) -> None:
    message = config_error(tmp_path, strategies=[{"type": "tests.integration._support:Nope"}])
    assert "strategies[0].type" in message and "Nope" in message


def test_unknown_strategy_param_suggests(tmp_path: Path) -> None:
    message = config_error(tmp_path, strategies=[{"type": "sma_crossover",
                                                  "params": {"fsat": 5, "slow": 20}}])
    assert "strategies[0].params" in message
    assert "fsat" in message
    assert "did you mean 'fast'?" in message


def test_strategy_param_of_the_wrong_type(tmp_path: Path) -> None:
    message = config_error(tmp_path, strategies=[{"type": "sma_crossover",
                                                  "params": {"fast": "five", "slow": 20}}])
    assert "strategies[0].params" in message and "fast" in message


@pytest.mark.parametrize("params", [{"fast": 20, "slow": 20}, {"fast": 30, "slow": 20},
                                    {"fast": [20, 30], "slow": 20}])
def test_fast_not_below_slow(tmp_path: Path, params: dict[str, Any]) -> None:
    strategies = [{"name": "fine", "type": "sma_crossover", "params": {"fast": 5, "slow": 20}},
                  {"type": "sma_crossover", "params": params}]
    message = config_error(tmp_path, strategies=strategies)
    assert "must be less than slow" in message
    assert "strategies[1]" in message  # which of the two strategies


def test_unknown_commission_type(tmp_path: Path) -> None:
    message = config_error(tmp_path, execution={"commission": {"type": "percent"}})
    assert message.startswith("execution.commission.type")
    assert "unknown commission 'percent'" in message and "did you mean 'percentage'?" in message


def test_commission_with_unknown_param(tmp_path: Path) -> None:
    message = config_error(tmp_path, execution={"commission": {"type": "percentage", "rat": 0.01}})
    assert message.startswith("execution.commission")
    assert "'rat'" in message and "did you mean 'rate'?" in message


def test_commission_missing_its_type(tmp_path: Path) -> None:
    message = config_error(tmp_path, execution={"commission": {"rate": 0.01}})
    assert "execution.commission" in message


def test_bad_direction(tmp_path: Path) -> None:
    message = config_error(tmp_path, strategies=[{"type": "sma_crossover", "direction": "long"}])
    assert "strategies[0].direction" in message
    assert "long_only" in message and "'long'" in message


@pytest.mark.parametrize(("sections", "expected"), [
    ({"portfolio": {"initial_cash": "lots"}}, "portfolio.initial_cash"),
    ({"portfolio": {"initial_cash": -1}}, "portfolio.initial_cash"),
    ({"portfolio": {"sizing": {"type": "percent_equity", "precent": 50}}}, "did you mean 'percent'"),
    ({"execution": {"fill": "next_opn"}}, "did you mean 'next_open'"),
    ({"execution": {"slippage": {"type": "fixed_bps", "bsp": 1}}}, "did you mean 'bps'"),
    ({"risk": {"stop_los": 0.1}}, "did you mean 'stop_loss'"),
    ({"results": {"storage": "cloud"}}, "results.storage"),
    ({"colour": "blue"}, "colour"),
])
def test_other_config_errors_name_the_key(tmp_path: Path, sections: dict[str, Any],
                                          expected: str) -> None:
    assert expected in config_error(tmp_path, **sections)


@pytest.mark.parametrize("sections", [
    {"strategies": [{"type": "sma_crosover"}]},
    {"strategies": [{"type": "sma_crossover", "params": {"fsat": 5, "slow": 20}}]},
    {"strategies": [{"type": "sma_crossover", "params": {"fast": 30, "slow": 20}}]},
    {"execution": {"commission": {"type": "percentage", "rat": 0.01}}},
])
def test_config_errors_touch_no_results_directory(tmp_path: Path, sections: dict[str, Any]) -> None:
    """A bad config fails before anything is written: no half-made run directory."""
    config_error(tmp_path, **sections)
    assert not (tmp_path / "results").exists()


def test_data_errors_leave_no_complete_looking_run(tmp_path: Path) -> None:
    data_file(tmp_path, spoiled("close", "oops", index=280))
    config = csv_study(tmp_path, tmp_path / "results",
                       results={"dir": str(tmp_path / "results"), "storage": "disk"})
    config["data"]["batch_rows"] = 32
    with pytest.raises((DataError, ContainerError)):
        admf.run_sync(config)
    leftovers = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    # only the input record and the merged config (written first, for resuming);
    # nothing that looks complete
    assert sorted(p.name for p in leftovers) in ([], ["config.yaml", "inputs.json"]), leftovers


@pytest.mark.parametrize("kind", ["VolumeBreak", "VolumeBuyer"])
def test_an_indicator_reading_volume_on_bars_without_it_says_so(tmp_path: Path, kind: str) -> None:
    """A file without a volume column reads as NaN volume: an indicator of
    volume would give NaN and trade nothing, silently."""
    data_file(tmp_path, [r[:5] for r in ROWS], HEADER[:5])
    with pytest.raises(DataError) as info:
        run(tmp_path, strategies=[{"type": f"tests.integration._support:{kind}"}])
    message = str(info.value)
    assert f"'{kind}'" in message and "symbol 'X'" in message
    assert "reads bar volume, but the data has no volume" in message
