"""Fixtures shared by the integration tests."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from admf.runtime.registry import registry


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A fake distribution ``acme-admf 2.0`` whose ``admf.plugins`` entry point
    names a module (its source to be written by the test); the shared registry
    is restored afterwards."""
    module = f"acme_admf_{uuid.uuid4().hex[:10]}"
    info = tmp_path / "acme_admf-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-admf\nVersion: 2.0\n")
    (info / "entry_points.txt").write_text(f"[admf.plugins]\nacme = {module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = ({k: dict(v) for k, v in registry._kinds.items()}, dict(registry._where),
             registry._plugins_loaded, set(registry._loaded_entry_points))
    registry._plugins_loaded = False
    try:
        yield tmp_path / f"{module}.py", module
    finally:
        registry._kinds, registry._where = saved[0], saved[1]
        registry._plugins_loaded, registry._loaded_entry_points = saved[2], saved[3]
        sys.modules.pop(module, None)
