"""One writer per run directory (issue 15, deliverable 4): while a run or a
resume writes a run directory it holds an OS-level lock on it; a second
writer (a second ``--resume``, or a resume of a run still going) is refused
with exit 2 and a message naming the holder (pid, host, start time), touches
nothing, and the manifest written in the end vouches for every file with a
hash that matches."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import admf
from admf.errors import LockedError, StrategyError
from admf.research.config import load_config
from admf.research.results._lock import LOCK_NAME, RunLock
from admf.research.results.runs import start_store
from admf.research.results.store import ResultStore
from tests.reliability._support import cli

ROOT = Path(__file__).resolve().parents[2]


def sweep(tmp_path: Path, points: int = 4, delay: float = 0.0) -> dict[str, Any]:
    return {
        "name": "locked", "seed": 1,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 120,
                 "start": "2020-01-01"},
        "strategies": [{"type": "tests.integration.recording:Slow",
                        "params": {"k": list(range(points)), "delay": delay}}],
        "sequence": {"type": "parameter_sweep"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"},
    }


def interrupted(tmp_path: Path, **kw: Any) -> tuple[Path, Path]:
    """A finished sweep made to look killed part-way: no manifest, half its
    runs unfinished, a half-written file left. (config path, run dir)"""
    config = sweep(tmp_path, **kw)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = Path(admf.run_sync(path).path)
    (run_dir / "manifest.json").unlink()
    for name in ("summary.json", "aggregate.json"):
        (run_dir / "main" / name).unlink()
    runs = sorted((run_dir / "main" / "runs").iterdir())
    for run in runs[len(runs) // 2:]:
        (run / "metrics.json").unlink()
    (run_dir / "main" / "summary.json.tmp").write_text('{"half": ')
    return path, run_dir


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes()
            for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


def check_manifest(run_dir: Path) -> dict[str, Any]:
    """Every file is listed with its true size and sha256, and nothing else is there."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert on_disk == set(listed) | {"manifest.json"}, on_disk ^ set(listed)
    bad = [rel for rel, entry in listed.items()
           if hashlib.sha256((run_dir / rel).read_bytes()).hexdigest() != entry["sha256"]
           or (run_dir / rel).stat().st_size != entry["size"]]
    assert not bad, f"{len(bad)} of {len(listed)} hashes do not match: {bad[:5]}"
    return manifest


def admf_process(*argv: str | Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "admf.cli", *map(str, argv), "--no-progress"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_a_resume_while_another_resume_holds_the_directory_is_refused(tmp_path: Path) -> None:
    path, run_dir = interrupted(tmp_path)
    holder = ResultStore.open_existing(run_dir.parent, run_dir.name)  # a resume under way
    before = snapshot(run_dir)
    try:
        second = admf_process("run", path, "--resume", run_dir, cwd=tmp_path)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        assert "Traceback" not in err
        assert "being written by another process" in err
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in err, err
        assert "started 20" in err  # its start time, ISO 8601
        assert snapshot(run_dir) == before  # the refused writer touched nothing
        assert not (run_dir / "manifest.json").exists()
    finally:
        holder.release()
    assert not (run_dir / LOCK_NAME).exists()
    admf.run_sync(path, resume=run_dir)
    check_manifest(run_dir)


def test_a_resume_of_a_run_still_going_is_refused(tmp_path: Path) -> None:
    config = load_config(sweep(tmp_path))
    running = start_store(config)  # what `admf run` holds from its first file to its manifest
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep(tmp_path)))
    try:
        status, err = cli("run", path, "--resume", running.path)
        assert status == 2
        assert "being written by another process" in err and f"pid {os.getpid()}" in err
    finally:
        running.release()


def test_two_resumes_at_once_one_finishes_the_other_is_refused(tmp_path: Path) -> None:
    # 16 points of 120 bars at 1.5 ms a bar, half of them left to do: about 1.5 s of work
    path, run_dir = interrupted(tmp_path, points=16, delay=0.0015)
    first = admf_process("run", path, "--resume", run_dir, cwd=tmp_path)
    second = admf_process("run", path, "--resume", run_dir, cwd=tmp_path)
    outcomes = {}
    for proc in (first, second):
        _, err = proc.communicate(timeout=120)
        outcomes[proc.pid] = (proc.returncode, err)
    statuses = sorted(status for status, _ in outcomes.values())
    assert statuses == [0, 2], outcomes
    (winner,) = [pid for pid, (status, _) in outcomes.items() if status == 0]
    (loser_err,) = [err for status, err in outcomes.values() if status == 2]
    assert "Traceback" not in loser_err
    assert f"being written by another process (pid {winner} on host" in loser_err, loser_err
    check_manifest(run_dir)
    assert not (run_dir / LOCK_NAME).exists()


def test_a_second_store_in_the_same_process_is_refused_until_released(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    store.write_config("a: 1\n")
    with pytest.raises(LockedError, match=r"\(this process\)"):
        ResultStore.open_existing(tmp_path, "r")
    store.release()
    with pytest.raises(Exception, match="no longer holds"):
        store.write_config("a: 2\n")  # a released store writes nothing more
    again = ResultStore.open_existing(tmp_path, "r", fsync=False)
    again.finish({})
    assert not (tmp_path / "r" / LOCK_NAME).exists()
    assert "config.yaml" in {f["path"] for f in check_manifest(tmp_path / "r")["files"]}


def test_a_stale_lock_file_of_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    path, run_dir = interrupted(tmp_path)
    (run_dir / LOCK_NAME).write_text('{"pid": 999999, "host": "gone"}')  # no one holds it
    admf.run_sync(path, resume=run_dir)
    check_manifest(run_dir)


def test_a_run_that_fails_in_process_gives_its_lock_back(tmp_path: Path) -> None:
    config = sweep(tmp_path)
    config["strategies"] = [{"type": "tests.integration._support:Boom"}]
    config["sequence"] = {"type": "single_pass"}
    with pytest.raises(StrategyError):
        admf.run_sync(config)
    (run_dir,) = (tmp_path / "results").iterdir()
    assert not (run_dir / LOCK_NAME).exists()
    RunLock.acquire(run_dir).release()  # free at once, not at garbage collection


def test_the_lock_holder_record_names_pid_host_and_start(tmp_path: Path) -> None:
    lock = RunLock.acquire(tmp_path)
    try:
        record = json.loads((tmp_path / LOCK_NAME).read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        started = time.mktime(time.strptime(record["started"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert abs(started - time.mktime(time.gmtime())) < 60
    finally:
        lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
