"""The Python entry points: ``await admf.run(config)`` and ``admf.run_sync(config)``."""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from ._views import (GenerationResultView, Result, SequenceResultView, StudyResultView,
                     WorkflowResultView, wrap)
from .errors import AdmfError, ConfigError, ContainerError, EquityWarning
from .research.config import StudyConfig, WorkflowConfig, load_config
from .research.inmemory import with_frames
from .research.results._lock import lock_scope
from .research.results.runs import resume_store
from .research.results.view import Run, Table
from .research.sampling import sample_points
from .research.study import StudyResult, check_components, run_study
from .runtime.instrument import Progress

__all__ = ("run", "run_sync", "load", "StudyResult", "Result", "Run", "Table",
           "StudyResultView", "SequenceResultView", "WorkflowResultView",
           "GenerationResultView")

ConfigLike = StudyConfig | Mapping[str, Any] | str | Path


def load(config: ConfigLike, *, overrides: Sequence[str] = ()) -> StudyConfig | WorkflowConfig:
    """A validated config from a path, a YAML string's file, a dict or a config object."""
    if isinstance(config, StudyConfig) and not overrides:
        return config
    if isinstance(config, StudyConfig):
        from .research.config import to_dict

        config = to_dict(config)
    loaded = load_config(config, overrides=overrides)
    if isinstance(loaded, StudyConfig) and loaded.signals.select is not None:
        from .research.signals.select import select_stored  # the strategies, from the store

        try:
            loaded = select_stored(loaded)
        except ConfigError as exc:
            raise ConfigError(f"{config}: {exc}" if isinstance(config, (str, Path)) else str(exc)) from None
    if isinstance(config, (str, Path)) and isinstance(loaded, StudyConfig):
        try:  # component parameters are checked by the components: name the file too
            check_components(loaded, sample_points(loaded))  # no grid is expanded here
        except ConfigError as exc:
            raise ConfigError(f"{config}: {exc}") from None
    return loaded


async def run(config: ConfigLike, *, overrides: Sequence[str] = (), write: bool = True,
              resume: str | Path | None = None, progress: Progress | None = None,
              data: Mapping[str, Any] | None = None) -> Result:
    """Run a study or workflow and return its result.

    ``config`` is a path to a YAML file, a plain dict, or a config object;
    ``overrides`` are ``"key.path=value"`` strings applied on top. With
    ``write`` (the default) results go to ``results.dir`` as CONFIG.md lays
    out. ``resume`` names an interrupted study's run directory: runs already
    finished there are read back, not redone. ``progress(done, total, unit)``
    hears how far it has got: bars read, or points, windows, folds or draws
    finished (see :mod:`admf.progress`). ``data``
    maps symbols to bars in memory (pandas or polars DataFrames, pyarrow
    Tables, dicts of numpy arrays), read instead of files: leave ``data.path``
    out (see :mod:`admf.research.inmemory`).
    """
    if data is not None:
        with with_frames(config, data) as staged:
            loaded = load(staged, overrides=overrides)
            raw = await _dispatch(loaded, write=write, resume=resume, progress=progress)
            return _checked(wrap(raw, objective=_objective(loaded)))
    loaded = load(config, overrides=overrides)
    source = str(config) if isinstance(config, (str, Path)) else None
    raw = await _dispatch(loaded, write=write, resume=resume, progress=progress, source=source)
    return _checked(wrap(raw, objective=_objective(loaded)))


def _checked(result: Result) -> Result:
    """Warn (:class:`~admf.errors.EquityWarning`, once, from this process and
    not from every worker) when a run's equity fell below zero."""
    try:
        runs = result.runs
        drawdowns = runs["max_drawdown"] if "max_drawdown" in runs else []
    except AdmfError:  # a result without per-run metrics (signal generation)
        return result
    if any(float(d) > 1 for d in drawdowns):
        warnings.warn(EquityWarning(
            "a portfolio's equity fell below zero (max_drawdown above 100 %): a cash account "
            "cuts buys to the cash but does not stop a losing short; an order strategy with "
            "portfolio.account: margin gets margin calls and a floor at zero"), stacklevel=3)
    return result


def _objective(loaded: Any) -> str:
    return loaded.sequence.objective if isinstance(loaded, StudyConfig) else "sharpe_ratio"


async def _dispatch(loaded: Any, *, write: bool, resume: str | Path | None = None,
                    progress: Progress | None = None, source: str | None = None) -> Any:
    with lock_scope():  # a run that raises gives its directory's lock back at once
        try:
            return await _dispatch_locked(loaded, write=write, resume=resume, progress=progress,
                                          source=source)
        except ContainerError as exc:
            error = unwrapped(exc)
            raise error from error.__cause__  # its own cause kept: the user's error


def unwrapped(error: ContainerError) -> AdmfError:
    """What a caller should catch for ``error``: the admf error a container
    met (a :class:`~admf.errors.DataError` naming the file and row, an
    :class:`~admf.errors.OrderError` naming the strategy and bar, ...), with
    ``container`` and ``stage`` kept as attributes, not in its message; the
    ``ContainerError`` itself when the cause is not admf's (a bug, or a
    user's code, which it names)."""
    cause: BaseException = error
    while isinstance(cause, ContainerError) and isinstance(cause.cause, AdmfError):
        cause = cause.cause
    if cause is error or not isinstance(cause, AdmfError):
        return error
    if not isinstance(cause, ContainerError):
        cause.container, cause.stage = error.container, error.stage  # type: ignore[attr-defined]
    return cause


async def _dispatch_locked(loaded: Any, *, write: bool, resume: str | Path | None,
                           progress: Progress | None, source: str | None) -> Any:
    if isinstance(loaded, StudyConfig):
        if loaded.topology.pattern == "signal_generation":  # stores signals, no portfolios
            from .research.signals.run import run_generation

            return await run_generation(loaded, progress=progress)
        store = resume_store(resume, loaded) if resume is not None else None
        if loaded.sequence.type == "single_pass":
            return await run_study(loaded, write=write, resume=store, progress=progress)
        from .research.sequences.run import run_sequence

        return await run_sequence(loaded, write=write, resume=store, progress=progress)
    from .research.workflow.run import run_workflow

    store = resume_store(resume, loaded) if resume is not None else None
    return await run_workflow(loaded, write=write, source=source, resume=store, progress=progress)


def run_sync(config: ConfigLike, *, overrides: Sequence[str] = (), write: bool = True,
             resume: str | Path | None = None, progress: Progress | None = None,
             data: Mapping[str, Any] | None = None) -> Result:
    """:func:`run` for scripts. Refuses to start inside a running event loop,
    where it would block that loop: there, ``await admf.run(...)`` instead."""
    if running_event_loop() is not None:
        raise AdmfError("admf.run_sync() was called inside a running event loop, which it "
                        "would block; use `await admf.run(config)` there instead")
    return anyio.run(partial(run, config, overrides=overrides, write=write, resume=resume,
                             progress=progress, data=data))


def running_event_loop() -> str | None:
    """``"asyncio"`` or ``"trio"``: the event loop running in this thread, if any."""
    try:
        asyncio.get_running_loop()
        return "asyncio"
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")  # only a program that imported trio can be running it
    if trio is not None:
        try:
            trio.lowlevel.current_trio_token()
            return "trio"
        except RuntimeError:
            pass
    return None
