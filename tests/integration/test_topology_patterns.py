"""Topology patterns chosen by config (CONFIG.md ``topology: {pattern, paths}``,
DESIGN.md §5): a user's own pattern directory, a pattern that filters a
route, and the errors a bad pattern gives before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import admf
import admf.research.study
from admf.cli import main
from admf.errors import AdmfError, ConfigError, TopologyError
from admf.research.study import build_backtest, strategy_points
from admf.runtime.patterns import load_pattern
from admf.runtime.tracing import query

BUILTIN = Path(admf.__file__).parent / "patterns" / "backtest.yaml"


def only_aaa(message: Any) -> bool:
    """Filter predicate for the signal route: AAA's signals only."""
    return message.bars.symbol == "AAA"


def study(tmp_path: Path, *, symbols: tuple[str, ...] = ("AAA", "BBB"),
          fast: Any = (5, 10), **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "patterned",
        "seed": 9,
        "data": {"source": "synthetic", "symbols": list(symbols), "timeframe": "1h",
                 "bars": 2500, "start": "2020-01-01", "batch_rows": 600},
        "strategies": [{"type": "sma_crossover",
                        "params": {"fast": list(fast) if len(fast) > 1 else fast[0], "slow": 30},
                        "direction": "long_short"}],
        "portfolio": {"initial_cash": 100_000, "sizing": {"type": "percent_equity", "percent": 50}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 2}},
        "risk": {"stop_loss": 0.03},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }
    config.update(sections)
    return config


def user_patterns(tmp_path: Path, **patterns: str) -> Path:
    directory = tmp_path / "patterns"
    directory.mkdir(exist_ok=True)
    for name, text in patterns.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def builtin_text() -> str:
    return BUILTIN.read_text()


def copy_named(name: str, *replacements: tuple[str, str]) -> str:
    text = builtin_text().replace("name: backtest", f"name: {name}", 1)
    assert f"name: {name}" in text
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def same_results(a: Any, b: Any) -> None:
    assert list(a.portfolios) == list(b.portfolios)
    for pid in a.portfolios:
        x, y = a.portfolios[pid], b.portfolios[pid]
        assert x.metrics.to_json_dict() == y.metrics.to_json_dict(), pid
        assert x.trades.keys() == y.trades.keys()
        for column in x.trades:
            np.testing.assert_array_equal(x.trades[column], y.trades[column], err_msg=column)
        np.testing.assert_array_equal(x.equity["equity"], y.equity["equity"])


@pytest.fixture
def topology_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the topologies that were really run."""
    ran: list[str] = []
    real = admf.research.study.run_topology

    async def spy(topology: Any, *, instruments: Any = ()) -> Any:
        ran.append(topology.name)
        return await real(topology, instruments=instruments)

    monkeypatch.setattr(admf.research.study, "run_topology", spy)
    return ran


# -- a user's pattern ------------------------------------------------------------------


def test_a_copy_of_the_builtin_under_another_name_gives_the_same_results(
        tmp_path: Path, topology_runs: list[str]) -> None:
    # the copy differs only in its name and in a literal route capacity, so
    # the trace shows which pattern ran and the results must not change
    directory = user_patterns(tmp_path, mine=copy_named(
        "mine", ("capacity: {from_context: capacity, default: 8}", "capacity: 2")))
    tracing = {"level": "minimal"}
    builtin = admf.run_sync(study(tmp_path, tracing=tracing))
    mine = admf.run_sync(study(tmp_path, tracing=tracing,
                               topology={"pattern": "mine", "paths": [str(directory)]}))
    assert len(topology_runs) == 2 and len(mine.portfolios) == 2
    assert sum(p.fills for p in mine.portfolios.values()) > 0
    same_results(builtin, mine)
    def trace(result: Any) -> Path:
        return Path(result.path) / "main" / "trace" / "events.jsonl"

    assert {e["capacity"] for e in query(trace(builtin), "route")} == {8}
    assert {e["capacity"] for e in query(trace(mine), "route")} == {2}
    assert (Path(mine.path) / "manifest.json").is_file()


def test_a_user_directory_shadows_a_builtin_of_the_same_name(tmp_path: Path) -> None:
    directory = user_patterns(tmp_path, backtest=copy_named(
        "backtest", ("name: strategies", "name: bank"), ("to: strategies.bars", "to: bank.bars"),
        ("from: strategies.signals", "from: bank.signals")))
    config = admf.load(study(tmp_path, topology={"pattern": "backtest", "paths": [str(directory)]}))
    names = list(build_backtest(config, strategy_points(config)).topology.containers)
    assert names == ["source_AAA", "source_BBB", "bank", "portfolio_0", "portfolio_1"]
    default = admf.load(study(tmp_path))
    assert "strategies" in build_backtest(default, strategy_points(default)).topology.containers


FILTERED = """
name: aaa_signals
description: the built-in backtest, but the portfolio only gets AAA's signals
containers:
  - name: "source_{symbol}"
    type: bar_source
    foreach: {symbol: config.data.symbols}
    args: {symbol: "{symbol}"}
  - name: strategies
    type: strategy_bank
  - name: "portfolio_{point.index}"
    type: portfolio
    foreach: {point: points}
    args: {point: "{point.id}"}
routes:
  - connect: {from: "source_*.bars", to: strategies.bars}
  - filter:
      from: strategies.signals
      to: portfolio_0.signals
      predicate: "tests.integration.test_topology_patterns:only_aaa"
      capacity: 4
"""


def test_a_pattern_with_a_filter_route_trades_only_the_symbols_it_passes(tmp_path: Path) -> None:
    directory = user_patterns(tmp_path, aaa_signals=FILTERED)
    both: dict[str, Any] = {"symbols": ("AAA", "BBB"), "fast": (5,)}
    filtered = admf.run_sync(study(tmp_path, **both, tracing={"level": "minimal"},
                                   topology={"pattern": "aaa_signals", "paths": [str(directory)]}))
    alone = admf.run_sync(study(tmp_path, symbols=("AAA",), fast=(5,)))
    unfiltered = admf.run_sync(study(tmp_path, **both))
    (pid,) = filtered.portfolios
    trades = filtered.portfolios[pid].trades
    assert len(trades["pnl"]) > 0 and set(trades["symbol"]) == {"AAA"}
    assert set(unfiltered.portfolios[pid].trades["symbol"]) == {"AAA", "BBB"}
    # the same trades as a study of AAA alone (metrics up to float summation order)
    for column in trades:
        np.testing.assert_array_equal(trades[column], alone.portfolios[pid].trades[column])
    for name, value in alone.portfolios[pid].metrics.to_dict().items():
        assert getattr(filtered.portfolios[pid].metrics, name) == pytest.approx(
            value, rel=1e-12, nan_ok=True), name
    trace = Path(filtered.path) / "main" / "trace" / "events.jsonl"
    (route,) = query(trace, "route", kind_of_route="filter")
    batches = -(-2500 // 600)
    assert route["received"] == route["sent"] == batches  # AAA's batches; BBB's held back
    assert route["capacity"] == 4


# -- errors -----------------------------------------------------------------------------


def _no_complete_run(tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert not list(results.rglob("manifest.json")) if results.exists() else True
    assert not list(results.rglob("metrics.json")) if results.exists() else True


@pytest.mark.parametrize(("pattern", "hint"), [("backtst", "did you mean 'backtest'?"),
                                               ("mnie", "did you mean 'mine'?")])
def test_an_unknown_pattern_name_is_an_error_with_a_suggestion(
        tmp_path: Path, topology_runs: list[str], pattern: str, hint: str) -> None:
    directory = user_patterns(tmp_path, mine=copy_named("mine"))
    config = study(tmp_path, topology={"pattern": pattern, "paths": [str(directory)]})
    with pytest.raises(ConfigError) as info:
        admf.run_sync(config)
    message = str(info.value)
    assert f"unknown pattern {pattern!r}" in message and hint in message
    assert str(directory) in message  # where it looked
    assert topology_runs == []
    _no_complete_run(tmp_path)
    with pytest.raises(ConfigError, match=f"unknown pattern {pattern!r}"):
        load_pattern(pattern, [directory])


BAD_TYPE = copy_named("bad_type", ("type: portfolio", "type: portfolo"))
BAD_PORT = copy_named("bad_port", ("to: strategies.bars", "to: strategies.bar"))
BAD_CONTAINER = copy_named("bad_container", ("from: strategies.signals", "from: strategy.signals"))
BAD_PATTERNS = {
    "bad_type": (BAD_TYPE, ConfigError,
                 ["containers[2]", "unknown container type 'portfolo'", "did you mean 'portfolio'?"]),
    "bad_port": (BAD_PORT, TopologyError,
                 ["routes[0]", "container 'strategies' has no input port 'bar'", "inputs: bars"]),
    "bad_container": (BAD_CONTAINER, TopologyError,
                      ["routes[1]", "unknown container 'strategy'", "did you mean 'strategies'?"]),
}


def _entry_line(text: str, entry: str) -> int:
    """The line of ``containers[i]`` / ``routes[i]`` in a pattern's text."""
    section, index = entry.rstrip("]").split("[")
    lines = text.splitlines()
    start = lines.index(f"{section}:")
    items = [i for i, line in enumerate(lines[start + 1:], start + 2) if line.startswith("  - ")]
    return items[int(index)]


@pytest.mark.parametrize("sequence", ["single_pass", "parameter_sweep"])
@pytest.mark.parametrize("name", list(BAD_PATTERNS))
def test_a_bad_pattern_names_its_file_and_entry_before_anything_runs(
        tmp_path: Path, topology_runs: list[str], name: str, sequence: str) -> None:
    text, error, parts = BAD_PATTERNS[name]
    directory = user_patterns(tmp_path, **{name: text})
    config = study(tmp_path, sequence={"type": sequence},
                   topology={"pattern": name, "paths": [str(directory)]})
    with pytest.raises(error) as info:
        admf.run_sync(config)
    message = str(info.value)
    assert f"pattern {name!r}" in message
    assert str(directory / f"{name}.yaml") in message
    for part in parts:
        assert part in message, (part, message)
    assert f"{name}.yaml:{_entry_line(text, parts[0])})" in message  # the entry's line
    assert topology_runs == []  # nothing ran
    _no_complete_run(tmp_path)


@pytest.mark.parametrize("name", list(BAD_PATTERNS))
def test_a_bad_pattern_leaves_no_results_directory(
        tmp_path: Path, topology_runs: list[str], name: str) -> None:
    """A bad pattern is bad config: like the config errors of
    test_bad_input.test_config_errors_touch_no_results_directory it must fail
    before a run directory is made. Fails today: run_study/run_sequence create
    the store (config.yaml, empty run directories, and for a bad route even a
    leftover ``equity.parquet.tmp``) before build_backtest loads the pattern."""
    text, error, _ = BAD_PATTERNS[name]
    directory = user_patterns(tmp_path, **{name: text})
    config = study(tmp_path, topology={"pattern": name, "paths": [str(directory)]},
                   results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    with pytest.raises(error):
        admf.run_sync(config)
    leftovers = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "results").rglob("*")) \
        if (tmp_path / "results").exists() else []
    assert not leftovers, "left behind:\n" + "\n".join(leftovers)


@pytest.mark.parametrize("name", list(BAD_PATTERNS))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_the_cli_reports_a_bad_pattern_as_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, command: str) -> None:
    """Exit status 2 is bad input (cli.py docstring); a broken user pattern
    is bad input, whichever error class it raises. Fails today for the route
    errors: TopologyError is not in cli.main's bad-input tuple, so it exits 1
    as if the run itself had failed."""
    text, _, parts = BAD_PATTERNS[name]
    directory = user_patterns(tmp_path, **{name: text})
    config_file = tmp_path / "study.yaml"
    config_file.write_text(yaml.safe_dump(
        study(tmp_path, topology={"pattern": name, "paths": [str(directory)]}), sort_keys=False))
    status = main([command, str(config_file)])
    err = capsys.readouterr().err
    assert err.startswith("admf: error: ") and parts[1] in err and f"{name}.yaml" in err
    assert "Traceback" not in err
    assert status == 2


def test_a_pattern_whose_factory_is_unknown_is_not_mistaken_for_a_run(
        tmp_path: Path, topology_runs: list[str]) -> None:
    """An error inside a pattern is an AdmfError the user can catch as one."""
    directory = user_patterns(tmp_path, bad_type=BAD_TYPE)
    with pytest.raises(AdmfError):
        admf.run_sync(study(tmp_path, topology={"pattern": "bad_type",
                                                "paths": [str(directory)]}), write=False)
    assert topology_runs == []
    assert not (tmp_path / "results").exists()  # write=False touches no directory
