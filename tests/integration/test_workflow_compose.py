"""Workflows that compose (issue 13): chosen results carry whole strategies,
``repeat.modify`` reaches strategy params, branches join with
``depends_on: {any: [...]}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.errors import ConfigError
from admf.research.validate import validate
from tests.integration.test_workflows import defaults, run, workflow

SMA = "sma_crossover"


def single_pass(tmp_path: Path, strategy: dict[str, Any], **risk: Any) -> Any:
    config = {**defaults(tmp_path), "name": "check", "strategies": [strategy]}
    config["risk"] = {**config["risk"], **risk}
    return admf.run_sync(config, write=False)


MULTI_TYPE = {"name": "explore", "sequence": {"type": "parameter_sweep"},
              "strategies": [{"type": SMA, "params": {"fast": [5, 10], "slow": [40]}},
                             {"type": "momentum", "params": {"period": [20, 100]}}]}


@pytest.mark.parametrize("objective", ["sharpe_ratio", "max_drawdown", "trade_count"])
def test_best_carries_the_winning_type_through_a_multi_type_grid(
        tmp_path: Path, objective: str) -> None:
    explore = {**MULTI_TYPE, "sequence": {"type": "parameter_sweep", "objective": objective}}
    result = run(workflow(tmp_path, explore,
                          {"name": "check", "depends_on": ["explore"],
                           "strategies": "{explore.best}"}))
    sweep = result.phases["explore"].result
    top = sweep.table[0]  # ranked by the objective
    types = {"sma_crossover": {"fast", "slow"}, "momentum": {"period"}}
    winner_type = next(t for t, keys in types.items() if keys <= set(top) and all(
        top[k] is not None for k in keys) and top["portfolio"].startswith(t))
    best = result.phases["explore"].outputs["best"]
    assert best["type"] == winner_type
    assert best["params"] == {k: top[k] for k in types[winner_type]}
    assert result.phases["explore"].outputs["best_params"] == best["params"]  # kept
    # the next phase ran exactly that strategy: the same metrics as a plain run of it
    check = result.phases["check"].result
    alone = single_pass(tmp_path, best)
    assert check.metrics.to_dict() == alone.metrics.to_dict()
    summary = json.loads((Path(result.path) / "summary.json").read_text())
    assert summary["phases"][0]["best"] == best


def test_both_types_can_win_so_the_test_above_covers_a_type_change(tmp_path: Path) -> None:
    winners = set()
    for objective in ("sharpe_ratio", "max_drawdown", "trade_count"):
        explore = {**MULTI_TYPE, "sequence": {"type": "parameter_sweep", "objective": objective}}
        winners.add(run(workflow(tmp_path, explore)).phases["explore"].outputs["best"]["type"])
    assert winners == {"sma_crossover", "momentum"}


def test_repeat_modify_changes_strategy_params(tmp_path: Path) -> None:
    phase = {"name": "tune", "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 40}}],
             "repeat": {"while": "tune.metrics.trade_count >= 0", "max": 3,
                        "modify": {"strategies[0].params.fast": "{strategies[0].params.fast} + 5",
                                   "strategies.0.params.slow": 50}}}
    result = run(workflow(tmp_path, phase))
    tune = result.phases["tune"]
    assert tune.iterations == 3
    root = Path(result.path)
    last = json.loads((root / "tune-3" / "summary.json").read_text())
    (params,) = [p["params"] for p in last["portfolios"].values()]
    assert params == {"fast": 15, "slow": 50}
    alone = single_pass(tmp_path, {"type": SMA, "params": {"fast": 15, "slow": 50}})
    assert tune.outputs["metrics"]["sharpe_ratio"] == pytest.approx(alone.metrics.sharpe_ratio)


def test_repeat_modify_refuses_results_dir(tmp_path: Path) -> None:
    phase = {"name": "tune", "strategies": [{"type": SMA}],
             "repeat": {"while": "tune.metrics.trade_count > 0", "max": 2,
                        "modify": {"results.dir": "elsewhere"}}}
    with pytest.raises(ConfigError, match=r"repeat\.modify\.results\.dir.*cannot be modified"):
        admf.run_sync(workflow(tmp_path, phase))


def test_repeat_modify_a_missing_strategy_index_is_an_error(tmp_path: Path) -> None:
    phase = {"name": "tune", "strategies": [{"type": SMA}],
             "repeat": {"while": "tune.metrics.trade_count > 0", "max": 2,
                        "modify": {"strategies[3].params.fast": 4}}}
    with pytest.raises(ConfigError, match=r"phase 'tune'.*repeat\.modify.*no item 3|index"):
        admf.run_sync(workflow(tmp_path, phase))
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("summary.json"))


def _branching(threshold: float) -> tuple[dict[str, Any], ...]:
    return (
        {"name": "explore", "sequence": {"type": "parameter_sweep"},
         "strategies": [{"type": SMA, "params": {"fast": [5, 10], "slow": [40]}}]},
        {"name": "validate", "depends_on": ["explore"], "strategies": "{explore.best}",
         "when": f"explore.metrics.trade_count > {threshold}", "else": ["fallback"]},
        {"name": "fallback", "strategies": [{"type": "momentum", "params": {"period": 50}}]},
        {"name": "final", "depends_on": {"any": ["validate", "fallback"], "as": "chosen"},
         "strategies": "{chosen.best}", "risk": {"stop_loss": 0.05}},
    )


@pytest.mark.parametrize(("threshold", "taken", "skipped"), [
    (-1, "validate", "fallback"), (10**9, "fallback", "validate")])
def test_branches_join(tmp_path: Path, threshold: float, taken: str, skipped: str) -> None:
    result = run(workflow(tmp_path, *_branching(threshold)))
    phases = result.phases
    assert phases[taken].status == "ran" and phases[skipped].status == "skipped"
    assert phases["final"].status == "ran"
    assert phases["final"].joined == {"chosen": taken}
    best = phases[taken].outputs["best"]
    alone = single_pass(tmp_path, best, stop_loss=0.05)
    assert phases["final"].result.metrics.to_dict() == alone.metrics.to_dict()
    rows = {r["phase"]: r for r in json.loads((Path(result.path) / "summary.json").read_text())["phases"]}
    assert rows["final"]["joined"] == {"chosen": taken}
    assert rows[skipped]["status"] == "skipped" and rows[taken]["status"] == "ran"


def test_a_join_is_skipped_when_no_branch_ran(tmp_path: Path) -> None:
    phases = list(_branching(-1))
    phases[0] = {**phases[0], "when": "1 > 2"}  # explore skipped: neither branch can run
    result = run(workflow(tmp_path, *phases))
    assert result.phases["final"].status == "skipped"
    assert "none of its dependencies" in result.phases["final"].reason


def test_referring_to_one_branch_of_a_join_is_refused(tmp_path: Path) -> None:
    phases = list(_branching(-1))
    phases[3] = {**phases[3], "strategies": "{validate.best}"}
    with pytest.raises(ConfigError, match=r"may not run.*as: <name>"):
        admf.run_sync(workflow(tmp_path, *phases))


# -- a winner chosen over risk and cost settings carries them ------------------

COSTLY = {"name": "explore", "sequence": {"type": "parameter_sweep"},
          "strategies": [{"type": SMA, "params": {"fast": [5, 10], "slow": [40]}}],
          "risk": {"stop_loss": [0.005, 0.02, 0.1]},
          "execution": {"commission": {"type": "percentage", "rate": [0.0005, 0.004]},
                        "slippage": {"type": "fixed_bps", "bps": 1}}}


def plain_study(tmp_path: Path, strategy: dict[str, Any], stop_loss: Any,
                commission: dict[str, Any]) -> Any:
    """The winner written out by hand: its values in the study's own sections."""
    config = {**defaults(tmp_path), "name": "alone", "strategies": [strategy]}
    config["risk"] = {"stop_loss": stop_loss}
    config["execution"] = {**config["execution"], "commission": commission}
    return admf.run_sync(config, write=False)


def won_with(portfolio: str) -> tuple[float, float]:
    """The stop and rate a ranked row's portfolio id names (``...+stop_loss=0.02,rate=0.0005``)."""
    values = dict(part.split("=") for part in portfolio.rsplit("+", 1)[1].split(","))
    return float(values["stop_loss"]), float(values["rate"])


@pytest.mark.parametrize("objective", ["sharpe_ratio", "max_drawdown", "trade_count"])
def test_best_carries_the_risk_and_cost_values_it_won_with(tmp_path: Path, objective: str) -> None:
    explore = {**COSTLY, "sequence": {"type": "parameter_sweep", "objective": objective}}
    # the next phase's own settings differ from every point of the grid
    check = {"name": "check", "depends_on": ["explore"], "strategies": "{explore.best}",
             "risk": {"stop_loss": 0.05},
             "execution": {"commission": {"type": "per_share", "rate": 0.01, "minimum": 1.0},
                           "slippage": {"type": "fixed_bps", "bps": 1}}}
    result = run(workflow(tmp_path, explore, check))
    top = result.phases["explore"].result.table[0]
    best = result.phases["explore"].outputs["best"]
    stop, rate = won_with(top["portfolio"])
    assert best["settings"] == {"risk.stop_loss": stop, "execution.commission.type": "percentage",
                                "execution.commission.rate": rate}
    alone = plain_study(tmp_path, {"type": SMA, "params": best["params"]}, stop,
                        {"type": "percentage", "rate": rate})
    ran = result.phases["check"].result
    assert ran.metrics.to_dict() == alone.metrics.to_dict()
    assert ran.metrics.to_dict()["sharpe_ratio"] == pytest.approx(top["sharpe_ratio"], abs=1e-3)


def test_the_next_phase_runs_differently_without_the_carried_settings(tmp_path: Path) -> None:
    """The test above could pass if settings did nothing: the winner run with
    the next phase's own settings is a different run."""
    result = run(workflow(tmp_path, COSTLY))
    best = result.phases["explore"].outputs["best"]
    own = plain_study(tmp_path, {"type": SMA, "params": best["params"]}, 0.05,
                      {"type": "per_share", "rate": 0.01, "minimum": 1.0})
    carried = single_pass(tmp_path, best)
    assert own.metrics.to_dict() != carried.metrics.to_dict()


def test_a_grid_in_the_next_phase_overrides_a_carried_value(tmp_path: Path) -> None:
    check = {"name": "check", "depends_on": ["explore"], "strategies": "{explore.best}",
             "sequence": {"type": "parameter_sweep"}, "risk": {"stop_loss": [0.01, 0.03]}}
    result = run(workflow(tmp_path, COSTLY, check))
    best = result.phases["explore"].outputs["best"]
    runs = [won_with(row["portfolio"]) for row in result.phases["check"].result.table]
    assert sorted(stop for stop, _ in runs) == [0.01, 0.03]
    # the carried commission still applies to both
    assert {rate for _, rate in runs} == {best["settings"]["execution.commission.rate"]}


@pytest.mark.parametrize(("settings", "expected"), [
    ({"risk.stop_los": 0.01}, "settings.risk.stop_los: no risk limit 'stop_los'"),
    ({"risk.stop_loss": [0.01, 0.02]}, "one value per key"),
    ({"stop_loss": 0.01}, "expected a dotted risk, sizing or execution key"),
    ({"execution.commission.type": 3}, "a component type is a name"),
])
def test_bad_strategy_settings_name_the_key(tmp_path: Path, settings: dict[str, Any],
                                            expected: str) -> None:
    config = {**defaults(tmp_path), "strategies": [{"type": SMA, "settings": settings}]}
    with pytest.raises(ConfigError, match="strategies\\[0\\]\\.") as info:
        validate(config)
    assert expected in str(info.value)


def test_a_carried_value_the_component_refuses_is_named(tmp_path: Path) -> None:
    config = {**defaults(tmp_path), "strategies": [
        {"type": SMA, "settings": {"execution.commission.rate": -1.0}}]}
    with pytest.raises(ConfigError, match=r"strategies\[0\]\.settings: execution\.commission: "
                                          r"percentage .*rate must be >= 0"):
        validate(config)
