"""What a run read: every input file's sha256, recorded when the run starts.

``inputs.json`` is written into a run directory before anything runs (before
``config.yaml``, so every resumable directory has it)::

    {"data_digest": "<sha256 over every file, as the manifest records it>",
     "files": [{"symbol": "SPY", "path": "data/SPY.csv", "sha256": "...",
                "size": 123, "mtime_ns": ...}, ...]}

A resume compares the data as it is now with this record and refuses a
change, naming the file (or the ``data=`` frame) that changed: resuming would
otherwise mix runs on the old data with runs on the new one under a manifest
that vouches for neither. The manifest's ``data_digest`` is taken from the
record, after a check (by size and modification time, re-hashing only a file
that looks touched) that the data did not change while the run read it.

In-memory data (``admf.run(config, data=...)``) is staged as Arrow files in
a fresh temporary directory per run (:mod:`admf.research.inmemory`), so its
paths differ between a run and its resume; its files are compared by symbol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from ...errors import ConfigError, DataError
from ..config import StudyConfig
from ._files import read_json

__all__ = ("INPUTS", "STAGING_PREFIX", "is_staged", "record_inputs", "check_unchanged",
           "check_still_same")

INPUTS = "inputs.json"
STAGING_PREFIX = "admf-data-"
"""Name prefix of the temporary directory ``data=`` frames are staged in."""


def is_staged(path_template: str | None) -> bool:
    """Whether ``data.path`` points at ``data=`` frames staged by this process
    (or, for a saved config, by the process that ran it)."""
    return bool(path_template) and Path(str(path_template)).parent.name.startswith(STAGING_PREFIX)


def _studies(config: Any) -> list[StudyConfig]:
    return [config] if isinstance(config, StudyConfig) else list(getattr(config, "phases", []))


def _input_files(config: Any) -> list[tuple[str, Path, bool]]:
    """(symbol, file, staged) of every input file of every study, first study
    first, each file once. A Parquet dataset partitioned by symbol is a
    directory: its files in order."""
    out: list[tuple[str, Path, bool]] = []
    seen: set[Path] = set()
    for study in _studies(config):
        data = study.data
        if data.source == "synthetic":
            continue
        staged = is_staged(data.path)
        for symbol in data.symbols:
            path = Path(data.path_for(symbol))
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                if file not in seen:
                    seen.add(file)
                    out.append((symbol, file, staged))
    return out


def _sha256(path: Path, also: Sequence[Any] = ()) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                for other in also:
                    other.update(block)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data file: {exc.strerror or exc}") from None
    return digest.hexdigest()


def record_inputs(config: Any) -> dict[str, Any]:
    """The record of ``config``'s input files (see the module docstring);
    ``data_digest`` equals :func:`admf.research.results.runs.data_digest` of
    the first study, computed in the same pass over the bytes."""
    from .runs import data_digest

    studies = _studies(config)
    first = {f for _, f, _ in _input_files(studies[0])} if studies else set()
    combined = hashlib.sha256()
    data = studies[0].data if studies else None
    if data is not None and data.resample is not None:  # as data_digest hashes it
        combined.update(msgspec.json.encode(["resample", data.resample, data.resample_label,
                                             data.calendar, data.tz]))
    files = []
    for symbol, file, staged in _input_files(config):
        try:
            stat = file.stat()
            sha = _sha256(file, [combined] if file in first else [])
        except (OSError, DataError):
            continue  # missing or unreadable: the reader names it, with the symbol
        files.append({"symbol": symbol, "path": file.as_posix(), "staged": staged,
                      "sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    if not studies:
        digest = None
    elif studies[0].data.source == "synthetic" or len(first) != _file_count(studies[0]):
        digest = data_digest(studies[0])  # synthetic, or files shared by symbols: hash as it does
    else:
        digest = combined.hexdigest()
    return {"data_digest": digest, "files": files}


def _file_count(study: StudyConfig) -> int:
    """How many (symbol, file) pairs :func:`data_digest` reads, shared files counted again."""
    count = 0
    for symbol in study.data.symbols:
        path = Path(study.data.path_for(symbol))
        count += sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else 1
    return count


def _where(entry: dict[str, Any]) -> str:
    if entry.get("staged"):
        return f"data[{entry['symbol']!r}] (the frame given as data=)"
    return f"{entry['path']} (symbol {entry['symbol']})"


def check_unchanged(run_dir: Path, config: Any) -> dict[str, Any]:
    """Refuse to resume ``run_dir`` when ``config``'s data differs from what
    the interrupted run recorded in ``inputs.json``: a :class:`DataError`
    naming the file (or frame) that changed. Returns the record of the data
    as it is now (the same bytes; for ``data=`` frames, new paths)."""
    path = run_dir / INPUTS
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no {INPUTS}: its run did not record the data it "
                          f"read, so a resume cannot check that the data is unchanged; run "
                          f"the study again instead")
    current = record_inputs(config)
    before = _by_symbol(read_json(path).get("files", []))
    now = _by_symbol(current["files"])
    for symbol in sorted(set(before) | set(now)):
        old, new = before.get(symbol, []), now.get(symbol, [])
        if len(old) != len(new):
            raise DataError(f"cannot resume {run_dir}: the data of symbol {symbol!r} changed "
                            f"since the interrupted run: {_where((new or old)[0])} now has "
                            f"{len(new)} file(s), it had {len(old)}; run the study again")
        for was, entry in zip(old, new, strict=True):
            if entry["sha256"] != was["sha256"]:
                raise DataError(
                    f"cannot resume {run_dir}: {_where(entry)} changed since the interrupted "
                    f"run (sha256 {was['sha256'][:12]}... then, {entry['sha256'][:12]}... now); "
                    f"resuming would mix runs on the old and the new data: restore it, or run "
                    f"the study again")
    return current


def _by_symbol(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        out.setdefault(str(entry["symbol"]), []).append(entry)
    return out


def check_still_same(run_dir: Path) -> str | None:
    """The recorded ``data_digest``, after checking that no input file changed
    while the run read it (a file whose size or modification time moved is
    re-hashed); a change is a :class:`DataError` naming the file."""
    path = run_dir / INPUTS
    if not path.is_file():
        return None
    record = read_json(path)
    for entry in record.get("files", []):
        file = Path(entry["path"])
        try:
            stat = file.stat()
        except OSError:
            if entry.get("staged"):  # a staged frame outlived by a resumed run's record
                continue
            raise DataError(f"{_where(entry)} disappeared while the run read it; "
                            f"the results are not written as complete") from None
        if (stat.st_size, stat.st_mtime_ns) == (entry["size"], entry["mtime_ns"]):
            continue
        if _sha256(file) != entry["sha256"]:
            raise DataError(f"{_where(entry)} changed while the run read it; the results "
                            f"mix old and new data and are not written as complete: run the "
                            f"study again")
    digest = record.get("data_digest")
    return str(digest) if digest is not None else None
