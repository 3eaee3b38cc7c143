"""A sweep killed part-way keeps the work it finished (issue 13, "resume
finely"): the grid is dispatched in small pieces, each saved as it
completes, so a SIGKILL at about 30 % of the run keeps about 30 % of the
runs, and ``--resume`` finishes the rest with the same results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

import admf

POINTS = 16


def config(tmp_path: Path) -> dict:
    return {
        "name": "killed", "seed": 1,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 150,
                 "start": "2020-01-01"},
        "strategies": [{"type": "tests.integration.recording:Slow",
                        "params": {"k": list(range(POINTS)), "delay": 0.0015}}],
        "sequence": {"type": "parameter_sweep"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }


def start(path: Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-m", "admf.cli", "run", str(path), "--no-progress"],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(pattern: str, root: Path, timeout: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(root.glob(pattern)) if root.exists() else []
        if found:
            return found[0]
        time.sleep(0.005)
    raise AssertionError(f"{pattern} did not appear under {root}")


def finished(run_dir: Path) -> int:
    return len(list(run_dir.glob("main/runs/*/metrics.json")))


def test_a_sigkill_at_30_percent_keeps_about_30_percent(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path)))
    results = tmp_path / "results"

    # a full run, to measure how long its runs take (from config.yaml to the manifest)
    full = start(path, tmp_path)
    first = wait_for("*/config.yaml", results).parent
    t0 = time.monotonic()
    wait_for("manifest.json", first, timeout=120)
    work = time.monotonic() - t0
    assert full.wait(60) == 0
    table = json.loads((first / "main" / "summary.json").read_text())["table"]

    # the same run, killed at 30 % of that time
    killed = start(path, tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dirs = [d for d in results.iterdir() if d != first and (d / "config.yaml").exists()]
        if dirs:
            break
        time.sleep(0.005)
    (second,) = dirs
    time.sleep(0.3 * work)
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    kept = finished(second)
    assert not (second / "manifest.json").exists()
    # about 30 %: the pieces finished by then (here one point each), give or take
    # the piece in flight and the machine's load
    print(f"killed at 30 % of {work:.2f} s: kept {kept} of {POINTS} runs")
    assert 0.1 * POINTS <= kept <= 0.5 * POINTS, (kept, work)

    resumed = admf.run_sync(second / "config.yaml", resume=second)
    assert (second / "manifest.json").is_file() and finished(second) == POINTS
    assert json.loads((second / "main" / "summary.json").read_text())["table"] == table
    assert resumed.table == table
