"""Workflows end to end (admf/workflow.py, admf/runtime/coordinator.py):
phases in dependency order passing real outputs, results under
``results/<workflow_id>/<phase>/``, PhaseOutput events, ``when``/``else``,
skipped dependencies, ``repeat`` with ``modify``, and bad workflows refused
with a ConfigError (never executed)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.errors import ConfigError
from admf.research.workflow.run import WorkflowResult
from admf.runtime.tracing import read_events

SMA = "sma_crossover"


def defaults(tmp_path: Path, bars: int = 2000) -> dict[str, Any]:
    return {
        "seed": 11,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": bars,
                 "start": "2020-01-01"},
        "portfolio": {"initial_cash": 100_000,
                      "sizing": {"type": "percent_equity", "percent": 50, "whole_units": True}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 1}},
        "risk": {"stop_loss": 0.02},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }


def workflow(tmp_path: Path, *phases: dict[str, Any], bars: int = 2000,
             name: str = "research") -> dict[str, Any]:
    return {"name": name, "defaults": defaults(tmp_path, bars), "phases": list(phases)}


def run(config: dict[str, Any]) -> WorkflowResult:
    result = admf.run_sync(config)
    assert isinstance(result, admf.Result) and isinstance(result.raw, WorkflowResult)
    return result


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def single_pass(tmp_path: Path, params: dict[str, Any], **risk: Any) -> Any:
    """The workflow's data and portfolio as one single-pass study (independent check)."""
    config = {**defaults(tmp_path), "name": "check",
              "strategies": [{"type": SMA, "params": params}]}
    config["risk"] = {**config["risk"], **risk}
    return admf.run_sync(config, write=False)


# -- the CONFIG.md three-phase workflow -------------------------------------------------------

THREE_PHASES = (
    {"name": "explore",
     "sequence": {"type": "parameter_sweep", "objective": "sharpe_ratio"},
     "strategies": [{"type": SMA, "params": {"fast": [5, 10, 20], "slow": [30, 60]}}]},
    {"name": "validate", "depends_on": ["explore"],
     "strategies": [{"type": SMA, "params": "{explore.best_params}"}],
     "sequence": {"type": "walk_forward", "train": 500, "test": 250, "step": 250},
     "when": "explore.metrics.trade_count > 0"},
    {"name": "robustness", "depends_on": ["validate"],
     "sequence": {"type": "monte_carlo", "runs": 40, "method": "bootstrap_returns"},
     "repeat": {"while": "robustness.metrics.sharpe_ratio.p25 < 1000", "max": 3,
                "modify": {"risk.stop_loss": "{risk.stop_loss} * 1.5"}}},
)


def test_three_phase_workflow_end_to_end(tmp_path: Path) -> None:
    result = run(workflow(tmp_path, *THREE_PHASES))
    wid = result.workflow_id
    assert wid is not None
    phases = result.phases
    assert list(phases) == ["explore", "validate", "robustness"]
    assert [p.status for p in phases.values()] == ["ran", "ran", "ran"]
    assert [p.iterations for p in phases.values()] == [1, 1, 3]

    # outputs passed on: validate traded exactly explore's best parameters
    best = phases["explore"].outputs["best_params"]
    explore = phases["explore"].result
    assert best == explore.best_params
    assert set(best) == {"fast", "slow"}
    validate = phases["validate"].result
    assert validate.type == "walk_forward"
    assert len(validate.table) == 6  # 2000 bars: train 500, tests of 250 from bar 500
    assert all(row["params"] == best for row in validate.table)
    assert validate.best_params == best
    # robustness has no strategies: it inherits validate's (resolved) ones
    robustness = phases["robustness"].result
    assert robustness.type == "monte_carlo"
    assert robustness.best_params == best
    assert robustness.aggregate["runs"] == 40

    # results/<workflow_id>/<phase>/
    root = tmp_path / "results" / wid
    assert Path(result.path) == root
    dirs = ["explore", "validate", "robustness", "robustness-2", "robustness-3"]
    assert phases["robustness"].directories == dirs[2:]
    for d in dirs:
        assert (root / d / "summary.json").is_file(), d
        assert (root / d / "aggregate.json").is_file(), d
    assert read(root / "validate" / "summary.json")["best_params"] == best
    assert (root / "config.yaml").is_file()
    manifest = read(root / "manifest.json")
    assert manifest["workflow_id"] == wid
    assert manifest["phases"] == dirs

    # the root summary: each phase's primary metric
    summary = read(root / "summary.json")
    assert summary["workflow_id"] == wid
    rows = {row["phase"]: row for row in summary["phases"]}
    assert list(rows) == ["explore", "validate", "robustness"]
    assert all(row["primary_metric"] == "sharpe_ratio" for row in rows.values())
    assert rows["explore"]["primary_value"] == pytest.approx(explore.metrics["sharpe_ratio"])
    assert rows["explore"]["primary_value"] == pytest.approx(explore.table[0]["sharpe_ratio"])
    assert rows["validate"]["primary_value"] == pytest.approx(validate.metrics["sharpe_ratio"])
    assert rows["robustness"]["primary_value"] == pytest.approx(
        robustness.metrics["sharpe_ratio"]["p50"])
    assert rows["robustness"]["iterations"] == 3
    assert rows["robustness"]["directories"] == dirs[2:]

    # events.jsonl: one PhaseOutput per phase run (three for robustness)
    events = list(read_events(root / "events.jsonl"))
    outputs = [e for e in events if e["kind"] == "PhaseOutput"]
    assert [(e["phase"], e["iteration"], e["directory"]) for e in outputs] == [
        ("explore", 1, "explore"), ("validate", 1, "validate"), ("robustness", 1, "robustness"),
        ("robustness", 2, "robustness-2"), ("robustness", 3, "robustness-3")]
    assert all(e["workflow_id"] == wid for e in outputs)
    assert outputs[0]["outputs"]["best_params"] == best
    assert outputs[0]["outputs"]["sequence"] == "parameter_sweep"
    assert outputs[1]["outputs"]["metrics"]["sharpe_ratio"] == pytest.approx(
        validate.metrics["sharpe_ratio"])

    # repeat.modify is really used: iteration k's base run has stop_loss
    # 0.02 * 1.5 ** (k - 1), i.e. 0.02, 0.03, 0.045 -- compare each with a
    # separate single pass at that stop
    stops = [0.02, 0.02 * 1.5, 0.02 * 1.5 * 1.5]
    bases = []
    for d, stop in zip(dirs[2:], stops):
        files = list((root / d / "runs").glob("base-*/metrics.json"))
        assert len(files) == 1, d
        got = read(files[0])["metrics"]
        alone = single_pass(tmp_path, best, stop_loss=stop).metrics
        assert got["trade_count"] == alone.trade_count, (d, stop)
        assert got["total_return"] == pytest.approx(alone.total_return, rel=1e-12), (d, stop)
        bases.append((got["trade_count"], got["total_return"]))
    assert len(set(bases)) == 3  # the stop changes the trades


def test_two_executions_get_different_workflow_ids(tmp_path: Path) -> None:
    config = workflow(tmp_path, {"name": "only", "strategies": [{"type": SMA, "params": {
        "fast": 5, "slow": 20}}]}, bars=300)
    first, second = run(config), run(config)
    assert first.workflow_id != second.workflow_id
    for r in (first, second):
        assert (tmp_path / "results" / r.workflow_id / "manifest.json").is_file()
        assert (tmp_path / "results" / r.workflow_id / "only" / "summary.json").is_file()
    assert first.phases["only"].outputs["metrics"] == second.phases["only"].outputs["metrics"]


# -- when / else / skipped dependencies --------------------------------------------------------


def branching(condition: str) -> tuple[dict[str, Any], ...]:
    one = {"type": SMA, "params": {"fast": 5, "slow": 20}}
    other = {"type": SMA, "params": {"fast": 10, "slow": 30}}
    return (
        {"name": "base", "strategies": [one]},
        {"name": "strict", "depends_on": ["base"], "when": condition, "else": ["fallback"],
         "strategies": [one]},
        {"name": "fallback", "depends_on": ["base"], "strategies": [other]},
        {"name": "after_strict", "depends_on": ["strict"], "strategies": [one]},
        {"name": "after_fallback", "depends_on": ["fallback"], "strategies": [other]},
    )


def test_when_false_skips_the_phase_and_runs_its_else(tmp_path: Path) -> None:
    result = run(workflow(tmp_path, *branching("base.metrics.trade_count < 0"), bars=400))
    status = {n: (p.status, p.reason) for n, p in result.phases.items()}
    assert status == {
        "base": ("ran", None),
        "strict": ("skipped", "condition false"),
        "fallback": ("ran", None),
        "after_strict": ("skipped", "its dependency 'strict' did not run"),
        "after_fallback": ("ran", None),
    }
    root = tmp_path / "results" / result.workflow_id
    assert {p.name for p in root.iterdir() if p.is_dir()} == {"base", "fallback", "after_fallback"}
    assert result.phases["fallback"].outputs["best_params"] == {"fast": 10, "slow": 30}
    events = list(read_events(root / "events.jsonl"))
    skipped = {e["phase"]: e["reason"] for e in events if e["kind"] == "PhaseSkipped"}
    assert skipped == {"strict": "condition false",
                       "after_strict": "its dependency 'strict' did not run"}
    ran = [e["phase"] for e in events if e["kind"] == "PhaseOutput"]
    assert sorted(ran) == ["after_fallback", "base", "fallback"]
    rows = {row["phase"]: row for row in read(root / "summary.json")["phases"]}
    assert rows["strict"]["status"] == "skipped" and "primary_value" not in rows["strict"]
    assert rows["fallback"]["status"] == "ran"
    assert read(root / "manifest.json")["phases"] == ["base", "fallback", "after_fallback"]


def test_admf_trace_reads_a_workflows_events(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from admf.cli import main

    result = run(workflow(tmp_path, *branching("base.metrics.trade_count < 0"), bars=400))
    root = tmp_path / "results" / result.workflow_id
    assert main(["trace", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{root / 'events.jsonl'}: ")
    rows = {tuple(line.split()[:2]) for line in out.splitlines()[1:] if line.startswith("  ")}
    assert {("PhaseSkipped", "strict"), ("PhaseSkipped", "after_strict"),
            ("PhaseOutput", "fallback")} <= rows
    assert main(["trace", str(root), "--kind", "PhaseSkipped"]) == 0
    out = capsys.readouterr().out
    assert "'reason': 'condition false'" in out and "PhaseOutput" not in out


def test_when_true_runs_the_phase_and_skips_its_else(tmp_path: Path) -> None:
    result = run(workflow(tmp_path, *branching("base.metrics.trade_count >= 0"), bars=400))
    status = {n: (p.status, p.reason) for n, p in result.phases.items()}
    assert status == {
        "base": ("ran", None),
        "strict": ("ran", None),
        "fallback": ("skipped", "it is the else branch of 'strict', whose condition held"),
        "after_strict": ("ran", None),
        "after_fallback": ("skipped", "its dependency 'fallback' did not run"),
    }
    root = tmp_path / "results" / result.workflow_id
    assert {p.name for p in root.iterdir() if p.is_dir()} == {"base", "strict", "after_strict"}


def test_when_on_an_undefined_metric_is_false_not_an_error(tmp_path: Path) -> None:
    """CONFIG.md's ``when: "explore.metrics.sharpe_ratio > 0.5"`` on a metric
    that is undefined (NaN; here win_rate with no trade at all) is simply
    false, as NaN comparisons are: the phase is skipped, its else runs."""
    config = workflow(tmp_path,
                      {"name": "base", "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 200}}]},
                      {"name": "strict", "depends_on": ["base"], "when": "base.metrics.win_rate > 0.5",
                       "else": ["fallback"],
                       "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}]},
                      {"name": "fallback", "depends_on": ["base"],
                       "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}]}, bars=150)
    # disk storage: a run without any signal is written fine there
    config["defaults"]["results"]["storage"] = "disk"
    result = run(config)
    assert result.phases["base"].outputs["metrics"]["trade_count"] == 0
    assert result.phases["strict"].status == "skipped"
    assert result.phases["strict"].reason == "condition false"
    assert result.phases["fallback"].status == "ran"


def test_when_reads_the_recorded_outputs(tmp_path: Path) -> None:
    # the condition compares with the real value base produced: it holds for
    # exactly that trade count and not for one more
    probe = run(workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]}, bars=400))
    trades = probe.phases["base"].outputs["metrics"]["trade_count"]
    assert trades > 0
    for count, expected in ((trades, "ran"), (trades + 1, "skipped")):
        result = run(workflow(tmp_path, *branching(f"base.metrics.trade_count == {count}"),
                              bars=400))
        assert result.phases["strict"].status == expected


# -- repeat ------------------------------------------------------------------------------------------


def test_repeat_stops_when_the_condition_fails(tmp_path: Path) -> None:
    phase = {"name": "tune", "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}],
             "repeat": {"while": "tune.metrics.trade_count < 0", "max": 5,
                        "modify": {"risk.stop_loss": "{risk.stop_loss} * 2"}}}
    result = run(workflow(tmp_path, phase, bars=400))
    assert result.phases["tune"].iterations == 1
    assert result.phases["tune"].directories == ["tune"]
    root = tmp_path / "results" / result.workflow_id
    assert not (root / "tune-2").exists()


def test_repeat_modify_changes_the_study_each_iteration(tmp_path: Path) -> None:
    # single-pass phase: stop 0.01 -> 0.02 -> 0.04; each iteration's metrics
    # equal a separate single pass at that stop
    params = {"fast": 5, "slow": 20}
    phase = {"name": "tune", "strategies": [{"type": SMA, "params": params}],
             "risk": {"stop_loss": 0.01},
             "repeat": {"while": "tune.metrics.trade_count >= 0", "max": 3,
                        "modify": {"risk.stop_loss": "{risk.stop_loss} * 2"}}}
    result = run(workflow(tmp_path, phase, bars=2000))
    assert result.phases["tune"].directories == ["tune", "tune-2", "tune-3"]
    root = tmp_path / "results" / result.workflow_id
    outputs = [e["outputs"]["metrics"] for e in read_events(root / "events.jsonl")
               if e["kind"] == "PhaseOutput"]
    assert len(outputs) == 3
    for metrics, stop in zip(outputs, (0.01, 0.02, 0.04)):
        alone = single_pass(tmp_path, params, stop_loss=stop).metrics
        assert metrics["trade_count"] == alone.trade_count, stop
        assert metrics["total_return"] == pytest.approx(alone.total_return, rel=1e-12), stop
    assert len({m["total_return"] for m in outputs}) == 3


# -- bad workflows: ConfigError, nothing executed ---------------------------------------------


HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "base.__class__",
    "open('{marker}', 'w')",
    "exec('open(\"{marker}\", \"w\")')",
    "base.metrics.sharpe_ratio.__class__.__mro__",
    "[x for x in base]",
    "lambda: 1",
]


def test_hostile_when_is_a_config_error_not_execution(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    errors: dict[str, BaseException] = {}
    for text in HOSTILE:
        condition = text.format(marker=marker)
        config = workflow(tmp_path, {"name": "base", "strategies": [
            {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
            {"name": "second", "depends_on": ["base"], "when": condition,
             "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}]}, bars=300)
        try:
            admf.run_sync(config)
        except Exception as exc:  # noqa: BLE001 - the type is checked below
            errors[condition] = exc
        else:
            pytest.fail(f"the condition {condition!r} was accepted")
        assert not marker.exists(), condition  # nothing was executed
    # every one is refused as a ConfigError (what the CLI reports as bad input)
    assert {c: type(e).__name__ for c, e in errors.items()} == {
        c: "ConfigError" for c in errors}
    assert all("names may not start with '_'" in str(errors[t.format(marker=marker)])
               for t in HOSTILE if "__" in t)


def test_bad_when_is_refused_before_any_phase_runs(tmp_path: Path) -> None:
    """Bad input fails early (DESIGN.md §10): an unparseable condition is
    found when the workflow is loaded, not after earlier phases have run."""
    config = workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
        {"name": "second", "depends_on": ["base"], "when": "__import__('os')",
         "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}]}, bars=300)
    with pytest.raises(ConfigError, match="__import__"):
        admf.load(config)
    assert not (tmp_path / "results").exists()


def test_unknown_phase_reference_is_a_config_error_naming_it(tmp_path: Path) -> None:
    config = workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
        {"name": "second", "depends_on": ["base"],
         "strategies": [{"type": SMA, "params": "{nope.best_params}"}]}, bars=300)
    with pytest.raises(ConfigError, match="nope"):
        admf.run_sync(config)


def test_unknown_phase_in_a_condition_is_a_config_error_naming_it(tmp_path: Path) -> None:
    config = workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
        {"name": "second", "depends_on": ["base"], "when": "nope.metrics.sharpe_ratio > 1",
         "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}]}, bars=300)
    with pytest.raises(ConfigError, match="nope"):
        admf.run_sync(config)


def test_reference_to_a_phase_not_depended_on_is_a_config_error(tmp_path: Path) -> None:
    config = workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
        {"name": "second", "strategies": [{"type": SMA, "params": "{base.best_params}"}]},
        bars=300)
    with pytest.raises(ConfigError, match="base"):
        admf.run_sync(config)


def test_unknown_phase_reference_is_refused_at_load(tmp_path: Path) -> None:
    """A template naming no phase of the workflow is bad input: found when
    the workflow is loaded (DESIGN.md §10), before anything runs."""
    config = workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
        {"name": "second", "depends_on": ["base"],
         "strategies": [{"type": SMA, "params": "{nope.best_params}"}]}, bars=300)
    with pytest.raises(ConfigError, match="nope"):
        admf.load(config)


def test_depends_on_cycle_is_a_config_error_naming_the_cycle(tmp_path: Path) -> None:
    strategy = [{"type": SMA, "params": {"fast": 5, "slow": 20}}]
    config = workflow(tmp_path,
                      {"name": "start", "strategies": strategy},
                      {"name": "a", "depends_on": ["start", "b"], "strategies": strategy},
                      {"name": "b", "depends_on": ["a"], "strategies": strategy}, bars=300)
    with pytest.raises(ConfigError) as info:
        admf.load(config)
    message = str(info.value)
    assert "cycle" in message
    assert "a -> b -> a" in message or "b -> a -> b" in message
    with pytest.raises(ConfigError):
        admf.run_sync(config)
    assert not (tmp_path / "results").exists()


def test_unknown_depends_on_is_a_config_error_naming_it(tmp_path: Path) -> None:
    config = workflow(tmp_path, {"name": "base", "strategies": [
        {"type": SMA, "params": {"fast": 5, "slow": 20}}]},
        {"name": "second", "depends_on": ["bsae"],
         "strategies": [{"type": SMA, "params": {"fast": 5, "slow": 20}}]}, bars=300)
    with pytest.raises(ConfigError, match="unknown phase 'bsae'"):
        admf.load(config)


def test_failing_phase_surfaces_its_own_error(tmp_path: Path) -> None:
    """A phase that fails (here: walk-forward windows that do not fit) makes
    the workflow raise that ConfigError, not a wrapper or a KeyError from
    the phases waiting on it."""
    strategy = [{"type": SMA, "params": {"fast": 5, "slow": 20}}]
    config = workflow(tmp_path, {"name": "base", "strategies": strategy,
                                 "sequence": {"type": "walk_forward", "train": 500, "test": 500}},
                      {"name": "after", "depends_on": ["base"]}, bars=300)
    with pytest.raises(ConfigError, match="do not fit"):
        admf.run_sync(config)
    assert not any((tmp_path / "results").glob("*/manifest.json"))


def test_single_pass_phase_outputs_its_best_point(tmp_path: Path) -> None:
    result = run(workflow(tmp_path, {"name": "only", "strategies": [
        {"type": SMA, "params": {"fast": [5, 10], "slow": 20}}]}, bars=600))
    row = result.summary()[0]
    outputs = result.phases["only"].outputs
    # a single pass with two points: the phase's metrics are its best point's
    table = {r["portfolio"]: r for r in outputs["table"]}
    best = max(table.values(), key=lambda r: r["sharpe_ratio"])
    assert outputs["best_params"] == {"fast": best["fast"], "slow": best["slow"]}
    assert row["primary_value"] == pytest.approx(best["sharpe_ratio"])
    assert math.isfinite(row["primary_value"])
