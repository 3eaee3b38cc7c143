"""Every code block of the README runs as written (issue 12, deliverable 6).

The README is read top to bottom in one working directory, as a newcomer in
a clone would: ``examples/`` beside it and ``python examples/make_data.py``
run first, as the tour says. A block named by its first line (``# study.yaml``)
is written to that file; later shell blocks run against it.

- ``bash``: each command (``\\`` continuations joined, ``#`` comments
  dropped) runs as a real process and must exit 0. ``results/<run_id>`` is
  the most recent run (the second on a line, the one before). The first
  block, the install commands, is what ``.ci/run`` itself runs on a fresh
  machine, so it is not repeated here.
- ``yaml``: a fragment (no file name) is merged onto ``study.yaml`` and must
  load: every key a real key with a valid value. Fragments illustrate other
  data (``columns: {timestamp: "Open time"}``), so only the schema is held
  to them, not the example files.
- ``python``: each block runs as a script and must exit 0.
- Untagged blocks are listings (the results layout, the source layout).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
NAMED = re.compile(r"#\s*([\w.-]+\.ya?ml)\s*$")

EXPECTED_FAILURES = {
    # a complete run has nothing to resume: the README's comment says what
    # --resume is for, and the command says so in one line with exit 2
    "--resume": (2, "nothing to resume"),
}


def blocks() -> list[tuple[int, str, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m.group(1), m.group(2))
            for m in FENCE.finditer(text)]


RUNNABLE = [b for b in blocks() if b[1] in ("bash", "yaml", "python")][1:]  # [0]: install


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("readme")
    (where / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    subprocess.run([sys.executable, "examples/make_data.py"], cwd=where, check=True,
                   capture_output=True)
    return where


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("COLUMNS", None)
    return env


def _commands(text: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if shlex.split(line, comments=True)]


def _with_runs(command: str, where: Path) -> str:
    runs = sorted((p for p in (where / "results").glob("*") if (p / "manifest.json").is_file()),
                  key=lambda p: p.stat().st_mtime_ns, reverse=True)
    count = command.count("results/<run_id>")
    if count:
        assert len(runs) >= count, f"{command!r} needs {count} earlier runs, found {len(runs)}"
        for run in runs[:count]:
            command = command.replace("results/<run_id>", f"results/{run.name}", 1)
    return command


def _merged(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in fragment.items():
        inner = out.get(key)
        same_kind = isinstance(inner, dict) and inner.get("type") == value.get("type") \
            if isinstance(value, dict) else False
        out[key] = _merged(inner, value) if same_kind else value  # a new type replaces the block
    return out


def test_the_readme_has_blocks_of_every_kind() -> None:
    kinds = {kind for _, kind, _ in RUNNABLE}
    assert kinds == {"bash", "yaml", "python"}, kinds
    assert len(RUNNABLE) >= 15


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("line", "kind", "text"), RUNNABLE,
                         ids=[f"line{b[0]}-{b[1]}" for b in RUNNABLE])
def test_readme_block_runs_as_written(workdir: Path, line: int, kind: str, text: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)  # relative paths in a config are read from the working directory
    if kind == "yaml":
        first = text.splitlines()[0]
        named = NAMED.match(first)
        if named:
            (workdir / named.group(1)).write_text(text, encoding="utf-8")
            import admf

            admf.load(workdir / named.group(1))
            return
        import admf

        base = yaml.safe_load((workdir / "study.yaml").read_text(encoding="utf-8"))
        fragment = yaml.safe_load(text)
        if "phases" in fragment:  # a whole workflow stands on its own
            admf.load(fragment)
            return
        admf.load(_merged(base, fragment))
        return
    if kind == "python":
        script = workdir / f"readme_block_{line}.py"
        script.write_text(text, encoding="utf-8")
        done = subprocess.run([sys.executable, script.name], cwd=workdir, env=_env(),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"README line {line}:\n{done.stdout}\n{done.stderr}"
        return
    for command in _commands(text):
        argv = shlex.split(_with_runs(command, workdir), comments=True)
        done = subprocess.run(argv, cwd=workdir, env=_env(), capture_output=True, text=True,
                              timeout=600)
        expected = next((v for k, v in EXPECTED_FAILURES.items() if k in argv), (0, ""))
        where = f"README line {line}: {command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert done.returncode == expected[0], where
        assert expected[1] in done.stdout + done.stderr, where
