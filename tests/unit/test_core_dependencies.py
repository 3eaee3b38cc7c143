"""admf runs on its core dependencies alone (the README's first command
installs no extra): no module may need a package only the test extra or an
optional extra brings."""

from __future__ import annotations

import subprocess
import sys

EXTRAS_ONLY = ("trio", "sniffio", "pytest", "hypothesis", "psutil", "distributed", "dask",
               "pandas", "polars", "plotly", "playwright")

SCRIPT = f"""
import importlib, pkgutil, sys
for name in {EXTRAS_ONLY!r}:
    sys.modules[name] = None  # importing it now raises ImportError
import admf
for module in pkgutil.walk_packages(admf.__path__, "admf."):
    if module.name == "admf.__main__":
        continue
    importlib.import_module(module.name)
print("ok")
"""


def test_every_module_imports_without_the_extras() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
