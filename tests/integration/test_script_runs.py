"""Scripts as users write them, run in a fresh interpreter.

A process pool started from a script without ``if __name__ == "__main__":``
is refused with one message (the workers would import the script and run
the study again, each in itself) before any results directory exists. A
component named ``"pkg.mod:Name"`` is found in the working directory from
the Python API, as ``admf run`` finds it, in worker processes too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from admf.research.executors import _under_guard

CONFIG = """{"name": "s", "data": {"source": "synthetic", "symbols": ["A"], "bars": 2000},
     "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": [30, 40]}}],
     "sequence": {"type": "parameter_sweep"}, "executor": {"kind": "processes", "workers": 2}}"""

WORKFLOW = """{"name": "w", "defaults": {"data": {"source": "synthetic", "symbols": ["A"], "bars": 2000},
     "executor": {"kind": "processes", "workers": 2}},
     "phases": [{"name": "explore", "sequence": {"type": "parameter_sweep"},
                 "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10]}}]}]}"""


def _script(tmp: Path, body: str) -> subprocess.CompletedProcess[str]:
    path = tmp / "study.py"
    # the configs go in after dedent: their own lines are indented differently
    path.write_text(textwrap.dedent(body).replace("@CONFIG@", CONFIG)
                    .replace("@INLINE@", CONFIG.replace('"processes", "workers": 2', '"inline"'))
                    .replace("@WORKFLOW@", WORKFLOW))
    return subprocess.run([sys.executable, str(path)], cwd=tmp, capture_output=True, text=True,
                          timeout=120)


UNGUARDED = {
    "top level": """
        import admf
        result = admf.run_sync(@CONFIG@)
        print(result.metrics.sharpe_ratio)
        """,
    "a function called at the top level": """
        import admf

        def main():
            return admf.run_sync(@CONFIG@)

        main()
        """,
    "a workflow": """
        import admf
        admf.run_sync(@WORKFLOW@)
        """,
    "asyncio at the top level": """
        import asyncio
        import admf

        async def main():
            return await admf.run(@CONFIG@)

        asyncio.run(main())
        """,
}


@pytest.mark.parametrize("body", UNGUARDED.values(), ids=UNGUARDED.keys())
def test_an_unguarded_pool_run_gets_one_message_and_leaves_no_directory(
        tmp_path: Path, body: str) -> None:
    done = _script(tmp_path, body)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("admf.research.executors.UnguardedMainError: ")
    assert 'if __name__ == "__main__":' in last and "study.py, line" in last
    assert "BrokenProcessPool" not in done.stderr and "bootstrapping" not in done.stderr
    assert done.stderr.count("Traceback") == 1  # the script's own, once; none from workers
    assert not (tmp_path / "results").exists()


def test_the_same_script_under_the_guard_runs(tmp_path: Path) -> None:
    done = _script(tmp_path, """
        import admf

        def main():
            result = admf.run_sync(@CONFIG@)
            print("sharpe", result.metrics.sharpe_ratio)

        if __name__ == "__main__":
            main()
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sharpe ")
    assert len(list((tmp_path / "results").iterdir())) == 1


def test_an_unguarded_inline_run_is_left_alone(tmp_path: Path) -> None:
    done = _script(tmp_path, """
        import admf
        print("sharpe", admf.run_sync(@INLINE@,
                                      write=False).metrics.sharpe_ratio)
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sharpe ")


def _lines(source: str, marker: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if marker in line)


@pytest.mark.parametrize("source, guarded", [
    ('if __name__ == "__main__":\n    run()  # here\n', True),
    ('if "__main__" == __name__:\n    run()  # here\n', True),
    ('try:\n    if __name__ == "__main__":\n        run()  # here\nexcept KeyError:\n    pass\n', True),
    ('run()  # here\nif __name__ == "__main__":\n    pass\n', False),
    ('if __name__ == "__main__":\n    pass\nelse:\n    run()  # here\n', False),
    ('if __name__ != "__main__":\n    run()  # here\n', False),
    ('with open("x") as f:\n    run()  # here\n', False),
])
def test_the_guard_is_read_from_the_source(source: str, guarded: bool) -> None:
    import ast

    assert _under_guard(ast.parse(source).body, _lines(source, "# here")) is guarded


def _package(tmp: Path) -> None:
    (tmp / "mystrats").mkdir()
    (tmp / "mystrats" / "__init__.py").write_text("")
    (tmp / "mystrats" / "flip.py").write_text(textwrap.dedent("""
        from typing import Any
        from admf.components.per_bar import BarStrategy

        class Flip(BarStrategy):
            indicators = {"fast": ("sma", {"period": 5})}

            def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
                return 1.0 if bar.close > ind.fast else 0.0
        """))
    (tmp / "scripts").mkdir()


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_the_api_finds_a_component_in_the_working_directory(tmp_path: Path, executor: str) -> None:
    _package(tmp_path)
    script = tmp_path / "scripts" / "run.py"  # Python puts scripts/, not the cwd, on sys.path
    script.write_text(textwrap.dedent(f"""
        import admf

        if __name__ == "__main__":
            result = admf.run_sync({{
                "data": {{"source": "synthetic", "symbols": ["A"], "bars": 2000}},
                "strategies": [{{"type": "mystrats.flip:Flip"}}, {{"type": "sma_crossover"}}],
                "sequence": {{"type": "parameter_sweep"}},
                "executor": {{"kind": "{executor}", "workers": 2}}}}, write=False)
            print(sorted(r["run"] for r in result.runs.rows()))
        """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Flip" in done.stdout


def test_a_module_missing_from_the_working_directory_is_still_named(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "run.py"
    script.write_text(textwrap.dedent("""
        import admf
        admf.run_sync({"data": {"source": "synthetic", "symbols": ["A"], "bars": 500},
                       "strategies": [{"type": "nothere.mod:X"}]}, write=False)
        """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "No module named 'nothere'" in done.stderr.strip().splitlines()[-1]
