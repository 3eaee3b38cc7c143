"""``admf.run(config, data={"SPY": df})``: a study over bars held in memory.

The frames are staged as Arrow IPC files in a fresh temporary directory
(see :mod:`admf.data.memory`) and the config's ``data`` section is pointed
at them (``source: arrow``, ``path: <staging>/{symbol}.arrow``); ``data.symbols``
defaults to the frames' keys. Everything downstream — every executor, every
sequence type, the data digest — then reads files as it always does, so a
process-pool worker sees exactly the bytes the parent staged. The directory
is removed when the run ends.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..data.memory import stage_frames
from ..errors import ConfigError
from ..runtime.yaml_limits import safe_load
from .config import StudyConfig, to_dict
from .config.trading import SYNTHETIC_DEFAULTS

__all__ = ("with_frames",)


def _raw(config: Any) -> dict[str, Any]:
    if isinstance(config, StudyConfig):
        raw = to_dict(config)
        if raw["data"].get("source") == "synthetic":  # its filled-in defaults do not apply
            for key in SYNTHETIC_DEFAULTS:
                raw["data"].pop(key, None)
        return raw
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config))
    path = Path(config)
    try:
        raw = safe_load(path.read_text(), str(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections")
    raw.setdefault("name", path.stem)
    return raw


@contextmanager
def with_frames(config: Any, data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """``config`` as a dict whose ``data`` reads the staged ``data`` frames."""
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise ConfigError(f"data= expects {{symbol: frame}}, got {type(data).__name__}")
    raw = _raw(config)
    section = dict(raw.get("data") or {})
    if section.get("path") is not None:
        raise ConfigError(f"data.path is {section['path']!r} and data= holds frames; give one or the other")
    if section.get("source", "synthetic") not in ("synthetic", "arrow"):
        raise ConfigError(f"data.source is {section['source']!r} and data= holds frames; remove data.source")
    symbols = list(section.get("symbols") or data)
    missing = [s for s in symbols if s not in data]
    if missing:
        raise ConfigError(f"data.symbols lists {missing} but data= has no frames for them; it has {list(data)}")
    directory = Path(tempfile.mkdtemp(prefix="admf-data-"))
    try:
        section["path"] = stage_frames({s: data[s] for s in symbols}, directory,
                                       columns=section.get("columns"),
                                       adjust=section.get("adjust", "none") == "ohlc")
        section.update(source="arrow", symbols=symbols)
        raw["data"] = section
        yield raw
    finally:
        shutil.rmtree(directory, ignore_errors=True)
