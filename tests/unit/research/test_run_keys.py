"""Run keys: directory names for points, whatever their ids."""

from __future__ import annotations

from pathlib import Path

import admf
from admf.research.results.runs import RUN_KEY_CHARS, run_key


def test_short_ids_are_kept_as_written() -> None:
    assert run_key("SmaCrossover(fast=5,slow=30)") == "SmaCrossover_fast=5,slow=30"


def test_long_ids_are_cut_and_end_in_a_hash_of_the_whole_id() -> None:
    stem = "S(" + ",".join(f"a_long_parameter_name_{i}=1" for i in range(12))
    one, two = run_key(stem + ",x=1)"), run_key(stem + ",x=2)")
    assert len(one) == len(two) == RUN_KEY_CHARS
    assert one != two and one[:80] == two[:80]  # the same first characters, told apart
    assert run_key(stem + ",x=1)") == one       # deterministic
    assert len(("w012-train1-" + one).encode()) < 255


def test_a_sweep_over_points_with_long_ids_writes_and_resumes_its_runs(tmp_path: Path) -> None:
    # eight long parameter names: the point id is over 255 characters, which
    # was an OSError ("File name too long") reported as an internal error
    names = [f"parameter_with_a_rather_long_name_{i}" for i in range(8)]
    params: dict[str, object] = {n: i + 10 for i, n in enumerate(names)}
    params[names[0]] = [1, 2]
    config = {"name": "long", "data": {"source": "synthetic", "symbols": ["A"], "bars": 300,
                                       "timeframe": "1h"},
              "strategies": [{"type": "tests.reliability.bad_inputs_plugins.strategies:LongParams",
                              "params": params}],
              "sequence": {"type": "parameter_sweep"}, "executor": {"kind": "inline"},
              "results": {"dir": str(tmp_path / "results")}}
    result = admf.run_sync(config)
    runs = sorted(p.name for p in (result.path / "main" / "runs").iterdir())
    assert len(runs) == 2 and all(len(r) == RUN_KEY_CHARS for r in runs)
    assert sorted(int(str(r["parameter_with_a_rather_long_name_0"])) for r in result.runs.rows()) \
        == [1, 2]
    (result.path / "manifest.json").unlink()  # as if interrupted after both runs
    again = admf.run_sync(config, resume=result.path)
    assert sorted(p.name for p in (again.path / "main" / "runs").iterdir()) == runs
