"""A ``signal_generation`` study: store the signals of every run its sequence
would make (see :func:`admf.research.sequences.plan.run_plan`), so that a
``signal_replay`` study of the same strategies, under the same sequence,
runs only portfolios."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from ...data.timeparse import format_ns
from ...runtime.instrument import Progress
from ..config import StudyConfig
from ..results.runs import data_digest
from ..sequences.plan import run_plan, sequence_points
from ..study import check_components
from .generate import generate
from .store import SignalStore

__all__ = ("GenerationRun", "run_generation")


class GenerationRun(msgspec.Struct, kw_only=True):
    """What a signal_generation study did: one row per (window, strategy point)."""

    name: str
    store: str
    data_digest: str
    windows: int
    computed: int
    reused: int
    rows: int
    bars: int
    table: list[dict[str, Any]]
    seconds: float

    def outputs(self) -> dict[str, Any]:
        """What a workflow phase exposes to later phases: no metrics (no
        portfolio ran), the counts and the store in ``aggregate``."""
        return {"metrics": {}, "best_params": None, "best": None, "table": self.table,
                "aggregate": {"store": self.store, "data_digest": self.data_digest,
                              "windows": self.windows, "computed": self.computed,
                              "reused": self.reused, "rows": self.rows}}

    def __repr__(self) -> str:
        return (f"GenerationRun({self.name!r}, {self.computed} computed, {self.reused} reused, "
                f"store={self.store!r})")


async def run_generation(config: StudyConfig, *, progress: Progress | None = None
                         ) -> GenerationRun:
    """Generate and store the signals of every run of ``config``'s sequence
    in ``signals.store``; keys already there are reused, not recomputed."""
    started = time.perf_counter()
    points = sequence_points(config)
    check_components(config, points)
    store = SignalStore(config.signal_store)
    digest = data_digest(config)
    plan = run_plan(config, points)
    table: list[dict[str, Any]] = []
    computed = reused = rows = bars = 0
    for done, (chunk, window) in enumerate(plan):
        result = await generate(config, store, window=window, points=chunk, digest=digest)
        computed += len(result.computed)
        reused += len(result.reused)
        rows += result.rows
        bars += result.bars
        span = [format_ns(window[0]), format_ns(window[1])] if window else None
        table.extend({"window": span, "point": sid, "key": key,
                      "status": "reused" if sid in result.reused else "computed"}
                     for sid, key in result.keys.items())
        if progress is not None:
            progress(done + 1, len(plan), "windows")
    return GenerationRun(name=config.name, store=str(store.path), data_digest=digest,
                         windows=len(plan), computed=computed, reused=reused, rows=rows,
                         bars=bars, table=table, seconds=time.perf_counter() - started)
