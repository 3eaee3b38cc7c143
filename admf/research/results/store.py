"""The results store: JSON and Parquet files under one directory per run.

Layout (the contract is CONFIG.md, "Results on disk")::

    <root>/<run_id>/
      manifest.json            written last; its presence means the run is complete
      config.yaml
      <phase>/
        summary.json
        aggregate.json
        runs.parquet, trades.parquet   across the runs (:mod:`.tables`)
        runs/<run_key>/        metrics.json (written last), <table>.parquet ...
        trace/

Every file is written to ``<name>.tmp`` in its own directory, flushed to disk
and renamed into place, so a crash never leaves a half-written file under a
final name. Within a run directory ``metrics.json`` is written last, so its
presence means that grid point, window or fold is done; an interrupted sweep
reopens the store with :meth:`ResultStore.open_existing` and skips
:meth:`PhaseStore.completed_runs`.

The store is generic (it knows tables and JSON, not trades) and blocking;
async callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import AdmfError, ConfigError, DataError
from ._files import (
    COMPRESSION,
    TMP_SUFFIX,
    Columns,
    TableWriter,
    _to_table,
    _write_atomic,
    encode_json,
    read_json,
    read_table,
)
from ._lock import LOCK_NAME, RunLock

__all__ = (
    "ResultStore",
    "PhaseStore",
    "RunStore",
    "TableWriter",
    "make_run_id",
    "is_complete",
    "read_json",
    "read_table",
    "load_run",
    "encode_json",
)

MANIFEST = "manifest.json"
METRICS = "metrics.json"

def _component(kind: str, name: str) -> str:
    """``name`` checked as one path component (no separators, not hidden)."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0"):
        raise ConfigError(f"{kind} {name!r} must be a non-empty file name without '/', '\\' or a leading '.'")
    return name


def _file_name(name: str, suffix: str) -> str:
    return _component("file name", name if name.endswith(suffix) else name + suffix)


# -- the store ----------------------------------------------------------------


class ResultStore:
    """All results of one workflow run, under ``<root>/<run_id>/``.

    Creating a store for a ``run_id`` whose directory already holds files is a
    :class:`~admf.errors.ConfigError` (a run id names one run); reopen an
    interrupted run with :meth:`open_existing`. ``fsync=False`` skips the
    flushes to disk: files are still renamed into place, so a crashed process
    leaves no half-written file, but a power cut may.

    A store holds its directory's lock (:mod:`._lock`) from when it is
    created or reopened until :meth:`finish` or :meth:`release`; a second
    writer is refused with a :class:`~admf.errors.LockedError`.
    """

    _lock: RunLock | None

    def __init__(self, root: Path | str, run_id: str, *, fsync: bool = True) -> None:
        self._attach(root, run_id, fsync)
        if (self.path / MANIFEST).exists():
            raise ConfigError(f"results directory {self.path} holds a complete run; run ids are unique")
        if self.path.exists() and any(p.name != LOCK_NAME for p in self.path.iterdir()):
            raise ConfigError(
                f"results directory {self.path} holds an unfinished run; "
                "use ResultStore.open_existing to resume it"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = RunLock.acquire(self.path)

    def _attach(self, root: Path | str, run_id: str, fsync: bool) -> None:
        self.run_id = _component("run id", run_id)
        self.path = Path(root) / run_id
        self.fsync = fsync
        self._worker = False
        self._finished = False
        self._lock = None
        self._open_writers: dict[Path, TableWriter] = {}

    @classmethod
    def open_existing(cls, root: Path | str, run_id: str, *, fsync: bool = True) -> ResultStore:
        """Reopen an interrupted run to resume it.

        The directory's lock is taken first (a run or resume still writing
        it is a :class:`~admf.errors.LockedError` naming that process). Then
        leftover ``*.tmp`` files are deleted and so is every run directory
        without ``metrics.json`` (its other files came from a crashed attempt),
        so call it once, before anything writes to the run again. A complete
        or missing run is a :class:`~admf.errors.ConfigError`.
        """
        path = Path(root) / _component("run id", run_id)
        if (path / MANIFEST).exists():
            raise ConfigError(f"results directory {path} holds a complete run; there is nothing to resume")
        if not path.is_dir():
            raise ConfigError(f"results directory {path} does not exist; there is nothing to resume")
        store = cls.__new__(cls)  # skip __init__: its check refuses existing runs
        store._attach(root, run_id, fsync)
        store._lock = RunLock.acquire(path)
        if (path / MANIFEST).exists():  # the holder we waited on finished it meanwhile
            store.release()
            raise ConfigError(f"results directory {path} holds a complete run; there is nothing to resume")
        _discard_unfinished(path)
        return store

    @classmethod
    def for_worker(cls, root: Path | str, run_id: str, *, fsync: bool = True) -> ResultStore:
        """A handle on a store another process created, for a worker writing its
        own run directories. It deletes nothing and cannot write the manifest:
        only the creating process finishes the store."""
        store = cls.__new__(cls)
        store._attach(root, run_id, fsync)
        store._worker = True
        if not store.path.is_dir():
            raise ConfigError(f"results directory {store.path} does not exist")
        return store

    def phase(self, name: str) -> PhaseStore:
        """The directory of phase ``name`` (created if needed)."""
        return PhaseStore(self, self.path / _component("phase", name))

    def write_summary(self, obj: Any) -> None:
        """Write ``summary.json`` at the run's root (a workflow's phases at a glance)."""
        self._write_bytes(self.path / "summary.json", encode_json(obj))

    def write_json(self, name: str, obj: Any) -> None:
        """Write ``<name>.json`` at the run's root (e.g. ``inputs.json``)."""
        file = _file_name(name, ".json")
        if file == MANIFEST:
            raise AdmfError("manifest.json completes a run; write it with ResultStore.finish")
        self._write_bytes(self.path / file, encode_json(obj))

    def write_config(self, text: str) -> None:
        """Write ``config.yaml``: the fully merged config, as text."""
        self._write_bytes(self.path / "config.yaml", text.encode())

    def finish(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``manifest.json`` last and close the store; return the manifest.

        The manifest is ``manifest`` plus ``run_id``, ``complete: true`` and
        ``files`` (relative path, size and sha256 of every file; the store's
        keys win). Open table writers are an error; later writes raise.
        """
        self._check_writable()
        if self._worker:
            raise AdmfError(f"a worker's handle cannot finish {self.path}; its creator does")
        if self._open_writers:
            names = ", ".join(str(p.relative_to(self.path)) for p in self._open_writers)
            raise AdmfError(f"cannot finish {self.path}: table writers still open: {names}")
        doc = {**manifest, "run_id": self.run_id, "complete": True, "files": _list_files(self.path)}
        self._write_bytes(self.path / MANIFEST, encode_json(doc))
        self._finished = True
        self.release()
        return doc

    @property
    def finished(self) -> bool:
        """Whether :meth:`finish` has written the manifest."""
        return self._finished

    def release(self) -> None:
        """Give up the directory's lock (:meth:`finish` does; so does a run
        that failed). Later writes through this store raise."""
        if self._lock is not None:
            self._lock.release()

    def _check_writable(self) -> None:
        if self._finished:
            raise AdmfError(f"results in {self.path} are finished; no more writes")
        if not self._worker and (self._lock is None or not self._lock.held):
            raise AdmfError(f"results in {self.path}: this store no longer holds the "
                            f"directory's lock; no more writes")

    def _write_bytes(self, path: Path, data: bytes) -> None:
        self._check_writable()
        _write_atomic(path, lambda tmp: tmp.write_bytes(data), fsync=self.fsync)


def _discard_unfinished(path: Path) -> None:
    for tmp in path.rglob("*" + TMP_SUFFIX):
        if tmp.is_file():
            tmp.unlink()
    for run_dir in path.glob("*/runs/*"):
        if run_dir.is_dir() and not (run_dir / METRICS).exists():
            shutil.rmtree(run_dir)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _list_files(root: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and p.name not in (MANIFEST, LOCK_NAME))
    return [
        {"path": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": _sha256(p)}
        for p in files
    ]


class PhaseStore:
    """One phase's directory: ``summary.json``, ``aggregate.json``, ``runs/``, ``trace/``."""

    def __init__(self, store: ResultStore, path: Path) -> None:
        self.store = store
        self.path = path
        self.name = path.name
        path.mkdir(exist_ok=True)

    def run(self, run_key: str) -> RunStore:
        """The directory of one grid point, window, fold or draw (created if needed)."""
        return RunStore(self.store, self.path / "runs" / _component("run key", run_key))

    def completed_runs(self) -> set[str]:
        """Keys of the runs whose ``metrics.json`` exists."""
        runs = self.path / "runs"
        if not runs.is_dir():
            return set()
        return {d.name for d in runs.iterdir() if (d / METRICS).is_file()}

    def write_summary(self, obj: Any) -> None:
        """Write ``summary.json``: metrics, chosen parameters, timings."""
        self.store._write_bytes(self.path / "summary.json", encode_json(obj))

    def write_aggregate(self, obj: Any) -> None:
        """Write ``aggregate.json``: results across runs, windows, folds or draws."""
        self.store._write_bytes(self.path / "aggregate.json", encode_json(obj))

    def trace_dir(self) -> Path:
        """``trace/`` (created); recorders write their own files there."""
        path = self.path / "trace"
        path.mkdir(exist_ok=True)
        return path


class RunStore:
    """One run's directory. ``metrics.json`` is written last, by
    :meth:`write_metrics`; after it the run is complete and writes raise."""

    def __init__(self, store: ResultStore, path: Path) -> None:
        self.store = store
        self.path = path
        self.key = path.name
        path.mkdir(parents=True, exist_ok=True)

    def is_complete(self) -> bool:
        """Whether ``metrics.json`` exists."""
        return (self.path / METRICS).is_file()

    def write_json(self, name: str, obj: Any) -> None:
        """Write ``<name>.json`` (not ``metrics``: see :meth:`write_metrics`)."""
        file = _file_name(name, ".json")
        if file == METRICS:
            raise AdmfError("metrics.json completes a run; write it with RunStore.write_metrics")
        self._check_writable()
        self.store._write_bytes(self.path / file, encode_json(obj))

    def write_metrics(self, obj: Any) -> None:
        """Write ``metrics.json``, completing the run; open table writers are an error."""
        self._check_writable()
        open_here = [p.name for p in self.store._open_writers if p.parent == self.path]
        if open_here:
            raise AdmfError(f"cannot complete {self.path}: table writers still open: {', '.join(open_here)}")
        self.store._write_bytes(self.path / METRICS, encode_json(obj))

    def write_table(self, name: str, columns: Columns) -> None:
        """Write ``<name>.parquet`` at once from a pyarrow Table or a mapping of
        column name to array."""
        self._check_writable()
        path = self.path / _file_name(name, ".parquet")
        table = _to_table(columns, None, path)

        def write(tmp: Path) -> None:
            pq.write_table(table, tmp, compression=COMPRESSION)

        _write_atomic(path, write, fsync=self.store.fsync)

    def table_writer(self, name: str, schema: pa.Schema, *, row_group_size: int = 65536) -> TableWriter:
        """A streaming writer of ``<name>.parquet``; see :class:`TableWriter`."""
        self._check_writable()
        path = self.path / _file_name(name, ".parquet")
        if path in self.store._open_writers:
            raise AdmfError(f"a table writer for {path} is already open")
        writer = TableWriter(path, schema, row_group_size=row_group_size, fsync=self.store.fsync)
        self.store._open_writers[path] = writer
        writer._on_done = lambda: self.store._open_writers.pop(path, None)
        return writer

    def _check_writable(self) -> None:
        self.store._check_writable()
        if self.is_complete():
            raise AdmfError(f"run {self.path} is complete (metrics.json exists); no more writes")


def make_run_id(name: str, fingerprint: str, now: datetime | None = None) -> str:
    """``<slug(name)>-<YYYYmmdd-HHMMSS>-<fingerprint[:8]>``; ``now`` defaults
    to the current UTC time, an aware ``now`` is converted to UTC."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    return f"{_slug(name) or 'run'}-{now:%Y%m%d-%H%M%S}-{_slug(fingerprint)[:8]}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")


def is_complete(path: Path | str) -> bool:
    """Whether ``path`` is a complete result: a run root with ``manifest.json``
    or a run directory with ``metrics.json``."""
    path = Path(path)
    return (path / MANIFEST).is_file() or (path / METRICS).is_file()


def load_run(path: Path | str) -> dict[str, Any]:
    """A complete run directory as ``{stem: content}``: JSON files decoded,
    Parquet files as pyarrow Tables (e.g. ``{"metrics": {...}, "trades": Table}``)."""
    path = Path(path)
    if not (path / METRICS).is_file():
        raise DataError(f"{path}: not a complete run (no {METRICS})")
    out: dict[str, Any] = {}
    for file in sorted(path.iterdir()):
        if file.suffix == ".json":
            out[file.stem] = read_json(file)
        elif file.suffix == ".parquet":
            out[file.stem] = read_table(file)
    return out
