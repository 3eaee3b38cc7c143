"""Tracing (DESIGN.md §7, CONFIG.md ``tracing``): levels, per-container
settings by name pattern, caps, formats, queries, and the hot path.

Every study here runs the built-in ``backtest`` topology over two synthetic
symbols in 500-row batches with a two-point grid, so the containers are
``source_AAA``, ``source_BBB``, ``strategies``, ``portfolio_0`` and
``portfolio_1``, each source sends ``BARS / BATCH`` batches and the strategy
bank one signal batch per point and bar batch. The expected counts come from
that arithmetic and from the run's own :class:`RunResult` (captured by a spy
on ``admf.research.study.run_topology``), not from the tracer.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import msgspec
import numpy as np
import pytest

import admf
import admf.research.study
from admf.errors import DataError, StrategyError
from admf.research.study import build_backtest, strategy_points, tracer_for
from admf.runtime.instrument import Instrument
from admf.runtime.sequencer import RunResult, run_topology
from admf.runtime.tracing import EventStore, Tracer, query, read_events

BARS = 3000
BATCH = 500
SYMBOLS = ("AAA", "BBB")
STAGES = ("initialize", "start", "execute", "collect", "stop", "cleanup")
SOURCES = tuple(f"source_{s}" for s in SYMBOLS)
PORTFOLIOS = ("portfolio_0", "portfolio_1")
CONTAINERS = (*SOURCES, "strategies", *PORTFOLIOS)
BATCHES = math.ceil(BARS / BATCH)  # per source
TIMING = ("seconds", "blocked_seconds")  # wall-clock fields: differ between runs


def study(tmp_path: Path, tracing: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "traced",
        "seed": 11,
        "data": {"source": "synthetic", "symbols": list(SYMBOLS), "timeframe": "1h",
                 "bars": BARS, "start": "2020-01-01", "batch_rows": BATCH},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": 20},
                        "direction": "long_short"}],
        "portfolio": {"initial_cash": 100_000, "close_at_end": True,
                      "sizing": {"type": "percent_equity", "percent": 40}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005}},
        "risk": {"stop_loss": 0.02},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }
    if tracing is not None:
        config["tracing"] = tracing
    config.update(sections)
    return config


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[RunResult]:
    """Every RunResult the studies of a test produce."""
    seen: list[RunResult] = []
    real = admf.research.study.run_topology

    async def spy(topology: Any, *, instruments: Any = ()) -> RunResult:
        result = await real(topology, instruments=instruments)
        seen.append(result)
        return result

    monkeypatch.setattr(admf.research.study, "run_topology", spy)
    return seen


def trace_file(result: Any) -> Path:
    files = sorted((Path(result.path) / "main" / "trace").iterdir())
    assert len(files) == 1, files
    return files[0]


def events_of(result: Any) -> list[dict[str, Any]]:
    return list(read_events(trace_file(result)))


def of(events: list[dict[str, Any]], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())]


def route_stats(outcome: RunResult) -> dict[str, dict[str, Any]]:
    return {name: stats._asdict() for name, stats in outcome.routes.items()}


def sent_by_kind(outcome: RunResult) -> dict[str, int]:
    """Messages sent on each route of the backtest, by route kind."""
    return {name.split(":")[0]: stats.sent for name, stats in outcome.routes.items()}


def canonical(events: list[dict[str, Any]]) -> Counter[str]:
    """The events as a multiset, without sequence numbers and wall-clock
    fields (concurrent containers interleave differently from run to run)."""
    return Counter(json.dumps({k: v for k, v in e.items() if k not in ("seq", *TIMING)},
                              sort_keys=True) for e in events)


# -- levels ----------------------------------------------------------------------------


@pytest.mark.parametrize("tracing", [
    None,
    {"level": "none"},
    {"level": "none", "containers": {"portfolio_*": {"level": "none", "max_events": 5}}},
])
def test_level_none_writes_no_trace(tmp_path: Path, tracing: dict[str, Any] | None) -> None:
    result = admf.run_sync(study(tmp_path, tracing))
    assert (result.path / "manifest.json").is_file()
    assert not [p for p in result.path.rglob("*") if p.name == "trace"]
    assert not [p for p in result.path.rglob("*") if p.suffix in (".jsonl", ".msgpack")]
    assert tracer_for(admf.load(study(tmp_path, tracing)), result.path / "x") is None


def test_minimal_records_every_stage_of_every_container_and_each_route(
        tmp_path: Path, outcomes: list[RunResult]) -> None:
    result = admf.run_sync(study(tmp_path, {"level": "minimal"}))
    events = events_of(result)
    (outcome,) = outcomes

    # 6 stages x 5 containers, entered and exited, in lifecycle order per container
    assert len(of(events, "stage_entered")) == len(of(events, "stage_exited")) == 6 * 5
    for name in CONTAINERS:
        mine = [(e["kind"], e["stage"]) for e in events
                if e.get("container") == name and e["kind"].startswith("stage_")]
        assert mine == [(k, s) for s in STAGES for k in ("stage_entered", "stage_exited")], name
        for exited in of(events, "stage_exited", container=name):
            assert exited["error"] is None and exited["seconds"] >= 0
    (started,) = of(events, "run_started")
    assert started["topology"] == "traced" and started["containers"] == list(CONTAINERS)
    (finished,) = of(events, "run_finished")
    assert finished["error"] is None
    # one route event per route, with exactly the run's own statistics
    routes = {e["route"]: {k: v for k, v in e.items() if k not in ("seq", "kind", "route",
                                                                   "kind_of_route")}
              for e in of(events, "route")}
    assert routes == route_stats(outcome)
    assert {e["kind_of_route"] for e in of(events, "route")} == {"merge", "partition"}
    assert sent_by_kind(outcome) == {"merge": 2 * BATCHES, "partition": 2 * 2 * BATCHES}
    # nothing of the higher levels, and exactly these events
    assert not of(events, "message") and not of(events, "frame")
    assert events[0]["kind"] == "run_started" and events[-1] == {
        "seq": len(events) - 1, "kind": "trace_end", "dropped": 0}
    assert len(events) == 1 + 60 + 2 + 1 + 1
    assert [e["seq"] for e in events] == list(range(len(events)))


def test_normal_adds_one_message_event_per_message_sent(
        tmp_path: Path, outcomes: list[RunResult]) -> None:
    result = admf.run_sync(study(tmp_path, {"level": "normal"}))
    events = events_of(result)
    (outcome,) = outcomes
    sent = sent_by_kind(outcome)

    messages = of(events, "message")
    assert len(messages) == sum(sent.values())
    from_sources = [e for e in messages if e["container"] in SOURCES]
    assert len(from_sources) == sent["merge"] == 2 * BATCHES
    for source in SOURCES:
        mine = of(messages, "message", container=source)
        assert len(mine) == BATCHES
        assert {(e["port"], e["type"]) for e in mine} == {("bars", "BarBatch")}
        assert sum(e["rows"] for e in mine) == BARS
        assert [e["ts"] for e in mine] == sorted(e["ts"] for e in mine)
    signals = of(messages, "message", container="strategies")
    assert len(signals) == sent["partition"] == 2 * 2 * BATCHES
    assert {(e["port"], e["type"]) for e in signals} == {("signals", "SignalBatch")}
    assert all("message" not in e for e in messages)  # summaries are debug only
    assert not of(events, "frame")
    assert len(of(events, "stage_entered")) == 30


def test_debug_adds_message_summaries_and_the_portfolios_frames(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, {"level": "debug"}))
    events = events_of(result)

    messages = of(events, "message")
    assert len(messages) == 2 * BATCHES + 2 * 2 * BATCHES
    for event in messages:
        summary = event["message"]
        assert summary["type"] == event["type"] and summary["ts"] == event["ts"]
    bars = of(messages, "message", container="source_AAA")[0]["message"]
    assert bars["symbol"] == "AAA" and bars["close"]["rows"] == BATCH
    assert bars["timestamp"]["first"] == bars["ts"]
    signal = of(messages, "message", container="strategies")[0]["message"]
    assert signal["target"]["rows"] == BATCH and signal["bars"]["type"] == "BarBatch"

    assert {e["container"] for e in of(events, "frame")} == set(PORTFOLIOS)
    for index, (pid, portfolio) in enumerate(result.portfolios.items()):
        frames = of(events, "frame", container=f"portfolio_{index}")
        assert portfolio.fills > 0
        assert sum(f["fills"] for f in frames) == portfolio.fills, pid
        assert sum(f["rows"] for f in frames) == len(portfolio.equity["timestamp"]) == BARS
        assert frames[-1]["equity"] == pytest.approx(portfolio.final_equity)


# -- per-container settings --------------------------------------------------------------


def test_per_container_levels_apply_only_to_matching_containers(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, {
        "level": "minimal",
        "containers": {"portfolio_*": {"level": "debug"}, "source_*": {"level": "normal"},
                       "source_B*": {"level": "minimal"}, "strategies": {"level": "none"}}}))
    events = events_of(result)
    # the last matching pattern wins: source_BBB is back to minimal
    assert {e["container"] for e in of(events, "message")} == {"source_AAA"}
    assert len(of(events, "message")) == BATCHES
    assert all("message" not in e for e in of(events, "message"))  # normal, not debug
    assert {e["container"] for e in of(events, "frame")} == set(PORTFOLIOS)
    staged = Counter(e["container"] for e in of(events, "stage_exited"))
    assert staged == {name: 6 for name in CONTAINERS if name != "strategies"}


def test_the_later_of_two_matching_patterns_wins(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, {
        "level": "minimal",
        "containers": {"source_B*": {"level": "minimal"}, "source_*": {"level": "normal"}}}))
    messages = of(events_of(result), "message")
    assert Counter(e["container"] for e in messages) == {s: BATCHES for s in SOURCES}


def test_a_per_container_pattern_alone_turns_tracing_on(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, {"containers": {"portfolio_1": {"level": "debug"}}}))
    events = events_of(result)
    assert {e.get("container") for e in events if "container" in e} == {"portfolio_1"}
    assert of(events, "frame") and len(of(events, "stage_exited")) == 6


def test_a_per_container_cap_limits_only_that_container(
        tmp_path: Path, outcomes: list[RunResult]) -> None:
    cap = 3
    result = admf.run_sync(study(tmp_path, {
        "level": "normal", "containers": {"source_*": {"max_events": cap}}}))
    events = events_of(result)
    (outcome,) = outcomes
    per = Counter(e.get("container") for e in events)
    for source in SOURCES:
        assert per[source] == cap
        assert [e["kind"] for e in events if e.get("container") == source] == [
            "stage_entered", "stage_exited", "stage_entered"]  # the first three, in order
    assert per["strategies"] == 12 + sent_by_kind(outcome)["partition"]
    assert per["portfolio_0"] == per["portfolio_1"] == 12
    uncapped = 12 + BATCHES  # stage events + messages of one source
    assert events[-1]["kind"] == "trace_end"
    assert events[-1]["dropped"] == 2 * (uncapped - cap)


def test_global_max_events_caps_everything_and_trace_end_counts_the_rest(tmp_path: Path) -> None:
    full = events_of(admf.run_sync(study(tmp_path, {"level": "normal"})))
    assert full[-1] == {"seq": len(full) - 1, "kind": "trace_end", "dropped": 0}
    capped = events_of(admf.run_sync(study(tmp_path, {"level": "normal", "max_events": 10})))
    assert len(capped) == 10 + 1
    assert [e["seq"] for e in capped] == list(range(11))
    assert capped[0]["kind"] == "run_started"
    assert capped[-1] == {"seq": 10, "kind": "trace_end", "dropped": (len(full) - 1) - 10}


# -- formats, stores and queries ---------------------------------------------------------


def test_a_msgpack_trace_reads_back_like_the_jsonl_one(tmp_path: Path) -> None:
    as_json = admf.run_sync(study(tmp_path, {"level": "debug"}))
    as_msgpack = admf.run_sync(study(tmp_path, {"level": "debug", "format": "msgpack"}))
    json_file, msgpack_file = trace_file(as_json), trace_file(as_msgpack)
    assert (json_file.name, msgpack_file.name) == ("events.jsonl", "events.msgpack")
    with pytest.raises(UnicodeDecodeError):
        msgpack_file.read_text(encoding="utf-8")  # really binary, not JSON text
    json_events, msgpack_events = list(read_events(json_file)), list(read_events(msgpack_file))
    assert len(msgpack_events) == len(json_events) > 100
    assert canonical(msgpack_events) == canonical(json_events)
    assert msgpack_events[-1] == json_events[-1] == {
        "seq": len(json_events) - 1, "kind": "trace_end", "dropped": 0}


def _sample_events(store: EventStore) -> None:
    store.append("run_started", topology="t", containers=["a", "b"])
    store.append("message", container="a", ts=np.int64(1_700_000_000_000_000_000),
                 rows=3, message={"close": {"rows": 3, "first": np.float64(1.5),
                                            "last": np.float32(2.5)},
                                  "values": np.arange(3, dtype=np.int32)})
    store.append("frame", container="b", fills=2, equity=101_234.5625, ok=True, note=None)


EXPECTED = [
    {"seq": 0, "kind": "run_started", "topology": "t", "containers": ["a", "b"]},
    {"seq": 1, "kind": "message", "container": "a", "ts": 1_700_000_000_000_000_000, "rows": 3,
     "message": {"close": {"rows": 3, "first": 1.5, "last": 2.5}, "values": [0, 1, 2]}},
    {"seq": 2, "kind": "frame", "container": "b", "fills": 2, "equity": 101_234.5625,
     "ok": True, "note": None},
]


@pytest.mark.parametrize("fmt", ["jsonl", "msgpack"])
def test_files_of_either_format_and_memory_give_the_same_events(tmp_path: Path, fmt: str) -> None:
    on_disk = EventStore(tmp_path / f"events.{fmt}")
    in_memory = EventStore(fmt=fmt)
    assert on_disk.format == in_memory.format == fmt
    for store in (on_disk, in_memory):
        _sample_events(store)
    assert on_disk.events == in_memory.events == EXPECTED
    on_disk.close()
    assert list(read_events(tmp_path / f"events.{fmt}")) == [
        *EXPECTED, {"seq": 3, "kind": "trace_end", "dropped": 0}]


def test_nan_reads_back_as_none_from_a_jsonl_store_in_memory_or_on_disk(tmp_path: Path) -> None:
    on_disk, in_memory = EventStore(tmp_path / "e.jsonl"), EventStore()
    for store in (on_disk, in_memory):
        store.append("frame", equity=float("nan"), first=np.float64("nan"))
    try:
        assert on_disk.events == in_memory.events == [
            {"seq": 0, "kind": "frame", "equity": None, "first": None}]
    finally:
        on_disk.close()


def test_a_store_caps_appends_and_counts_what_it_dropped(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.jsonl", max_events=2)
    assert [store.append("x", i=i) for i in range(5)] == [True, True, False, False, False]
    assert (store.count, store.dropped) == (2, 3)
    store.close()
    assert [e["kind"] for e in read_events(tmp_path / "e.jsonl")] == ["x", "x", "trace_end"]
    assert query(tmp_path / "e.jsonl", "trace_end")[0]["dropped"] == 3


def test_a_store_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jsonl, msgpack"):
        EventStore(tmp_path / "events.csv")


def test_a_store_can_still_be_read_after_it_is_closed(tmp_path: Path) -> None:
    """A tracer's store is closed when the run ends (study.run_points); its
    events must stay readable through the store, and query(store) with it.
    Fails today: ``events`` flushes the closed file (ValueError)."""
    store = EventStore(tmp_path / "events.jsonl")
    _sample_events(store)
    store.close()
    assert store.events == [*EXPECTED, {"seq": 3, "kind": "trace_end", "dropped": 0}]
    assert query(store, "frame", container="b") == [EXPECTED[2]]


def test_a_msgpack_store_named_without_the_msgpack_suffix_reads_back(tmp_path: Path) -> None:
    """``EventStore(path, fmt="msgpack")`` is documented ("msgpack by suffix
    or fmt"); its own ``events`` must decode it as msgpack. Fails today:
    read_events picks the decoder from the suffix only."""
    store = EventStore(tmp_path / "events.trace", fmt="msgpack")
    _sample_events(store)
    try:
        assert store.events == EXPECTED
    finally:
        store.close()


def test_closing_an_in_memory_store_records_trace_end_like_a_file(tmp_path: Path) -> None:
    """Memory and file stores give the same events, closing included: the
    dropped count must be queryable either way. Fails today: close() on a
    store without a path returns before recording trace_end."""
    on_disk = EventStore(tmp_path / "e.jsonl", max_events=1)
    in_memory = EventStore(max_events=1)
    for store in (on_disk, in_memory):
        _sample_events(store)
        store.close()
    expected = [EXPECTED[0], {"seq": 1, "kind": "trace_end", "dropped": 2}]
    assert list(read_events(tmp_path / "e.jsonl")) == expected
    assert in_memory.events == expected


def test_read_events_names_the_file_and_line_of_a_corrupt_jsonl_trace(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"seq": 0, "kind": "x"}\n{"seq": 1, "ki\n')
    with pytest.raises(DataError, match=r"events\.jsonl: line 2"):
        list(read_events(path))
    with pytest.raises(DataError, match="cannot read trace"):
        list(read_events(tmp_path / "missing.jsonl"))


def test_query_filters_by_kind_and_fields(tmp_path: Path) -> None:
    result = admf.run_sync(study(tmp_path, {"level": "normal"}))
    path = trace_file(result)
    everything = list(read_events(path))
    assert query(path) == everything
    assert query(str(path)) == everything
    (execute,) = query(path, "stage_exited", container="strategies", stage="execute")
    assert execute["error"] is None
    assert len(query(path, "message", container="source_AAA")) == BATCHES
    assert len(query(path, "message", container="source_AAA", port="bars")) == BATCHES
    assert query(path, "message", container="source_AAA", port="signals") == []
    assert len(query(path, None, container="strategies")) == 12 + 2 * 2 * BATCHES
    assert len(query(path, stage="cleanup")) == 2 * 5
    assert query(path, "no_such_kind") == []
    store = EventStore()
    _sample_events(store)
    assert query(store, "message") == [EXPECTED[1]]
    assert query(store, container="b") == [EXPECTED[2]]


def test_tracer_for_writes_each_stem_to_its_own_file(tmp_path: Path) -> None:
    """A sweep task's trace is ``trace/<run key>`` + the format's suffix;
    run keys may hold dots (a float parameter), which must not be taken for
    a suffix: two tasks would append to the same file. Fails today:
    ``with_suffix`` turns both stems below into ``…k=1.jsonl``."""
    config = admf.load(study(tmp_path, {"level": "minimal"}))
    (tmp_path / "trace").mkdir()
    first = tracer_for(config, tmp_path / "trace" / "bollinger_reversion_period=20,k=1.5")
    second = tracer_for(config, tmp_path / "trace" / "bollinger_reversion_period=20,k=1.7")
    assert first is not None and second is not None
    first.store.close()
    second.store.close()
    assert first.store.path != second.store.path
    assert first.store.path.name == "bollinger_reversion_period=20,k=1.5.jsonl"


def test_tracer_for_without_a_path_keeps_events_in_memory(tmp_path: Path) -> None:
    config = admf.load(study(tmp_path, {"level": "minimal", "format": "msgpack",
                                         "max_events": 7,
                                         "containers": {"p*": {"level": "debug"}}}))
    tracer = tracer_for(config, None)
    assert tracer is not None and tracer.store.path is None
    assert (tracer.store.format, tracer.store.max_events) == ("msgpack", 7)
    assert tracer.level_of("portfolio_0") == 3 and tracer.level_of("strategies") == 1


# -- the hot path, and runs built by hand ------------------------------------------------


class _Ports(Instrument):
    """Notes every output port's send functions when the run starts."""

    def __init__(self) -> None:
        self.sends: dict[tuple[str, str], tuple[Any, Any]] = {}

    def run_started(self, topology: Any) -> None:
        self.sends = {(c.name, p.name): (p.send, p.send_nowait)
                      for c in topology.containers.values() for p in c.outputs.values()}


def _run_by_hand(config: Any, tracer: Tracer) -> tuple[Any, _Ports, _Ports, RunResult]:
    backtest = build_backtest(config, strategy_points(config))
    before, after = _Ports(), _Ports()
    outcome = anyio.run(functools.partial(run_topology, backtest.topology,
                                          instruments=[before, tracer, after]))
    return backtest, before, after, outcome


def test_containers_traced_below_normal_keep_their_port_functions(tmp_path: Path) -> None:
    config = admf.load(study(tmp_path, {"level": "minimal",
                                        "containers": {"strategies": {"level": "normal"},
                                                       "portfolio_0": {"level": "debug"}}}))
    tracer = tracer_for(config, None)
    assert tracer is not None
    backtest, before, after, outcome = _run_by_hand(config, tracer)
    assert set(before.sends) == {(s, "bars") for s in SOURCES} | {("strategies", "signals")}
    for source in SOURCES:  # minimal: the very functions the route installed
        assert after.sends[(source, "bars")][0] is before.sends[(source, "bars")][0]
        assert after.sends[(source, "bars")][1] is before.sends[(source, "bars")][1]
    wrapped = after.sends[("strategies", "signals")]
    assert wrapped[0] is not before.sends[("strategies", "signals")][0]
    assert wrapped[1] is not before.sends[("strategies", "signals")][1]
    containers = backtest.topology.containers
    assert containers["portfolio_0"].tracer is tracer
    assert all(containers[n].tracer is None for n in CONTAINERS if n != "portfolio_0")
    events = tracer.store.events
    assert {e["container"] for e in events if e["kind"] == "message"} == {"strategies"}
    assert len([e for e in events if e["kind"] == "message"]) == outcome.routes[
        next(n for n in outcome.routes if n.startswith("partition"))].sent
    assert {e["container"] for e in events if e["kind"] == "frame"} == {"portfolio_0"}


def test_a_run_traced_in_memory_gives_the_events_a_file_gets(tmp_path: Path) -> None:
    config = admf.load(study(tmp_path, {"level": "debug"}))
    in_memory = tracer_for(config, None)
    on_disk = tracer_for(config, tmp_path / "events")
    assert in_memory is not None and on_disk is not None
    _run_by_hand(config, in_memory)
    _run_by_hand(config, on_disk)
    on_disk.store.close()
    from_file = list(read_events(tmp_path / "events.jsonl"))
    assert from_file[-1]["kind"] == "trace_end"
    assert canonical(in_memory.store.events) == canonical(from_file[:-1])


def test_a_failing_run_still_writes_a_readable_trace_naming_the_error(tmp_path: Path) -> None:
    config = study(tmp_path, {"level": "normal"},
                   strategies=[{"type": "tests.integration._support:Boom"}])
    with pytest.raises(StrategyError, match="boom at bar 100"):
        admf.run_sync(config)
    (run_dir,) = (tmp_path / "results").iterdir()
    assert not (run_dir / "manifest.json").exists()
    path = run_dir / "main" / "trace" / "events.jsonl"
    events = list(read_events(path))
    (failed,) = [e for e in events if e["kind"] == "stage_exited" and e["error"]
                 and "boom" in e["error"]]
    assert (failed["container"], failed["stage"]) == ("strategies", "execute")
    assert "RuntimeError: boom at bar 100" in failed["error"]
    (finished,) = query(path, "run_finished")
    assert "boom at bar 100" in finished["error"]
    # every container was still stopped and cleaned up, and the file was closed properly
    for name in (*SOURCES, "strategies", "portfolio_0"):
        assert query(path, "stage_exited", container=name, stage="cleanup"), name
    assert events[-1]["kind"] == "trace_end"
    assert {e["kind"] for e in events} >= {"run_started", "route", "message"}


def test_trace_events_are_plain_json_values(tmp_path: Path) -> None:
    """Nothing numpy-typed leaks into the file: each line is standard JSON."""
    result = admf.run_sync(study(tmp_path, {"level": "debug"}))
    for line in trace_file(result).read_text().splitlines():
        event = json.loads(line)
        assert isinstance(event["seq"], int) and isinstance(event["kind"], str)
    assert msgspec.json.decode(trace_file(result).read_bytes().splitlines()[0])["seq"] == 0
