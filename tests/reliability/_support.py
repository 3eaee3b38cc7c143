"""Helpers of the reliability tier: a small study written as YAML, and the
``admf`` command line run in this process (``admf.cli.main``) with its exit
status and stderr captured, so hundreds of bad-input cases stay cheap."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import yaml

from tests.integration._support import csv_study, random_walk, write_csv


def study(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """A small single-pass CSV study over ``tmp_path/X.csv`` (written here),
    results under ``tmp_path/results``; ``sections`` replace top-level keys."""
    if not (tmp_path / "X.csv").exists():
        write_csv(tmp_path / "X.csv", random_walk(200, seed=3))
    config = csv_study(tmp_path, tmp_path / "results", **sections)
    config["results"] = {"dir": str(tmp_path / "results"), "storage": "hybrid"}
    return config


def write_config(tmp_path: Path, config: dict[str, Any] | str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    return path


def cli(*argv: str | Path) -> tuple[int, str]:
    """``admf ARGV`` in this process: (exit status, stderr)."""
    from admf.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            status = int(exc.code or 0)
    return status, err.getvalue()


def manifests(root: Path) -> list[Path]:
    return sorted(root.glob("**/manifest.json"))
