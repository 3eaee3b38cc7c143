"""The results store: layout, write-then-rename, manifest last, resume."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from admf.errors import AdmfError, ConfigError, DataError
from admf.research.results import store as results
from admf.research.results.store import (
    ResultStore,
    is_complete,
    load_run,
    make_run_id,
    read_json,
    read_table,
)

SCHEMA = pa.schema([("timestamp", pa.int64()), ("equity", pa.float64())])


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _curve(start: int, n: int) -> dict[str, np.ndarray]:
    ts = np.arange(start, start + n, dtype=np.int64)
    return {"timestamp": ts, "equity": 100.0 + np.sin(ts.astype(np.float64))}


def _complete_run(phase: results.PhaseStore, key: str) -> None:
    run = phase.run(key)
    run.write_table("trades", {"pnl": np.array([1.0, -2.0])})
    run.write_table("equity", _curve(0, 10))
    run.write_table("signals", {"timestamp": np.array([3], dtype=np.int64), "value": np.array([1])})
    run.write_metrics({"sharpe": 1.25, "trades": 2})


def test_layout_matches_config_md(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "demo-20240101-000000-abcdef12", fsync=False)
    store.write_config("name: demo\n")
    phase = store.phase("optimize")
    _complete_run(phase, "fast=10,slow=30")
    phase.write_summary({"best": "fast=10,slow=30"})
    phase.write_aggregate({"runs": 1})
    (phase.trace_dir() / "events.jsonl").write_text("{}\n")
    store.finish({"workflow": "demo"})

    assert _files(store.path) == {
        "manifest.json",
        "config.yaml",
        "optimize/summary.json",
        "optimize/aggregate.json",
        "optimize/runs/fast=10,slow=30/metrics.json",
        "optimize/runs/fast=10,slow=30/trades.parquet",
        "optimize/runs/fast=10,slow=30/equity.parquet",
        "optimize/runs/fast=10,slow=30/signals.parquet",
        "optimize/trace/events.jsonl",
    }
    assert store.path == tmp_path / "demo-20240101-000000-abcdef12"
    assert is_complete(store.path)


def test_manifest_is_renamed_last_and_metrics_last_in_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[str] = []
    real_replace = os.replace

    def recording_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        renamed.append(Path(dst).relative_to(tmp_path / "r").as_posix())
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    store = ResultStore(tmp_path, "r")
    store.write_config("a: 1\n")
    phase = store.phase("backtest")
    _complete_run(phase, "only")
    phase.write_summary({})
    store.finish({})

    assert renamed[-1] == "manifest.json"
    run_files = [name for name in renamed if name.startswith("backtest/runs/only/")]
    assert run_files[-1] == "backtest/runs/only/metrics.json"
    assert len(renamed) == len(_files(store.path))  # every file went through a rename


def test_manifest_hashes_match_files(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    store.write_config("x: 1\n")
    phase = store.phase("p")
    for key in ("a", "b"):
        _complete_run(phase, key)
    manifest = store.finish({"seed": 7})

    on_disk = read_json(store.path / "manifest.json")
    assert on_disk == manifest
    assert on_disk["complete"] is True
    assert on_disk["seed"] == 7
    assert on_disk["run_id"] == "r"
    listed = {f["path"] for f in on_disk["files"]}
    assert listed == _files(store.path) - {"manifest.json"}
    for entry in on_disk["files"]:
        data = (store.path / entry["path"]).read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_writes_after_finish_raise(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    phase = store.phase("p")
    run = phase.run("k")
    store.finish({})
    with pytest.raises(AdmfError, match="finished"):
        store.write_config("")
    with pytest.raises(AdmfError, match="finished"):
        phase.write_summary({})
    with pytest.raises(AdmfError, match="finished"):
        run.write_table("t", {"x": np.zeros(1)})
    with pytest.raises(AdmfError, match="finished"):
        store.finish({})


def test_finish_refuses_open_table_writer(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    writer = store.phase("p").run("k").table_writer("equity", SCHEMA)
    with pytest.raises(AdmfError, match="equity.parquet"):
        store.finish({})
    assert not (store.path / "manifest.json").exists()
    writer.close()
    store.finish({})


def test_unclosed_writer_leaves_only_tmp_and_reopen_cleans_it(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    phase = store.phase("p")
    _complete_run(phase, "done")
    writer = phase.run("crashed").table_writer("equity", SCHEMA, row_group_size=4)
    for i in range(5):
        writer.write(_curve(10 * i, 10))

    crashed = phase.path / "runs" / "crashed"
    assert _files(crashed) == {"equity.parquet.tmp"}

    store.release()  # a crashed writer's lock goes with its process
    reopened = ResultStore.open_existing(tmp_path, "r", fsync=False)
    assert not list(reopened.path.rglob("*.tmp"))
    assert not crashed.exists()  # an unfinished run is redone from scratch
    assert reopened.phase("p").completed_runs() == {"done"}


def test_exception_while_writing_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path, "r")
    run = store.phase("p").run("k")

    with pytest.raises(RuntimeError, match="boom"):
        with run.table_writer("equity", SCHEMA) as writer:
            writer.write(_curve(0, 10))
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        run.write_json("bad", {"x": object()})

    def failing_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        run.write_table("trades", {"pnl": np.ones(3)})
    with pytest.raises(OSError, match="disk full"):
        run.write_metrics({"sharpe": 1.0})

    assert _files(run.path) == set()
    assert not run.is_complete()


def test_bad_chunk_is_a_data_error_naming_the_file(tmp_path: Path) -> None:
    run = ResultStore(tmp_path, "r", fsync=False).phase("p").run("k")
    with run.table_writer("equity", SCHEMA) as writer:
        with pytest.raises(DataError, match="equity.parquet"):
            writer.write({"timestamp": np.arange(3)})  # no equity column
        writer.write(_curve(0, 3))
    assert read_table(run.path / "equity.parquet").num_rows == 3


def test_json_maps_nan_and_inf_to_null_and_numpy_to_plain(tmp_path: Path) -> None:
    run = ResultStore(tmp_path, "r", fsync=False).phase("p").run("k")
    run.write_metrics(
        {
            "sharpe": float("nan"),
            "max": np.float64(np.inf),
            "min": -np.inf,
            "count": np.int64(3),
            "ok": np.bool_(True),
            "curve": np.array([1.0, np.nan, 2.5]),
            "when": np.datetime64("2024-01-02T03:04:05", "s"),
        }
    )
    text = (run.path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert text.index('"count"') < text.index('"curve"') < text.index('"max"')  # sorted keys
    assert "\n  " in text  # indented for humans
    assert msgspec.json.decode(text) == {
        "sharpe": None,
        "max": None,
        "min": None,
        "count": 3,
        "ok": True,
        "curve": [1.0, None, 2.5],
        "when": "2024-01-02T03:04:05",
    }


def test_streaming_100_chunks_equals_one_write(tmp_path: Path) -> None:
    run = ResultStore(tmp_path, "r", fsync=False).phase("p").run("k")
    chunks = [_curve(7 * i, 7) for i in range(100)]
    whole = {name: np.concatenate([c[name] for c in chunks]) for name in SCHEMA.names}

    run.write_table("once", pa.table(whole, schema=SCHEMA))
    with run.table_writer("streamed", SCHEMA, row_group_size=64) as writer:
        for i, chunk in enumerate(chunks):
            writer.write(chunk if i % 2 else pa.table(chunk, schema=SCHEMA))
        assert not (run.path / "streamed.parquet").exists()  # only the .tmp until close

    once = read_table(run.path / "once.parquet")
    streamed = read_table(run.path / "streamed.parquet")
    assert streamed.equals(once)
    assert streamed.num_rows == writer.rows == 700
    assert pq.ParquetFile(run.path / "streamed.parquet").num_row_groups == 11  # buffered: 700 / 64


def test_writer_without_chunks_writes_an_empty_table_with_its_schema(tmp_path: Path) -> None:
    run = ResultStore(tmp_path, "r", fsync=False).phase("p").run("k")
    with run.table_writer("signals", SCHEMA):
        pass
    table = read_table(run.path / "signals.parquet")
    assert table.num_rows == 0 and table.schema.equals(SCHEMA)


def test_completed_runs_lists_only_runs_with_metrics(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    phase = store.phase("optimize")
    assert phase.completed_runs() == set()
    _complete_run(phase, "a")
    _complete_run(phase, "c")
    partial = phase.run("b")
    partial.write_table("trades", {"pnl": np.ones(2)})
    assert phase.completed_runs() == {"a", "c"}
    assert not partial.is_complete() and phase.run("a").is_complete()

    with pytest.raises(AdmfError, match="complete"):
        phase.run("a").write_table("trades", {"pnl": np.ones(1)})

    store.release()  # the interrupted writer's lock goes with its process
    resumed = ResultStore.open_existing(tmp_path, "r", fsync=False).phase("optimize")
    assert resumed.completed_runs() == {"a", "c"}
    _complete_run(resumed, "b")
    assert resumed.completed_runs() == {"a", "b", "c"}


def test_refuses_to_overwrite_a_run(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, "r", fsync=False)
    store.write_config("a: 1\n")
    with pytest.raises(ConfigError, match="open_existing"):
        ResultStore(tmp_path, "r")
    store.finish({})
    before = (store.path / "config.yaml").read_bytes()
    with pytest.raises(ConfigError, match=str(store.path)):
        ResultStore(tmp_path, "r")
    with pytest.raises(ConfigError, match="complete"):
        ResultStore.open_existing(tmp_path, "r")
    with pytest.raises(ConfigError, match="does not exist"):
        ResultStore.open_existing(tmp_path, "other")
    assert (store.path / "config.yaml").read_bytes() == before


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", ".hidden"])
def test_path_components_are_checked(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError):
        ResultStore(tmp_path, name)
    store = ResultStore(tmp_path, "r", fsync=False)
    with pytest.raises(ConfigError):
        store.phase(name)
    with pytest.raises(ConfigError):
        store.phase("p").run(name)


def test_metrics_only_through_write_metrics_and_after_writers_close(tmp_path: Path) -> None:
    run = ResultStore(tmp_path, "r", fsync=False).phase("p").run("k")
    with pytest.raises(AdmfError, match="write_metrics"):
        run.write_json("metrics", {})
    writer = run.table_writer("equity", SCHEMA)
    with pytest.raises(AdmfError, match="already open"):
        run.table_writer("equity", SCHEMA)
    with pytest.raises(AdmfError, match="equity.parquet"):
        run.write_metrics({})
    writer.close()
    run.write_metrics({})
    assert run.is_complete()


def test_load_run_reads_json_and_tables(tmp_path: Path) -> None:
    phase = ResultStore(tmp_path, "r", fsync=False).phase("p")
    _complete_run(phase, "k")
    phase.run("partial").write_json("notes", {"a": 1})

    loaded = load_run(phase.path / "runs" / "k")
    assert set(loaded) == {"metrics", "trades", "equity", "signals"}
    assert loaded["metrics"] == {"sharpe": 1.25, "trades": 2}
    assert loaded["trades"].column("pnl").to_pylist() == [1.0, -2.0]
    with pytest.raises(DataError, match="not a complete run"):
        load_run(phase.path / "runs" / "partial")
    with pytest.raises(DataError, match="missing.json"):
        read_json(phase.path / "missing.json")
    (phase.path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="broken.parquet"):
        read_table(phase.path / "broken.parquet")


def test_make_run_id() -> None:
    when = datetime(2024, 3, 5, 14, 7, 9)
    assert make_run_id("My SMA Cross!", "0123456789abcdef", when) == "my-sma-cross-20240305-140709-01234567"
    aware = datetime(2024, 3, 5, 16, 7, 9, tzinfo=timezone(timedelta(hours=2)))
    assert make_run_id("x_y", "ABCDEF0123", aware) == "x_y-20240305-140709-abcdef01"
    assert make_run_id("***", "ff", when) == "run-20240305-140709-ff"
    assert make_run_id("a", "b").startswith("a-")
