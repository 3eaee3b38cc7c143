"""The ``admf`` command line and the Python entry points, end to end.

``admf.cli.main`` runs in-process (output captured with capsys); one test
runs ``python -m admf demo`` in a fresh process.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import admf
from admf.cli import main
from admf.components.metric_format import HEADLINE as TABLE_METRICS
from admf.errors import AdmfError, ConfigError
from tests.integration._support import (
    csv_study,
    random_walk,
    synthetic_study,
    trades_digest,
    write_csv,
)

REPO = Path(__file__).resolve().parents[2]
ROW = "sma_crossover(fast=5,slow=20)"


def write_yaml(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    config = synthetic_study(tmp_path / "results", bars=2000, name="cli study",
                             results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    return write_yaml(tmp_path / "study.yaml", config)


def table_row(out: str, portfolio: str) -> dict[str, str]:
    """The cells of ``portfolio``'s row of the metrics table in ``out``."""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("portfolio "))
    names = header.split()
    row = next(line for line in lines if line.startswith(portfolio + " "))
    cells = row[len(portfolio):].split()
    assert len(cells) == len(names) - 1, row
    return dict(zip(names[1:], cells))


def results_path(out: str) -> Path:
    lines = [line for line in out.splitlines() if line.startswith("results: ")]
    assert len(lines) == 1, out
    return Path(lines[0].removeprefix("results: "))


def assert_one_paragraph_error(err: str) -> str:
    """A single ``admf: error: ...`` paragraph and no traceback."""
    assert err.startswith("admf: error: "), err
    assert "Traceback" not in err
    assert "\n\n" not in err.strip()
    assert err.endswith("\n")
    return err


# -- admf run ----------------------------------------------------------------


def test_run_prints_metrics_table_and_results_path(study_file: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(study_file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    header = next(line for line in out.splitlines() if line.startswith("portfolio "))
    assert header.split() == ["portfolio", *TABLE_METRICS]
    cells = table_row(out, ROW)
    assert int(cells["trade_count"].replace(",", "")) > 10
    assert cells["total_return"].endswith("%")
    assert "2,000 bars x 1 portfolio in" in out
    path = results_path(out)
    assert path.parent == tmp_path / "results"
    assert (path / "manifest.json").is_file()
    metrics = json.loads(next(path.glob("main/runs/*/metrics.json")).read_text())["metrics"]
    assert cells["final_equity"] == f"{metrics['final_equity']:,.2f}"
    assert int(cells["trade_count"].replace(",", "")) == metrics["trade_count"]


def test_set_overrides_a_value(study_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(study_file)]) == 0
    base = table_row(capsys.readouterr().out, ROW)
    assert main(["run", str(study_file), "--set", "portfolio.initial_cash=1000000"]) == 0
    out = capsys.readouterr().out
    scaled = table_row(out, ROW)
    ratio = float(scaled["final_equity"].replace(",", "")) / float(base["final_equity"].replace(",", ""))
    assert ratio == pytest.approx(10.0, rel=0.02)  # whole units: not exactly 10x
    merged = yaml.safe_load((results_path(out) / "config.yaml").read_text())
    assert merged["portfolio"]["initial_cash"] == 1_000_000


def test_set_is_repeatable_and_reaches_list_items(study_file: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(study_file), "--set", "strategies.0.params.fast=7",
                 "--set", "strategies.0.params.slow=25"]) == 0
    out = capsys.readouterr().out
    table_row(out, "sma_crossover(fast=7,slow=25)")
    assert ROW not in out


def test_no_write_keeps_results_in_memory(study_file: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(study_file), "--no-write"]) == 0
    out = capsys.readouterr().out
    table_row(out, ROW)
    assert "results:" not in out
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--set", "portfolio.initial_csh=5"],
     ["study.yaml", "--set portfolio.initial_csh=5", "initial_csh", "portfolio",
      "did you mean 'initial_cash'"]),
    (["--set", "portfolio.initial_cash=lots"],
     ["portfolio.initial_cash", "expected a number"]),
    (["--set", "strategies.0.type=sma_crosover"],
     ["strategies[0].type", "did you mean 'sma_crossover'"]),
    (["--set", "strategies.0.params.fast=50"],
     ["fast (50) must be less than slow (20)"]),
    (["--set", "execution.commission.type=percent"],
     ["execution.commission.type", "unknown commission 'percent'"]),
])
def test_bad_config_exits_2_with_one_paragraph(study_file: Path, tmp_path: Path, args: list[str],
                                               expected: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(study_file), *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_paragraph_error(err)
    for text in expected:
        assert text in err
    assert not list((tmp_path / "results").glob("*/manifest.json"))


def test_bad_key_in_the_file_names_the_file_and_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = synthetic_study(tmp_path / "results", bars=500)
    config["portfolio"]["sizing"] = {"type": "percent_equity", "prcent": 50}
    path = write_yaml(tmp_path / "typo.yaml", config)
    assert main(["run", str(path)]) == 2
    err = assert_one_paragraph_error(capsys.readouterr().err)
    assert "typo.yaml" in err
    assert "prcent" in err and "did you mean 'percent'" in err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["run", str(missing)]) == 2
    err = assert_one_paragraph_error(capsys.readouterr().err)
    assert str(missing) in err


def test_invalid_yaml_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ndata: {source: synthetic, symbols: [A\n")
    assert main(["run", str(path)]) == 2
    err = assert_one_paragraph_error(capsys.readouterr().err)
    assert "broken.yaml" in err


def test_a_window_that_does_not_fit_names_the_config_file_as_validate_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the windows are cut once the data is read, at run time, not at load time
    config = synthetic_study(tmp_path / "results", bars=300)
    config["sequence"] = {"type": "walk_forward", "train": 500, "test": 100}
    path = write_yaml(tmp_path / "windows.yaml", config)
    assert main(["run", str(path)]) == 2
    ran = assert_one_paragraph_error(capsys.readouterr().err)
    assert main(["validate", str(path)]) == 2
    validated = assert_one_paragraph_error(capsys.readouterr().err)
    expected = f"{path}: sequence: train=500 and test=100 do not fit even one walk-forward window"
    assert expected in ran and expected in validated
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


@pytest.mark.parametrize("case", ["missing_file", "bad_row"])
def test_bad_data_exits_2_naming_the_file(tmp_path: Path, case: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Bad data is bad input (cli docstring: status 2), even though the reader
    only finds it once the run has started."""
    rows = random_walk(200, seed=1)
    if case == "bad_row":
        rows[50][4] = "1O3.5"
        write_csv(tmp_path / "X.csv", rows)
    path = write_yaml(tmp_path / "study.yaml", csv_study(tmp_path, tmp_path / "results"))
    status = main(["run", str(path)])
    err = assert_one_paragraph_error(capsys.readouterr().err)
    assert str(tmp_path / "X.csv") in err
    if case == "bad_row":
        assert "row 51" in err and "1O3.5" in err
    assert status == 2, err


def test_failure_inside_a_run_exits_1_naming_the_strategy_key_and_bar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = synthetic_study(tmp_path / "results", bars=500,
                             strategies=[{"type": "tests.integration._support:Boom",
                                          "params": {"fail_at": 300}}])
    path = write_yaml(tmp_path / "boom.yaml", config)
    assert main(["run", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_paragraph_error(err)
    assert "boom at bar 300" in err
    # the strategy, its config key, its parameters, the bar and the user's file
    assert "strategy 'Boom(fail_at=300)' (strategies[0]" in err and "fail_at=300" in err
    assert "bar 300 (" in err and "_support.py:" in err and str(path) in err
    assert "container" not in err


@pytest.mark.parametrize("where", ["global", "subcommand"])
def test_debug_raises_instead(study_file: Path, where: str) -> None:
    args = ["run", str(study_file), "--set", "portfolio.initial_csh=5"]
    argv = ["--debug", *args] if where == "global" else [*args, "--debug"]
    with pytest.raises(ConfigError, match="initial_csh"):
        main(argv)


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: admf" in capsys.readouterr().out


# -- admf validate -----------------------------------------------------------


def test_validate_ok_runs_nothing(study_file: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(study_file)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{study_file}: ok"
    assert err == ""
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--set", "strategies.0.params.fsat=3"], "fsat"),
    (["--set", "strategies.0.params.fast=20"], "fast (20) must be less than slow (20)"),
    (["--set", "risk.stop_loss=-1"], "risk.stop_loss"),
    (["--set", "data.source=excel"], "data.source"),
])
def test_validate_failing(study_file: Path, args: list[str], expected: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(study_file), *args]) == 2
    out, err = capsys.readouterr()
    assert "ok" not in out
    assert_one_paragraph_error(err)
    assert expected in err


# -- Python entry points -----------------------------------------------------


@pytest.mark.asyncio
async def test_run_sync_refuses_inside_a_running_loop(tmp_path: Path) -> None:
    config = synthetic_study(tmp_path / "results", bars=500)
    with pytest.raises(AdmfError, match=r"await admf\.run"):
        admf.run_sync(config)
    assert not (tmp_path / "results").exists()


@pytest.mark.asyncio
async def test_await_run_works(tmp_path: Path) -> None:
    config = synthetic_study(tmp_path / "results", bars=2000)
    result = await admf.run(config)
    assert isinstance(result, admf.Result) and isinstance(result.raw, admf.StudyResult)
    assert result.bars == 2000
    assert len(result.trades["pnl"]) > 10
    assert (result.path / "manifest.json").is_file()
    # the same study through run_sync (in a worker thread: no loop there) agrees
    again = await asyncio.to_thread(admf.run_sync, config, write=False)
    assert trades_digest(again) == trades_digest(result)
    assert again.metrics.to_dict() == result.metrics.to_dict()


@pytest.mark.asyncio
async def test_await_run_reports_bad_input(tmp_path: Path) -> None:
    config = synthetic_study(tmp_path / "results", bars=500,
                             strategies=[{"type": "sma_crossover", "params": {"fast": 9, "slow": 3}}])
    with pytest.raises(ConfigError, match="must be less than slow"):
        await admf.run(config)


# -- a fresh process ---------------------------------------------------------


def test_demo_in_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "admf", "demo", "--dir", str(tmp_path / "out"),
                           "--bars", "5000"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert out.startswith("admf demo: 5,000 synthetic 1h bars, 5 portfolios")
    header = next(line for line in out.splitlines() if line.startswith("portfolio "))
    assert header.split() == ["portfolio", *TABLE_METRICS]
    for row in ("sma_crossover(fast=20,slow=100)", "sma_crossover(fast=50,slow=200)",
                "donchian_breakout(period=100,exit_period=50)"):
        table_row(out, row)
    assert "5,000 bars x 5 portfolios in" in out
    path = results_path(out)
    assert path.parent == tmp_path / "out"
    assert (path / "manifest.json").is_file()


def test_a_sweep_over_a_stop_prints_the_winning_stop(study_file: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(study_file), "--set", "sequence.type=parameter_sweep",
                 "--set", "risk.stop_loss=[0.002,0.05]"]) == 0
    out = capsys.readouterr().out
    path = results_path(out)
    best = json.loads((path / "main" / "summary.json").read_text())["best"]
    stop = best["settings"]["risk.stop_loss"]
    assert f"best settings: risk.stop_loss={stop}\n" in out
