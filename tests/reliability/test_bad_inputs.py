"""The bad-input tier (issue 15, items 7 and 11): every way a user can get a
config, a data file, a plugin or a strategy wrong, through both ``admf run``
and ``admf validate``. Each case asserts the exit status (2 bad input, 1 a
failing run; ``validate`` cannot see what only a run shows, such as a strategy
returning an infinite target at bar 50, so it passes those), a message naming
the place (file, key, row, strategy, bar), one paragraph and no traceback, and
no manifest left behind. Runs in this process through ``admf.cli.main``; a few
cases repeat as real subprocesses to prove nothing reaches stderr but the
message."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import admf
from admf.errors import AdmfError
from tests.integration._support import HEADER, random_walk, write_csv
from tests.reliability._support import cli, manifests, study, write_config

PLUGINS = "tests.reliability.bad_inputs_plugins"
ROWS = random_walk(200, seed=3)
BAD = 120  # the data row spoiled; readers count data rows from 1
Config = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One bad input: how to spoil the good study, what each command exits
    with, and what the message must name (``{tmp}`` is the test's folder)."""

    name: str
    spoil: Callable[[Path, Config], Config | str]
    names: tuple[str, ...]
    run: int = 2
    validate: int = 2
    args: tuple[str, ...] = ()
    also_validate: tuple[str, ...] = field(default=())


def _set(dotted: str, value: Any) -> Callable[[Path, Config], Config]:
    def spoil(tmp: Path, config: Config) -> Config:
        node: Any = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value(tmp) if callable(value) else value
        return config
    return spoil


_DELETE = object()


def _text(text: str) -> Callable[[Path, Config], str]:
    return lambda tmp, config: text


def _strategy(spec: Any) -> Callable[[Path, Config], Config]:
    return _set("strategies", spec if isinstance(spec, list) else [spec])


def _plugin(name: str, **params: Any) -> Callable[[Path, Config], Config]:
    spec: dict[str, Any] = {"type": f"{PLUGINS}.{name}"}
    if params:
        spec["params"] = params
    return _strategy(spec)


def _csv(rows: list[list[Any]] | None = None, header: list[str] = HEADER,
         raw: str | bytes | None = None) -> Callable[[Path, Config], Config]:
    def spoil(tmp: Path, config: Config) -> Config:
        path = tmp / "X.csv"
        if raw is not None:
            path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
        else:
            write_csv(path, ROWS if rows is None else rows, header)
        return config
    return spoil


def _spoiled(column: str, value: str) -> list[list[Any]]:
    rows = copy.deepcopy(ROWS)
    rows[BAD][HEADER.index(column)] = value
    return rows


def _swapped() -> list[list[Any]]:
    rows = copy.deepcopy(ROWS)
    rows[BAD][0], rows[BAD + 1][0] = rows[BAD + 1][0], rows[BAD][0]
    return rows


def _duplicated() -> list[list[Any]]:
    rows = copy.deepcopy(ROWS)
    rows[BAD + 1][0] = rows[BAD][0]
    return rows


def _file_as_results(tmp: Path) -> str:
    (tmp / "occupied").write_text("not a directory")
    return str(tmp / "occupied")


def _under_a_file(tmp: Path) -> str:
    (tmp / "plain.txt").write_text("a file")
    return str(tmp / "plain.txt" / "results")


ROW = f"row {BAD + 1}"
CSV = "{tmp}/X.csv"
FAULT = ("bar 50 (", "strategies[0]")  # runtime faults name the strategy key and the bar
BATCH = ("bars 1-200 (", "strategies[0]", "symbol 'X'")  # a whole batch's shape is wrong

CASES = [
    # -- YAML and the config's shape
    Case("malformed_yaml", _text("data: [unclosed\nname: x\n"), ("study.yaml", "malformed YAML")),
    Case("mapping_in_scalar", _text("name: a: b\n"), ("study.yaml", "malformed YAML")),
    Case("empty_file", _text(""), ("study.yaml", "empty")),
    Case("top_level_list", _text("- data\n- strategies\n"), ("study.yaml", "mapping")),
    Case("duplicate_key", _text("name: a\nname: b\n"), ("study.yaml", "duplicate key 'name'")),
    Case("unknown_top_key", _set("strategy", []), ("study.yaml", "strategy")),
    Case("unknown_data_key", _set("data.symbol", "X"), ("study.yaml:", "'symbol' at data", "'symbols'")),
    Case("unknown_portfolio_key", _set("portfolio.initial_csh", 5), ("initial_csh", "initial_cash")),
    Case("cash_not_a_number", _set("portfolio.initial_cash", "lots"), ("portfolio.initial_cash",)),
    Case("negative_cash", _set("portfolio.initial_cash", -5), ("portfolio.initial_cash",)),
    Case("symbols_not_a_list", _set("data.symbols", 5), ("data.symbols",)),
    Case("no_symbols", _set("data.symbols", []), ("data.symbols", "at least one")),
    Case("symbol_twice", _set("data.symbols", ["X", "X"]), ("data.symbols", "twice")),
    Case("empty_symbol", _set("data.symbols", [""]), ("data.symbols",)),
    Case("bad_timeframe", _set("data.timeframe", "fortnightly"), ("data.timeframe",)),
    Case("unknown_source", _set("data.source", "excel"), ("data.source", "excel")),
    Case("no_path", _set("data.path", _DELETE), ("data.path", "required")),
    Case("unknown_placeholder", _set("data.path", "{tmp}/{ticker}.csv"), ("data.path", "{ticker}")),
    Case("bad_start", _set("data.start", "yesterday"), ("data.start", "yesterday")),
    Case("impossible_date", _set("data.start", "2024-13-45"), ("data.start", "2024-13-45")),
    Case("end_before_start", lambda t, c: _set("data.end", "2024-01-01")(t, _set(
        "data.start", "2024-02-01")(t, c)), ("data.end", "2024-02-01")),
    Case("window_without_bars", _set("data.start", "2030-01-01"), (CSV, "2030")),
    # -- strategies
    Case("unknown_strategy", _strategy({"type": "sma_crosover"}), ("strategies[0].type", "sma_crossover")),
    Case("unknown_param", _strategy({"type": "sma_crossover", "params": {"fst": 5}}),
         ("strategies[0].params", "fst")),
    Case("param_wrong_type", _strategy({"type": "sma_crossover", "params": {"fast": "five"}}),
         ("strategies[0].params", "fast")),
    Case("fast_not_below_slow", _strategy({"type": "sma_crossover", "params": {"fast": 30, "slow": 20}}),
         ("strategies[0].params", "fast")),
    Case("every_grid_point_invalid",
         _strategy({"type": "sma_crossover", "params": {"fast": [30, 40], "slow": 20}}),
         ("strategies[0]", "every point")),
    Case("bad_direction", _strategy({"type": "sma_crossover", "direction": "sideways"}),
         ("strategies[0].direction", "sideways")),
    Case("no_strategies", _set("strategies", []), ("strategies",)),
    Case("strategy_not_a_mapping", _set("strategies", ["sma_crossover"]), ("strategies[0]",)),
    Case("negative_range_step", _strategy({"type": "sma_crossover",
                                           "params": {"fast": {"range": [5, 10, -1]}}}),
         ("strategies[0].params.fast",)),
    # -- portfolio, execution, risk, sequence
    Case("stop_loss_negative", _set("risk.stop_loss", -1.0), ("risk.stop_loss", "got -1.0")),
    Case("stop_loss_above_one", _set("risk.stop_loss", 2), ("risk.stop_loss",)),
    Case("drawdown_not_a_number", _set("risk.max_drawdown", "x"), ("risk.max_drawdown",)),
    Case("unknown_risk_key", _set("risk.stop_los", 0.1), ("study.yaml:", "'stop_los' at risk", "stop_loss")),
    Case("unknown_commission", _set("execution.commission", {"type": "percentge"}),
         ("execution.commission", "percentge")),
    Case("negative_commission", _set("execution.commission", {"type": "percentage", "rate": -1}),
         ("execution.commission",)),
    Case("unknown_slippage_param", _set("execution.slippage", {"type": "fixed_bps", "bsp": 1}),
         ("execution.slippage", "bsp")),
    Case("commission_without_type", _set("execution.commission", {"rate": 0.1}),
         ("execution.commission",)),
    Case("unknown_sizing", _set("portfolio.sizing", {"type": "all_in"}), ("portfolio.sizing", "all_in")),
    Case("zero_percent_sizing", _set("portfolio.sizing", {"type": "percent_equity", "percent": 0}),
         ("portfolio.sizing",)),
    Case("bad_fill", _set("execution.fill", "tomorrow"), ("execution.fill", "tomorrow")),
    Case("unknown_sequence", _set("sequence", {"type": "walk_backward"}), ("sequence.type", "walk_backward")),
    Case("walk_forward_without_train", _set("sequence", {"type": "walk_forward", "test": 50}),
         ("sequence", "train")),
    Case("unknown_objective", _set("sequence", {"type": "parameter_sweep", "objective": "sharp_ratio"}),
         ("sequence.objective", "sharpe_ratio")),
    Case("bad_storage", _set("results.storage", "cloud"), ("results.storage", "cloud")),
    # -- paths
    Case("results_dir_is_a_file", _set("results.dir", _file_as_results), ("results.dir", "occupied")),
    Case("results_dir_under_a_file", _set("results.dir", _under_a_file), ("results.dir", "plain.txt")),
    Case("results_dir_too_long", _set("results.dir", lambda t: str(t / ("r" * 5000))),
         ("results.dir", "bytes long")),
    Case("data_path_too_long", _set("data.path", lambda t: str(t / ("a" * 5000)) + ".csv"),
         ("data.path", "bytes")),
    Case("data_part_too_long", _set("data.path", lambda t: str(t / ("a" * 300)) + "/{symbol}.csv"),
         ("data.path", "file names")),
    Case("data_file_missing", _set("data.path", "{tmp}/nowhere/{symbol}.csv"), ("{tmp}/nowhere/X.csv",)),
    Case("data_dir_without_symbol", _set("data.path", lambda t: str((t / "empty").mkdir() or t / "empty")),
         ("{tmp}/empty", "'X'")),
    # -- overrides
    Case("override_without_value", lambda t, c: c, ("risk.stop_loss",), args=("--set", "risk.stop_loss")),
    Case("override_unknown_key", lambda t, c: c, ("risk.stop_los",), args=("--set", "risk.stop_los=0.1")),
    Case("override_out_of_range", lambda t, c: c, ("risk.stop_loss",), args=("--set", "risk.stop_loss=7")),
    # -- plugins
    Case("plugin_raises_at_import", _plugin("raises_at_import:X"),
         ("strategies[0].type", "raises_at_import", "plugin refuses to import")),
    Case("plugin_syntax_error", _plugin("syntax_error:X"),
         ("strategies[0].type", "syntax_error", "syntax error")),
    Case("plugin_module_missing", _plugin("no_such_module:X"), ("strategies[0].type", "no_such_module")),
    Case("plugin_name_missing", _plugin("strategies:NoSuchStrategy"),
         ("strategies[0].type", "NoSuchStrategy")),
    Case("plugin_not_a_strategy", _plugin("strategies:CostRaises"), ("strategies[0]", "CostRaises")),
    Case("strategy_init_raises", _plugin("strategies:InitRaises"),
         ("strategies[0]", "InitRaises", "cannot open the model file", "strategies.py:")),
    Case("bar_strategy_init_raises", _plugin("strategies:BarInit"),
         ("strategies[0]", "BarInit", "bad threshold file", "strategies.py:")),
    Case("bar_strategy_unknown_param", _plugin("strategies:BarWord", speed=3),
         ("strategies[0].params", "speed")),
    # -- data files
    Case("csv_missing_close", _csv([r[:4] + r[5:] for r in ROWS], HEADER[:4] + HEADER[5:]),
         (CSV, "missing columns ['close']")),
    Case("csv_unsorted", _csv(_swapped()), (CSV, f"row {BAD + 2}", "earlier than")),
    Case("csv_duplicate_timestamp", _csv(_duplicated()), (CSV, f"row {BAD + 2}", "duplicate timestamp")),
    Case("csv_nan_close", _csv(_spoiled("close", "nan")), (CSV, ROW, "NaN", "'close'")),
    Case("csv_unparsable_number", _csv(_spoiled("open", "12,5")), (CSV, ROW, "'12,5'")),
    Case("csv_unparsable_timestamp", _csv(_spoiled("timestamp", "yesterday")), (CSV, ROW, "'yesterday'")),
    Case("csv_high_below_low", _csv(_spoiled("high", "1.0")), (CSV, ROW, "high")),
    Case("csv_negative_price", _csv(_spoiled("low", "-3.0")), (CSV, ROW, "low = -3.0")),
    Case("csv_header_only", _csv([]), (CSV, "no data rows")),
    Case("csv_empty", _csv(raw=""), (CSV,)),
    Case("csv_binary", _csv(raw=bytes(range(256)) * 4), (CSV,)),
    Case("csv_daily_bars_as_minutes", _set("data.timeframe", "1d"), (CSV, "data.timeframe")),
    # -- what only a run shows: user code failing at a bar (validate passes)
    Case("targets_too_short", _plugin("strategies:Short"), (*BATCH, "shape"), run=1, validate=0),
    Case("targets_too_long", _plugin("strategies:Long"), (*BATCH, "shape"), run=1, validate=0),
    Case("targets_scalar", _plugin("strategies:Scalar"), (*BATCH, "float 1.0"), run=1, validate=0),
    Case("targets_none", _plugin("strategies:Nothing"), (*BATCH, "NoneType"), run=1, validate=0),
    Case("targets_strings", _plugin("strategies:Strings"), (*BATCH, "expected numbers"),
         run=1, validate=0),
    Case("targets_matrix", _plugin("strategies:Matrix"), (*BATCH, "shape"), run=1, validate=0),
    Case("targets_inf", _plugin("strategies:Inf"), (*FAULT, "infinite target inf"), run=1, validate=0),
    Case("targets_minus_inf", _plugin("strategies:NegInf"), (*FAULT, "infinite target -inf"),
         run=1, validate=0),
    Case("strategy_raises", _plugin("strategies:Raises", at=60),
         ("strategies[0]", "at=60", "KeyError", "strategies.py:"), run=1, validate=0),
    Case("bar_strategy_raises", _plugin("strategies:BarRaises"),
         (*FAULT, "ZeroDivisionError", "strategies.py:", "on_bar"), run=1, validate=0),
    Case("bar_strategy_returns_a_word", _plugin("strategies:BarWord"),
         ("strategies[0]", "bar 1 (", "'buy'"), run=1, validate=0),
    Case("commission_raises", _set("execution.commission", {"type": f"{PLUGINS}.strategies:CostRaises"}),
         ("execution.commission", "CostRaises", "tier table is empty", "strategies.py:"),
         run=1, validate=0),
    # -- accounts, weights and orders (issue 9, issue 8)
    Case("account_unknown", _set("portfolio.account", "credit"),
         ("study.yaml", "portfolio.account", "expected cash, margin")),
    Case("margin_leverage_below_one", _set("portfolio.account", {"type": "margin", "leverage": 0.5}),
         ("portfolio.account.leverage", ">= 1, got 0.5")),
    Case("margin_leverage_and_initial",
         _set("portfolio.account", {"type": "margin", "leverage": 2, "initial": 0.5}),
         ("portfolio.account.initial", "not both")),
    Case("margin_maintenance_above_initial",
         _set("portfolio.account", {"type": "margin", "initial": 0.5, "maintenance": 0.7}),
         ("portfolio.account.maintenance", "initial = 0.5", "0.7")),
    Case("margin_key_misspelt", _set("portfolio.account", {"type": "margin", "levrage": 3}),
         ("portfolio.account.levrage", "leverage")),
    Case("margin_for_a_target_strategy", _set("portfolio.account", "margin"),
         ("portfolio.account", "order strategies")),
    Case("rebalance_rule_unknown", _strategy({"type": "equal_weight",
                                              "params": {"rebalance": "fortnightly"}}),
         ("strategies[0]", "rebalance must be one of", "fortnightly")),
    Case("rebalance_day_31", _strategy({"type": "equal_weight",
                                        "params": {"rebalance": "monthly", "day": 31}}),
         ("strategies[0]", "day must be", "1 … 28", "31")),
    Case("rebalance_every_zero", _strategy({"type": "momentum_rotation", "params": {"every": 0}}),
         ("strategies[0]", "every must be", "never fires")),
    Case("weights_nan", _plugin("strategies:BadWeights", kind="nan"),
         ("BadWeights", "symbol 'X'", "bar ", "weight nan is not a finite number"),
         run=1, validate=0),
    Case("weights_unknown_symbol", _plugin("strategies:BadWeights", kind="symbol"),
         ("BadWeights", "symbol 'ZZZ'", "not a symbol of this study"), run=1, validate=0),
    Case("weights_above_leverage", _plugin("strategies:BadWeights", kind="gross"),
         ("BadWeights", "symbol 'X'", "weights sum to 1.5", "leverage cap of 1"),
         run=1, validate=0),
    Case("weights_negative_long_only", _plugin("strategies:BadWeights", kind="negative"),
         ("BadWeights", "symbol 'X'", "negative weight -0.5", "long_only"), run=1, validate=0),
    Case("order_negative_size", _plugin("strategies:BadOrder", kind="negative_size"),
         ("BadOrder", "symbol 'X'", "bar ", "size must be a finite number > 0", "-3.0"),
         run=1, validate=0),
    Case("order_stop_above_a_buy", _plugin("strategies:BadOrder", kind="stop_above_entry"),
         ("BadOrder", "symbol 'X'", "bar ", "stop-loss", "must lie below its entry"),
         run=1, validate=0),
    Case("order_cancel_not_open", _plugin("strategies:BadOrder", kind="cancel_unknown"),
         ("BadOrder", "symbol 'X'", "cannot cancel order 12345"), run=1, validate=0),
    Case("order_unknown_kind", _plugin("strategies:BadOrder", kind="iceberg"),
         ("BadOrder", "symbol 'X'", "must be one of market, limit", "'iceberg'"),
         run=1, validate=0),
    Case("order_strategy_with_risk_limits",
         lambda tmp, config: {**_plugin("strategies:BadOrder", kind="none")(tmp, config),
                              "risk": {"stop_loss": 0.02}},
         ("risk.stop_loss", "order strategy")),
]


def _write(tmp: Path, case: Case) -> Path:
    config = study(tmp)
    spoiled = case.spoil(tmp, config)
    if isinstance(spoiled, str):
        return write_config(tmp, spoiled)
    text = yaml.safe_dump(spoiled).replace("{tmp}", str(tmp))
    return write_config(tmp, text)


def _expected(case: Case, tmp: Path) -> list[str]:
    return [n.replace("{tmp}", str(tmp)) for n in case.names]


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(tmp_path: Path, case: Case, command: str) -> None:
    path = _write(tmp_path, case)
    status, err = cli(command, path, *case.args)
    expected = case.run if command == "run" else case.validate
    assert status == expected, err
    assert "Traceback" not in err
    if expected:
        assert err.startswith("admf: error: ") and "\n" not in err.strip(), err
        for name in _expected(case, tmp_path):
            assert name in err, (name, err)
        assert "failed in stage" not in err  # no actor jargon: the place is the file or strategy
    assert not manifests(tmp_path), "a failed run left a manifest"


def test_the_case_list_is_large_and_distinct() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
    assert len(CASES) >= 100


def test_a_value_error_prints_its_reason_once(tmp_path: Path) -> None:
    # issue 12: not "... got -1.0 (caused by ValidationError: ... got -1.0 - at $.risk)"
    path = _write(tmp_path, next(c for c in CASES if c.name == "stop_loss_negative"))
    status, err = cli("validate", path)
    assert status == 2
    assert err.count("expected a number in (0, 1), got -1.0") == 1, err
    assert "caused by" not in err and "$." not in err


@pytest.mark.parametrize("name", ["strategy_init_raises", "results_dir_is_a_file", "data_path_too_long",
                                  "targets_inf", "plugin_raises_at_import", "strategy_raises"])
def test_the_python_api_raises_the_admf_error(tmp_path: Path, name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    with pytest.raises(AdmfError) as info:
        admf.run_sync(_write(tmp_path, case))
    for expected in _expected(case, tmp_path):
        if expected != "study.yaml":
            assert expected in str(info.value), (expected, str(info.value))
    assert not manifests(tmp_path)


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_strategy_raising_in_one_point_of_a_sweep_names_that_point(tmp_path: Path,
                                                                      executor: str) -> None:
    # the run's own error, not "internal error: ExceptionGroup" from the task
    # group that watches for a stop
    config = study(tmp_path, strategies=[{"type": f"{PLUGINS}.strategies:BarRaises",
                                          "params": {"at": [1_000, 50]}}],
                   sequence={"type": "parameter_sweep"}, executor={"kind": executor, "workers": 2})
    path = write_config(tmp_path, yaml.safe_dump(config))
    status, err = cli("run", path)
    assert status == 1, err
    assert err.startswith("admf: error: ") and "\n" not in err.strip(), err
    for name in ("strategies[0]", "at=50", "bar 50 (", "ZeroDivisionError", "on_bar"):
        assert name in err, (name, err)
    assert "ExceptionGroup" not in err and "internal error" not in err
    assert not manifests(tmp_path)


@pytest.mark.parametrize("name", ["strategy_init_raises", "csv_nan_close", "targets_strings",
                                  "results_dir_under_a_file"])
def test_a_real_process_prints_one_line_and_no_traceback(tmp_path: Path, name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    path = _write(tmp_path, case)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "admf", "run", str(path)], capture_output=True,
                          text=True, cwd=root, timeout=60)
    assert done.returncode == case.run, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert all(n in done.stderr for n in _expected(case, tmp_path))
    assert not manifests(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write anywhere, so nothing is unwritable")
@pytest.mark.parametrize("command", ["run", "validate"])
def test_an_unwritable_results_dir_is_bad_input(tmp_path: Path, command: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        config = study(tmp_path, results={"dir": str(locked / "results"), "storage": "hybrid"})
        status, err = cli(command, write_config(tmp_path, config))
    finally:
        locked.chmod(0o700)
    assert status == 2, err
    assert "results.dir" in err and str(locked) in err and "Traceback" not in err
    assert not manifests(tmp_path)
