"""Bars in: CSV reading throughput, the cost of handing bars in memory, and
resampling throughput.

What it measures (best of ``--repeat`` runs, wall clock):

* ``csv``: :func:`admf.data.iter_bars` over a CSV of ``--rows`` synthetic
  minute bars (every row parsed and checked), in rows/s; BARE is pyarrow's
  own streaming CSV reader of the same file with the same column types,
  the ceiling for admf's reader (``csv_ratio`` = admf / bare). With
  ``--baseline-ref REV`` the same measurement also runs on admf as of git
  revision ``REV`` (exported with ``git archive``, run in a subprocess), so
  today's reader is compared with an earlier one on the same file, machine
  and moment (``csv_vs_baseline`` = today / REV).
* ``memory``: one single-pass study (sma_crossover) over ``--memory-rows``
  bars given as a pandas DataFrame (``admf.run_sync(config, data=...)``)
  against the same study on the same bars from the synthetic source;
  ``memory_overhead_s`` is the difference (target <= 0.1 s at 1M rows).
* ``resample``: :func:`admf.data.resample.resample_bars` of the same minute
  bars (in memory, 65,536-row batches) to 1h, in input rows/s.

The last line printed is one JSON object. The exit code is 0 whether or not
targets are met: this is a measurement.

    python benchmarks/bench_data.py                  # 2M CSV rows, 1M in memory
    python benchmarks/bench_data.py --rows 10000000  # the issue's 10M rows (slow)
    python benchmarks/bench_data.py --baseline-ref e6e48fd^
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_CSV_SNIPPET = """
import sys, time
from admf.data import iter_bars
best = float("inf")
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    rows = sum(len(b) for b in iter_bars(sys.argv[1], symbol="X"))
    best = min(best, time.perf_counter() - t)
print(rows, best)
"""


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _bare_csv(path: Path) -> int:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {"timestamp": pa.string(), **{k: pa.float64() for k in ("open", "high", "low", "close", "volume")}}
    reader = pcsv.open_csv(str(path), convert_options=pcsv.ConvertOptions(column_types=types),
                           read_options=pcsv.ReadOptions(block_size=1 << 19))
    return sum(batch.num_rows for batch in reader)


def _baseline(path: Path, ref: str, repeat: int) -> float:
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(["git", "-C", str(root), "archive", ref, "admf"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        out = subprocess.run([sys.executable, "-c", _CSV_SNIPPET, str(path), str(repeat)], check=True,
                             capture_output=True, text=True, cwd=tree, env={"PYTHONPATH": tree}).stdout
    rows, seconds = out.split()
    return int(rows) / float(seconds)


def _csv(rows: int, repeat: int, ref: str | None, tmp: Path) -> dict[str, Any]:
    from admf.data import iter_bars, synthetic_bars, write_csv

    path = tmp / "X.csv"
    write_csv(path, synthetic_bars(symbol="X", bars=rows, seed=7))
    admf_s = _best(lambda: sum(len(b) for b in iter_bars(path, symbol="X")), repeat)
    bare_s = _best(lambda: _bare_csv(path), repeat)
    out = {"csv_rows": rows, "csv_rows_per_s": rows / admf_s, "bare_rows_per_s": rows / bare_s,
           "csv_ratio": bare_s / admf_s}
    if ref is not None:
        base = _baseline(path, ref, repeat)
        out.update(baseline_ref=ref, baseline_rows_per_s=base, csv_vs_baseline=out["csv_rows_per_s"] / base)
    return out


def _memory(rows: int, repeat: int, tmp: Path) -> dict[str, Any]:
    import pandas as pd

    import admf
    from admf.data import synthetic_bars

    batch = next(iter(synthetic_bars(symbol="X", bars=rows, seed=7, batch_rows=rows)))
    frame = pd.DataFrame({k: getattr(batch, k) for k in ("open", "high", "low", "close", "volume")},
                         index=pd.DatetimeIndex(batch.timestamp.view("datetime64[ns]")))

    def config(data: dict[str, Any]) -> dict[str, Any]:
        return {"name": "bench", "seed": 7, "data": {"symbols": ["X"], "timeframe": "1m", **data},
                "strategies": [{"type": "sma_crossover", "params": {"fast": 10, "slow": 30}}],
                "results": {"dir": str(tmp / "results"), "storage": "memory"}}

    synthetic = config({"source": "synthetic", "bars": rows})
    memory = config({})
    synthetic_s = _best(lambda: admf.run_sync(synthetic, write=False), repeat)
    memory_s = _best(lambda: admf.run_sync(memory, write=False, data={"X": frame}), repeat)
    return {"memory_rows": rows, "synthetic_study_s": synthetic_s, "memory_study_s": memory_s,
            "memory_overhead_s": memory_s - synthetic_s}


def _resample(rows: int, repeat: int) -> dict[str, Any]:
    from admf.data import synthetic_bars
    from admf.data.resample import Buckets, resample_bars

    batches = list(synthetic_bars(symbol="X", bars=rows, seed=7))
    buckets = Buckets(3_600_000_000_000)
    seconds = _best(lambda: sum(len(b) for b in resample_bars(batches, buckets, symbol="X",
                                                              base_ns=60_000_000_000)), repeat)
    return {"resample_rows": rows, "resample_rows_per_s": rows / seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="CSV rows")
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline-ref", default=None, help="a git revision to compare the CSV reader with")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = {**_csv(args.rows, args.repeat, args.baseline_ref, Path(tmp)),
                  **_memory(args.memory_rows, args.repeat, Path(tmp)),
                  **_resample(args.rows, args.repeat)}
    result["targets_met"] = {"memory_overhead_le_0.1s": result["memory_overhead_s"] <= 0.1,
                             **({"csv_not_slower_than_baseline": result["csv_vs_baseline"] >= 0.95}
                                if "csv_vs_baseline" in result else {})}
    for key, value in result.items():
        if isinstance(value, float):
            print(f"{key:>24}: {value:,.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
