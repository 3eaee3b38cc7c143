"""Traces: what happened in a run, as queryable events.

An :class:`EventStore` appends events (plain mappings with a ``kind``) to a
JSON-lines or msgpack file — or keeps them in memory — up to ``max_events``,
counting what it had to drop. A :class:`Tracer` is an instrument
(:mod:`admf.runtime.instrument`) that records a run at a level per container:

- ``none``: nothing;
- ``minimal``: lifecycle stages (entered, exited, seconds, error) and each
  route's statistics at the end;
- ``normal``: also one event per message a container sends (type, event
  time, rows);
- ``debug``: also a summary of each message's fields (arrays as rows, first
  and last value) and the container's own ``trace`` events (a portfolio's
  fills per frame, say).

Per-container levels and caps come from ``tracing.containers``, matched by
glob pattern on container names (the last matching pattern wins). The hot
path pays nothing for containers traced below ``normal``: their ports are
not wrapped. Read a trace back with :func:`read_events` / :func:`query`.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from ..errors import DataError
from .instrument import Instrument

__all__ = ("LEVELS", "EventStore", "Tracer", "read_events", "query", "summarize")

LEVELS = {"none": 0, "minimal": 1, "normal": 2, "debug": 3}
FORMATS = ("jsonl", "msgpack")


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise NotImplementedError(f"cannot encode {type(obj).__name__} in a trace")


class EventStore:
    """Append-only events, to ``path`` (JSON lines, or msgpack by suffix or
    ``fmt``) or, with no path, to :attr:`events` in memory."""

    def __init__(self, path: Path | str | None = None, *, fmt: str | None = None,
                 max_events: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.format = fmt or (self.path.suffix.lstrip(".") if self.path else "jsonl")
        if self.format not in FORMATS:
            raise ValueError(f"trace format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        self.max_events = max_events
        self.count = 0
        self.dropped = 0
        self._memory: list[bytes] = []
        self._encoder = (msgspec.json.Encoder(enc_hook=_plain) if self.format == "jsonl"
                         else msgspec.msgpack.Encoder(enc_hook=_plain))
        self._file = self.path.open("ab") if self.path is not None else None
        self._closed = False

    def append(self, kind: str, **fields: Any) -> bool:
        """Record one event; False (and counted as dropped) past ``max_events``."""
        if self.max_events is not None and self.count >= self.max_events:
            self.dropped += 1
            return False
        event = {"seq": self.count, "kind": kind, **fields}
        self.count += 1
        if self._file is None:
            self._memory.append(self._encoder.encode(event))
        elif self.format == "jsonl":
            self._file.write(self._encoder.encode(event) + b"\n")
        else:
            data = self._encoder.encode(event)
            self._file.write(len(data).to_bytes(4, "little") + data)
        return True

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events recorded so far, decoded as a trace file would give them
        (so NaN comes back as None either way)."""
        if self._file is not None:
            if not self._file.closed:
                self._file.flush()
            return list(read_events(self.path, fmt=self.format))  # type: ignore[arg-type]
        decode = (msgspec.json.decode if self.format == "jsonl" else msgspec.msgpack.decode)
        return [decode(raw) for raw in self._memory]

    def close(self) -> None:
        """Record a closing ``trace_end`` event (with the dropped count) and
        close the file, if any (idempotent)."""
        if self._closed:
            return
        self.max_events = None
        self.append("trace_end", dropped=self.dropped)
        self._closed = True
        if self._file is not None:
            self._file.close()


def read_events(path: Path | str, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """The events of a trace file, in order (format by ``fmt``, else by suffix)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read trace {path}: {exc}") from exc
    if (fmt or path.suffix.lstrip(".")) == "msgpack":
        decoder = msgspec.msgpack.Decoder()
        offset = 0
        while offset < len(data):
            size = int.from_bytes(data[offset:offset + 4], "little")
            yield decoder.decode(data[offset + 4:offset + 4 + size])
            offset += 4 + size
        return
    decoder_json = msgspec.json.Decoder()
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            try:
                yield decoder_json.decode(line)
            except msgspec.DecodeError as exc:
                raise DataError(f"{path}: line {number}: not a trace event: {exc}") from exc


def query(source: Path | str | EventStore, kind: str | None = None,
          **match: Any) -> list[dict[str, Any]]:
    """Events of ``kind`` (any if None) whose fields equal ``match``."""
    events = source.events if isinstance(source, EventStore) else read_events(source)
    return [e for e in events
            if (kind is None or e.get("kind") == kind)
            and all(e.get(k) == v for k, v in match.items())]


def summarize(message: Any, depth: int = 0) -> Any:
    """A message's fields with arrays reduced to rows, first and last value."""
    if isinstance(message, np.ndarray):
        return {"rows": len(message), "first": message[0] if len(message) else None,
                "last": message[-1] if len(message) else None}
    if isinstance(message, msgspec.Struct) and depth < 2:
        out = {"type": type(message).__name__}
        for name in message.__struct_fields__:
            out[name] = summarize(getattr(message, name), depth + 1)
        return out
    if isinstance(message, msgspec.Struct):
        return type(message).__name__
    return message


class Tracer(Instrument):
    """Records a run into an :class:`EventStore` (see the module docstring).

    ``containers`` maps glob patterns to ``{"level": ..., "max_events": ...}``.
    """

    def __init__(self, store: EventStore, *, level: str = "minimal",
                 containers: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.store = store
        self.level = LEVELS[level]
        self.rules = [(pattern, dict(rule)) for pattern, rule in (containers or {}).items()]
        self._entered: dict[tuple[str, str], float] = {}
        self._by_container: dict[str, tuple[int, int | None]] = {}
        self._counts: dict[str, int] = {}

    def level_of(self, container: str) -> int:
        """The tracing level of ``container`` (the last matching rule wins)."""
        return self._settings(container)[0]

    def _cap_of(self, container: str) -> int | None:
        return self._settings(container)[1]

    def _settings(self, container: str) -> tuple[int, int | None]:
        """(level, cap) of ``container``, matched once per container name."""
        known = self._by_container.get(container)
        if known is not None:
            return known
        level, cap = self.level, None
        for pattern, rule in self.rules:
            if fnmatch.fnmatchcase(container, pattern):
                if rule.get("level") is not None:
                    level = LEVELS[rule["level"]]
                if rule.get("max_events") is not None:
                    cap = rule["max_events"]
        self._by_container[container] = (level, cap)
        return level, cap

    def record(self, container: str, kind: str, **fields: Any) -> None:
        """One event from ``container``, within its own cap if it has one."""
        cap = self._cap_of(container)
        seen = self._counts.get(container, 0)
        if cap is not None and seen >= cap:
            self.store.dropped += 1
            return
        if self.store.append(kind, container=container, **fields):
            self._counts[container] = seen + 1

    def run_started(self, topology: Any) -> None:
        if self.level or self.rules:
            self.store.append("run_started", topology=topology.name,
                              containers=list(topology.containers))
        for container in topology.containers.values():
            level = self.level_of(container.name)
            if level >= LEVELS["normal"]:
                for port in container.outputs.values():
                    self._wrap(container.name, port, level)
            if level >= LEVELS["debug"]:
                container.tracer = self

    def _wrap(self, owner: str, port: Any, level: int) -> None:
        send, send_nowait = port.send, port.send_nowait
        debug = level >= LEVELS["debug"]

        def note(message: Any) -> None:
            fields: dict[str, Any] = {"port": port.name, "type": type(message).__name__,
                                      "ts": getattr(message, "ts", None)}
            if hasattr(message, "__len__"):
                fields["rows"] = len(message)
            if debug:
                fields["message"] = summarize(message)
            self.record(owner, "message", **fields)

        async def traced_send(message: Any) -> None:
            note(message)
            await send(message)

        def traced_send_nowait(message: Any) -> None:
            send_nowait(message)  # raises WouldBlock before anything is recorded
            note(message)

        port.send, port.send_nowait = traced_send, traced_send_nowait

    def stage_entered(self, container: Any, stage: str) -> None:
        self._entered[(container.name, stage)] = time.perf_counter()
        if self.level_of(container.name) >= LEVELS["minimal"]:
            self.record(container.name, "stage_entered", stage=stage)

    def stage_exited(self, container: Any, stage: str, error: BaseException | None) -> None:
        began = self._entered.pop((container.name, stage), time.perf_counter())
        if self.level_of(container.name) >= LEVELS["minimal"]:
            self.record(container.name, "stage_exited", stage=stage,
                        seconds=time.perf_counter() - began,
                        error=f"{type(error).__name__}: {error}" if error else None)

    def run_finished(self, topology: Any, error: BaseException | None) -> None:
        if not (self.level or self.rules):
            return
        for route in topology.routes:
            self.store.append("route", route=route.name, kind_of_route=route.kind,
                              **route.statistics()._asdict())
        self.store.append("run_finished", topology=topology.name,
                          error=f"{type(error).__name__}: {error}" if error else None)
