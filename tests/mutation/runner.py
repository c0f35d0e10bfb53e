"""Apply each mutation of the catalog to a copy of the tree and run the tests that reach it.

The tests for a mutation are chosen by module: every test file (in the fast folders) that
imports the mutated module, or a module of ``src/`` that imports it, directly or through
others; a test file also counts its folder's ``conftest.py`` and the tests' helper
modules it imports. The files that import the mutated module themselves run first (unit
tests first), the others only if those all pass, and pytest stops at the first failure
(``-x``): a killed mutant costs seconds, a survivor the whole selection. The unmutated
copy runs the union of the selections first: a failure there would make every "killed"
meaningless, so the run stops.

Usage: ``python -m tests.mutation [--only NAME ...] [--report FILE]`` (``make mutate``).
Exit status 0 when every mutation is killed or explained, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.mutation.catalog import MUTATIONS, Mutation

ROOT = Path(__file__).resolve().parents[2]
# Tests that run in seconds, no browser, no moto, no subprocess-heavy matrices.
FAST_FOLDERS = ("unit", "adversarial", "security", "ivr", "integration")
# A mutant whose tests run longer than this counts as killed (it hangs).
MUTANT_TIMEOUT = 300
_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    ".test-artifacts",
    ".cardline",
    "__pycache__",
    "*.egg-info",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".aws-sam",
    "node_modules",
)
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


@dataclass
class Result:
    mutation: Mutation
    status: str  # killed, survived, explained, stale, error
    seconds: float
    tests: int  # test files selected
    by: str = ""  # the first failing test, or what went wrong
    flaky: list[str] = field(default_factory=list)  # failed, then passed alone: left out


# ------------------------------------------------------------------ choosing the tests


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth in the file), each with its parents."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            found.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return found


def _graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules it imports, for src/cardline and tests."""
    graph: dict[str, set[str]] = {}
    for base, folder in ((root / "src", "cardline"), (root, "tests")):
        for path in (base / folder).rglob("*.py"):
            graph[_module_name(path, base)] = _imports(path)
    return graph


def _distances(graph: dict[str, set[str]], target: str) -> dict[str, int]:
    """Each module that reaches ``target`` through imports, and in how many steps."""
    importers: dict[str, set[str]] = {}
    for module, imported in graph.items():
        for name in imported:
            importers.setdefault(name, set()).add(module)
    distance = {target: 0}
    frontier = [target]
    while frontier:
        following = []
        for module in frontier:
            for importer in importers.get(module, ()):
                if importer not in distance:
                    distance[importer] = distance[module] + 1
                    following.append(importer)
        frontier = following
    return distance


def select_tests(root: Path, mutated: str) -> list[tuple[int, str]]:
    """The test files that can reach module ``mutated`` with the number of import steps
    between them, nearest first (paths from root)."""
    graph = _graph(root)
    distance = _distances(graph, mutated)
    chosen: list[tuple[int, int, str]] = []
    for rank, folder in enumerate(FAST_FOLDERS):
        for path in sorted((root / "tests" / folder).rglob("test_*.py")):
            module = _module_name(path, root)
            reach = [distance.get(module)]
            # Fixtures come from conftest files without an import.
            for conftest in (path.parent / "conftest.py", root / "tests" / "conftest.py"):
                if conftest.exists():
                    reach.append(distance.get(_module_name(conftest, root)))
            steps = [d for d in reach if d is not None]
            if steps:
                chosen.append((min(steps), rank, str(path.relative_to(root))))
    return [(steps, path) for steps, _rank, path in sorted(chosen)]


# ------------------------------------------------------------------ running


def _copy_tree(source: Path, into: Path) -> Path:
    tree = into / "tree"
    shutil.copytree(source, tree, ignore=_IGNORED)
    return tree


def _pytest(tree: Path, tests: Sequence[str], timeout: float) -> tuple[int, str]:
    environ = {
        **os.environ,
        # The copy's src ahead of the editable install's path; no stale byte code.
        "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(tree)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    environ.pop("CARDLINE_TEST_ARTIFACTS", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-rfE",
        *tests,
    ]
    # A session of its own: on a timeout the servers the tests started go with pytest.
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return -1, ""
    except BaseException:  # Ctrl-C on the runner: the tests' session goes too
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, output


def _first_failure(output: str) -> str:
    found = _FAILED.search(output)
    return found.group(1) if found else ""


@dataclass
class _Run:
    code: int  # pytest's exit status; -1 for a timeout
    failure: str  # the first failing test, confirmed by running it again alone
    flaky: list[str]  # failures that did not happen again alone: run without them


def _run_confirmed(tree: Path, tests: Sequence[str], timeout: float) -> _Run:
    """Run ``tests``; a failure counts only if its test fails again when run alone.

    A test that fails under a loaded machine's timing and then passes alone is not the
    mutant's doing: it is reported as flaky and the run goes on without it (twice at most).
    """
    flaky: list[str] = []
    while True:
        code, output = _pytest(tree, [*tests, *(f"--deselect={t}" for t in flaky)], timeout)
        failure = _first_failure(output) if code == 1 else ""
        if not failure:
            return _Run(code, "error" if code not in (0, -1) else "", flaky)
        again, _output = _pytest(tree, [failure], timeout)
        if again != 0 or len(flaky) == 2:
            return _Run(code, failure, flaky)
        flaky.append(failure)


def _module_of(path: str) -> str:
    return _module_name(Path(path), Path())


def run_mutation(tree: Path, mutation: Mutation) -> Result:
    source = tree / "src" / mutation.path
    original = source.read_text(encoding="utf-8")
    if original.count(mutation.find) != 1:
        seen = original.count(mutation.find)
        return Result(mutation, "stale", 0.0, 0, f"its text occurs {seen} times, not once")
    selected = select_tests(tree, _module_of(mutation.path))
    if not selected:
        return Result(mutation, "error", 0.0, 0, "no test file reaches the module")
    # The files importing the module itself first; the others only if those pass.
    stages = [[p for d, p in selected if d == 0], [p for d, p in selected if d > 0]]
    started = time.monotonic()
    source.write_text(original.replace(mutation.find, mutation.replace), encoding="utf-8")
    try:
        run = _Run(0, "", [])
        for stage in stages:
            if stage and run.code == 0:
                flaky = run.flaky
                run = _run_confirmed(tree, stage, MUTANT_TIMEOUT)
                run.flaky = flaky + run.flaky
    finally:
        source.write_text(original, encoding="utf-8")
    seconds = time.monotonic() - started
    result = Result(mutation, "error", seconds, len(selected), f"pytest exited {run.code}")
    if run.code == 0:
        result.status = "explained" if mutation.explained else "survived"
        result.by = mutation.explained or ""
    elif run.code == -1:
        result.status, result.by = "killed", f"timeout after {MUTANT_TIMEOUT}s"
    elif run.code in (1, 2):  # tests failed / collection failed (the mutant does not import)
        result.status, result.by = "killed", run.failure
    result.flaky = run.flaky
    return result


def baseline(tree: Path, mutations: Iterable[Mutation]) -> tuple[_Run, float]:
    """The unmutated copy passes every test any mutation selects (flaky ones aside)."""
    tests: set[str] = set()
    for mutation in mutations:
        tests.update(path for _steps, path in select_tests(tree, _module_of(mutation.path)))
    started = time.monotonic()
    run = _run_confirmed(tree, sorted(tests), 2 * MUTANT_TIMEOUT)
    return run, time.monotonic() - started


# ------------------------------------------------------------------ the report


def report(
    results: Sequence[Result], flaky: Sequence[str], baseline_seconds: float, total_seconds: float
) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("killed", "survived", "explained")}
    others = len(results) - sum(counts.values())
    lines = [
        "# Mutation report",
        "",
        f"{len(results)} mutations: {counts['killed']} killed, {counts['survived']} survived, "
        f"{counts['explained']} explained, {others} stale or in error. "
        f"Baseline {baseline_seconds:.0f} s, whole run {total_seconds:.0f} s "
        "(`make mutate`).",
        "",
        "| mutation | module | result | caught by | test files | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.mutation.name}` | `{r.mutation.path}` | {r.status} | "
            f"{_cell(r.by)} | {r.tests} | {r.seconds:.1f} |"
        )
    flaky = sorted({*flaky, *(t for r in results for t in r.flaky)})
    if flaky:
        lines += ["", "Failed once, then passed alone (left out of that run, not a kill):", ""]
        lines += [f"- `{test}`" for test in flaky]
    lines += ["", "What each mutation would break:", ""]
    lines += [f"- `{r.mutation.name}`: {r.mutation.why}." for r in results]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return f"`{text}`" if text.startswith("tests/") else text.replace("|", "\\|")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="run these mutations only")
    parser.add_argument("--report", type=Path, help="write the markdown report here too")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list or not chosen:
        for m in MUTATIONS:
            print(f"{m.name}\t{m.path}")
        return 0 if args.list else 1
    # Started in the background, a process inherits SIGINT ignored, and so would the
    # tests' own children (a test stops a server with SIGINT): handle it, so they do not.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cardline-mutate-") as scratch:
        tree = _copy_tree(ROOT, Path(scratch))
        passed, baseline_seconds = baseline(tree, chosen)
        if passed.code != 0:
            print(f"the unmutated tree fails its tests ({passed.failure}): nothing to measure")
            return 1
        print(f"baseline passed in {baseline_seconds:.0f} s {passed.flaky or ''}", flush=True)
        results = []
        for mutation in chosen:
            result = run_mutation(tree, mutation)
            print(f"{result.status:9} {mutation.name} {result.by} ({result.seconds:.1f} s)")
            sys.stdout.flush()
            results.append(result)
    text = report(results, passed.flaky, baseline_seconds, time.monotonic() - started)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
    return 0 if all(r.status in ("killed", "explained") for r in results) else 1
