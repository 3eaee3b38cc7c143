"""admf.Runtime: a study embedded in an async application, streaming events."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

import admf


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs under both backends an application may use."""
    return request.param


def study(tmp_path: Path, **extra: object) -> dict:
    return {"name": "live", "seed": 2,
            "data": {"source": "synthetic", "symbols": ["A"], "bars": 3000, "batch_rows": 500},
            "strategies": [{"type": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
            "results": {"dir": str(tmp_path / "r"), "storage": "memory"}, **extra}


@pytest.mark.anyio
async def test_events_stream_while_the_study_runs(tmp_path: Path) -> None:
    frames, kinds = [], set()
    async with admf.Runtime(study(tmp_path), level="debug") as runtime:
        async for event in runtime.events():
            kinds.add(event["kind"])
            if event["kind"] == "frame":
                frames.append(event)
        result = await runtime.wait()
    assert {"run_started", "stage_entered", "stage_exited", "message", "frame",
            "route", "run_finished"} <= kinds
    # 3000 bars in batches of 500: six frames (one held back until the next)
    assert [f["rows"] for f in frames] == [500] * 6
    assert sum(f["fills"] for f in frames) == next(iter(result.portfolios.values())).fills
    assert frames[-1]["equity"] == pytest.approx(result.equity["equity"][-1])
    assert runtime.dropped == 0
    # the same study run plainly gives the same numbers
    plain = await admf.run(study(tmp_path))
    assert plain.metrics == result.metrics


@pytest.mark.anyio
async def test_a_slow_consumer_drops_events_but_never_blocks_the_study(tmp_path: Path) -> None:
    async with admf.Runtime(study(tmp_path), level="debug", buffer=4) as runtime:
        result = await runtime.wait()  # nobody reads events until the study is over
        seen = [event async for event in runtime.events()]
    assert len(seen) == 4
    assert runtime.dropped > 0
    assert result.metrics.bars == 3000


def long_study(tmp_path: Path) -> dict:
    """A study that runs for many seconds unless it is stopped."""
    config = study(tmp_path)
    config["data"].update(bars=2_000_000, batch_rows=1000)
    return config


def manifests(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "r").glob("*/manifest.json"))


@pytest.mark.anyio
async def test_cancel_stops_the_study_and_the_error_says_so(tmp_path: Path) -> None:
    with anyio.fail_after(30):
        async with admf.Runtime(long_study(tmp_path), level="minimal") as runtime:
            async for event in runtime.events():
                if event["kind"] == "stage_entered" and event["stage"] == "execute":
                    runtime.cancel()
                    break
    with pytest.raises(admf.AdmfError, match="was cancelled"):
        runtime.result  # noqa: B018 - the property raises
    with pytest.raises(admf.AdmfError, match="was cancelled"):
        await runtime.wait()


@pytest.mark.anyio
async def test_cancel_stops_only_the_study_not_the_caller(tmp_path: Path) -> None:
    events: list[dict] = []
    reached = False
    started = time.perf_counter()
    with anyio.fail_after(30):
        async with admf.Runtime(long_study(tmp_path), level="minimal") as runtime:
            async for event in runtime.events():
                events.append(event)
                if event["kind"] == "stage_entered" and event["stage"] == "execute":
                    runtime.cancel()
                    await anyio.sleep(0)  # the caller's own code is not cancelled...
                    reached = True
            # ...and the stream still ends with the study, after its clean-up
            with pytest.raises(admf.AdmfError, match="was cancelled"):
                await runtime.wait()
            await anyio.sleep(0)
    assert reached
    assert time.perf_counter() - started < 10  # stopped, not run to the end of 2M bars
    assert runtime.dropped == 0
    containers = next(e["containers"] for e in events if e["kind"] == "run_started")
    cleaned = {e["container"] for e in events
               if e["kind"] == "stage_exited" and e["stage"] == "cleanup" and e["error"] is None}
    assert cleaned == set(containers)  # every container was stopped and cleaned up
    stopped = [e for e in events if e["kind"] == "stage_exited" and e["stage"] == "execute"]
    assert any("Cancel" in (e["error"] or "") for e in stopped)
    assert events[-1]["kind"] == "run_finished"
    assert list((tmp_path / "r").glob("*/config.yaml")) and not manifests(tmp_path)


@pytest.mark.anyio
async def test_an_error_in_the_callers_body_propagates_as_itself_and_stops_the_study(
        tmp_path: Path) -> None:
    started = time.perf_counter()
    with anyio.fail_after(30), pytest.raises(ValueError, match="the application failed") as info:
        async with admf.Runtime(long_study(tmp_path), level="minimal") as runtime:
            async for event in runtime.events():
                if event["kind"] == "stage_entered" and event["stage"] == "execute":
                    raise ValueError("the application failed")
    assert type(info.value) is ValueError  # not wrapped in an exception group
    assert time.perf_counter() - started < 10
    with pytest.raises(admf.AdmfError, match="was cancelled"):
        runtime.result  # noqa: B018 - the property raises
    assert not manifests(tmp_path)


@pytest.mark.anyio
async def test_cancelling_the_caller_stops_the_study_too(tmp_path: Path) -> None:
    started = time.perf_counter()
    with anyio.move_on_after(0.5) as scope:
        async with admf.Runtime(long_study(tmp_path), level="minimal") as runtime:
            await runtime.wait()
    assert scope.cancelled_caught
    assert time.perf_counter() - started < 10
    with pytest.raises(admf.AdmfError, match="was cancelled"):
        runtime.result  # noqa: B018 - the property raises


@pytest.mark.anyio
async def test_the_callers_event_loop_keeps_running_while_the_study_computes(
        tmp_path: Path) -> None:
    """A study's synchronous work (frames, result files) runs off the caller's
    loop: a 1 ms heartbeat in the application keeps ticking throughout."""
    config = study(tmp_path)
    config["data"] = {"source": "synthetic", "symbols": ["A", "B"], "bars": 500_000}
    config["strategies"] = [{"type": "sma_crossover", "params": {"fast": [5, 10, 20], "slow": 40}}]
    gaps: list[float] = []
    finished = anyio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not finished.is_set():
            await anyio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeat)
            async with admf.Runtime(config, level="normal") as runtime:
                seen = [event async for event in runtime.events()]
                result = await runtime.wait()
            finished.set()
    assert result.bars == 1_000_000 and len(result.portfolios) == 3
    assert seen[-1]["kind"] == "run_finished" and runtime.dropped == 0
    assert max(gaps) < 0.25, f"the caller's loop stalled for {max(gaps) * 1000:.0f} ms"
    assert len(gaps) > 100  # ~1 ms ticks over a study of a second or more


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"level": "x"}, r"level must be one of none, minimal, normal, debug, got 'x'"),
    ({"containers": {"portfolio*": {"level": "verbose"}}},
     r"containers\['portfolio\*'\]\.level must be one of none, minimal, normal, debug"),
    ({"containers": {"portfolio*": {"levle": "debug"}}}, r"unknown key\(s\) levle"),
    ({"containers": {"portfolio*": {"max_events": 0}}}, r"max_events: expected an integer > 0"),
    ({"buffer": 0}, r"buffer must be an integer >= 1"),
])
def test_bad_tracing_options_are_config_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(admf.ConfigError, match=message):
        admf.Runtime(study(tmp_path), **kwargs)


def test_only_single_pass_studies_can_be_embedded(tmp_path: Path) -> None:
    with pytest.raises(admf.ConfigError, match="single-pass"):
        admf.Runtime(study(tmp_path, sequence={"type": "parameter_sweep"}))
