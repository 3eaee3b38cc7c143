"""The CLI's results tables, checked against the files on disk.

Every expected value is read straight from the run directory with ``json``
and ``yaml`` (each run's ``metrics.json``, each phase's ``summary.json``,
``config.yaml``) and ranked here, not by admf: the end-of-run table of a
sweep, walk-forward, k-fold and Monte Carlo run, ``admf runs`` and
``admf compare``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from admf.cli import main

DATA = {"source": "synthetic", "symbols": ["A"], "bars": 3000, "seed": 3}
GRID = [{"type": "sma_crossover", "params": {"fast": [5, 10, 15, 20], "slow": [30, 40, 60]}}]


def _config(tmp: Path, name: str, sequence: dict[str, Any], strategies: Any = GRID) -> Path:
    data = {k: v for k, v in DATA.items() if k != "seed"}
    doc = {"name": name, "seed": DATA["seed"], "data": data, "strategies": strategies,
           "sequence": sequence, "executor": {"kind": "inline"},
           "results": {"dir": str(tmp / "results")}}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _only_run(tmp: Path, name: str) -> Path:
    found = sorted((tmp / "results").glob(f"{name}-*"))
    assert len(found) == 1, found
    return found[0]


def _metrics_on_disk(run_dir: Path, pattern: str = "*") -> dict[str, dict[str, Any]]:
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((run_dir / "main" / "runs").glob(f"{pattern}/metrics.json"))}


def _sharpe(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _table_rows(out: str, heading: str) -> list[list[str]]:
    """The rows under the dashes of the table after ``heading``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def test_a_sweep_ends_with_its_top_points_by_the_objective(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "sweep", {"type": "parameter_sweep", "objective": "total_return"})
    code, out, _ = _run(capsys, "run", str(config), "--top", "5")
    assert code == 0
    on_disk = _metrics_on_disk(_only_run(tmp_path, "sweep"))
    assert len(on_disk) == 12
    ranked = sorted(on_disk.values(), key=lambda d: -d["metrics"]["total_return"])[:5]
    assert "top 5 of 12 points by total_return:" in out
    rows = _table_rows(out, "rank")
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r[1] for r in rows] == [d["portfolio"] for d in ranked]
    # the objective is the first metric column
    assert [r[2] for r in rows] == [f"{d['metrics']['total_return'] * 100:.2f}%" for d in ranked]


def test_a_minimised_objective_ranks_the_smallest_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "dd", {"type": "parameter_sweep", "objective": "max_drawdown"})
    code, out, _ = _run(capsys, "run", str(config), "--top", "3")
    assert code == 0
    on_disk = _metrics_on_disk(_only_run(tmp_path, "dd"))
    ranked = sorted(on_disk.values(), key=lambda d: d["metrics"]["max_drawdown"])[:3]
    assert [r[1] for r in _table_rows(out, "rank")] == [d["portfolio"] for d in ranked]


@pytest.mark.parametrize("kind, sequence, heading, count", [
    ("walk_forward", {"type": "walk_forward", "train": 1000, "test": 500}, "window", 4),
    ("k_fold", {"type": "k_fold", "folds": 3}, "fold", 3),
])
def test_a_windowed_run_ends_with_one_row_per_window(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, sequence: dict[str, Any],
        heading: str, count: int) -> None:
    code, out, _ = _run(capsys, "run", str(_config(tmp_path, kind, sequence)))
    assert code == 0
    tests = _metrics_on_disk(_only_run(tmp_path, kind), "w*-test-*")
    assert len(tests) == count
    rows = _table_rows(out, heading)
    assert [r[0] for r in rows] == [str(i) for i in range(count)]
    for row, doc in zip(rows, tests.values()):
        params = ",".join(f"{k}={v}" for k, v in doc["params"].items())
        # window, test start, test end, params, train sharpe, test sharpe, ...
        assert row[3] == params
        assert row[5] == _sharpe(doc["metrics"]["sharpe_ratio"])
        assert row[6] == f"{doc['metrics']['total_return'] * 100:.2f}%"


def test_a_monte_carlo_ends_with_each_metrics_distribution(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = [{"type": "sma_crossover", "params": {"fast": 10, "slow": 40}}]
    config = _config(tmp_path, "mc", {"type": "monte_carlo", "runs": 20,
                                      "method": "parameter_noise", "noise": 0.2}, one)
    code, out, _ = _run(capsys, "run", str(config))
    assert code == 0
    draws = _metrics_on_disk(_only_run(tmp_path, "mc"))
    assert len(draws) == 20
    sharpes = np.array([d["metrics"]["sharpe_ratio"] for d in draws.values()])
    assert "distribution over 20 draws:" in out
    row = next(r for r in _table_rows(out, "distribution") if r[0] == "sharpe_ratio")
    mean, p5, p25, p50, p75, p95 = (float(v) for v in row[1:])
    assert mean == pytest.approx(sharpes.mean(), abs=5e-4)
    for shown, q in zip((p5, p25, p50, p75, p95), (5, 25, 50, 75, 95)):
        assert shown == pytest.approx(np.percentile(sharpes, q), abs=5e-4)


def _three_runs(tmp: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    made = {}
    for name, sequence in (("sp", {"type": "single_pass"}),
                           ("sweep", {"type": "parameter_sweep"}),
                           ("wf", {"type": "walk_forward", "train": 1000, "test": 500})):
        assert _run(capsys, "run", str(_config(tmp, name, sequence)))[0] == 0
        made[name] = _only_run(tmp, name)
    return made


def test_runs_lists_each_run_with_its_kind_and_objective_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = _three_runs(tmp_path, capsys)
    code, out, _ = _run(capsys, "runs", str(tmp_path / "results"))
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(lines) == {p.name for p in made.values()}
    for name, path in made.items():
        config = yaml.safe_load((path / "config.yaml").read_text())
        row = lines[path.name]
        assert row[1] == config["name"] == name
        assert row[4] == config["sequence"]["type"]
        assert row[5] == "complete" and row[6] == "sharpe_ratio"
        if name == "wf":  # out of sample: the phase summary's metrics
            value = json.loads((path / "main" / "summary.json").read_text())["metrics"]["sharpe_ratio"]
        else:  # the best point, ranked here
            value = max(d["metrics"]["sharpe_ratio"] for d in _metrics_on_disk(path).values())
        assert row[7] == _sharpe(value)


def test_runs_marks_an_unfinished_run_and_refuses_a_missing_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = _three_runs(tmp_path, capsys)
    (made["sweep"] / "manifest.json").unlink()  # as if it were interrupted
    out = _run(capsys, "runs", str(tmp_path / "results"))[1]
    assert next(line for line in out.splitlines() if line.startswith(made["sweep"].name)
                ).split()[5] == "unfinished"
    code, _, err = _run(capsys, "runs", str(tmp_path / "nowhere"))
    assert code == 2 and "nowhere" in err and "Traceback" not in err


def test_compare_shows_the_metrics_files_side_by_side(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = _three_runs(tmp_path, capsys)
    results = tmp_path / "results"
    # a path, a run id under --dir, and a study name (its latest run)
    code, out, _ = _run(capsys, "compare", str(made["sp"]), made["sweep"].name, "wf",
                        "--dir", str(results))
    assert code == 0
    header, *rows = [line for i, line in enumerate(out.splitlines()) if i != 1]
    assert header.split() == [made["sp"].name, made["sweep"].name, made["wf"].name]
    table = {r.split()[0]: r.split()[1:] for r in rows}
    sp = max(_metrics_on_disk(made["sp"]).values(), key=lambda d: d["metrics"]["sharpe_ratio"])
    sweep = max(_metrics_on_disk(made["sweep"]).values(), key=lambda d: d["metrics"]["sharpe_ratio"])
    wf = json.loads((made["wf"] / "main" / "summary.json").read_text())["metrics"]
    expected = [sp["metrics"], sweep["metrics"], wf]
    assert table["kind"] == ["single_pass", "parameter_sweep", "walk_forward"]
    assert table["sharpe_ratio"] == [_sharpe(m["sharpe_ratio"]) for m in expected]
    assert table["total_return"] == [f"{m['total_return'] * 100:.2f}%" for m in expected]
    assert table["trade_count"] == [f"{m['trade_count']:,}" for m in expected]
    assert table["final_equity"] == [f"{m['final_equity']:,.2f}" for m in expected]


def test_compare_names_a_run_it_cannot_find(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "compare", "nope", "other", "--dir", str(tmp_path))
    assert code == 2 and "'nope'" in err and "Traceback" not in err


def test_help_documents_the_exit_codes_and_the_new_commands(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in ("0    success", "1    the run failed", "2    bad input", "130  interrupted"):
        assert line in out
    assert "runs" in out and "compare" in out
