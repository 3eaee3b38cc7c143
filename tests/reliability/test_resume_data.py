"""``--resume`` checks the data (issue 15, deliverable 5): the interrupted
run recorded every input file's sha256 in ``inputs.json`` before it ran; a
resume over data that changed since is refused with exit 2, naming the file
(or the ``data=`` frame) and touching nothing, instead of mixing runs on the
old data with runs on the new one under a manifest that records the new
digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import admf
from admf.errors import DataError
from admf.research.config import load_config
from admf.research.results.inputs import INPUTS, check_still_same, record_inputs
from tests._walks import walk_arrays
from tests.integration._support import random_walk, write_csv
from tests.reliability._support import cli


def csv_sweep(tmp_path: Path, symbols: tuple[str, ...] = ("X",)) -> Path:
    for i, symbol in enumerate(symbols):
        if not (tmp_path / f"{symbol}.csv").exists():
            write_csv(tmp_path / f"{symbol}.csv", random_walk(300, seed=3 + i))
    config = {
        "name": "edited", "seed": 1,
        "data": {"source": "csv", "path": str(tmp_path / "{symbol}.csv"),
                 "symbols": list(symbols), "timeframe": "1m"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5, 8], "slow": 20}}],
        "sequence": {"type": "parameter_sweep"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def interrupt(run_dir: Path) -> None:
    (run_dir / "manifest.json").unlink()
    for name in ("summary.json", "aggregate.json"):
        (run_dir / "main" / name).unlink(missing_ok=True)
    last = sorted((run_dir / "main" / "runs").iterdir())[-1]
    (last / "metrics.json").unlink()


def edit(csv: Path, row: int = 150) -> None:
    """Raise one bar's prices by 1 %: a real edit of the data, still valid."""
    lines = csv.read_text().splitlines()
    cells = lines[row].split(",")
    cells[1:5] = [repr(float(v) * 1.01) for v in cells[1:5]]
    lines[row] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")


def files(run_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes()
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


def test_a_resume_after_the_csv_was_edited_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = csv_sweep(tmp_path)
    run_dir = Path(admf.run_sync(path).path)
    digest = json.loads((run_dir / "manifest.json").read_text())["data_digest"]
    interrupt(run_dir)
    original = (tmp_path / "X.csv").read_bytes()
    edit(tmp_path / "X.csv")
    before = files(run_dir)

    status, err = cli("run", path, "--resume", run_dir)

    assert status == 2, err
    assert f"{tmp_path / 'X.csv'} (symbol X) changed since the interrupted run" in err, err
    assert "Traceback" not in err
    assert files(run_dir) == before  # nothing mixed in, nothing discarded
    assert not (run_dir / "manifest.json").exists()

    (tmp_path / "X.csv").write_bytes(original)  # the data it ran on: now it resumes
    status, err = cli("run", path, "--resume", run_dir)
    assert status == 0, err
    assert json.loads((run_dir / "manifest.json").read_text())["data_digest"] == digest


def test_the_changed_file_of_several_symbols_is_the_one_named(tmp_path: Path) -> None:
    path = csv_sweep(tmp_path, symbols=("X", "Y"))
    run_dir = Path(admf.run_sync(path).path)
    interrupt(run_dir)
    edit(tmp_path / "Y.csv", row=10)
    with pytest.raises(DataError) as info:
        admf.run_sync(path, resume=run_dir)
    message = str(info.value)
    assert f"{tmp_path / 'Y.csv'} (symbol Y)" in message and "X.csv" not in message


def test_a_resume_of_unchanged_data_gives_the_uninterrupted_files(tmp_path: Path) -> None:
    path = csv_sweep(tmp_path)
    run_dir = Path(admf.run_sync(path).path)
    whole = files(run_dir)
    interrupt(run_dir)
    admf.run_sync(path, resume=run_dir)
    again = files(run_dir)
    assert set(again) == set(whole)
    # every file but the timings is byte-identical (inputs.json included)
    same = {k for k in whole if whole[k] == again[k]}
    assert set(whole) - same <= {"manifest.json", "main/summary.json"}, set(whole) - same


def frames(n: int = 400, bump: float = 1.0) -> dict[str, Any]:
    open_, high, low, close, volume = walk_arrays(n, 5)
    ts = np.datetime64("2024-01-02T00:00", "ns") + np.arange(n) * np.timedelta64(60, "s")
    close = close.copy()
    close[n // 2] = min(high[n // 2], close[n // 2] * bump)
    return {"X": {"timestamp": ts, "open": open_, "high": high, "low": low, "close": close,
                  "volume": volume}}


def memory_sweep(tmp_path: Path) -> dict[str, Any]:
    return {"name": "frames", "seed": 1, "data": {"symbols": ["X"], "timeframe": "1m"},
            "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5, 8], "slow": 20}}],
            "sequence": {"type": "parameter_sweep"}, "executor": {"kind": "inline"},
            "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"}}


def test_in_memory_frames_resume_when_equal_and_are_refused_when_changed(tmp_path: Path) -> None:
    config = memory_sweep(tmp_path)
    first = admf.run_sync(config, data=frames())
    run_dir = Path(first.path)
    table = first.runs.to_arrow()
    interrupt(run_dir)

    with pytest.raises(DataError, match=r"data\['X'\] \(the frame given as data=\) changed"):
        admf.run_sync(config, data=frames(bump=0.995), resume=run_dir)
    assert not (run_dir / "manifest.json").exists()

    resumed = admf.run_sync(config, data=frames(), resume=run_dir)  # the same bars: it resumes
    assert resumed.path == run_dir and (run_dir / "manifest.json").is_file()
    assert resumed.runs.to_arrow().equals(table)  # the same results as uninterrupted


def test_a_run_directory_without_an_input_record_is_not_resumed_blindly(tmp_path: Path) -> None:
    path = csv_sweep(tmp_path)
    run_dir = Path(admf.run_sync(path).path)
    interrupt(run_dir)
    (run_dir / INPUTS).unlink()  # as an older admf left it
    status, err = cli("run", path, "--resume", run_dir)
    assert status == 2 and f"{run_dir} has no {INPUTS}" in err, err


def test_data_changed_while_a_run_read_it_is_caught_before_the_manifest(tmp_path: Path) -> None:
    path = csv_sweep(tmp_path)
    config = load_config(path)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / INPUTS).write_text(json.dumps(record_inputs(config)))
    digest = check_still_same(tmp_path / "r")
    assert digest == record_inputs(config)["data_digest"]
    csv = tmp_path / "X.csv"
    csv.touch()  # touched, same bytes: re-hashed, still the same
    assert check_still_same(tmp_path / "r") == digest
    edit(csv)
    with pytest.raises(DataError, match=r"X.csv \(symbol X\) changed while the run read it"):
        check_still_same(tmp_path / "r")


def test_the_recorded_digest_is_the_manifest_digest(tmp_path: Path) -> None:
    from admf.research.results.runs import data_digest

    path = csv_sweep(tmp_path, symbols=("X", "Y"))
    config = load_config(path)
    assert record_inputs(config)["data_digest"] == data_digest(config)
    assert [f["symbol"] for f in record_inputs(config)["files"]] == ["X", "Y"]
