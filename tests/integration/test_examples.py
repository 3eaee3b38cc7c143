"""Every example in examples/ runs as its comment says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from admf.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the examples package and generated data."""
    (tmp_path / "examples").symlink_to(EXAMPLES, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    subprocess.run([sys.executable, str(EXAMPLES / "make_data.py"), "--bars", "3000",
                    "--dir", str(tmp_path / "data")], check=True, capture_output=True)
    return tmp_path


@pytest.mark.parametrize("config", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_runs(workdir: Path, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", f"examples/{config}", "--no-progress",
                   "--set", "results.dir=out"] if "workflow" not in config
                  else ["run", f"examples/{config}", "--no-progress"])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "results: " in out.out
    assert list(workdir.glob("**/manifest.json"))
