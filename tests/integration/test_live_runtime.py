"""admf.Runtime: a study embedded in the caller's event loop, streaming events."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

import admf


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


@pytest.mark.anyio
async def test_cancel_stops_the_study_and_the_error_says_so(tmp_path: Path) -> None:
    config = study(tmp_path)
    config["data"]["bars"] = 2_000_000
    config["data"]["batch_rows"] = 1000
    with anyio.fail_after(30):
        async with admf.Runtime(config, level="minimal") as runtime:
            async for event in runtime.events():
                if event["kind"] == "stage_entered" and event["stage"] == "execute":
                    runtime.cancel()
                    break
    with pytest.raises(admf.AdmfError, match="has not finished"):
        runtime.result  # noqa: B018 - the property raises


def test_only_single_pass_studies_can_be_embedded(tmp_path: Path) -> None:
    with pytest.raises(admf.ConfigError, match="single-pass"):
        admf.Runtime(study(tmp_path, sequence={"type": "parameter_sweep"}))
