"""Fixtures for the data-layer tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

HEADER = "timestamp,open,high,low,close,volume"


@pytest.fixture
def write_csv_text(tmp_path: Path) -> Callable[..., Path]:
    """Write ``rows`` (strings) under ``header`` to a CSV file in ``tmp_path``; return its path."""

    def write(rows: Iterable[str], *, header: str = HEADER, name: str = "bars.csv") -> Path:
        path = tmp_path / name
        path.write_text("\n".join([header, *rows]) + "\n")
        return path

    return write
