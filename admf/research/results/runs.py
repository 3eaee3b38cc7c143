"""Where a study's results go: the run directory's tables, JSON and store.

The layout is CONFIG.md's "Results on disk": ``trades.parquet``,
``equity.parquet`` and ``signals.parquet`` per portfolio, ``metrics.json``
last, the merged ``config.yaml`` first (so an interrupted run can be resumed)
and ``manifest.json`` at the very end.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from ...components.metrics import Metrics
from ...containers.portfolio import (
    EQUITY_COLUMNS,
    SIGNAL_COLUMNS,
    MemorySink,
    PortfolioResult,
)
from ...errors import ConfigError
from ..config import StudyConfig, dump_yaml
from .inputs import check_still_same, check_unchanged, is_staged, record_inputs
from .store import ResultStore, make_run_id, read_json

__all__ = (
    "TRADE_SCHEMA", "FILL_SCHEMA", "run_key", "curve_sinks", "write_run", "write_runs", "completed_result", "new_store",
    "open_store", "start_store", "resume_store", "finish_store", "data_digest",
)


EQUITY_SCHEMA = pa.schema([("timestamp", pa.timestamp("ns", tz="UTC")), ("equity", pa.float64()),
                            ("cash", pa.float64()), ("exposure", pa.float64()),
                            ("drawdown", pa.float64())])
TRADE_SCHEMA = pa.schema([
    ("symbol", pa.string()), ("direction", pa.int8()),
    ("entry_time", pa.timestamp("ns", tz="UTC")), ("exit_time", pa.timestamp("ns", tz="UTC")),
    ("entry_price", pa.float64()), ("exit_price", pa.float64()), ("quantity", pa.float64()),
    ("pnl", pa.float64()), ("return", pa.float64()), ("commission", pa.float64()),
    ("slippage", pa.float64()), ("reason", pa.string()), ("bars_held", pa.int64()),
    ("open", pa.bool_()),
])
"""trades.parquet: one row per trade (CONFIG.md), open trades last."""
FILL_SCHEMA = pa.schema([
    ("timestamp", pa.timestamp("ns", tz="UTC")), ("order_id", pa.int64()), ("symbol", pa.string()),
    ("quantity", pa.float64()), ("price", pa.float64()), ("commission", pa.float64()),
    ("slippage", pa.float64()), ("phase", pa.string()), ("reason", pa.string()),
])
"""fills.parquet: every fill of an order strategy, in booking order."""
SIGNAL_SCHEMA = pa.schema([("timestamp", pa.timestamp("ns", tz="UTC")), ("symbol", pa.string()),
                            ("target", pa.float64())])


RUN_KEY_CHARS = 120
"""The longest run key kept as written. A longer point id (many or long
parameter names) keeps its first characters and ends in a hash of the whole
id, so the directory name stays under every file system's 255-byte limit
with room for a window prefix (``w012-train1-``), and stays unique."""


def run_key(point_id: str) -> str:
    """A directory-safe name for a portfolio (see :data:`RUN_KEY_CHARS`)."""
    key = re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", point_id).strip("._") or "portfolio"
    if len(key) <= RUN_KEY_CHARS:
        return key
    digest = hashlib.sha256(point_id.encode("utf-8")).hexdigest()[:16]
    return f"{key[:RUN_KEY_CHARS - 17]}-{digest}"


def curve_sinks(config: StudyConfig, run: Any, *, collect: bool = False) -> tuple[Any, Any]:
    """Where a portfolio's equity curve and signals go, by ``results.storage``:
    kept in memory, or streamed to the run directory ``run``. ``collect``
    keeps the curve in memory whatever the storage (a sequence needs it)."""
    storage = config.results.storage
    keep_equity = config.results.keep_equity_curves
    if collect:
        return MemorySink(EQUITY_COLUMNS), MemorySink(SIGNAL_COLUMNS)
    if run is None or storage == "memory":
        equity = MemorySink(EQUITY_COLUMNS) if keep_equity else None
        return equity, MemorySink(SIGNAL_COLUMNS)
    equity = run.table_writer("equity", EQUITY_SCHEMA) if keep_equity else None
    signals = (run.table_writer("signals", SIGNAL_SCHEMA) if storage == "disk"
               else MemorySink(SIGNAL_COLUMNS))
    return equity, signals


def open_store(config: StudyConfig, *, write: bool, store: ResultStore | None,
               resume: ResultStore | None) -> tuple[ResultStore | None, bool]:
    """The store a study writes to, and whether it owns it (and so writes the
    manifest): a workflow's, an interrupted run's, or a new one whose merged
    config is written first so that it can be resumed."""
    if resume is not None:
        return resume, True
    if store is not None or not write:
        return store, False
    return start_store(config), True


def start_store(config: Any) -> ResultStore:
    """A new store for ``config`` (a study or a workflow), locked, with the
    record of its input data and then its merged config written first: from
    then on it can be resumed, and a resume can check the data is the same."""
    store = new_store(config)
    store.write_json("inputs", record_inputs(config))
    store.write_config(dump_yaml(config))
    return store


def completed_result(path: Path, point: Any) -> PortfolioResult:
    """A portfolio's result read back from its finished run directory
    (metrics and counts; its tables stay on disk)."""
    doc = read_json(path / "metrics.json")
    metrics = Metrics(**{k: (math.nan if v is None else v) for k, v in doc["metrics"].items()})
    return PortfolioResult(name=point.id, metrics=metrics, trades=None, equity=None,
                           signals=None, fills=int(doc.get("fills", 0)),
                           final_equity=float(metrics.final_equity),
                           traded_notional=float(doc.get("traded_notional", 0.0)),
                           return_blocks=doc.get("return_blocks"))


def resume_store(path: Path | str, config: Any) -> ResultStore:
    """Reopen the interrupted run at ``path`` for ``config``; refuses a
    complete run, and a run of a different config (by fingerprint)."""
    path = Path(path)
    saved = path / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"{path} has no config.yaml: it is not an admf run that can be resumed")
    from ..config import load_config

    if _comparable(load_config(saved), config).fingerprint != config.fingerprint:
        raise ConfigError(f"{path} was run with a different config; resume it with the "
                          f"config in {saved}")
    inputs = check_unchanged(path, config)  # the data: named if it changed
    store = ResultStore.open_existing(path.parent, path.name)
    store.write_json("inputs", inputs)  # the same bytes; staged frames have new paths
    return store


def _comparable(saved: Any, config: Any) -> Any:
    """``saved`` with the staging path of its ``data=`` frames replaced by
    ``config``'s: each run stages frames in a fresh directory, and the frames
    themselves are compared by :func:`check_unchanged`."""
    if not (isinstance(saved, StudyConfig) and isinstance(config, StudyConfig)):
        return saved
    if not (is_staged(saved.data.path) and is_staged(config.data.path)):
        return saved
    return msgspec.structs.replace(saved, data=msgspec.structs.replace(
        saved.data, path=config.data.path))


def finish_store(store: ResultStore, config: Any, phases: Sequence[str],
                 extra: Mapping[str, Any] | None = None) -> None:
    """Write the merged config, each phase's tables across its runs
    (:mod:`.tables`), then the manifest (last: the run is complete)."""
    from .tables import write_phase_tables

    store.write_config(dump_yaml(config))
    for phase in phases:
        if (store.path / phase).is_dir():
            write_phase_tables(store.path / phase, fsync=store.fsync)
    studies = [config] if isinstance(config, StudyConfig) else list(getattr(config, "phases", []))
    digest = check_still_same(store.path)  # the data the run started on, still the same
    if digest is None and studies:  # a store made without start_store
        digest = data_digest(studies[0])
    store.finish({"name": config.name, "fingerprint": config.fingerprint,
                  "data_digest": digest,
                  "admf_version": _version(), "seed": getattr(studies[0], "seed", None) if studies else None,
                  "phases": list(phases), **(extra or {})})


OPENED: list[Path] = []
"""The run directories this process created, oldest first: an interrupted
command names the one to ``--resume``."""


def new_store(config: Any) -> ResultStore:
    """A store under a fresh run id; a suffix keeps ids unique within a second.
    The directory is claimed with an atomic ``mkdir``, so two runs started at
    once never share one. (A workflow's phases share one ``results.dir``.)"""
    directory = Path((config.results if isinstance(config, StudyConfig)
                      else config.phases[0].results).dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable(directory, exc) from None
    base = make_run_id(config.name, config.fingerprint)
    for attempt in range(1, 1000):
        run_id = base if attempt == 1 else f"{base}-{attempt}"
        try:
            (directory / run_id).mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unusable(directory, exc) from None
        OPENED.append(directory / run_id)
        return ResultStore(directory, run_id)  # an empty directory it just claimed
    raise ConfigError(f"too many runs named {base!r} in {directory}")


def _unusable(directory: Path, exc: OSError) -> ConfigError:
    """results.dir named as the key at fault, with the OS's reason in words."""
    if isinstance(exc, FileExistsError) or isinstance(exc, NotADirectoryError):
        probe = directory
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        what = "is a file" if probe == directory else f"is under {probe}, which is a file"
        return ConfigError(f"results.dir: {directory} {what}, not a directory")
    return ConfigError(f"results.dir: cannot create a run directory in {directory}: "
                       f"{exc.strerror or exc}")


def write_run(run: Any, point: Any, result: PortfolioResult, config: StudyConfig,
              *, tables: bool = True) -> None:
    """Write one portfolio's tables, then its metrics.json (completing the run)."""
    # a curve still in memory here was not streamed: write it if it is to be kept
    if tables and config.results.keep_equity_curves and result.equity is not None:
        run.write_table("equity", pa.table(_timestamps(result.equity), schema=EQUITY_SCHEMA))
    if tables and result.signals is not None:
        run.write_table("signals", pa.table(_timestamps(result.signals), schema=SIGNAL_SCHEMA))
    if tables and result.order_fills is not None:  # an order strategy's, unless streamed
        run.write_table("fills", pa.table(_timestamps(result.order_fills), schema=FILL_SCHEMA))
    if tables and result.trades is not None:  # disk mode streamed them already
        run.write_table("trades", pa.table(result.trades, schema=TRADE_SCHEMA))
    run.write_metrics({"portfolio": point.id, "strategy": point.type, "params": point.params,
                       "portfolio_params": getattr(point, "portfolio", {}),
                       "direction": point.direction, "fills": result.fills,
                       "traded_notional": result.traded_notional,
                       "metrics": result.metrics.to_json_dict(),
                       **({"return_blocks": result.return_blocks}
                          if result.return_blocks is not None else {})})


WRITER_THREADS = 4
"""How many run directories :func:`write_runs` writes at once. Encoding and
compressing Parquet and waiting on ``fsync`` release the GIL, so a few
threads overlap one run's disk waits with the next run's encoding; more
than a handful only contend for the same disk."""


def write_runs(runs: Mapping[str, Any], points: Sequence[Any],
               results: Mapping[str, PortfolioResult], config: StudyConfig,
               *, tables: bool = True) -> None:
    """:func:`write_run` for every point, several run directories at once.

    Each directory is still written in order (tables, then ``metrics.json``
    last), so a run is complete exactly when its own files are. Every write
    is waited for; if any failed, the first failure in ``points`` order is
    raised (the same error whatever the threads' timing), and the runs that
    did not finish have no ``metrics.json``, so a resume runs them again."""
    if len(points) <= 1:
        for point in points:
            write_run(runs[point.id], point, results[point.id], config, tables=tables)
        return
    with ThreadPoolExecutor(max_workers=min(WRITER_THREADS, len(points)),
                            thread_name_prefix="admf-write") as pool:
        futures = [pool.submit(write_run, runs[p.id], p, results[p.id], config, tables=tables)
                   for p in points]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def _timestamps(columns: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = dict(columns)
    out["timestamp"] = pa.array(columns["timestamp"].astype("datetime64[ns]"),
                                type=pa.timestamp("ns", tz="UTC"))
    return out


def data_digest(config: StudyConfig) -> str:
    """sha256 over the input files' bytes, or over the synthetic source's
    settings; with ``data.resample``, over the resampling settings too (the
    bars a strategy sees are the resampled ones)."""
    digest = hashlib.sha256()
    data = config.data
    if data.resample is not None:
        digest.update(msgspec.json.encode(["resample", data.resample, data.resample_label,
                                           data.calendar, data.tz]))
    if data.source == "synthetic":
        digest.update(msgspec.json.encode([data.bars, data.start_price, data.volatility,
                                           data.drift, data.start, data.timeframe, config.seed]))
        return digest.hexdigest()
    for symbol in data.symbols:
        path = Path(data.path_for(symbol))
        # a Parquet dataset partitioned by symbol is a directory: hash its files in order
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            with file.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("admf")
    except PackageNotFoundError:
        return "0+unknown"
