"""``signals.select``: a ``signal_replay`` study whose strategies come from the store.

``select: all`` replays every strategy point the store holds signals of for
the study's data (its data digest): what a ``signal_generation`` run stored,
without writing its strategies and grids again. A mapping filters those
points by strategy type, parameter values and direction (a list: any of its
values). The selection becomes the study's ``strategies`` (one single-valued
point each, ordered by type, parameters and direction, so the same store
gives the same study however it was filled) before anything runs or is
written: the run's ``config.yaml`` names the points it replayed, and resuming
it refuses a store whose selection has changed since (its fingerprint is the
resolved study's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ..config import StudyConfig, load_config, to_dict
from ..results.runs import data_digest
from .store import SignalStore

__all__ = ("select_stored", "selected_points", "with_strategies")


def select_stored(config: StudyConfig) -> StudyConfig:
    """``config`` with ``signals.select`` resolved to ``strategies`` (``config``
    itself when it has no selection)."""
    select = config.signals.select
    if select is None:
        return config
    store = SignalStore(config.signal_store)
    digest = data_digest(config)
    rows = list(store.index().values())  # read once: the selection and its error use it
    points = selected_points(rows, digest, select)
    if not points:
        raise ConfigError(_nothing_selected(store, rows, digest, select))
    return with_strategies(config, [
        {"type": kind, "params": {k: _single(v) for k, v in params.items()}, "direction": direction}
        for kind, params, direction in points])


def with_strategies(config: StudyConfig, strategies: list[dict[str, Any]]) -> StudyConfig:
    """``config`` running ``strategies`` in place of its ``signals.select``."""
    tree = to_dict(config)
    tree["strategies"] = strategies
    tree["signals"]["select"] = None
    resolved = load_config(tree)
    assert isinstance(resolved, StudyConfig)
    return resolved


def selected_points(rows: list[dict[str, Any]], digest: str, select: str | Mapping[str, Any]
                    ) -> list[tuple[str, dict[str, Any], str]]:
    """The distinct (type, params, direction) of the store's index ``rows``
    for data ``digest`` that ``select`` keeps, sorted."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        if row["data_digest"] != digest:
            continue
        params = json.loads(row["params"])
        if select != "all" and not _kept(row["strategy"], params, row["direction"], select):
            continue
        seen.setdefault((row["strategy"], row["params"], row["direction"]), params)
    return [(kind, seen[(kind, text, direction)], direction)
            for kind, text, direction in sorted(seen)]


def _kept(kind: str, params: dict[str, Any], direction: str, select: Mapping[str, Any]) -> bool:
    if "strategy" in select and kind not in _any_of(select["strategy"]):
        return False
    if "direction" in select and direction not in _any_of(select["direction"]):
        return False
    for name, wanted in (select.get("params") or {}).items():
        if name not in params or not any(_same(params[name], w) for w in _any_of(wanted)):
            return False
    return True


def _any_of(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _same(stored: Any, wanted: Any) -> bool:
    """Equal as values: 10 selects a stored 10.0, True never selects 1."""
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return type(stored) is type(wanted) and stored == wanted
    return stored == wanted


def _single(value: Any) -> Any:
    """One parameter value as a one-point grid: a list or mapping (a value
    like ensemble weights) is wrapped so it is not read as a grid or range."""
    return [value] if isinstance(value, list | dict) else value


def _nothing_selected(store: SignalStore, rows: list[dict[str, Any]], digest: str,
                      select: Any) -> str:
    where = f"signals.select: signal store {store.path}"
    if not rows:
        return (f"{where} holds no signals; run a study with topology.pattern: "
                "signal_generation first")
    here = [r for r in rows if r["data_digest"] == digest]
    if not here:
        others = sorted({r["data_digest"] for r in rows})
        return (f"{where} holds no signals for this data (digest {digest}); it holds signals "
                f"for data digest(s) {', '.join(others)}: the data changed since they were "
                "generated, or this is another study's store")
    kinds = sorted({f"{r['strategy']} {r['params']} ({r['direction']})" for r in here})
    shown = "; ".join(kinds[:8]) + (f"; ... ({len(kinds)} in all)" if len(kinds) > 8 else "")
    return f"{where}: no stored point matches {select!r}; stored for this data: {shown}"
