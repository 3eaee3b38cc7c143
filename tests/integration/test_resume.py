"""Resuming an interrupted study (DESIGN.md §7: "an interrupted sweep resumes
without redoing finished runs"; CONFIG.md: ``manifest.json`` written last).

An interruption is simulated on a finished run directory by deleting what a
crash would not have written yet: the manifest, the phase summary and
aggregate, and some runs' ``metrics.json`` (a run is complete only once its
``metrics.json`` exists), plus a stray ``.tmp`` file. Which runs are redone
is observed with spies on the functions that really run backtests
(``admf.research.tasks.execute`` for sequences, ``admf.research.study.run_points`` for a
single pass), and on the untouched files' modification times.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import admf
import admf.research.sequences.run
import admf.research.study
import admf.research.tasks
from admf.cli import main
from admf.errors import ConfigError
from admf.research.sequences.run import SequenceResult
from admf.research.study import StudyResult, run_key

BARS = 2000
GRID = {"fast": [5, 10, 15], "slow": [20, 40]}
POINTS = [f"sma_crossover(fast={f},slow={s})" for f in GRID["fast"] for s in GRID["slow"]]
DROPPED = [POINTS[1], POINTS[4]]  # their metrics.json "never got written"


def study(tmp_path: Path, sequence: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "resumable",
        "seed": 5,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": BARS,
                 "start": "2020-01-01", "batch_rows": 700},
        "strategies": [{"type": "sma_crossover", "params": GRID, "direction": "long_short"}],
        "portfolio": {"initial_cash": 100_000, "sizing": {"type": "percent_equity", "percent": 50}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 1}},
        "sequence": sequence or {"type": "parameter_sweep", "objective": "sharpe_ratio"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"},
    }
    config.update(sections)
    return config


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The point ids of every sequence task that really runs."""
    ran: list[list[str]] = []
    real = admf.research.tasks.execute

    def spy(task: Any) -> Any:
        ran.append([p.id for p in task.points])
        return real(task)

    monkeypatch.setattr(admf.research.tasks, "execute", spy)
    return ran


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The point ids of every single-pass backtest that really runs."""
    ran: list[list[str]] = []
    real = admf.research.study.run_points

    async def spy(config: Any, points: Any, *args: Any, **kwargs: Any) -> Any:
        ran.append([p.id for p in points])
        return await real(config, points, *args, **kwargs)

    monkeypatch.setattr(admf.research.study, "run_points", spy)
    return ran


def flat(tasks: list[list[str]]) -> list[str]:
    """The points of every task run, in order (a grid runs in small pieces)."""
    return [pid for task in tasks for pid in task]


def runs_dir(run_dir: Path) -> Path:
    return run_dir / "main" / "runs"


def metrics_files(run_dir: Path) -> dict[str, tuple[int, bytes]]:
    """run key -> (mtime_ns, bytes) of each metrics.json."""
    return {d.name: ((d / "metrics.json").stat().st_mtime_ns, (d / "metrics.json").read_bytes())
            for d in sorted(runs_dir(run_dir).iterdir()) if (d / "metrics.json").is_file()}


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def without_seconds(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "seconds"}


def interrupt(run_dir: Path, dropped: list[str]) -> None:
    """Make a complete run directory look like one killed mid-sweep."""
    (run_dir / "manifest.json").unlink()
    for name in ("summary.json", "aggregate.json"):
        (run_dir / "main" / name).unlink(missing_ok=True)
    for pid in dropped:
        (runs_dir(run_dir) / run_key(pid) / "metrics.json").unlink()
    (run_dir / "main" / "summary.json.tmp").write_text('{"half": ')  # a crashed write


def check_complete(run_dir: Path, original_manifest: dict[str, Any]) -> dict[str, Any]:
    manifest = read(run_dir / "manifest.json")
    assert manifest["complete"] is True and manifest["run_id"] == run_dir.name
    assert manifest["fingerprint"] == original_manifest["fingerprint"]
    assert {f["path"] for f in manifest["files"]} == {f["path"] for f in original_manifest["files"]}
    assert not list(run_dir.rglob("*.tmp"))
    return manifest


# -- a sweep -----------------------------------------------------------------------------


def test_a_sweep_resumes_redoing_only_the_unfinished_runs(
        tmp_path: Path, executed: list[list[str]]) -> None:
    config = study(tmp_path)
    first = admf.run_sync(config)
    assert isinstance(first.raw, SequenceResult) and flat(executed) == POINTS
    run_dir = Path(first.path)
    manifest = read(run_dir / "manifest.json")
    summary, aggregate = read(run_dir / "main" / "summary.json"), read(run_dir / "main" / "aggregate.json")
    before = metrics_files(run_dir)
    assert set(before) == {run_key(p) for p in POINTS}

    interrupt(run_dir, DROPPED)
    kept = metrics_files(run_dir)
    assert set(kept) == {run_key(p) for p in POINTS if p not in DROPPED}
    executed.clear()

    resumed = admf.run_sync(config, resume=run_dir)

    assert isinstance(resumed.raw, SequenceResult)
    assert flat(executed) == DROPPED  # only the unfinished points run again
    assert Path(resumed.path) == run_dir and resumed.run_id == first.run_id
    assert resumed.aggregate == first.aggregate  # ranking, best, objective, skipped
    assert resumed.aggregate["ranking"] == first.aggregate["ranking"]
    assert resumed.best_params == first.best_params
    assert resumed.metrics == first.metrics
    assert resumed.table == first.table
    after = metrics_files(run_dir)
    for key, (mtime, data) in kept.items():  # finished runs were not touched
        assert after[key] == (mtime, data), key
    for pid in DROPPED:  # redone runs are the same as the first time, tables included
        key = run_key(pid)
        assert after[key][1] == before[key][1]
        assert {p.name for p in (runs_dir(run_dir) / key).iterdir()} == {
            "metrics.json", "trades.parquet", "equity.parquet", "signals.parquet"}
    assert without_seconds(read(run_dir / "main" / "summary.json")) == without_seconds(summary)
    assert read(run_dir / "main" / "aggregate.json") == aggregate
    check_complete(run_dir, manifest)


def test_a_sweep_with_only_its_manifest_missing_runs_nothing_again(
        tmp_path: Path, executed: list[list[str]]) -> None:
    config = study(tmp_path)
    first = admf.run_sync(config)
    run_dir = Path(first.path)
    manifest = read(run_dir / "manifest.json")
    interrupt(run_dir, [])
    executed.clear()
    resumed = admf.run_sync(config, resume=run_dir)
    assert executed == []
    assert resumed.aggregate == first.aggregate and resumed.best_params == first.best_params
    check_complete(run_dir, manifest)


def _results_line(text: str) -> Path:
    match = re.search(r"^results: (.+)$", text, re.MULTILINE)
    assert match, text
    return Path(match.group(1))


def _best_line(text: str) -> str:
    match = re.search(r"^best params: .+$", text, re.MULTILINE)
    assert match, text
    return match.group(0)


def test_the_cli_resumes_a_sweep(tmp_path: Path, executed: list[list[str]],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "sweep.yaml"
    config_file.write_text(yaml.safe_dump(study(tmp_path), sort_keys=False))
    assert main(["run", str(config_file)]) == 0
    out = capsys.readouterr().out
    run_dir, best = _results_line(out), _best_line(out)
    aggregate = read(run_dir / "main" / "aggregate.json")
    manifest = read(run_dir / "manifest.json")
    interrupt(run_dir, [POINTS[0], POINTS[5]])
    executed.clear()

    assert main(["run", str(config_file), "--resume", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert flat(executed) == [POINTS[0], POINTS[5]]
    assert _results_line(out) == run_dir
    assert _best_line(out) == best
    assert read(run_dir / "main" / "aggregate.json") == aggregate
    check_complete(run_dir, manifest)


# -- refusals ----------------------------------------------------------------------------


def test_resuming_with_a_different_config_is_refused(
        tmp_path: Path, executed: list[list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    config = study(tmp_path)
    run_dir = Path(admf.run_sync(config).path)
    interrupt(run_dir, DROPPED)
    kept = metrics_files(run_dir)
    executed.clear()
    changed = study(tmp_path, seed=6)
    with pytest.raises(ConfigError, match="different config") as info:
        admf.run_sync(changed, resume=run_dir)
    assert str(run_dir / "config.yaml") in str(info.value)
    changed_grid = study(tmp_path, strategies=[{"type": "sma_crossover",
                                                "params": {"fast": [5, 10], "slow": [20, 40]},
                                                "direction": "long_short"}])
    with pytest.raises(ConfigError, match="different config"):
        admf.run_sync(changed_grid, resume=run_dir)

    config_file = tmp_path / "sweep.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    capsys.readouterr()
    assert main(["run", str(config_file), "--set", "risk.stop_loss=0.05",
                 "--resume", str(run_dir)]) == 2
    assert "different config" in capsys.readouterr().err
    # nothing ran and nothing changed: the run can still be resumed with its own config
    assert executed == [] and metrics_files(run_dir) == kept
    assert not (run_dir / "manifest.json").exists()
    admf.run_sync(config, resume=run_dir)
    assert flat(executed) == DROPPED and (run_dir / "manifest.json").is_file()


def test_resuming_a_complete_run_is_refused(
        tmp_path: Path, executed: list[list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    config = study(tmp_path)
    run_dir = Path(admf.run_sync(config).path)
    manifest_bytes = (run_dir / "manifest.json").read_bytes()
    executed.clear()
    with pytest.raises(ConfigError, match="complete run; there is nothing to resume"):
        admf.run_sync(config, resume=run_dir)
    config_file = tmp_path / "sweep.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    capsys.readouterr()
    assert main(["run", str(config_file), "--resume", str(run_dir)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert executed == [] and (run_dir / "manifest.json").read_bytes() == manifest_bytes


@pytest.mark.parametrize("where", ["results", "missing"])
def test_resuming_something_that_is_not_a_run_is_refused(tmp_path: Path, where: str) -> None:
    config = study(tmp_path)
    admf.run_sync(config)
    with pytest.raises(ConfigError, match="not an admf run"):
        admf.run_sync(config, resume=tmp_path / where)


def test_an_interrupted_workflow_resumes_at_the_phase_where_it_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    executed: list[tuple[str, str]] = []  # (phase, run key) of every run that really runs
    real = admf.research.tasks.execute

    def spy(task: Any) -> Any:
        executed.extend((task.phase, key) for key in task.keys.values())
        return real(task)

    monkeypatch.setattr(admf.research.tasks, "execute", spy)
    base = study(tmp_path)
    workflow = {"name": "wf", "defaults": {k: base[k] for k in ("data", "portfolio", "results",
                                                                  "executor", "execution")},
                "phases": [{"name": "explore", "strategies": base["strategies"],
                            "sequence": base["sequence"]},
                           {"name": "validate", "depends_on": ["explore"],
                            "strategies": "{explore.best}",
                            "sequence": {"type": "walk_forward", "train": 600, "test": 300}},
                           {"name": "stress", "depends_on": ["validate"],
                            "sequence": {"type": "monte_carlo", "runs": 20}}]}
    first = admf.run_sync(workflow)
    run_dir = Path(first.path)
    summary = read(run_dir / "summary.json")
    validate_runs = sorted((run_dir / "validate" / "runs").iterdir())
    # killed inside "validate": explore done, validate half done, stress not started
    (run_dir / "manifest.json").unlink()
    (run_dir / "summary.json").unlink()
    lines = (run_dir / "events.jsonl").read_bytes().splitlines()
    done = next(i for i, line in enumerate(lines)
                if b'"PhaseDone"' in line and b'"explore"' in line)
    (run_dir / "events.jsonl").write_bytes(b"\n".join(lines[:done + 1]) + b'\n{"seq": 9, "ki')
    for name in ("summary.json", "aggregate.json"):
        (run_dir / "validate" / name).unlink()
    shutil.rmtree(run_dir / "stress")
    dropped = validate_runs[len(validate_runs) // 2:]
    for d in dropped:
        (d / "metrics.json").unlink()
    executed.clear()

    resumed = admf.run_sync(workflow, resume=run_dir)

    assert resumed.workflow_id == first.workflow_id and Path(resumed.path) == run_dir
    assert {phase for phase, _ in executed} == {"validate", "stress"}  # explore not rerun
    # validate reran only the runs whose metrics.json the interruption lost
    assert sorted(key for phase, key in executed if phase == "validate") == sorted(
        d.name for d in dropped)
    assert resumed.phases["explore"].reason.startswith("resumed")
    assert resumed.phases["explore"].outputs["best"] == first.phases["explore"].outputs["best"]
    assert (run_dir / "manifest.json").is_file()
    again = read(run_dir / "summary.json")
    for row, before in zip(again["phases"], summary["phases"]):
        assert {k: v for k, v in row.items() if k not in ("seconds", "reason")} == {
            k: v for k, v in before.items() if k not in ("seconds", "reason")}
    assert resumed.phases["stress"].outputs["metrics"] == first.phases["stress"].outputs["metrics"]


# -- a single pass -----------------------------------------------------------------------


def single(tmp_path: Path) -> dict[str, Any]:
    return study(tmp_path, sequence={"type": "single_pass"})


def test_a_single_pass_resumes_running_only_the_unfinished_portfolios(
        tmp_path: Path, passes: list[list[str]]) -> None:
    config = single(tmp_path)
    first = admf.run_sync(config)
    assert isinstance(first.raw, StudyResult) and passes == [POINTS]
    run_dir = Path(first.path)
    manifest = read(run_dir / "manifest.json")
    summary = read(run_dir / "main" / "summary.json")
    before = metrics_files(run_dir)
    interrupt(run_dir, DROPPED)
    kept = metrics_files(run_dir)
    passes.clear()

    resumed = admf.run_sync(config, resume=run_dir)

    assert isinstance(resumed.raw, StudyResult)
    assert passes == [DROPPED]
    assert list(resumed.portfolios) == POINTS and Path(resumed.path) == run_dir
    for pid in POINTS:
        assert resumed.portfolios[pid].metrics.to_json_dict() == \
            first.portfolios[pid].metrics.to_json_dict(), pid
        assert resumed.portfolios[pid].fills == first.portfolios[pid].fills
    assert resumed.table() == first.table()
    after = metrics_files(run_dir)
    assert all(after[key] == value for key, value in kept.items())
    assert all(after[run_key(p)][1] == before[run_key(p)][1] for p in DROPPED)
    resumed_summary = read(run_dir / "main" / "summary.json")
    assert resumed_summary["resumed"] == sorted(kept)
    assert resumed_summary["portfolios"] == summary["portfolios"]
    assert resumed_summary["bars"] == summary["bars"] == BARS
    check_complete(run_dir, manifest)


def test_a_single_pass_with_every_portfolio_finished_reports_its_bars(
        tmp_path: Path, passes: list[list[str]]) -> None:
    """The crash came after every metrics.json but before the summary and
    manifest: nothing is rerun, and the resumed summary must still say how
    many bars the study covers. Fails today: run_study reports 0 bars (the
    count comes from the pass it skipped)."""
    config = single(tmp_path)
    first = admf.run_sync(config)
    run_dir = Path(first.path)
    manifest = read(run_dir / "manifest.json")
    interrupt(run_dir, [])
    passes.clear()
    resumed = admf.run_sync(config, resume=run_dir)
    assert passes == []
    check_complete(run_dir, manifest)
    assert {p: r.metrics.to_json_dict() for p, r in resumed.portfolios.items()} == \
        {p: r.metrics.to_json_dict() for p, r in first.portfolios.items()}
    assert read(run_dir / "main" / "summary.json")["bars"] == BARS
    assert resumed.bars == first.bars == BARS
