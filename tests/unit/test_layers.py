"""The layer rules of DESIGN.md §1, as import-linter contracts (``pyproject.toml``).

The kernel (``runtime``) imports only itself, ``routes``, ``messages`` and
``errors``; ``routes`` only ``messages`` and ``errors``; ``components`` never
imports ``containers``, ``research`` or a surface; nothing below ``research``
imports it. The contracts run over grimp's import graph of the source.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import admf

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = {f"admf.{m.name}" for m in pkgutil.iter_modules(admf.__path__)} - {"admf.__main__"}
ONLY = {  # a forbidden contract's source -> what it may import
    "admf.runtime": {"admf.runtime", "admf.routes", "admf.messages", "admf.errors"},
    "admf.routes": {"admf.routes", "admf.messages", "admf.errors"},
}


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1"}
    return subprocess.run([str(tool), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_source_keeps_every_contract() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(_contracts())} kept, 0 broken" in done.stdout


def test_only_rules_forbid_every_other_top_level_module() -> None:
    """A module added at the top of ``admf`` is forbidden to the kernel and
    routes unless listed as allowed: the lists cannot silently go stale."""
    by_source = {tuple(c["source_modules"]): c for c in _contracts() if c["type"] == "forbidden"}
    for source, allowed in ONLY.items():
        forbidden = set(by_source[(source,)]["forbidden_modules"])
        assert forbidden == TOP_LEVEL - allowed, source


def test_every_top_level_module_sits_in_a_layer() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    assert placed == TOP_LEVEL


def test_a_kernel_import_of_research_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "admf", tmp_path / "admf",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    container = tmp_path / "admf" / "runtime" / "container.py"
    container.write_text(container.read_text() + "\nfrom ..research import study  # noqa\n")
    done = _lint(tmp_path)
    assert done.returncode == 1
    assert "admf.runtime.container -> admf.research.study" in done.stdout
    assert "BROKEN" in done.stdout
