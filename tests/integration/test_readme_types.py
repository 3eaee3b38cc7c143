"""The README's Python examples type-check under ``mypy --strict``: the result
API is typed, so a misspelt metric (``sharpe_ration``) is caught before it runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
         "--no-incremental", "--cache-dir", str(path.parent / ".mypy"), str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_each_readme_python_block_passes_mypy_strict(tmp_path: Path, index: int) -> None:
    pytest.importorskip("mypy")
    script = tmp_path / f"readme_{index}.py"
    script.write_text(_blocks()[index], encoding="utf-8")
    done = _mypy(script)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_misspelt_metric_is_a_type_error(tmp_path: Path) -> None:
    """The check above can fail: the same API used wrongly does not pass."""
    pytest.importorskip("mypy")
    script = tmp_path / "wrong.py"
    script.write_text("import admf\n\nresult = admf.run_sync('study.yaml')\n"
                      "x: float = result.metrics.sharpe_ration\n"
                      "y: str = result.runs['fast']\n", encoding="utf-8")
    done = _mypy(script)
    assert done.returncode != 0
    assert "sharpe_ration" in done.stdout
