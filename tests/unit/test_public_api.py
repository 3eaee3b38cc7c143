"""The public surface of ``admf`` is exactly what ``__all__`` lists."""

from __future__ import annotations

import types

import admf

EXPECTED = {"AdmfError", "Config", "ConfigError", "ContainerError", "DataError", "PluginError",
            "Result", "Run", "Runtime", "StudyResult", "Table", "TopologyError", "WorkflowConfig", "load", "run", "run_sync"}


def test_all_is_exactly_the_public_surface() -> None:
    public = {name for name, value in vars(admf).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert set(admf.__all__) == EXPECTED
    assert public == EXPECTED
    assert isinstance(admf.__all__, tuple)


def test_every_public_name_is_documented() -> None:
    undocumented = [name for name in admf.__all__ if not (getattr(admf, name).__doc__ or "").strip()]
    assert undocumented == []
