"""Workflow ``outputs:`` written to files and ``inputs:`` read from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import admf
from admf.errors import ConfigError


def _defaults(tmp_path: Path) -> dict[str, Any]:
    return {"seed": 3, "data": {"source": "synthetic", "symbols": ["AAA"], "bars": 2500},
            "executor": {"kind": "inline"},
            "results": {"dir": str(tmp_path / "results"), "storage": "memory"}}


def first(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "first", "defaults": _defaults(tmp_path),
        "phases": [
            {"name": "explore",
             "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10, 15], "slow": 40}}],
             "outputs": {"best": {"value": "{explore.best}", "file": "best.json"},
                         "table": {"value": "{explore.table}", "file": "table.parquet"},
                         "sharpe": {"value": "{explore.metrics.sharpe_ratio}"}}},
            {"name": "confirm", "depends_on": ["explore"], "seed": 4,
             "strategies": "{explore.best}"},
        ],
        "outputs": {"chosen": {"value": "{confirm.best}", "file": "chosen.json"},
                    "score": {"value": "{confirm.metrics.total_return}", "file": "score.json"}},
        **extra}


def test_outputs_are_written_and_listed_in_the_manifest(tmp_path: Path) -> None:
    result = admf.run_sync(first(tmp_path))
    root = Path(result.path)
    explore = result.phase("explore")
    # the winner by the default objective, from the explore phase's own table
    rows = explore.runs.to_arrow().to_pylist()
    winner = max(rows, key=lambda r: r["sharpe_ratio"])
    best = json.loads((root / "explore" / "outputs" / "best.json").read_text())
    assert best == {"type": "sma_crossover", "direction": "long_only",
                    "params": {"fast": winner["fast"], "slow": 40}}
    table = pq.read_table(root / "explore" / "outputs" / "table.parquet").to_pylist()
    assert sorted(r["fast"] for r in table) == [5, 10, 15]
    assert {r["fast"]: r["sharpe_ratio"] for r in table} == \
        {r["fast"]: r["sharpe_ratio"] for r in rows}
    assert result.phases["explore"].published["sharpe"] == winner["sharpe_ratio"]
    assert json.loads((root / "outputs" / "chosen.json").read_text()) == best
    confirm = result.phase("confirm").metrics.total_return
    assert json.loads((root / "outputs" / "score.json").read_text()) == confirm
    assert result.outputs == {"chosen": best, "score": confirm}
    manifest = json.loads((root / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    assert {"explore/outputs/best.json", "explore/outputs/table.parquet",
            "outputs/chosen.json", "outputs/score.json"} <= listed


def test_inputs_carry_one_workflows_outputs_into_another(tmp_path: Path) -> None:
    made = admf.run_sync(first(tmp_path))
    root = Path(made.path)
    again = {
        "name": "again", "defaults": _defaults(tmp_path),
        "inputs": {"prior": str(root / "outputs" / "chosen.json"),
                   "grid": str(root / "explore" / "outputs" / "table.parquet")},
        "phases": [{"name": "check", "strategies": "{prior}",
                    "outputs": {"fast": {"value": "{prior.params.fast}"}}}],
        "outputs": {"rows": {"value": "{grid}", "file": "rows.parquet"}},
    }
    result = admf.run_sync(again)
    chosen = made.outputs["chosen"]
    point = next(iter(result.phase("check").raw.points.values()))
    assert (point.type, point.params) == (chosen["type"], chosen["params"])
    assert result.phases["check"].published == {"fast": chosen["params"]["fast"]}
    copied = pq.read_table(Path(result.path) / "outputs" / "rows.parquet").to_pylist()
    assert copied == pq.read_table(root / "explore" / "outputs" / "table.parquet").to_pylist()


def test_an_output_naming_a_skipped_phase_is_null(tmp_path: Path) -> None:
    flow = first(tmp_path)
    flow["phases"][1]["when"] = "explore.metrics.sharpe_ratio > 1e9"
    result = admf.run_sync(flow)
    assert result.phases["confirm"].status == "skipped"
    assert result.outputs == {"chosen": None, "score": None}
    root = Path(result.path)
    assert not (root / "outputs" / "chosen.json").exists()
    summary = json.loads((root / "summary.json").read_text())
    assert summary["outputs"] == {"chosen": "confirm did not run", "score": "confirm did not run"}


def test_in_memory_workflows_publish_values_without_files(tmp_path: Path) -> None:
    result = admf.run_sync(first(tmp_path), write=False)
    assert result.outputs["chosen"]["type"] == "sma_crossover"
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f["outputs"]["chosen"].update(value="{confrim.best}"),
     r"outputs.chosen.value: the output refers to unknown phase or input 'confrim'; "
     r"did you mean 'confirm'"),
    (lambda f: f["outputs"]["chosen"].update(value="{confirm.bset}"),
     r"outputs.chosen.value: 'confirm.bset': confirm has no key 'bset'"),
    (lambda f: f["outputs"]["chosen"].update(value="{confirm.metrics.sharp_ratio}"),
     r"confirm.metrics has no metric 'sharp_ratio'; did you mean 'sharpe_ratio'"),
    (lambda f: f["outputs"]["chosen"].update(file="../escape.json"),
     r"outputs.chosen.file: expected a relative file name inside the outputs folder"),
    (lambda f: f["outputs"]["chosen"].update(file="chosen.csv"),
     r"outputs.chosen.file: expected a .json or .parquet file"),
    (lambda f: f["outputs"]["chosen"].update(value="best"),
     r"outputs.chosen.value: expected a template naming a phase or an input"),
    (lambda f: f["outputs"]["score"].update(file="score.parquet"),
     r"outputs.score.value: score.parquet: a .parquet output holds a table"),
    (lambda f: f["phases"][0]["outputs"].update(later={"value": "{confirm.best}"}),
     r"phases\[0\].outputs.later.value: the output refers to phase 'confirm', which does not "
     r"surely run before 'explore'"),
    (lambda f: f.update(inputs={"prior": "missing/best.json"}),
     r"inputs.prior: missing/best.json: file not found"),
    (lambda f: f.update(inputs={"explore": "x.json"}),
     r"inputs.explore: 'explore' is already the name of a phase"),
    (lambda f: f.update(inputs={"prior": "x.csv"}), r"inputs.prior: expected a .json, .yaml"),
])
def test_bad_outputs_and_inputs_are_refused_before_anything_runs(
        tmp_path: Path, change: Any, message: str) -> None:
    flow = first(tmp_path)
    change(flow)
    with pytest.raises(ConfigError, match=message):
        admf.run_sync(flow)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_a_malformed_input_file_names_the_input_and_file(tmp_path: Path) -> None:
    bad = tmp_path / "best.json"
    bad.write_text("{not json")
    flow = first(tmp_path, inputs={"prior": str(bad)})
    with pytest.raises(ConfigError, match=r"inputs.prior: .*best.json: not valid JSON"):
        admf.run_sync(flow)
