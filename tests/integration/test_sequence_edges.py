"""Sequences: resuming windowed runs, curves not kept, Monte Carlo scope, objectives."""

from __future__ import annotations

from pathlib import Path

import pytest

import admf
from admf.errors import ConfigError


def study(tmp_path: Path, sequence: dict, **extra: object) -> dict:
    return {"name": "edges", "seed": 9,
            "data": {"source": "synthetic", "symbols": ["A"], "bars": 3000, "timeframe": "1h"},
            "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5], "slow": [20]}}],
            "sequence": sequence, "executor": {"kind": "inline"},
            "results": {"dir": str(tmp_path / "r")}, **extra}


WALK = {"type": "walk_forward", "train": 1000, "test": 500}


@pytest.mark.parametrize("keep", [True, False])
def test_a_walk_forward_resumes_after_its_test_windows_finished(tmp_path: Path, keep: bool) -> None:
    config = study(tmp_path, WALK, results={"dir": str(tmp_path / "r"), "keep_equity_curves": keep})
    first = admf.run_sync(config)
    (first.path / "manifest.json").unlink()
    runs = first.path / "main" / "runs"
    (next(runs.glob("w000-train0-*")) / "metrics.json").unlink()  # one training run unfinished
    again = admf.run_sync(config, resume=first.path)
    assert (first.path / "manifest.json").is_file()
    assert again.table == first.table
    assert again.metrics == first.metrics


def test_keep_equity_curves_false_writes_no_curve_in_a_sequence(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, WALK, results={"dir": str(tmp_path / "r"),
                                                          "keep_equity_curves": False,
                                                          "storage": "disk"}))
    runs = result.path / "main" / "runs"
    assert list(runs.glob("*/equity.parquet")) == []
    assert list(runs.glob("*-test-*/trades.parquet"))  # the test windows' trades are kept
    assert len(result.equity["equity"]) == 4 * 500  # the stitched curve is still computed


def test_test_windows_end_flat(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, WALK))
    for row in result.table:
        assert row["test_metrics"]["open_trades"] == 0


def test_monte_carlo_needs_one_point(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="monte_carlo studies one strategy point, got 2"):
        admf.run_sync(study(tmp_path, {"type": "monte_carlo", "runs": 5}))


def test_bootstrap_reports_only_what_resampled_returns_define(tmp_path: Path) -> None:
    config = study(tmp_path, {"type": "monte_carlo", "runs": 20, "method": "bootstrap_returns"})
    config["strategies"] = [{"type": "sma_crossover", "params": {"fast": 5, "slow": 20}}]
    result = admf.run_sync(config)
    assert "sharpe_ratio" in result.distributions and "max_drawdown" in result.metrics
    for undefined in ("trade_count", "win_rate", "exposure", "turnover", "profit_factor"):
        assert undefined not in result.distributions
    assert result.distributions["sharpe_ratio"]["count"] == 20


def test_a_misspelt_objective_fails_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'sharp_ratio' is not a metric; did you mean 'sharpe_ratio'"):
        admf.run_sync(study(tmp_path, {"type": "parameter_sweep", "objective": "sharp_ratio"}))
    assert not (tmp_path / "r").exists()


def test_windows_before_1973_are_read_exactly(tmp_path: Path) -> None:
    # window bounds before 1973 are small epoch numbers in ns; guessed as
    # microseconds they used to fall out of range
    config = study(tmp_path, WALK, data={"source": "synthetic", "symbols": ["A"], "bars": 3000,
                                         "timeframe": "1d", "start": "1950-01-01"})
    result = admf.run_sync(config)
    assert len(result.table) == 4
    assert result.table[0]["test"][0].startswith("1952-09-27")  # bar 1000 after 1950-01-01


def test_executor_settings_on_a_single_pass_are_refused(tmp_path: Path) -> None:
    config = study(tmp_path, {"type": "single_pass"}, executor={"kind": "processes"})
    with pytest.raises(ConfigError, match="single_pass study runs every point in one pass"):
        admf.run_sync(config)


def test_a_study_traced_without_a_results_directory_returns_its_trace(tmp_path: Path) -> None:
    config = study(tmp_path, {"type": "single_pass"}, tracing={"level": "minimal"})
    result = admf.run_sync(config, write=False)
    kinds = [event["kind"] for event in result.trace]
    assert kinds[0] == "run_started" and kinds[-1] == "trace_end"
    assert kinds.count("stage_entered") == 6 * 4  # source, strategies, 2 portfolios x 6 stages
    assert admf.run_sync(study(tmp_path, {"type": "single_pass"}), write=False).trace is None


def test_a_traced_sequence_needs_a_results_directory(tmp_path: Path) -> None:
    config = study(tmp_path, WALK, tracing={"level": "minimal"})
    with pytest.raises(ConfigError, match="run it with write=True"):
        admf.run_sync(config, write=False)


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path: Path) -> None:
    from admf.api import load
    from admf.research.results.runs import new_store

    config = load(study(tmp_path, {"type": "single_pass"}))
    stores = [new_store(config) for _ in range(3)]
    assert len({s.path for s in stores}) == 3
    assert [s.run_id.rsplit("-", 1)[-1] for s in stores[1:]] == ["2", "3"]


def test_a_workflow_phase_cannot_write_elsewhere(tmp_path: Path) -> None:
    phase = {"data": {"source": "synthetic", "symbols": ["A"]},
             "strategies": [{"type": "sma_crossover"}]}
    with pytest.raises(ConfigError, match=r"phases\[1\]\.results\.dir: a workflow writes all"):
        admf.load({"name": "w", "phases": [{"name": "a", **phase},
                                           {"name": "b", **phase, "results": {"dir": "x"}}]})


def test_a_sweep_over_strategies_with_other_params_lists_each_runs_own_params() -> None:
    # in memory (write=False) the runs came from the table with the best point's param
    # names, so a second strategy without them raised KeyError
    config = {"name": "two", "data": {"source": "synthetic", "symbols": ["A"], "bars": 1500},
              "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": 30}},
                             {"type": "rsi_reversion", "params": {"period": 10}}],
              "sequence": {"type": "parameter_sweep"}}
    result = admf.run_sync(config, write=False)
    params = {run.key: run.params for run in result._all_runs()}
    assert params == {"sma_crossover(fast=5,slow=30)": {"fast": 5, "slow": 30},
                      "sma_crossover(fast=10,slow=30)": {"fast": 10, "slow": 30},
                      "rsi_reversion(period=10)": {"period": 10}}
    assert len(result.runs) == 3
