"""Pool workers import the installed admf, never a folder named ``admf`` in
the working directory (issue 15, deliverable 10): a sweep run from a
directory holding a decoy ``admf`` package must still work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

import admf

ROOT = Path(admf.__file__).resolve().parents[1]


def sweep(tmp_path: Path) -> Path:
    config = {
        "name": "decoyed", "seed": 1,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 400,
                 "start": "2020-01-01"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5], "slow": [20, 30]}}],
        "sequence": {"type": "parameter_sweep"},
        "executor": {"kind": "processes", "workers": 2},
        "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_pool_sweep_ignores_an_admf_folder_in_the_working_directory(tmp_path: Path) -> None:
    decoy = tmp_path / "admf"
    decoy.mkdir()
    # a clone that imports fine but is not this admf (no patterns, no runtime)
    (decoy / "__init__.py").write_text("DECOY = True\n")
    (decoy / "research").mkdir()
    (decoy / "research" / "__init__.py").write_text("raise ImportError('the decoy admf')\n")
    path = sweep(tmp_path)
    script = Path(sys.executable).with_name("admf")  # the console script, as a user runs it
    argv = [str(script)] if script.exists() else [sys.executable, "-c",
                                                  "from admf.cli import main; raise SystemExit(main())"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if not script.exists():  # an uninstalled checkout: point at it, not at the cwd
        env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([*argv, "run", str(path), "--no-progress"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "decoy" not in done.stderr
    (run_dir,) = (tmp_path / "results").iterdir()
    assert (run_dir / "manifest.json").is_file()
    assert len(list(run_dir.glob("main/runs/*/metrics.json"))) == 4
