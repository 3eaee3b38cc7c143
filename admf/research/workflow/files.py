"""A workflow's ``inputs:`` read from files and ``outputs:`` written to them.

An input is a value from before the workflow: a JSON or YAML file holds
one value (say the ``best`` strategy an earlier workflow published), a
Parquet file a table, read as a list of rows. Templates read it by its
name like a phase's outputs (``strategies: "{prior.best}"``).

An output is a template rendered once the phase (or, for the workflow's,
every phase) has run; with ``file`` it is also written: JSON for any value
(NaN as null), Parquet for a table (a list of rows with the same keys, or a
mapping of columns). A phase's files go to ``<run>/<phase>/outputs/``, the
workflow's to ``<run>/outputs/``, before the manifest, so the manifest
lists and hashes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ...errors import ConfigError
from ...runtime.yaml_limits import safe_load
from ..config.workflow import OutputConfig, WorkflowConfig
from ..expressions import render_template
from ..results._files import _write_atomic, encode_json
from ..results.store import ResultStore

__all__ = ("read_inputs", "render_output", "write_output", "is_table", "NOT_A_TABLE")

NOT_A_TABLE = ("a .parquet output holds a table (a list of rows such as '{explore.table}', "
               "or a mapping of columns)")


def read_inputs(workflow: WorkflowConfig) -> dict[str, Any]:
    """Every input's value, by name; a missing or unreadable file is a
    ConfigError naming ``inputs.<name>`` and the file."""
    return {name: _read(name, Path(path)) for name, path in workflow.inputs.items()}


def _read(name: str, path: Path) -> Any:
    where = f"inputs.{name}: {path}"
    if not path.exists():
        raise ConfigError(f"{where}: file not found")
    if not path.is_file():
        raise ConfigError(f"{where}: not a file")
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path).to_pylist()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            return msgspec.json.decode(text)
        return safe_load(text, str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read it: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except pa.ArrowException as exc:
        raise ConfigError(f"{where}: not a readable Parquet file: {exc}") from None


def render_output(where: str, spec: OutputConfig, context: Mapping[str, Any]) -> Any:
    """The output's value from ``context`` (phase outputs and inputs)."""
    try:
        return _plain(render_template(spec.value, context))
    except ConfigError as exc:
        raise ConfigError(f"{where}.value: {exc}") from None


def _plain(value: Any) -> Any:
    """Builtins only (a template may render to a Struct such as a strategy)."""
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    return value


def write_output(store: ResultStore, folder: str, where: str, spec: OutputConfig,
                 value: Any) -> Path:
    """Write ``value`` to ``<run>/<folder>/outputs/<spec.file>`` (atomically)."""
    assert spec.file is not None
    path = store.path / folder / "outputs" / spec.file if folder else \
        store.path / "outputs" / spec.file
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec.file.endswith(".parquet"):
        table = _table(where, value)
        _write_atomic(path, lambda tmp: pq.write_table(table, tmp), fsync=store.fsync)
    else:
        data = encode_json(value)
        _write_atomic(path, lambda tmp: tmp.write_bytes(data), fsync=store.fsync)
    return path


def is_table(value: Any) -> bool:
    """A list of rows (mappings) or a mapping of columns (lists)."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(r, Mapping) for r in value)
    return isinstance(value, Mapping) and bool(value) and \
        all(isinstance(v, list) for v in value.values())


def _table(where: str, value: Any) -> pa.Table:
    if not is_table(value):
        raise ConfigError(f"{where}.file: {NOT_A_TABLE}; the value is a "
                          f"{type(value).__name__}: write it to a .json file")
    try:
        if isinstance(value, list):
            return pa.Table.from_pylist([dict(r) for r in value])
        return pa.Table.from_pydict(dict(value))
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}.file: the value is not a table Parquet can hold: {exc}") \
            from None
