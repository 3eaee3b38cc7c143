"""The ``admf`` command line: run, demo, validate, list.

Bad input ends with a one-paragraph error and exit status 2 (no traceback
unless ``--debug``); a failure inside a run exits with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .components.metric_format import HEADLINE, format_metric
from .errors import (
    AdmfError,
    AdmfWarning,
    ComponentError,
    ConfigError,
    ContainerError,
    DataError,
    PluginError,
    TopologyError,
)
from ._cli_list import cmd_list
from .research.interrupts import interruptible, stop_children

__all__ = ("main",)

TOP = 10
"""Rows of a sweep's end-of-run table (``admf run --top N``)."""


DEMO_CONFIG: dict[str, Any] = {
    "name": "demo",
    "seed": 7,
    "data": {"source": "synthetic", "symbols": ["DEMO"], "timeframe": "1h", "bars": 50_000,
             "start": "2015-01-01", "start_price": 100.0, "volatility": 0.004, "drift": 0.00002},
    "strategies": [
        {"type": "sma_crossover", "params": {"fast": [20, 50], "slow": [100, 200]}},
        {"type": "donchian_breakout", "params": {"period": 100, "exit_period": 50},
         "direction": "long_short"},
    ],
    "portfolio": {"initial_cash": 100_000, "sizing": {"type": "percent_equity", "percent": 95}},
    "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                  "slippage": {"type": "fixed_bps", "bps": 1}},
    "risk": {"stop_loss": 0.05},
}
"""The built-in study `admf demo` runs: synthetic hourly bars, a small grid."""


EXIT_CODES = """exit codes:
  0    success (also when the output pipe was closed early, e.g. `| head`)
  1    the run failed (an error inside a container, executor or the runtime)
  2    bad input: config, data file, plugin or topology (the message names it)
  130  interrupted (Ctrl-C)"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("admf")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (`admf runs | head`): not an error. Point stdout
        # at devnull so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """admf's own warnings as one ``admf: warning: ...`` line each, once per
    message; any other warning as Python shows it."""
    shown: set[str] = set()
    default = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if not issubclass(category, AdmfWarning):
            default(message, category, filename, lineno, file, line)
            return
        text = str(message)
        if text not in shown:
            shown.add(text)
            print(f"admf: warning: {text}", file=sys.stderr, flush=True)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = default


def _main(argv: Sequence[str] | None = None) -> int:
    # user components named "package.module:Name" are found from the current
    # directory, as with `python -m admf` (the console script's own directory
    # is what Python puts on the path otherwise)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with interruptible(partial(interrupted_line, args)), _warnings_as_lines():
            return int(args.handler(args) or 0)
    except (ConfigError, DataError, PluginError, TopologyError) as exc:
        return _fail(args, exc, status=2)
    except ContainerError as exc:  # bad data is met by a source, inside the run
        bad_input = isinstance(exc.cause, (ConfigError, DataError, PluginError, TopologyError))
        return _fail(args, exc, status=2 if bad_input else 1)
    except AdmfError as exc:
        return _fail(args, exc, status=1)
    except KeyboardInterrupt:
        stop_children()
        print(interrupted_line(args), file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:
        raise  # not an error: main() handles it
    except Exception as exc:  # a bug, not the user's input: still one paragraph, no traceback
        if getattr(args, "debug", False):
            raise
        print(f"admf: error: internal error: {type(exc).__name__}: {exc} (this is a bug in "
              "admf; rerun with --debug for the traceback)", file=sys.stderr)
        return 1


def interrupted_line(args: argparse.Namespace) -> str:
    """``admf: interrupted; ...`` naming the run directory to resume, if any."""
    from .research.interrupts import resumable

    where = resumable(getattr(args, "resume", None))
    if where is None:
        return "admf: interrupted (nothing to resume)"
    config = getattr(args, "config", None)
    again = f"admf run {config} --resume {where}" if config else f"--resume {where}"
    for override in getattr(args, "overrides", None) or ():  # the same config, or it is refused
        again += f" --set {shlex.quote(override)}"
    return f"admf: interrupted; finished runs are kept in {where}; to finish: {again}"


def _fail(args: argparse.Namespace, exc: BaseException, *, status: int) -> int:
    if getattr(args, "debug", False):
        raise exc
    print(f"admf: error: {error_text(exc, getattr(args, 'config', None))}", file=sys.stderr)
    return status


_NAMES_A_FILE = re.compile(r"[^\s:]+\.(?:ya?ml|csv|tsv|parquet|arrow|feather|json|jsonl|py)\b")


def error_text(exc: BaseException, config: Path | None = None) -> str:
    """What the user reads: the error's own message, once. A container's
    failure caused by an admf error (a bad CSV row met by a source, a strategy
    returning bad targets) is that error's message, which names the file and
    row or the strategy and bar, not the container and stage it surfaced in;
    an OS error's reason is added when the message does not already say it.
    A failing component is named with the config file it came from."""
    if isinstance(exc, ContainerError) and isinstance(exc.cause, AdmfError):
        exc = exc.cause
    text = str(exc)
    # a failing component, or a config error met only once the run started (a
    # window that does not fit the data), is named with the config file, as
    # `admf validate` names it; a message naming its own file keeps it alone
    if isinstance(exc, (ComponentError, ConfigError)) and config is not None \
            and str(config) not in text and not _NAMES_A_FILE.match(text):
        text = f"{config}: {text}"
    cause = exc.__cause__
    # an admf error's message is complete by design (the parser's or msgspec's
    # own text is already in it, reworded); only an OS error's reason is added
    if isinstance(cause, OSError) and cause.strerror and cause.strerror not in text:
        text += f" ({cause.strerror})"
    return " ".join(text.split("\n")) if "\n" in text else text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="admf", description="Event-driven backtesting and research workflows.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"admf {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run a study or workflow from a YAML file")
    run.add_argument("config", type=Path)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key, e.g. --set risk.stop_loss=0.03 (repeatable)")
    run.add_argument("--no-write", action="store_true", help="keep results in memory only")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="show progress: a bar with rate and ETA on a terminal, plain "
                          "lines otherwise (default: when stderr is a terminal)")
    run.add_argument("--resume", metavar="RUN_DIR", default=None,
                     help="finish an interrupted study's run directory, skipping finished runs")
    run.add_argument("--top", type=int, default=TOP, metavar="N",
                     help=f"rows of a sweep's results table (default {TOP})")
    run.set_defaults(handler=_cmd_run)

    demo = sub.add_parser("demo", help="run the built-in study on generated data")
    demo.add_argument("--dir", default="results", help="results directory (default: results)")
    demo.add_argument("--bars", type=int, default=None, help="bars to generate")
    demo.set_defaults(handler=_cmd_demo)

    report = sub.add_parser("report", help="write report.html for a results directory")
    report.add_argument("run_dir", type=Path)
    report.add_argument("-o", "--output", type=Path, default=None, help="where (default RUN_DIR/report.html)")
    report.set_defaults(handler=_cmd_report)

    trace = sub.add_parser("trace", help="summarise or query a run's trace events")
    trace.add_argument("run_dir", type=Path,
                       help="a results directory (a workflow's: its events.jsonl too), or a trace file")
    trace.add_argument("--kind", default=None, help="only events of this kind (e.g. message)")
    trace.add_argument("--container", default=None, help="only events of this container")
    trace.add_argument("--limit", type=int, default=20, help="events to print (default 20)")
    trace.set_defaults(handler=_cmd_trace)

    bench = sub.add_parser("bench", help="measure backtest throughput against plain numpy")
    bench.add_argument("--bars", type=int, default=1_000_000, help="bars per run (default 1M)")
    bench.set_defaults(handler=_cmd_bench)

    validate = sub.add_parser("validate", help="check a config without running it")
    validate.add_argument("config", type=Path)
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    validate.set_defaults(handler=_cmd_validate)
    runs = sub.add_parser("runs", help="list past runs: name, time, kind, objective and its value")
    runs.add_argument("dir", nargs="?", type=Path, default=Path("results"),
                      help="a results directory (default: results)")
    runs.set_defaults(handler=_cmd_runs)

    compare = sub.add_parser("compare", help="show the metrics of runs side by side")
    compare.add_argument("runs", nargs="+", metavar="RUN",
                         help="a run directory, or a run id or study name under --dir")
    compare.add_argument("--dir", type=Path, default=Path("results"),
                         help="where run ids and names are looked up (default: results)")
    compare.set_defaults(handler=_cmd_compare)
    reference = sub.add_parser("config-reference",
                               help="write the config reference (every key's type, default and doc)")
    reference.add_argument("-o", "--output", type=Path, default=None,
                           help="write it to this file (docs/config.md in the project) "
                                "instead of printing it")
    reference.set_defaults(handler=_cmd_config_reference)
    for name in (run, demo, validate, report, trace, bench, runs, compare, reference):
        name.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help=argparse.SUPPRESS)

    listing = sub.add_parser("list", help="list the available components and their parameters",
                             description="List registered components (built-ins and plugins of the "
                                         "'admf.plugins' entry-point group) with their parameters "
                                         "and defaults.")
    listing.add_argument("kind", nargs="?", default=None,
                         help="only this kind: strategies, indicators, sizing, commission, slippage, "
                              "risk, sequences, topologies, containers, or any registered kind")
    listing.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    listing.set_defaults(handler=cmd_list)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from .api import run_sync

    started = time.perf_counter()
    result = run_sync(args.config, overrides=args.overrides, write=not args.no_write,
                      resume=args.resume, progress=_progress(args))
    _report(result.raw, time.perf_counter() - started, top=args.top,
            objective=getattr(result, "objective", "sharpe_ratio"))
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from ._cli_runs import list_runs, runs_table

    found = list_runs(args.dir)
    print(runs_table(found) if found else f"no runs in {args.dir}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from ._cli_runs import compare_table, resolve_run, run_info

    if len(args.runs) < 2:
        raise DataError("compare needs two runs or more, e.g. `admf compare RUN RUN`")
    print(compare_table([run_info(resolve_run(text, args.dir)) for text in args.runs]))
    return 0


def _cmd_config_reference(args: argparse.Namespace) -> int:
    from .research.config.reference import render

    text = render()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"config reference: {args.output}")
    return 0


def _progress(args: argparse.Namespace) -> Any:
    """A bar on a terminal, plain lines when ``--progress`` asks for it elsewhere."""
    wanted = getattr(args, "progress", None)
    if not (sys.stderr.isatty() if wanted is None else wanted):
        return None
    from .progress import terminal

    return terminal(sys.stderr)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .api import run_sync

    config = {**DEMO_CONFIG, "results": {"dir": args.dir, "storage": "hybrid"}}
    if args.bars is not None:
        config["data"] = {**config["data"], "bars": args.bars}
    started = time.perf_counter()
    print(f"admf demo: {config['data']['bars']:,} synthetic {config['data']['timeframe']} bars, "
          f"{_points(config)} portfolios", flush=True)
    result = run_sync(config, progress=_progress(args))
    _report(result.raw, time.perf_counter() - started)
    return 0


def _points(config: dict[str, Any]) -> int:
    from .research.config import expand_grid

    return sum(len(expand_grid(s.get("params", {}))) for s in config["strategies"])


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import measure

    print(f"SMA 10/30 on {args.bars:,} synthetic bars, best of 3 ...", flush=True)
    report = measure(args.bars)
    print(f"pipeline         {report['pipeline_bars_per_s']:>14,.0f} bars/s")
    print(f"numpy baseline   {report['numpy_baseline_bars_per_s']:>14,.0f} bars/s")
    print(f"ratio            {report['ratio_vs_numpy']:>14.2f}")
    print(f"per-bar on_bar   {report['on_bar_bars_per_s']:>14,.0f} bars/s")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    print(f"report: {write_report(args.run_dir, args.output)}")
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    from collections import Counter

    from .runtime.tracing import query

    # a workflow's own events (one per phase: outputs, skips) come first, then
    # the traces its phases' studies recorded
    workflow = [args.run_dir / "events.jsonl"] if (args.run_dir / "events.jsonl").is_file() else []
    files = ([args.run_dir] if args.run_dir.is_file() else workflow +
             sorted(p for p in args.run_dir.glob("**/trace/*") if p.suffix in (".jsonl", ".msgpack")))
    if not files:
        raise DataError(f"no trace files under {args.run_dir} (was tracing.level set?)")
    match = {"container": args.container} if args.container else {}
    for path in files:
        events = query(path, args.kind, **match)
        counts = Counter((e.get("kind"), e.get("container") or e.get("phase")) for e in events)
        print(f"{path}: {len(events)} events")
        for (kind, container), count in sorted(counts.items(), key=lambda kv: str(kv[0])):
            print(f"  {kind:<16} {container or '-':<24} {count:>8}")
        for event in events[: args.limit] if args.kind or args.container else []:
            print("  ", event)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .api import load
    from .research.validate import validate

    validate(load(args.config, overrides=args.overrides), source=str(args.config))
    print(f"{args.config}: ok")
    return 0


def _report(result: Any, seconds: float, *, top: int = TOP, objective: str = "sharpe_ratio") -> None:
    if hasattr(result, "computed") and hasattr(result, "store"):  # signal_generation
        print(f"signal_generation: {result.computed} computed, {result.reused} reused "
              f"({result.rows:,} sparse rows over {result.windows} window(s)) in {seconds:.2f} s")
        print(f"signal store: {result.store}")
        return
    if hasattr(result, "phases"):  # a workflow
        for row in result.summary():
            value = row.get("primary_value")
            shown = "-" if value is None else f"{value:.3f}"
            detail = row["reason"] or f"{row.get('sequence')}, {row.get('primary_metric')} {shown}"
            print(f"{row['phase']:<16} {row['status']:<8} {detail}")
        for name, phase in result.phases.items():
            if phase.result is None:
                continue
            outputs = phase.outputs or {}
            print(f"\n{name} ({outputs.get('sequence', 'single_pass')}):")
            print(_phase_table(phase.result, top, str(outputs.get("objective", "sharpe_ratio"))))
        print(f"\nworkflow {result.workflow_id} in {seconds:.2f} s")
    elif callable(getattr(result, "table", None)):  # a single pass
        print(format_table(result.table()))
        bars = result.bars
        portfolios = len(result.portfolios)
        rate = (f", {bars * portfolios / seconds:,.0f} bar-portfolios/s"
                if bars and seconds > 0 else "")
        print(f"\n{bars:,} bars x {portfolios} portfolio{'s' if portfolios > 1 else ''} "
              f"in {seconds:.2f} s{rate}")
    else:  # a sequence
        table = _phase_table(result, top, objective)
        if table:
            print(table)
        headline = {k: (v if not isinstance(v, dict) else v.get("p50"))
                    for k, v in result.metrics.items() if k in HEADLINE}
        print(f"\n{result.type}: " + ", ".join(f"{k} {format_metric(k, v)}" for k, v in headline.items()))
        if result.best_params is not None:
            print(f"best params: {result.best_params}")
            from ._cli_runs import shown_settings

            settings = shown_settings((getattr(result, "best", None) or {}).get("settings"))
            if settings:  # the risk/sizing/execution values it won with
                print("best settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        print(f"{seconds:.2f} s")
    path = getattr(result, "path", None)
    if path is not None:
        print(f"results: {path}")


def _phase_table(result: Any, top: int, objective: str) -> str:
    """The end-of-run table of one sequence's (or a workflow phase's) result."""
    from ._cli_runs import sequence_table

    if callable(getattr(result, "table", None)):  # a single pass inside a workflow
        return format_table(result.table())
    return sequence_table(result.kind, result.table, result.metrics, objective=objective, top=top,
                          aggregate=result.aggregate)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Portfolios as rows, the headline metrics as columns."""
    header = ["portfolio", *HEADLINE]
    body = [[str(row["portfolio"]), *(format_metric(m, row.get(m)) for m in HEADLINE)] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
