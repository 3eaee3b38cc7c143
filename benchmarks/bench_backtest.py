"""How fast is one real backtest, end to end, and how much memory does it hold?

The study: SMA 10/30 crossover, long only, on seeded synthetic one-minute bars,
percent-of-equity whole-unit sizing, next-open fills (the admf defaults).

Measured in one run:

* ``pipeline``: ``admf.run`` over 1M bars — the whole actor pipeline: the
  synthetic source generating batches, the strategy container computing both
  SMAs and the crossings, the portfolio booking every fill and marking every
  bar, metrics. Results kept in memory (nothing written).
* ``numpy_baseline``: the same rule written as plain vectorised numpy on the
  same bars, already in memory on both sides (admf's timed runs read them
  from its per-process synthetic-bar cache; the baseline's are generated
  before its timer): SMAs by
  cumulative sums, crossings, the position carried forward, next-open
  returns compounded, Sharpe and max drawdown. It has no whole units, no
  trade list and no per-trade accounting, so it is a generous ceiling.
* ``on_bar``: the same rule as a per-bar ``BarStrategy.on_bar`` over 1M bars.
* ``process_seconds_100k``: a fresh ``python -c`` process running the study on
  100k bars, interpreter start and imports included.
* ``rss_mb_1m`` / ``rss_mb_10m``: peak resident memory of a fresh process
  running 1M and 10M bars with ``results.storage: disk`` (equity curve and
  signals streamed to Parquet while the run goes).

Targets on a 2-core machine: pipeline >= 4M bars/s and >= 0.6x the numpy
baseline; on_bar >= 750k bars/s; 100k bars in < 1 s per process; 10M-bar RSS
<= 1.2x the 1M-bar RSS. The last line printed is one JSON object.

    python benchmarks/bench_backtest.py          # ~1 min
    python benchmarks/bench_backtest.py --quick  # smaller, no 10M run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from typing import Any

from admf.bench import numpy_baseline, pipeline_seconds


def best_of(repeats: int, fn: Any) -> float:
    return min(fn() for _ in range(repeats))


# Peak RSS is read from VmHWM: the process's own high-water mark (getrusage's
# ru_maxrss keeps the parent's peak across fork and exec, so it would report
# this benchmark's own memory).
_CHILD = """
import sys, time
t0 = time.perf_counter()
import admf
from admf.bench import study
result = admf.run_sync(study({bars}, storage={storage!r}, results_dir={results!r}))
assert result.portfolios
elapsed = time.perf_counter() - t0
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(elapsed, peak / 1024)
"""


def child(bars: int, storage: str) -> tuple[float, float, float]:
    """(process wall seconds, in-process seconds, peak RSS MB) of a fresh process."""
    with tempfile.TemporaryDirectory() as results:
        code = _CHILD.format(bars=bars, storage=storage,
                             results=results)
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
    inner, rss = map(float, out.stdout.split())
    return wall, inner, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200_000 if args.quick else 1_000_000
    repeats = 3
    pipeline_seconds(50_000)  # warm caches and imports outside the timings
    numpy_baseline(50_000)
    pipe = best_of(repeats, lambda: pipeline_seconds(n))
    base = best_of(repeats, lambda: numpy_baseline(n))
    on_bar = best_of(repeats, lambda: pipeline_seconds(n, "admf.bench:SmaCrossOnBar"))
    process_100k = min(child(100_000, "memory")[0] for _ in range(repeats))
    _, _, rss_1m = child(1_000_000, "disk")
    rss_10m = child(10_000_000, "disk")[2] if not args.quick else float("nan")
    report = {
        "bars": n,
        "pipeline_bars_per_s": n / pipe,
        "numpy_baseline_bars_per_s": n / base,
        "ratio_vs_numpy": base / pipe,
        "on_bar_bars_per_s": n / on_bar,
        "process_seconds_100k": process_100k,
        "rss_mb_1m": rss_1m,
        "rss_mb_10m": rss_10m,
        "rss_ratio_10m_vs_1m": rss_10m / rss_1m,
    }
    targets = {
        "pipeline_bars_per_s >= 4e6": report["pipeline_bars_per_s"] >= 4e6,
        "ratio_vs_numpy >= 0.6": report["ratio_vs_numpy"] >= 0.6,
        "on_bar_bars_per_s >= 7.5e5": report["on_bar_bars_per_s"] >= 7.5e5,
        "process_seconds_100k < 1": process_100k < 1.0,
        "rss_mb_10m <= 1.2 x rss_mb_1m": rss_10m <= 1.2 * rss_1m if not args.quick else None,
    }
    report["targets_met"] = targets
    print(f"{'measure':<28}{'value':>16}")
    print("-" * 44)
    for key in ("pipeline_bars_per_s", "numpy_baseline_bars_per_s", "on_bar_bars_per_s"):
        print(f"{key:<28}{report[key]:>16,.0f}")
    print(f"{'ratio_vs_numpy':<28}{report['ratio_vs_numpy']:>16.2f}")
    print(f"{'process_seconds_100k':<28}{process_100k:>16.2f}")
    print(f"{'rss_mb_1m':<28}{rss_1m:>16.1f}")
    print(f"{'rss_mb_10m':<28}{rss_10m:>16.1f}")
    for name, met in targets.items():
        print(f"[{'MET ' if met else 'MISS' if met is not None else 'SKIP'}] {name}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
