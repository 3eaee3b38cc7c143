"""docs/config.md is the schema's reference: checked in, and up to date.

The expected keys and defaults come from msgspec's own JSON schema of the
config structs, not from the generator."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from admf.research.config.reference import render
from admf.research.config.workflow import WorkflowConfig

PAGE = Path(__file__).resolve().parents[3] / "docs" / "config.md"


def test_the_checked_in_page_is_up_to_date() -> None:
    assert PAGE.read_text() == render(), "run `admf config-reference -o docs/config.md`"


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in PAGE.read_text().splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_key_of_every_section_has_a_type_default_and_doc() -> None:
    (_,), defs = msgspec.json.schema_components([WorkflowConfig])
    rows = _rows()
    for name, schema in defs.items():
        for key, prop in schema["properties"].items():
            found = [r for path, r in rows.items() if path == key or path.endswith(f".{key}")]
            assert found, f"{name}.{key} is not in docs/config.md"
            for row in found:
                assert row[1] and row[2] and row[3], f"{row[0]}: empty cell"
            if "default" in prop and prop["default"] is not None:
                default = prop["default"]
                shown = "empty" if not default and default is not False and default != 0 else \
                    f"`{json.dumps(default, separators=(',', ':'))}`"
                assert any(r[2] == shown for r in found), (name, key, shown, [r[2] for r in found])
            if key in schema.get("required", []):
                assert any(r[2] == "required" for r in found), (name, key)
