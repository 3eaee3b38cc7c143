"""``admf validate`` is the run's checks without the run (issue 13).

Each case of the issue's "Why" is reproduced: a mistake in a late phase or an
``else`` branch, a bad objective, a misspelt metric, windows that do not fit
the data, bad data files. Each must fail ``admf validate`` naming the file,
the phase and the key, and must fail a workflow run *before its first phase*
(no phase directory written, nothing computed)."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import admf
from admf.cli import main
from admf.errors import ConfigError
from tests.integration._support import random_walk, write_csv

SMA = "sma_crossover"


def base(tmp_path: Path, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "seed": 3,
        "data": data or {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h",
                         "bars": 1500, "start": "2020-01-01"},
        "portfolio": {"initial_cash": 100_000},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }


GOOD_PHASES: list[dict[str, Any]] = [
    {"name": "explore", "sequence": {"type": "parameter_sweep"},
     "strategies": [{"type": SMA, "params": {"fast": [5, 10], "slow": [30, 60]}}]},
    {"name": "validate", "depends_on": ["explore"], "strategies": "{explore.best}",
     "sequence": {"type": "walk_forward", "train": 500, "test": 250},
     "when": "explore.metrics.sharpe_ratio > -100", "else": ["fallback"]},
    {"name": "fallback", "strategies": [{"type": "momentum"}]},
    {"name": "robustness", "depends_on": ["validate"],
     "sequence": {"type": "monte_carlo", "runs": 5},
     "repeat": {"while": "robustness.metrics.sharpe_ratio.p25 < -100", "max": 2,
                "modify": {"risk.stop_loss": 0.05}}},
]


def workflow_file(tmp_path: Path, phases: list[dict[str, Any]], **defaults: Any) -> Path:
    config = {"name": "wf", "defaults": {**base(tmp_path), **defaults}, "phases": phases}
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def changed(index: int, **keys: Any) -> list[dict[str, Any]]:
    phases = copy.deepcopy(GOOD_PHASES)
    phases[index].update(keys)
    return phases


def validate_error(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "ok" not in out
    return err


def assert_fails_before_first_phase(path: Path, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        admf.run_sync(path)
    results = path.parent / "results"
    assert not results.exists() or not any(results.rglob("summary.json"))


def test_the_good_workflow_validates_and_runs(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = workflow_file(tmp_path, GOOD_PHASES)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok"
    assert not (tmp_path / "results").exists()
    result = admf.run_sync(path)
    assert result.phases["robustness"].status == "ran"


@pytest.mark.parametrize(("phases", "phase", "key", "expected"), [
    # an unknown strategy type in the last phase
    (changed(3, strategies=[{"type": "sma_crosover"}]), "robustness", "",
     "strategies[0].type: unknown strategy 'sma_crosover'"),
    # a misspelt parameter in an else branch
    (changed(2, strategies=[{"type": "momentum", "params": {"lookbak": 5}}]), "fallback",
     "", "lookbak"),
    # a bad objective in a later phase
    (changed(1, sequence={"type": "walk_forward", "train": 500, "test": 250,
                          "objective": "sharpe"}), "validate", "", "sharpe"),
    # a misspelt metric in a condition
    (changed(1, when="explore.metrics.sharp_ratio > 0.5"), "validate", "when",
     "has no metric 'sharp_ratio'; did you mean 'sharpe_ratio'"),
    # a metric the phase's sequence does not produce as a number (a distribution)
    (changed(3, repeat={"while": "robustness.metrics.sharpe_ratio < 0.3", "max": 2}),
     "robustness", "repeat.while", "mapping"),
    # a metric Monte Carlo bootstrap does not produce at all
    (changed(3, repeat={"while": "robustness.metrics.win_rate.p25 < 0.3", "max": 2}),
     "robustness", "repeat.while", "win_rate"),
    # a walk-forward that does not fit the data
    (changed(1, sequence={"type": "walk_forward", "train": 5000, "test": 250}), "validate",
     "", "do not fit"),
    # a template that makes a value of the wrong type
    (changed(3, repeat={"while": "robustness.metrics.sharpe_ratio.p25 < 0", "max": 2,
                        "modify": {"risk.stop_loss": "{sequence.type}"}}),
     "robustness", "repeat.modify", "stop_loss"),
    # params taken from a phase whose winner is of another type
    (changed(3, strategies=[{"type": "momentum", "params": "{validate.best_params}"}]),
     "robustness", "", "strategies[0].params: momentum has no parameter 'fast'"),
])
def test_workflow_mistakes_fail_validate_and_the_run_up_front(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], phases: list[dict[str, Any]],
        phase: str, key: str, expected: str) -> None:
    path = workflow_file(tmp_path, phases)
    err = validate_error(path, capsys)
    index = [p["name"] for p in phases].index(phase)
    assert str(path) in err
    assert f"phase {phase!r} (phases[{index}]{'.' + key if key else ''})" in err
    assert expected in err
    assert_fails_before_first_phase(path, re.escape(expected))


def test_plain_study_windows_against_data(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = {**base(tmp_path), "name": "s", "strategies": [{"type": SMA}],
              "sequence": {"type": "walk_forward", "train": 1400, "test": 200}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(config))
    err = validate_error(path, capsys)
    assert str(path) in err and "do not fit" in err
    config["sequence"] = {"type": "k_fold", "folds": 2000}
    path.write_text(yaml.safe_dump(config))
    assert "sequence.folds" in validate_error(path, capsys)


def _csv_data(tmp_path: Path) -> dict[str, Any]:
    return {"source": "csv", "path": str(tmp_path / "data" / "{symbol}.csv"), "symbols": ["X"],
            "timeframe": "1m"}


@pytest.mark.parametrize(("make", "expected"), [
    (lambda d: None, "does not exist"),
    (lambda d: (d / "X.csv").mkdir(), "is a directory"),
    (lambda d: write_csv(d / "X.csv", [r[:4] for r in random_walk(50, 1)],
                         ["timestamp", "open", "high", "low"]), "close"),
    (lambda d: (d / "X.csv").write_text(""), "X.csv"),
    (lambda d: write_csv(d / "X.csv", []), "no data rows"),
    (lambda d: write_csv(d / "X.csv", [[*random_walk(3, 1)[0][:4], "abc", "1"]]), "abc"),
])
def test_data_files_are_checked_in_every_phase(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               make: Any, expected: str) -> None:
    (tmp_path / "data").mkdir()
    make(tmp_path / "data")
    late = copy.deepcopy(GOOD_PHASES)
    late[2]["data"] = _csv_data(tmp_path)  # only the else branch reads files
    path = workflow_file(tmp_path, late)
    err = validate_error(path, capsys)
    assert "phase 'fallback' (phases[2])" in err and "data" in err and expected in err
    assert_fails_before_first_phase(path, "fallback")


def test_a_device_is_not_called_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "X.csv").symlink_to(os.devnull)  # exists, neither a file nor a directory
    config = {**base(tmp_path, _csv_data(tmp_path)), "name": "s", "strategies": [{"type": SMA}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(config))
    err = validate_error(path, capsys)
    assert "X.csv is not a regular file" in err and "is a directory" not in err


def test_results_dir_must_be_writable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be")
    path = workflow_file(tmp_path, GOOD_PHASES,
                         results={"dir": str(tmp_path / "blocker" / "results"), "storage": "memory"})
    err = validate_error(path, capsys)
    assert "results.dir" in err and "blocker" in err


def test_good_csv_study_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "X.csv", random_walk(300, 1))
    config = {**base(tmp_path, _csv_data(tmp_path)), "name": "s", "strategies": [{"type": SMA}],
              "sequence": {"type": "walk_forward", "train": 200, "test": 50}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    config["sequence"]["train"] = 290
    path.write_text(yaml.safe_dump(config))
    assert "do not fit" in validate_error(path, capsys)
