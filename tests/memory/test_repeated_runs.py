"""Memory: repeated runs in one process do not accumulate (DESIGN.md §10).

Kept apart from the unit tests: these measure the process, not a function.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import admf


def study(tmp_path: Path, sequence: dict | None = None) -> dict:
    return {
        "name": "mem", "seed": 4,
        "data": {"source": "synthetic", "symbols": ["A", "B"], "bars": 20_000, "batch_rows": 4096},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": [30]}}],
        "risk": {"stop_loss": 0.01},
        "results": {"dir": str(tmp_path / "r"), "storage": "memory"},
        "executor": {"kind": "inline"},
        **({"sequence": sequence} if sequence else {}),
    }


def retained_after(runs: int, config: dict) -> list[int]:
    """Bytes still allocated (by Python) after each of ``runs`` runs."""
    sizes = []
    for _ in range(runs):
        admf.run_sync(config)
        gc.collect()
        sizes.append(tracemalloc.get_traced_memory()[0])
    return sizes


def test_repeated_studies_do_not_accumulate(tmp_path: Path) -> None:
    config = study(tmp_path)
    admf.run_sync(config)  # imports, caches, registries: paid once
    tracemalloc.start()
    try:
        sizes = retained_after(6, config)
    finally:
        tracemalloc.stop()
    growth = sizes[-1] - sizes[1]
    # a leak of even one result (two 20k-bar curves) would be ~1 MB per run
    assert growth < 200_000, sizes


def test_repeated_sequences_do_not_accumulate(tmp_path: Path) -> None:
    config = study(tmp_path, {"type": "walk_forward", "train": 6000, "test": 3000})
    admf.run_sync(config)
    tracemalloc.start()
    try:
        sizes = retained_after(5, config)
    finally:
        tracemalloc.stop()
    assert sizes[-1] - sizes[1] < 200_000, sizes
