"""Grids over risk, sizing and execution: strategy points x portfolio points,
each strategy point's signals computed once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import admf
from admf.components import strategies
from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.study import strategy_points


def _config(**sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "grid", "seed": 3,
        "data": {"source": "synthetic", "symbols": ["AAA"], "bars": 3000, "batch_rows": 500,
                 "volatility": 0.01},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 8], "slow": 30}}],
        "results": {"storage": "memory"},
    }
    base.update(sections)
    return base


def test_cross_product_points_name_both_halves() -> None:
    config = load_config(_config(risk={"stop_loss": [0.01, 0.02], "take_profit": 0.05},
                                 execution={"commission": {"type": "percentage",
                                                           "rate": [0.0, 0.001]}}))
    points = strategy_points(config)
    assert len(points) == 2 * 2 * 2
    first = points[0]
    assert first.id == "sma_crossover(fast=5,slow=30)+stop_loss=0.01,rate=0.0"
    assert first.portfolio == {"risk.stop_loss": 0.01, "execution.commission.rate": 0.0}
    assert first.signal_id == "sma_crossover(fast=5,slow=30)"
    assert len({p.id for p in points}) == 8


def test_each_product_point_equals_its_own_separate_run() -> None:
    grid = admf.run_sync(_config(risk={"stop_loss": [0.005, 0.02], "take_profit": [0.01, None]},
                                 portfolio={"sizing": {"type": "percent_equity",
                                                       "percent": [50, 100]}}),
                         write=False)
    assert len(grid.portfolios) == 2 * 2 * 2 * 2
    finals = set()
    for pid, result in grid.portfolios.items():
        point = grid.points[pid]
        risk = {"take_profit": point.portfolio["risk.take_profit"],
                "stop_loss": point.portfolio["risk.stop_loss"]}
        sizing = {"type": "percent_equity",
                  "percent": point.portfolio["portfolio.sizing.percent"]}
        alone = admf.run_sync(_config(strategies=[{"type": "sma_crossover",
                                                   "params": point.params}],
                                      risk=risk, portfolio={"sizing": sizing}), write=False)
        ref = alone.portfolios[next(iter(alone.portfolios))]
        assert result.final_equity == ref.final_equity
        for name in ref.trades:
            assert np.array_equal(result.trades[name], ref.trades[name]), (pid, name)
        for name in ref.equity:
            assert np.array_equal(result.equity[name], ref.equity[name]), (pid, name)
        finals.add(result.final_equity)
    assert len(finals) > 4  # the settings really differ between portfolios


def test_signals_are_computed_once_per_strategy_point(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    original = strategies.SmaCrossover.targets

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(strategies.SmaCrossover, "targets", counting)
    plain = admf.run_sync(_config(), write=False)
    once = calls["n"]
    assert once == 2 * (3000 // 500)  # two strategy points, six batches each
    calls["n"] = 0
    grid = admf.run_sync(_config(risk={"stop_loss": [0.01, 0.02, 0.03],
                                       "take_profit": {"range": [0.02, 0.04, 0.01]}}),
                         write=False)
    assert len(grid.portfolios) == 2 * 9
    assert calls["n"] == once
    assert len(plain.portfolios) == 2


def test_set_override_takes_a_grid() -> None:
    config = load_config(_config(), overrides=["risk.stop_loss=[0.01,0.02]",
                                               "execution.fill=[next_open,next_close]"])
    points = strategy_points(config)
    assert len(points) == 2 * 2 * 2
    assert {p.portfolio["execution.fill"] for p in points} == {"next_open", "next_close"}


def test_table_and_best_point_carry_portfolio_values() -> None:
    result = admf.run_sync(_config(risk={"stop_loss": [0.01, 0.02]}), write=False)
    rows = result.table()
    assert {row["risk.stop_loss"] for row in rows} == {0.01, 0.02}
    assert {row["fast"] for row in rows} == {5, 8}


@pytest.mark.parametrize(("section", "message"), [
    ({"risk": {"stop_los": [0.01, 0.02]}}, "stop_loss"),
    ({"execution": {"commission": {"type": "percentage", "rat": [0.001, 0.002]}}}, "rate"),
    ({"portfolio": {"sizing": {"type": "percent_equity", "percnt": [50, 100]}}}, "percent"),
])
def test_grid_over_unknown_key_suggests_the_right_one(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=f"did you mean.*{message}"):
        admf.run_sync(_config(**section), write=False)


def test_bad_grid_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"risk\.stop_loss.*got 1\.5"):
        load_config(_config(risk={"stop_loss": [0.01, 1.5]}))
    with pytest.raises(ConfigError, match="fill"):
        load_config(_config(execution={"fill": ["next_open", "tomorrow"]}))


# -- both halves in every table, and the winner by its whole point -------------

SWEEP = {"sequence": {"type": "parameter_sweep"}, "risk": {"stop_loss": [0.002, 0.01, 0.05]}}


@pytest.mark.parametrize("write", [False, True])
def test_sweep_tables_and_runs_name_both_halves(tmp_path: Any, write: bool) -> None:
    result = admf.run_sync(_config(**SWEEP, results={"dir": str(tmp_path), "storage": "hybrid"}),
                           write=write)
    table = result.table  # the ranked summary table
    assert {row["risk.stop_loss"] for row in table} == {0.002, 0.01, 0.05}
    runs = result.runs.rows()
    assert len(runs) == 6 and {r["risk.stop_loss"] for r in runs} == {0.002, 0.01, 0.05}
    for run in runs:  # each run's stop is the one its portfolio id names
        named = next(row for row in table if row["sharpe_ratio"] == run["sharpe_ratio"]
                     and row["fast"] == run["fast"] and row["risk.stop_loss"] == run["risk.stop_loss"])
        assert named["portfolio"].endswith(f"+stop_loss={run['risk.stop_loss']}")


@pytest.mark.parametrize("write", [False, True])
def test_best_is_the_winning_point_not_the_first_with_its_params(tmp_path: Any,
                                                                 write: bool) -> None:
    """Three runs share each strategy point's params; .best is the one that won."""
    for objective in ("sharpe_ratio", "trade_count", "max_drawdown"):
        sweep = {**SWEEP, "sequence": {"type": "parameter_sweep", "objective": objective}}
        result = admf.run_sync(_config(**sweep, results={"dir": str(tmp_path),
                                                         "storage": "hybrid"}), write=write)
        top = result.table[0]
        assert result.best.settings == {"risk.stop_loss": top["risk.stop_loss"]}
        assert result.best.metrics.to_json_dict()[objective] == top[objective]


def test_walk_forward_windows_name_the_chosen_settings() -> None:
    config = _config(risk={"stop_loss": [0.002, 0.05]},
                     sequence={"type": "walk_forward", "train": 1000, "test": 500})
    result = admf.run_sync(config, write=False)
    windows = result.windows.rows()
    assert windows and all(w["risk.stop_loss"] in (0.002, 0.05) for w in windows)
    raw = {r["window"]: r for r in result.raw.table}
    for w in windows:
        assert w["risk.stop_loss"] == raw[w["window"]]["settings"]["risk.stop_loss"]
