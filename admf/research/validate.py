"""``admf validate``: every check a run makes, without the run.

For a study and for every phase of a workflow (``else`` branches included)
this builds the components and topology (strategy types and parameters,
sizing and cost models, the pattern), checks the objective, reads the head of
every data file (present, a file, a readable header, first rows that decode),
fits the sequence's windows to the data's length, and checks that the results
directory can be written. For a workflow it also checks each phase against
what the phases before it *will* produce: metric names in conditions and
templates are looked up in the outputs that phase's sequence type yields,
templates are rendered and the config they make is type-checked, and a phase
that takes ``"{explore.best}"`` or ``"{explore.best_params}"`` is built with
every strategy point the upstream phase could choose.

A workflow run calls :func:`validate_workflow` before its first phase, so a
mistake in the last phase costs nothing. Every problem is a
:class:`~admf.errors.ConfigError` naming the file, the phase and the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from ..components.metrics import Metrics
from ..containers.data import MIN_CHECK_ROWS, IntervalCheck
from ..data.readers import iter_bars
from ..data.timeparse import parse_duration
from ..errors import AdmfError, ConfigError
from .config import PhaseConfig, StudyConfig, WorkflowConfig, load_config, to_dict
from .config._checks import suggest
from .expressions import evaluate, parse
from .sequences.run import CURVE_METRICS, strategy_of
from .sequences.plan import scored_spans, sequence_windows
from .sampling import EXACT_UP_TO, grid_total, sample_points
from .study import StrategyPoint, build_backtest, check_components
from .tasks import timeline
from .workflow.coordinator import modified_study, phase_study

__all__ = ("validate", "validate_study", "validate_workflow", "expected_outputs")

_DISTRIBUTION = ("mean", "std", "p5", "p25", "p50", "p75", "p95", "count", "undefined")


class _Open(dict):  # type: ignore[type-arg]
    """An output whose keys depend on the run (``aggregate``, ``table``):
    names below it are not checked."""


def validate(config: Any, *, overrides: Any = (), source: str | None = None) -> Any:
    """Load ``config`` (a path, dict or config object) and run every check
    (see the module docstring); returns the loaded config."""
    loaded = load_config(config, overrides=overrides) if not isinstance(
        config, StudyConfig | WorkflowConfig) else config
    where = source if source is not None else (str(config) if isinstance(config, str | os.PathLike)
                                                else None)
    if isinstance(loaded, WorkflowConfig):
        validate_workflow(loaded, source=where)
    else:
        try:
            replay = loaded.topology.pattern == "signal_replay"
            if replay:  # a workflow's may be generated first
                from .signals.select import select_stored

                loaded = select_stored(loaded)
            validate_study(loaded)
            if replay:
                from .sequences.plan import run_plan
                from .signals.replay import check_stored

                check_stored(loaded, run_plan(loaded))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None
    return loaded


def validate_study(study: StudyConfig, cache: dict[bytes, Any] | None = None) -> list[StrategyPoint]:
    """Every check a run of ``study`` makes before and while starting: its
    points, components, objective, data, windows and results directory."""
    points = sample_points(study)  # a large grid is checked without being expanded
    check_components(study, points)
    build_backtest(study, points).topology.validate()
    count = len(points) if grid_total(study) <= EXACT_UP_TO else grid_total(study)
    if study.sequence.type == "monte_carlo" and count != 1 and study.sequence.over is None:
        raise ConfigError(f"strategies: sequence monte_carlo studies one strategy point, got "
                          f"{count}; pick one, e.g. with a parameter_sweep phase first "
                          "and strategies: \"{phase.best}\"")
    _check_data(study, cache if cache is not None else {})
    _check_results_dir(study.results.dir)
    return points


def _check_data(study: StudyConfig, cache: dict[bytes, Any]) -> None:
    data = study.data
    key = msgspec.json.encode([data, study.seed, study.sequence])
    if key in cache:
        return
    if data.source != "synthetic":
        check = IntervalCheck(parse_duration(data.timeframe), data.timeframe)
        for symbol in data.symbols:
            _check_file(study, symbol, check)
        check.verify()  # the run's own check of data.timeframe, on the first rows
    inner = study.sequence.inner()  # Monte Carlo over a walk-forward: its windows
    if inner is not None:
        try:
            _check_windows(msgspec.structs.replace(study, sequence=inner))
        except ConfigError as exc:  # the windows are the nested sequence's
            text = str(exc)
            raise ConfigError(text.replace("sequence: ", "sequence.over: ", 1)
                              if text.startswith("sequence: ") else text) from None
    elif study.sequence.shape in ("train_test", "walk_forward", "k_fold", "cpcv"):
        _check_windows(study)
    cache[key] = True


def _check_file(study: StudyConfig, symbol: str, check: IntervalCheck) -> None:
    data = study.data
    path = Path(data.path_for(symbol))
    if not path.exists():
        raise ConfigError(f"data.path: {path} does not exist (symbol {symbol})")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file (a device, pipe or socket)"
        raise ConfigError(f"data.path: {path} is {kind}, expected a {data.source} file "
                          f"(symbol {symbol})")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"data.path: {path} cannot be read (permission denied)")
    try:  # the header and the first batch of rows: columns, types, order, the selection
        batches = iter_bars(path, symbol=symbol, fmt=data.source, start=data.start, end=data.end,
                            batch_rows=min(data.batch_rows, 1000), tz=data.tz)
        first = next(iter(batches), None)
    except AdmfError as exc:
        raise ConfigError(f"data.path: {exc}") from None
    if first is None:
        raise ConfigError(f"data.path: {path} has no bars for symbol {symbol}")
    if len(first) >= MIN_CHECK_ROWS:
        check.record(symbol, str(path), round(float(np.median(np.diff(first.timestamp)))))


def _check_windows(study: StudyConfig) -> None:
    try:
        line = timeline(study)
    except AdmfError as exc:
        raise ConfigError(f"data: {exc}") from None
    try:
        for window in sequence_windows(study, line):  # with the inner folds of each
            scored_spans(study, line, window, 0)
    except ConfigError as exc:
        text = str(exc)
        raise ConfigError(text if text.startswith("sequence") else f"sequence: {text}") from None


def _check_results_dir(directory: str) -> None:
    path = Path(directory)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "" if probe == path else f" ({probe} is a file)"
        raise ConfigError(f"results.dir: {directory} cannot be a directory{what}")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"results.dir: {probe} is not writable")


def expected_outputs(study: StudyConfig, points: list[StrategyPoint]) -> dict[str, Any]:
    """The shape of the outputs ``study`` will give later phases, with
    placeholder numbers: which metrics (numbers, or distributions for Monte
    Carlo), ``best`` and ``best_params`` as the first point's."""
    seq = study.sequence
    if seq.type == "monte_carlo":
        names = (CURVE_METRICS if seq.method != "parameter_noise" else Metrics.__struct_fields__)
        metrics: dict[str, Any] = {n: {k: 1.0 for k in _DISTRIBUTION} for n in names}
    else:
        metrics = {n: 1.0 for n in Metrics.__struct_fields__}
    keys = {k for p in points for k in p.params}
    best = strategy_of(study, points[0])
    return {"metrics": metrics, "best_params": {k: points[0].params.get(k, 1) for k in keys},
            "best": best, "aggregate": _Open(), "table": _Open(),
            "objective": seq.objective, "sequence": seq.type}


def validate_workflow(workflow: WorkflowConfig, *, source: str | None = None) -> None:
    """Check every phase (see the module docstring); raises the first problem."""
    from .workflow.files import read_inputs

    order = _order(workflow)
    try:
        inputs = read_inputs(workflow)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None
    outputs: dict[str, dict[str, Any]] = dict(inputs)
    studies: dict[str, StudyConfig] = {}
    choices: dict[str, list[StrategyPoint]] = {}
    cache: dict[bytes, Any] = {}
    index = {p.name: i for i, p in enumerate(workflow.phases)}
    for phase in order:
        def fail(key: str, exc: Exception, phase: PhaseConfig = phase) -> ConfigError:
            head = f"{source}: " if source else ""
            at = f".{key}" if key else ""
            return ConfigError(f"{head}phase {phase.name!r} (phases[{index[phase.name]}]{at}): "
                               f"{exc}")

        context = _context(phase, outputs)
        _check_names(phase, context, fail)
        if phase.when is not None:
            try:
                evaluate(phase.when, context)
            except ConfigError as exc:
                raise fail("when", exc) from None
        variants = _variants(phase, context, choices)
        points: dict[bytes, StrategyPoint] = {}
        for variant in variants:
            try:
                study = phase_study(phase, variant, {**index, **dict.fromkeys(inputs)},
                                    studies)
            except ConfigError as exc:
                raise fail("strategies", exc) from None
            if study.signals.select is not None:
                study = _selected_for_check(study, studies, fail)
            try:
                for point in validate_study(study, cache):
                    points.setdefault(msgspec.json.encode([point.type, point.params]), point)
            except ConfigError as exc:
                raise fail("", exc) from None
            studies.setdefault(phase.name, study)
        study = studies[phase.name]
        choices[phase.name] = list(points.values())
        outputs[phase.name] = expected_outputs(study, choices[phase.name])
        if phase.repeat is not None:
            _check_repeat(phase, study, _context(phase, outputs), cache, fail)
        for out, spec in phase.outputs.items():
            _check_output(spec, _context(phase, outputs), lambda exc, out=out: fail(
                f"outputs.{out}.value", exc))
    for out, spec in workflow.outputs.items():
        head = f"{source}: " if source else ""
        _check_output(spec, outputs, lambda exc, out=out: ConfigError(
            f"{head}outputs.{out}.value: {exc}"))


def _selected_for_check(study: StudyConfig, studies: Mapping[str, StudyConfig],
                        fail: Any) -> StudyConfig:
    """A phase's ``signals.select`` resolved from its store as it is now; when
    the store lacks them and an earlier ``signal_generation`` phase writes
    that store, the points that phase will store (the selection then runs on
    what it stored)."""
    from .signals.select import select_stored, with_strategies

    try:
        return select_stored(study)
    except ConfigError as exc:
        made = [s for s in studies.values() if s.topology.pattern == "signal_generation"
                and s.signal_store == study.signal_store]
        if not made:
            raise fail("signals.select", exc) from None
    return with_strategies(study, [to_dict(s) for m in made for s in m.strategies])


def _check_output(spec: Any, context: Mapping[str, Any], fail: Any) -> None:
    """Every name an output's template reads exists in what it names."""
    for inner in _placeholders(spec.value):
        try:
            names = parse(inner).names
        except ConfigError as exc:
            raise fail(exc) from None
        for name in sorted(names):
            problem = _lookup_problem(name, context)
            if problem:
                raise fail(ConfigError(problem))
    if spec.file and spec.file.endswith(".parquet"):
        from .expressions import render_template
        from .workflow.files import NOT_A_TABLE, is_table

        try:
            value = render_template(spec.value, context)
        except Exception:  # noqa: BLE001 - placeholders a later phase fills: run time decides
            return
        if not isinstance(value, _Open) and not is_table(value):
            raise fail(ConfigError(f"{spec.file}: {NOT_A_TABLE}; this value is a "
                                   f"{type(value).__name__}: write it to a .json file"))


def _order(workflow: WorkflowConfig) -> list[PhaseConfig]:
    """Phases in an order where each comes after its dependencies and after
    the phase whose ``else`` branch it is (the config rejects cycles)."""
    owner = {t: p.name for p in workflow.phases for t in p.else_}
    done: dict[str, PhaseConfig] = {}

    def visit(phase: PhaseConfig) -> None:
        if phase.name in done:
            return
        for other in (*phase.upstream, *([owner[phase.name]] if phase.name in owner else [])):
            visit(workflow.phase(other))
        done[phase.name] = phase

    for phase in workflow.phases:
        visit(phase)
    return list(done.values())


def _context(phase: PhaseConfig, outputs: Mapping[str, Any]) -> dict[str, Any]:
    context = dict(outputs)
    for alias, names in phase.aliases.items():
        context[alias] = next(outputs[n] for n in names if n in outputs)
    return context


def _variants(phase: PhaseConfig, context: dict[str, Any],
              choices: Mapping[str, list[StrategyPoint]]) -> list[dict[str, Any]]:
    """Contexts to build the phase with: one per point an upstream phase it
    takes ``best``/``best_params`` from could choose (so a multi-type grid is
    checked against every type it might hand on)."""
    from .config.workflow import _template_phases

    named = sorted(n for n in _template_phases(phase.strategies) if n in context)
    if not named:
        return [context]
    name = named[0]
    source = next((n for n in phase.aliases.get(name, ()) if n in context), name)
    out = []
    for point in choices.get(source, [])[:50]:
        upstream = {**context[name], "best": strategy_of_point(point),
                    "best_params": dict(point.params)}
        out.append({**context, name: upstream})
    return out or [context]


def strategy_of_point(point: StrategyPoint) -> dict[str, Any]:
    return {"type": point.type, "params": dict(point.params), "direction": point.direction}


def _check_names(phase: PhaseConfig, context: Mapping[str, Any], fail: Any) -> None:
    """Every dotted name a condition or template reads exists in the outputs
    the phase it names will produce (or, in ``repeat.modify``, in the config)."""
    texts: list[tuple[str, str]] = []
    if phase.when is not None:
        texts.append(("when", phase.when))
    from .config.workflow import PHASE_REFERENCE

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, Mapping):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list | tuple):
            return [s for v in value for s in strings(v)]
        if isinstance(value, msgspec.Struct):
            return strings(msgspec.structs.asdict(value))
        return []

    for text in strings(phase.strategies):
        for inner in _placeholders(text):
            if PHASE_REFERENCE.match("{" + inner + "}"):
                texts.append(("strategies", inner))
    for key, text in texts:
        try:
            names = parse(text).names
        except ConfigError as exc:
            raise fail(key, exc) from None
        for name in sorted(names):
            problem = _lookup_problem(name, context)
            if problem:
                raise fail(key, ConfigError(problem))


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"\{([^{}]*)\}", text)


def _lookup_problem(name: str, context: Mapping[str, Any]) -> str | None:
    parts = name.split(".")
    if parts[0] not in context:
        return None  # not a phase: a config key (checked when the config is rendered)
    node: Any = context[parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        if isinstance(node, _Open) or not isinstance(node, Mapping):
            return None
        if part not in node:
            at = ".".join(parts[:i])
            kind = ("metric" if parts[i - 1] == "metrics" else "key")
            return (f"{name!r}: {at} has no {kind} {part!r}" + suggest(part, node)
                    + f" (it has: {', '.join(sorted(node))})")
        node = node[part]
    return None


def _check_repeat(phase: PhaseConfig, study: StudyConfig, context: dict[str, Any],
                  cache: dict[bytes, Any], fail: Any) -> None:
    repeat = phase.repeat
    assert repeat is not None
    try:
        for name in sorted(parse(repeat.while_).names):
            problem = _lookup_problem(name, context)
            if problem:
                raise ConfigError(problem)
        evaluate(repeat.while_, context)
    except ConfigError as exc:
        raise fail("repeat.while", exc) from None
    if not repeat.modify:
        return
    try:
        changed = modified_study(study, repeat.modify, context, phase.name)
    except ConfigError as exc:
        raise fail("repeat.modify", exc) from None
    try:
        validate_study(changed, cache)
    except ConfigError as exc:
        raise fail("repeat.modify", exc) from None
