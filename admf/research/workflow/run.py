"""Run a workflow: phases of studies, each written to ``results/<workflow_id>/<phase>/``.

The coordinator (:mod:`admf.research.workflow.coordinator`) orders phases, evaluates
conditions and passes outputs; this module runs each phase's study or
sequence and says what a phase outputs.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

from ...runtime.instrument import Progress
from ...runtime.tracing import EventStore
from ..config import StudyConfig, WorkflowConfig
from ..config.workflow import PHASE_REFERENCE
from ..executors import UnguardedMainError
from ..results.runs import finish_store, start_store
from ..results.store import ResultStore
from ..sequences.run import run_sequence, strategy_of
from ..sequences.windows import rank_points
from ..study import StudyResult, run_study
from .coordinator import Coordinator, PhaseResult
from .files import read_inputs, render_output, write_output

__all__ = ("WorkflowResult", "run_workflow", "study_outputs")


class WorkflowResult(msgspec.Struct, kw_only=True):
    """Every phase's outcome, by name, in the workflow's order."""

    name: str
    workflow_id: str | None
    path: Any
    phases: dict[str, PhaseResult]
    seconds: float
    outputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """The workflow's ``outputs:`` (null where a phase it names did not run)."""

    def __repr__(self) -> str:
        return f"WorkflowResult({self.name!r}, workflow_id={self.workflow_id!r})"

    def summary(self) -> list[dict[str, Any]]:
        """One row per phase: status, iterations and its primary metric."""
        return [_summary_row(p) for p in self.phases.values()]


def study_outputs(study: StudyConfig, result: StudyResult) -> dict[str, Any]:
    """A single pass's outputs: the metrics and parameters of its best
    portfolio by the sequence objective (the only one, usually)."""
    objective = study.sequence.objective
    scores = {pid: getattr(res.metrics, objective) for pid, res in result.portfolios.items()}
    best = rank_points(scores, objective)[0]
    return {"metrics": result.portfolios[best].metrics.to_json_dict(),
            "best_params": result.points[best].params,
            "best": strategy_of(study, result.points[best]),
            "aggregate": {pid: res.metrics.to_json_dict() for pid, res in result.portfolios.items()},
            "table": result.table()}


async def run_workflow(workflow: WorkflowConfig, *, write: bool = True,
                       source: str | None = None, resume: ResultStore | None = None,
                       progress: Progress | None = None) -> WorkflowResult:
    """Run every phase of ``workflow`` (see :mod:`admf.research.workflow.coordinator`)
    after checking all of them (:func:`admf.research.validate.validate_workflow`;
    ``source`` is the config file errors name). With ``resume`` (an
    interrupted execution's store, see ``resume_store``) the phases it
    finished are read back from its ``events.jsonl`` and the rest run, the
    one it stopped in reusing the runs it had completed. ``progress`` hears
    each phase's progress, its unit prefixed with the phase (``explore: points``)."""
    from ..validate import validate_workflow

    validate_workflow(workflow, source=source)
    started = time.perf_counter()
    finished: dict[str, dict[str, Any]] = {}
    made_root = False
    if resume is not None:
        store: ResultStore | None = resume
        finished = _replay_finished(resume.path / "events.jsonl")
    elif write:
        made_root = not Path(workflow.phases[0].results.dir).exists()
        store = start_store(workflow)  # inputs and config first, so that it can be resumed
    else:
        store = None
    workflow_id = store.run_id if store else f"{workflow.name}-in-memory-{uuid.uuid4().hex[:8]}"
    events = EventStore(store.path / "events.jsonl" if store else None)

    async def run_phase(study: StudyConfig, directory: str) -> tuple[dict[str, Any], Any]:
        heard = _prefixed(progress, directory)
        if study.signals.select is not None:  # stored by an earlier phase, maybe
            from ..signals.select import select_stored

            study = select_stored(study)
        if study.topology.pattern == "signal_generation":  # signals stored, no portfolio
            from ..signals.run import run_generation

            made = await run_generation(study)
            return {**made.outputs(), "objective": study.sequence.objective,
                    "sequence": study.sequence.type}, made
        if study.sequence.type == "single_pass":
            result = await run_study(study, write=write, store=store, phase=directory,
                                     progress=heard)
            outputs = study_outputs(study, result)
        else:
            result = await run_sequence(study, write=write, store=store, phase=directory,
                                        progress=heard)
            outputs = result.outputs()
        return {**outputs, "objective": study.sequence.objective,
                "sequence": study.sequence.type}, result

    def publish(phase: str, name: str, spec: Any, value: Any) -> None:
        if store is not None:
            write_output(store, phase, f"phase {phase!r} outputs.{name}", spec, value)

    coordinator = Coordinator(workflow, run_phase, events, workflow_id, finished,
                              inputs=read_inputs(workflow), publish=publish)
    try:
        try:
            phases = await coordinator.run()
        finally:
            events.close()
    except UnguardedMainError:
        # refused before its pool started: the script must be fixed and run
        # again, so the directory this call made is not left behind
        if store is not None and resume is None:
            shutil.rmtree(store.path, ignore_errors=True)
            if made_root and not any(store.path.parent.iterdir()):
                store.path.parent.rmdir()
        raise
    context = coordinator.context()
    published: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for name, spec in workflow.outputs.items():
        absent = sorted(n for n in set(PHASE_REFERENCE.findall(spec.value)) if n not in context)
        if absent:  # a branch not taken, a phase skipped by its condition
            published[name] = None
            missing[name] = f"{', '.join(absent)} did not run"
            continue
        published[name] = value = render_output(f"outputs.{name}", spec, context)
        if store is not None and spec.file:
            write_output(store, "", f"outputs.{name}", spec, value)
    result = WorkflowResult(name=workflow.name, workflow_id=workflow_id,
                            path=store.path if store else None, phases=phases,
                            seconds=time.perf_counter() - started, outputs=published)
    if store is not None:
        store.write_summary({"workflow_id": workflow_id, "seconds": result.seconds,
                             "phases": result.summary(),
                             **({"outputs": {n: (missing[n] if n in missing else "published")
                                             for n in published}} if published else {})})
        done = [d for p in phases.values() for d in p.directories]
        finish_store(store, workflow, done, {"workflow_id": workflow_id})
    return result


def _prefixed(progress: Progress | None, phase: str) -> Progress | None:
    if progress is None:
        return None
    report = progress
    return lambda done, total, unit: report(done, total, f"{phase}: {unit}")


def _replay_finished(path: Any) -> dict[str, dict[str, Any]]:
    """Rewrite an interrupted execution's ``events.jsonl`` to hold only the
    events of the phases it finished (a kill may have cut its last line), and
    return their ``PhaseDone`` records by phase."""
    lines = path.read_bytes().split(b"\n") if path.is_file() else []
    events = []
    for line in lines:
        try:
            events.append(msgspec.json.decode(line))
        except msgspec.DecodeError:  # the line being written when it was killed
            continue
    done = {e["phase"]: {k: v for k, v in e.items() if k not in ("seq", "kind")}
            for e in events if e.get("kind") == "PhaseDone"}
    kept = [e for e in events if e.get("kind") == "PhaseOutput" and e.get("phase") in done]
    store = EventStore(path.with_name("events.jsonl.tmp"), fmt="jsonl")
    for event in kept:
        store.append(event["kind"], **{k: v for k, v in event.items() if k not in ("seq", "kind")})
    store._file.close()  # type: ignore[union-attr]  # no trace_end: the execution goes on
    path.with_name("events.jsonl.tmp").replace(path)
    return done


def _summary_row(phase: PhaseResult) -> dict[str, Any]:
    row: dict[str, Any] = {"phase": phase.name, "status": phase.status, "reason": phase.reason,
                           "iterations": phase.iterations, "directories": phase.directories,
                           "seconds": phase.seconds}
    if phase.joined:
        row["joined"] = phase.joined
    if phase.outputs is not None:
        metrics = phase.outputs.get("metrics") or {}
        objective = phase.outputs.get("objective", "sharpe_ratio")
        value = metrics.get(objective)
        row.update(primary_metric=objective,
                   primary_value=value.get("p50") if isinstance(value, dict) else value,
                   best_params=phase.outputs.get("best_params"),
                   best=phase.outputs.get("best"),
                   sequence=phase.outputs.get("sequence"))
    return row
