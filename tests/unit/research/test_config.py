"""The user's config: CONFIG.md's examples load, defaults merge under user
values, overrides and templates apply, every bad config fails with a message
naming the file, the line, the key path and what was expected."""

from __future__ import annotations

import datetime as dt
import pickle
import textwrap
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import admf.research.config as config_pkg
from admf.errors import ConfigError
from admf.research.config import (
    DataConfig,
    ExecutorConfig,
    PhaseConfig,
    RiskConfig,
    SequenceConfig,
    StrategyConfig,
    StudyConfig,
    WorkflowConfig,
    config_fingerprint,
    deep_merge,
    dump_yaml,
    expand_grid,
    expand_range,
    load_config,
    parse_config,
    parse_duration,
    study_defaults,
    to_dict,
)

# CONFIG.md's study example, verbatim.
STUDY_YAML = """\
name: sma_cross                     # free text; the run id is derived from it
seed: 7                             # everything random in the run derives from this

data:
  source: csv                       # csv | parquet | synthetic
  path: data/{symbol}.csv           # {symbol} and {timeframe} are filled per symbol
  symbols: [SPY, QQQ]
  timeframe: 1m                     # bar interval; used for annualisation
  start: 2024-01-02                 # inclusive; ISO date or datetime; optional
  end: 2024-06-28                   # inclusive; optional

strategies:                         # one or more; each feeds its own portfolio
  - name: trend                     # optional; defaults to type + params
    type: sma_crossover             # a registered strategy, or "pkg.module:Name"
    params: {fast: 10, slow: 30}    # a list, or {range: [start, stop, step]} with both ends
    direction: long_only            # long_only | short_only | long_short

portfolio:
  initial_cash: 100_000
  sizing: {type: percent_equity, percent: 100, whole_units: true}
  close_at_end: false               # true: close open positions at the last bar's close

execution:
  fill: next_open                   # next_open (default) | next_close | same_close
  commission: {type: percentage, rate: 0.0005}
  slippage: {type: fixed_bps, bps: 1}

risk:                               # all optional
  stop_loss: 0.02                   # fraction from entry
  take_profit: 0.04
  trailing_stop: 0.03
  max_position: 1000                # units per symbol
  max_exposure: 1.0                 # gross exposure / equity
  max_drawdown: 0.25                # halt new entries beyond this drawdown
  daily_loss_limit: 0.05

sequence:                           # how the study is run (default single_pass)
  type: walk_forward
  train: 252                        # bars, or a duration like "90d"
  test: 63
  step: 63
  anchored: false                   # true = expanding train window
  objective: sharpe_ratio           # the metric that picks parameters in a grid

results:
  dir: results                      # results/<run_id>/<phase>/...
  storage: hybrid                   # memory | disk | hybrid
  keep_equity_curves: true

tracing:
  level: minimal                    # none | minimal | normal | debug
  max_events: 100_000
  containers: {"portfolio_*": {level: debug}}   # per-container overrides by pattern

executor:
  kind: processes                   # inline | processes (default for grids) | dask
  workers: 2                        # default: CPU count
  address: null                     # dask scheduler, e.g. tcp://scheduler:8786
"""

# CONFIG.md's workflow example with its `{...}` placeholders filled in.
WORKFLOW_YAML = """\
name: research
defaults: {data: {source: synthetic, symbols: [SPY], bars: 5000},
           portfolio: {initial_cash: 50_000}}
phases:
  - name: explore
    sequence: {type: parameter_sweep, objective: sharpe_ratio}
    strategies: [{type: sma_crossover, params: {fast: [5, 10, 20], slow: [30, 60, 120]}}]
  - name: validate
    depends_on: [explore]
    strategies: [{type: sma_crossover, params: "{explore.best_params}"}]
    sequence: {type: walk_forward, train: 500, test: 100, step: 100}
    when: "explore.metrics.sharpe_ratio > 0.5"      # safe expression, never eval
  - name: robustness
    depends_on: [validate]
    sequence: {type: monte_carlo, runs: 200, method: bootstrap_returns}
    repeat: {while: "robustness.metrics.sharpe_ratio.p25 < 0.3", max: 3,
             modify: {risk.stop_loss: "{risk.stop_loss} * 1.5"}}
"""

# A small valid study; bad cases below change one thing in it.
BASE = """\
name: t
data:
  source: synthetic
  symbols: [SPY]
strategies:
  - type: sma_crossover
    params: {fast: 10, slow: 30}
"""


def write(tmp_path: Path, text: str, name: str = "sma.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str, *, overrides: tuple[str, ...] = (),
             name: str = "sma.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text, name), overrides=overrides)
    return str(info.value)


# -- good configs --------------------------------------------------------------


def test_config_md_study_example_parses(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, STUDY_YAML))
    assert isinstance(cfg, StudyConfig)
    assert (cfg.name, cfg.seed) == ("sma_cross", 7)
    assert cfg.data.source == "csv" and cfg.data.path == "data/{symbol}.csv"
    assert cfg.data.symbols == ("SPY", "QQQ")
    assert (cfg.data.start, cfg.data.end) == ("2024-01-02", "2024-06-28")
    assert cfg.data.interval == dt.timedelta(minutes=1)
    assert cfg.data.bars is None  # synthetic-only keys stay unset for csv
    strategy = cfg.strategies[0]
    assert (strategy.name, strategy.type, strategy.direction) == ("trend", "sma_crossover", "long_only")
    assert strategy.params == {"fast": 10, "slow": 30}
    assert cfg.portfolio.initial_cash == 100_000
    assert cfg.portfolio.sizing == {"type": "percent_equity", "percent": 100, "whole_units": True}
    assert cfg.execution.commission == {"type": "percentage", "rate": 0.0005}
    assert cfg.execution.slippage == {"type": "fixed_bps", "bps": 1}
    assert cfg.risk == RiskConfig(stop_loss=0.02, take_profit=0.04, trailing_stop=0.03,
                                  max_position=1000, max_exposure=1.0, max_drawdown=0.25,
                                  daily_loss_limit=0.05)
    assert (cfg.sequence.type, cfg.sequence.train, cfg.sequence.test, cfg.sequence.step) == (
        "walk_forward", 252, 63, 63)
    assert cfg.sequence.purge == 0 and cfg.sequence.anchored is False
    assert cfg.tracing.level == "minimal" and cfg.tracing.max_events == 100_000
    assert cfg.tracing.containers["portfolio_*"].level == "debug"
    assert cfg.executor == ExecutorConfig(kind="processes", workers=2, address=None)


def test_config_md_workflow_example_parses(tmp_path: Path) -> None:
    wf = load_config(write(tmp_path, WORKFLOW_YAML))
    assert isinstance(wf, WorkflowConfig)
    assert wf.name == "research" and [p.name for p in wf.phases] == ["explore", "validate",
                                                                     "robustness"]
    explore, validate, robust = wf.phases
    assert all(isinstance(p, PhaseConfig) for p in wf.phases)
    # defaults are merged into every phase
    assert all(p.portfolio.initial_cash == 50_000 and p.data.bars == 5000 for p in wf.phases)
    assert explore.sequence.type == "parameter_sweep" and explore.sequence.mode == "grid"
    assert len(explore.strategies[0].grid()) == 9
    assert validate.depends_on == ("explore",)
    assert validate.when == "explore.metrics.sharpe_ratio > 0.5"
    # phase output references are left for the workflow engine
    assert validate.strategies[0].params == "{explore.best_params}"
    assert validate.strategies[0].is_reference
    assert robust.repeat is not None and robust.repeat.while_.startswith("robustness.")
    assert robust.repeat.max == 3
    assert robust.repeat.modify == {"risk.stop_loss": "{risk.stop_loss} * 1.5"}
    assert wf.phase("validate") is validate
    assert to_dict(robust)["repeat"]["while"] == robust.repeat.while_


def test_defaults_fill_a_minimal_study(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE.replace("name: t\n", ""), "minimal.yaml"))
    assert cfg.name == "minimal"  # the file's stem
    assert cfg.seed == 0
    assert (cfg.data.source, cfg.data.timeframe, cfg.data.batch_rows) == ("synthetic", "1m", 65536)
    assert (cfg.data.bars, cfg.data.start_price, cfg.data.volatility, cfg.data.drift) == (
        10_000, 100.0, 0.01, 0.0)
    assert cfg.portfolio.initial_cash == 100_000
    assert cfg.portfolio.sizing == {"type": "percent_equity", "percent": 100, "whole_units": True}
    assert cfg.execution.fill == "next_open"
    assert cfg.execution.commission == {"type": "none"} == cfg.execution.slippage
    assert cfg.sequence.type == "single_pass" and cfg.sequence.objective == "sharpe_ratio"
    assert (cfg.results.dir, cfg.results.storage, cfg.results.keep_equity_curves) == (
        "results", "hybrid", True)
    assert (cfg.tracing.level, cfg.tracing.max_events) == ("none", 100_000)
    assert cfg.executor.kind is None and cfg.strategies[0].direction == "long_only"


def test_user_values_merge_over_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE + "portfolio:\n  sizing: {percent: 50}\nrisk:\n"))
    # same component type: the user's keys merge over the default's
    assert cfg.portfolio.sizing == {"type": "percent_equity", "percent": 50, "whole_units": True}
    assert cfg.risk == RiskConfig()  # an empty section keeps the defaults
    cfg = load_config(write(tmp_path, BASE + "portfolio:\n  sizing: {type: fixed_quantity, "
                                             "quantity: 10}\n"))
    # another type replaces the default whole: no stray `percent`
    assert cfg.portfolio.sizing == {"type": "fixed_quantity", "quantity": 10}


def test_deep_merge_rules() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "s": {"type": "k", "p": 1}, "data": {
        "source": "csv", "path": "p.csv", "symbols": ["A"]}}
    over = {"a": {"y": [3]}, "s": {"type": "j"}, "data": {"source": "synthetic"}}
    merged = deep_merge(base, over)
    assert merged["a"] == {"x": 1, "y": [3]}  # mappings merge, lists replace
    assert merged["s"] == {"type": "j"}
    assert merged["data"] == {"source": "synthetic", "symbols": ["A"]}  # no stray path
    assert base["a"]["y"] == [1, 2]  # inputs untouched
    assert "name" not in study_defaults() and study_defaults()["seed"] == 0


def test_workflow_phases_merge_over_defaults_without_leaking_variants(tmp_path: Path) -> None:
    text = """\
    defaults:
      data: {source: csv, path: "d/{symbol}.csv", symbols: [SPY]}
      sequence: {type: walk_forward, train: 100, test: 10}
      strategies: [{type: sma_crossover}]
    phases:
      - name: wf
      - name: mc
        sequence: {type: monte_carlo, runs: 5}
        data: {source: synthetic, bars: 100}
    """
    wf = load_config(write(tmp_path, text, "flow.yaml"))
    assert wf.name == "flow"
    first, second = wf.phases
    assert first.sequence.train == 100 and first.data.path == "d/{symbol}.csv"
    assert second.sequence.type == "monte_carlo" and second.sequence.train is None
    assert second.data.path is None and second.data.symbols == ("SPY",)


def test_set_overrides_apply_after_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    cfg = load_config(path, overrides=["risk.stop_loss=0.03", "data.symbols=[SPY,QQQ]",
                                       "strategies.0.params.fast=[5,10]",
                                       "portfolio.sizing={type: fixed_notional, notional: 10000.0}"])
    assert cfg.risk.stop_loss == 0.03
    assert cfg.data.symbols == ("SPY", "QQQ")
    assert cfg.strategies[0].params["fast"] == [5, 10]
    assert cfg.portfolio.sizing == {"type": "fixed_notional", "notional": 10000.0}


def test_set_override_of_a_dotted_strategy_param_keeps_the_key_whole(tmp_path: Path) -> None:
    """An ensemble's params are flat keys with dots (m0.weight)."""
    path = write(tmp_path, BASE)
    cfg = load_config(path, overrides=["strategies.0.params.m0.weight=[1, 2]"])
    assert cfg.strategies[0].params["m0.weight"] == [1, 2]
    assert "m0" not in cfg.strategies[0].params


def test_set_override_on_a_workflow_reaches_every_phase(tmp_path: Path) -> None:
    wf = load_config(write(tmp_path, WORKFLOW_YAML),
                     overrides=["risk.stop_loss=0.05", "phases.2.sequence.runs=7"])
    assert [p.risk.stop_loss for p in wf.phases] == [0.05, 0.05, 0.05]
    assert wf.phases[2].sequence.runs == 7


def test_templates_resolve_config_keys_only(tmp_path: Path) -> None:
    text = BASE.replace("source: synthetic", 'source: csv\n  path: "d/{data.timeframe}/{symbol}.csv"'
                        "\n  timeframe: 5m")
    text += 'risk:\n  max_position: "{portfolio.initial_cash}"\nresults:\n  dir: "out/{name}-{seed}"\n'
    cfg = load_config(write(tmp_path, text), overrides=["seed=3"])
    assert cfg.data.path == "d/5m/{symbol}.csv"  # {symbol} is the data layer's
    assert cfg.risk.max_position == 100_000  # a whole-string reference keeps the type
    assert cfg.results.dir == "out/t-3"  # resolved after --set


def test_template_default_value_and_loop(tmp_path: Path) -> None:
    text = BASE + 'results:\n  dir: "r/{data.timeframe}"\n'
    assert load_config(write(tmp_path, text)).results.dir == "r/1m"  # a default is a key too
    msg = error_of(tmp_path, BASE + 'results:\n  dir: "{results.dir}"\n')
    assert "sma.yaml:9: results.dir: templates refer to each other in a loop" in msg


def test_yaml_dates_become_iso_strings(tmp_path: Path) -> None:
    text = BASE.replace("symbols: [SPY]", "symbols: [SPY]\n  start: 2024-01-02\n"
                        "  end: 2024-03-01 15:30:00")
    cfg = load_config(write(tmp_path, text))
    assert cfg.data.start == "2024-01-02" and cfg.data.end == "2024-03-01T15:30:00"


def test_plain_dict_and_direct_construction_agree() -> None:
    as_dict = {"name": "py", "data": {"symbols": ["SPY"], "start": dt.date(2024, 1, 2)},
               "strategies": [{"type": "sma_crossover", "params": {"fast": 10}}]}
    loaded = load_config(as_dict)
    built = StudyConfig(name="py", data=DataConfig(symbols=["SPY"], start=dt.date(2024, 1, 2)),
                        strategies=[StrategyConfig(type="sma_crossover", params={"fast": 10})])
    assert loaded == built and loaded.fingerprint == built.fingerprint
    assert load_config(built, overrides=["seed=4"]).seed == 4


def test_direct_construction_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"data\.path: required by source 'csv'"):
        DataConfig(source="csv", symbols=("SPY",))
    with pytest.raises(ConfigError, match=r"sequence\.folds: not used by sequence type 'single_pass'"):
        SequenceConfig(folds=3)
    with pytest.raises(ConfigError) as info:
        RiskConfig(stop_loss=1.5)
    assert "risk.stop_loss" in str(pickle.loads(pickle.dumps(info.value)))


def test_fingerprint_ignores_key_order_and_sees_values(tmp_path: Path) -> None:
    one = load_config(write(tmp_path, BASE + "risk: {stop_loss: 0.02, take_profit: 0.04}\n", "a.yaml"))
    reordered = """\
    risk: {take_profit: 0.04, stop_loss: 0.02}
    strategies:
      - params: {slow: 30, fast: 10}
        type: sma_crossover
    data:
      symbols: [SPY]
      source: synthetic
    name: t
    """
    two = load_config(write(tmp_path, reordered, "b.yaml"))
    assert config_fingerprint(one) == config_fingerprint(two) == one.fingerprint
    assert len(one.fingerprint) == 64
    changed = load_config(write(tmp_path, BASE, "a.yaml"), overrides=["risk.stop_loss=0.021"])
    assert changed.fingerprint != one.fingerprint


def test_dump_yaml_round_trips(tmp_path: Path) -> None:
    for text in (STUDY_YAML, WORKFLOW_YAML):
        cfg = load_config(write(tmp_path, text))
        again = parse_config(dump_yaml(cfg), filename="config.yaml")
        assert again == cfg and again.fingerprint == cfg.fingerprint
        assert to_dict(again) == to_dict(cfg)


def test_parse_duration() -> None:
    assert parse_duration("90d") == dt.timedelta(days=90)
    assert parse_duration("1m") == dt.timedelta(minutes=1)
    assert parse_duration("2w") == dt.timedelta(weeks=2)
    assert parse_duration("1H") == parse_duration("h") == dt.timedelta(hours=1)
    assert parse_duration("D") == dt.timedelta(days=1)
    for bad in ("90days", "0d", "m", "1M", "1.5h", 5):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_public_surface() -> None:
    assert set(config_pkg.__all__) == {
        name for name in dir(config_pkg) if not name.startswith("_")
        and not isinstance(getattr(config_pkg, name), type(config_pkg))} - {"annotations"}


# -- grids ---------------------------------------------------------------------


def test_int_range_includes_both_ends() -> None:
    values = expand_range(5, 50, 5)
    assert values == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50] and len(values) == 10
    assert all(isinstance(v, int) for v in values)


def test_float_range_is_exact() -> None:
    assert expand_range(0.1, 0.3, 0.1) == [0.1, 0.2, 0.3]
    assert expand_range(0.0, 1.0, 0.25) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert expand_range(1, 2, 0.5) == [1.0, 1.5, 2.0]


@pytest.mark.parametrize(("args", "fragment"), [
    ((5, 50, 0), "step > 0"), ((50, 5, 5), "start <= stop"), ((1, "x", 1), "three numbers"),
    ((0, 10**9, 1), "more than"),
])
def test_bad_ranges(args: tuple, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        expand_range(*args)


@given(st.integers(-1000, 1000), st.integers(0, 1000), st.integers(1, 50))
def test_int_range_properties(start: int, span: int, step: int) -> None:
    values = expand_range(start, start + span, step)
    assert values[0] == start and values[-1] <= start + span < values[-1] + step
    assert len(values) == span // step + 1


def test_grid_is_a_deterministic_cartesian_product() -> None:
    grid = expand_grid({"fast": [5, 10], "slow": {"range": [30, 50, 10]}, "kind": "ema"})
    assert len(grid) == 6
    assert grid[:3] == [{"fast": 5, "slow": 30, "kind": "ema"}, {"fast": 5, "slow": 40, "kind": "ema"},
                        {"fast": 5, "slow": 50, "kind": "ema"}]
    assert expand_grid({}) == [{}]


def test_strategy_grid_from_yaml(tmp_path: Path) -> None:
    text = BASE.replace("{fast: 10, slow: 30}", "{fast: {range: [5, 50, 5]}, slow: [60, 120], "
                                                "band: {range: [0.1, 0.3, 0.1]}}")
    strategy = load_config(write(tmp_path, text)).strategies[0]
    grid = strategy.grid()
    assert len(grid) == 10 * 2 * 3
    assert sorted({p["band"] for p in grid}) == [0.1, 0.2, 0.3]
    assert grid[0] == {"fast": 5, "slow": 60, "band": 0.1}


# -- bad configs: each message names file, line, key path, expectation ---------

BAD_STUDIES = [
    # (id, yaml, overrides, fragments expected in the message)
    ("unknown top-level key", BASE + "strategy: x\n", (),
     ["sma.yaml:8:", "unknown key 'strategy' at the top level", "did you mean 'strategies'?"]),
    ("typo in a nested key", BASE + "portfolio:\n  close_at_end: true\n  intial_cash: 5\n", (),
     ["sma.yaml:10:", "unknown key 'intial_cash' at portfolio", "did you mean 'initial_cash'?"]),
    ("unknown key, no close match", BASE + "results:\n  zzz: 1\n", (),
     ["sma.yaml:9:", "unknown key 'zzz' at results", "valid keys: dir, storage, keep_equity_curves"]),
    ("a single symbol as a string", BASE.replace("[SPY]", "SPY"), (),
     ["sma.yaml:4:", "data.symbols", "expected a list", "got a string ('SPY')", "write [SPY]"]),
    ("negative initial_cash", BASE + "portfolio:\n  initial_cash: -5\n", (),
     ["sma.yaml:9:", "portfolio.initial_cash", "expected a number > 0", "-5"]),
    ("unknown fill value", BASE + "execution:\n  fill: next_opn\n", (),
     ["sma.yaml:9:", "execution.fill", "expected one of", "same_close", "got 'next_opn'",
      "did you mean 'next_open'?"]),
    ("range with step 0", BASE.replace("fast: 10", "fast: {range: [5, 50, 0]}"), (),
     ["sma.yaml:7:", "strategies[0].params.fast.range", "step > 0"]),
    ("range with two numbers", BASE.replace("fast: 10", "fast: {range: [5, 50]}"), (),
     ["sma.yaml:7:", "strategies[0].params.fast.range", "[start, stop, step]"]),
    ("folds with walk_forward",
     BASE + "sequence:\n  type: walk_forward\n  train: 100\n  test: 10\n  folds: 3\n", (),
     ["sma.yaml:12:", "sequence.folds", "not used by sequence type 'walk_forward'", "k_fold"]),
    ("walk_forward without test", BASE + "sequence:\n  type: walk_forward\n  train: 100\n", (),
     ["sma.yaml:8:", "sequence.test", "required by sequence type 'walk_forward'"]),
    ("csv without path", BASE.replace("source: synthetic", "source: csv"), (),
     ["sma.yaml:2:", "data.path", "required by source 'csv'"]),
    ("synthetic with path", BASE.replace("source: synthetic", "source: synthetic\n  path: x.csv"), (),
     ["sma.yaml:4:", "data.path", "not used by source 'synthetic'"]),
    ("synthetic key with csv",
     BASE.replace("source: synthetic", "source: csv\n  path: 'd/{symbol}.csv'\n  bars: 100"), (),
     ["sma.yaml:5:", "data.bars", "only used by source 'synthetic'"]),
    ("bad duration string",
     BASE + "sequence:\n  type: walk_forward\n  train: 90days\n  test: 10d\n", (),
     ["sma.yaml:10:", "sequence.train", "duration like '90d'", "'90days'"]),
    ("mixed bars and durations",
     BASE + "sequence:\n  type: walk_forward\n  train: 90d\n  test: 10\n", (),
     ["sma.yaml:11:", "sequence.test", "all be bars or all durations"]),
    ("wrong scalar type", BASE + "seed: abc\n", (),
     ["sma.yaml:8:", "seed", "expected an integer", "got a string ('abc')"]),
    ("stop_loss out of range", BASE + "risk:\n  stop_loss: 2\n", (),
     ["sma.yaml:9:", "risk.stop_loss", "expected a number in (0, 1)", "2"]),
    ("max_drawdown above 1", BASE + "risk:\n  max_drawdown: 1.5\n", (),
     ["sma.yaml:9:", "risk.max_drawdown", "in (0, 1]"]),
    ("trace level typo in a container pattern",
     BASE + "tracing:\n  containers:\n    'p_*': {level: debg}\n", (),
     ["sma.yaml:10:", "tracing.containers.p_*.level", "did you mean 'debug'?"]),
    ("dask address with processes", BASE + "executor: {kind: processes, address: 'tcp://x:1'}\n", (),
     ["sma.yaml:8:", "executor.address", "only used by kind 'dask'"]),
    ("component without a type", BASE + "portfolio:\n  sizing: {type: 5}\n", (),
     ["sma.yaml:9:", "portfolio.sizing.type", "expected a component type", "percent_equity"]),
    ("empty grid", BASE.replace("fast: 10", "fast: []"), (),
     ["sma.yaml:7:", "strategies[0].params.fast", "empty grid"]),
    ("no strategies", BASE.split("strategies:")[0] + "strategies: []\n", (),
     ["sma.yaml:5:", "strategies", "at least one strategy"]),
    ("missing required key (data comes from the defaults)", "name: t\nstrategies: [{type: x}]\n", (),
     ["sma.yaml: missing required key 'data.symbols'", "expected a list"]),
    ("missing nested required key", "data: {source: synthetic}\nstrategies: [{type: x}]\n", (),
     ["sma.yaml:1:", "missing required key 'data.symbols'", "expected a list"]),
    ("duplicate key", BASE + "data: {symbols: [QQQ]}\n", (),
     ["sma.yaml:8:", "duplicate key 'data'", "first given at line 2"]),
    ("unknown placeholder in path",
     BASE.replace("source: synthetic", "source: csv\n  path: 'd/{symbl}.csv'"), (),
     ["sma.yaml:4:", "data.path", "unknown placeholder {symbl}", "did you mean 'symbol'?"]),
    ("end before start",
     BASE.replace("symbols: [SPY]", "symbols: [SPY]\n  start: 2024-02-01\n  end: 2024-01-01"), (),
     ["sma.yaml:6:", "data.end", "expected end >= start"]),
    ("phase reference in a plain study", BASE.replace("{fast: 10, slow: 30}", '"{explore.best_params}"'),
     (), ["sma.yaml:7:", "strategies[0].params", "only a workflow phase can use it"]),
    ("--set of an unknown key", BASE, ("portfolio.intial_cash=5",),
     ["sma.yaml (--set portfolio.intial_cash=5)", "unknown key 'intial_cash' at portfolio",
      "did you mean 'initial_cash'?"]),
    ("--set of a bad value", BASE, ("risk.stop_loss=3",),
     ["sma.yaml (--set risk.stop_loss=3)", "risk.stop_loss", "expected a number in (0, 1)"]),
    ("--set without a value", BASE, ("risk.stop_loss",), ["sma.yaml", "expected key.path=value"]),
    ("--set past the end of a list", BASE, ("data.symbols.3=QQQ",),
     ["--set data.symbols.3=QQQ", "data.symbols is a list of 1 items"]),
]


@pytest.mark.parametrize(("text", "overrides", "fragments"),
                         [case[1:] for case in BAD_STUDIES], ids=[case[0] for case in BAD_STUDIES])
def test_bad_study_is_explained(tmp_path: Path, text: str, overrides: tuple[str, ...],
                                fragments: list[str]) -> None:
    msg = error_of(tmp_path, text, overrides=overrides)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: t\ndata:\n  symbols: [SPY\nstrategies: []\n")
    assert msg.startswith(str(tmp_path / "sma.yaml") + ":4:")
    assert "malformed YAML" in msg


def test_empty_file_and_top_level_list(tmp_path: Path) -> None:
    assert "got nothing (the file is empty)" in error_of(tmp_path, "# nothing\n")
    assert "sma.yaml:1: expected a mapping of config keys" in error_of(tmp_path, "- a\n- b\n")


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="nope.yaml: cannot read the config file"):
        load_config("nope.yaml")


def test_dict_errors_name_the_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"data": {"symbols": ["SPY"]}, "strategies": [{"type": "x"}],
                     "portfolio": {"sizing": {"type": "fixed_notional", "notional": 5}},
                     "execution": {"fil": "next_open"}})
    assert str(info.value) == "unknown key 'fil' at execution; did you mean 'fill'?"
    assert isinstance(info.value.__cause__, msgspec.ValidationError)


BAD_WORKFLOWS = [
    ("unknown depends_on", WORKFLOW_YAML.replace("depends_on: [explore]", "depends_on: [explor]"),
     ["flow.yaml:9:", "phases[1].depends_on[0]", "unknown phase 'explor'", "did you mean 'explore'?"]),
    ("cycle", WORKFLOW_YAML.replace("  - name: explore\n", "  - name: explore\n    depends_on: "
                                                          "[robustness]\n"),
     ["phases depend on each other in a cycle", "explore -> robustness -> validate -> explore"]),
    ("study key at the workflow's top level", "data: {symbols: [SPY]}\n" + WORKFLOW_YAML,
     ["flow.yaml:1:", "unknown key 'data' at the top level", "go under 'defaults:'"]),
    ("unknown key in defaults", WORKFLOW_YAML.replace("initial_cash", "intial_cash"),
     ["flow.yaml:3:", "unknown key 'intial_cash' at defaults.portfolio",
      "did you mean 'initial_cash'?"]),
    ("phase named like a config key", WORKFLOW_YAML.replace("name: explore", "name: data")
     .replace("[explore]", "[data]"),
     ["flow.yaml:5:", "phases[0].name", "'data' is a config key"]),
    ("else without when", WORKFLOW_YAML.replace("    depends_on: [validate]\n",
                                                "    depends_on: [validate]\n    else: [explore]\n"),
     ["flow.yaml:15:", "phases[2].else", "only used with 'when'"]),
    ("repeat modifies an unknown key", WORKFLOW_YAML.replace("risk.stop_loss:", "risk.stop_los:"),
     ["flow.yaml:17:", "phases[2].repeat.modify.risk.stop_los", "did you mean 'stop_loss'?"]),
    ("duplicate phase names", WORKFLOW_YAML.replace("name: robustness", "name: explore")
     .replace("robustness.metrics", "explore.metrics"),
     ["flow.yaml:13:", "phases[2].name", "'explore' is also the name of phases[0]"]),
    ("phase key typo", WORKFLOW_YAML.replace("    when:", "    wen:"),
     ["flow.yaml:12:", "unknown key 'wen' at phases[1]", "did you mean 'when'?"]),
]


@pytest.mark.parametrize(("text", "fragments"), [case[1:] for case in BAD_WORKFLOWS],
                         ids=[case[0] for case in BAD_WORKFLOWS])
def test_bad_workflow_is_explained(tmp_path: Path, text: str, fragments: list[str]) -> None:
    msg = error_of(tmp_path, text, name="flow.yaml")
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
