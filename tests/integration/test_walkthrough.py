"""The README's first hour, run as a newcomer runs it: `make run` in a copy of the tree, then
the quick start's curl and every command of the Commands section exactly as printed, each
checked against the result the README gives for it.

How the README is read (the Commands section's code block, one command a line):
``COMMAND   # what it does: "text it prints" ...``. Every quoted text must appear in what
the command printed, and it must exit 0 without a traceback. Markers in the comment:
``[runs until Ctrl-C]`` (started, checked, then interrupted), ``[after Ctrl-C on make run]``
(`make run` is stopped first) and ``[not in the walkthrough: why]`` (a command that needs
what CI has not, such as PayPal credentials: it must say why, and only such a line may
hold a ``...`` for the reader to fill in).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.artifacts import SUBPROCESSES, keep, run
from tests.serve_process import clean_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUNS_UNTIL_STOPPED = "[runs until Ctrl-C]"
AFTER_MAKE_RUN = "[after Ctrl-C on make run]"
NOT_RUN = re.compile(r"\[not in the walkthrough: ([^\]]+)\]")
_NOT_COPIED = {".git", "build", ".test-artifacts", ".cardline", ".mypy_cache", ".ruff_cache"}


def section(title: str) -> str:
    """The README's ``## title`` section, up to the next ``## ``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)


@dataclass(frozen=True)
class Command:
    line: str
    comment: str

    @property
    def expected(self) -> list[str]:
        return re.findall(r'"([^"]+)"', self.comment)


def commands() -> list[Command]:
    """The Commands section's commands, in the order printed."""
    (block,) = code_blocks(section("Commands"))
    found = []
    for raw in block.splitlines():
        if not raw.strip():
            continue
        line, _, comment = raw.partition(" # ")
        found.append(Command(line.strip(), comment.strip()))
    return found


class MakeRun:
    """`make run PORT=0` (a free port, as the README offers) in the copy, on the default data
    directory of a user whose $XDG_DATA_HOME is under the test's data folder."""

    def __init__(self, tree: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            ["make", "run", "PORT=0"],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches make and cardline, as in a terminal
        )
        assert self.process.stdout is not None
        self.lines: list[str] = []
        deadline = time.monotonic() + 120  # a hang guard: the first start may set up .venv
        while time.monotonic() < deadline:
            line = self.process.stdout.readline().decode()
            if not line:
                break
            self.lines.append(line)
            if "try: curl" in line:
                break
        said = "".join(self.lines)
        assert "listening on" in said, said
        self.url = next(t.split()[-1] for t in self.lines if "listening on" in t)
        self.key = next(t.strip() for t in self.lines if t.strip().startswith("cl_"))

    def stop(self) -> None:
        if self.log.exists():
            return  # stopped already
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        assert self.process.stdout is not None
        rest = self.process.stdout.read().decode()
        self.log.write_text("".join(self.lines) + rest, encoding="utf-8")


def _copy_tree(target: Path) -> Path:
    """The checkout as a fresh clone has it, with the suite's own virtualenv linked in."""

    def ignored(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _NOT_COPIED or n.startswith(".venv")}
        return skip | {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}

    # make run in the copy reinstalls a virtualenv older than pyproject.toml, and the
    # editable install would then point at the copy, not at this checkout.
    stamp = ROOT / ".venv" / ".installed"
    if not stamp.is_file() or stamp.stat().st_mtime < (ROOT / "pyproject.toml").stat().st_mtime:
        pytest.fail(".venv is older than pyproject.toml: `make unit` or `make test` refreshes it")
    shutil.copytree(ROOT, target, ignore=ignored, symlinks=True)
    for venv in (".venv",):
        (target / venv).symlink_to(ROOT / venv)
    return target


def _bash(script: str, tree: Path, env: dict[str, str], artifacts: Path) -> tuple[int, str]:
    done = run(["bash", "-c", script], artifacts, cwd=tree, env=env)
    return done.returncode, done.stdout + done.stderr


def _until_stopped(script: str, command: Command, tree: Path, env: dict[str, str]) -> str:
    """Start a command that runs until Ctrl-C, read until it printed what the README says,
    then interrupt it."""
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    said = ""
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a measurement
        while time.monotonic() < deadline and not all(t in said for t in command.expected):
            line = process.stdout.readline().decode()
            if not line:
                break
            said += line
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        said += process.stdout.read().decode()
    assert process.returncode in (0, 128 + signal.SIGINT, -signal.SIGINT), said
    return said


def test_the_commands_section_is_runnable_as_printed() -> None:
    found = commands()
    assert found, "the Commands section has no code block of commands"
    for command in found:
        # curl: a route make run's service answers with nothing to show but its text
        # (GET /metrics), against the URL and key the reader set.
        assert command.line.startswith(("cardline ", "PAYPAL_", "curl -s $URL/")), command.line
        assert command.comment, f"{command.line}: no comment saying what it gives"
        marked = NOT_RUN.search(command.comment)
        if marked:
            assert len(marked.group(1).split()) >= 2, f"{command.line}: say why it is not run"
        else:
            assert "..." not in command.line, f"{command.line}: a placeholder, yet not marked"
            assert command.expected, f"{command.line}: no quoted result to check"
    named = {c.line.split()[1] for c in found if c.line.startswith("cardline ")}
    from tests.unit.test_cli_help import COMMANDS

    assert set(COMMANDS) - {"serve"} <= named, "a command the README does not show"


def test_the_quick_start_names_the_make_targets() -> None:
    text = section("Quick start")
    for target in ("make run", "make unit", "make test"):
        assert target in text
    assert ". .venv/bin/activate" in text


def test_make_run_then_every_readme_command_as_printed(
    data_dir: Path, artifacts: Path, tmp_path: Path
) -> None:
    tree = _copy_tree(tmp_path / "cardline")
    env = clean_env({"XDG_DATA_HOME": str(data_dir / "xdg")})
    env.pop("VIRTUAL_ENV", None)
    served = MakeRun(tree, env, artifacts / "walkthrough-make-run.log")
    try:
        said = "".join(served.lines)
        assert f"data directory: {data_dir / 'xdg' / 'cardline'}" in said
        assert ". .venv/bin/activate" in said

        # The quick start's curl, with the URL and key make run printed.
        curl = next(b for b in code_blocks(section("Quick start")) if "curl" in b)
        filled = re.sub(r"(?m)^URL=\S+", f"URL={served.url}", curl)
        filled = re.sub(r"(?m)^KEY=\S+", f"KEY={served.key}", filled)
        assert filled.count(served.url) == 1, curl  # the reader sets URL and KEY once each
        assert filled.count(served.key) == 1, curl
        # Run from a file outside the artifacts: the command holds the README's test card,
        # which the leak scan must not find in the record of what the suite ran.
        script = tmp_path / "quick-start.sh"
        script.write_text(filled, encoding="utf-8")
        done = run(["bash", str(script)], artifacts, cwd=tree, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        answer = json.loads(out)
        promised = re.findall(r"answers `201` with (.*?)\.", section("Quick start"), re.DOTALL)
        fields = re.findall(r'`"(\w+)": "([^"]+)"`', promised[0])
        assert len(fields) == 3, promised
        for name, value in fields:
            assert answer.get(name) == value, (name, answer)

        shell_env = {**env, "URL": served.url, "KEY": served.key}
        for command in commands():
            if NOT_RUN.search(command.comment):
                continue
            script = f". .venv/bin/activate && {command.line}"
            if AFTER_MAKE_RUN in command.comment:
                served.stop()
            if RUNS_UNTIL_STOPPED in command.comment:
                out = _until_stopped(script, command, tree, shell_env)
                keep(artifacts, SUBPROCESSES, f"walkthrough {command.line}", out)
            else:
                code, out = _bash(script, tree, shell_env, artifacts)
                assert code == 0, f"{command.line} exited {code}:\n{out}"
            assert "Traceback" not in out, f"{command.line}:\n{out}"
            for text in command.expected:
                assert text in out, f"{command.line}: the README promises {text!r}; got:\n{out}"
    finally:
        served.stop()
    assert not (tree / ".cardline").exists()  # everything went to the one default directory


def test_the_readme_types_no_zip_sizes_by_hand() -> None:
    """Sizes come from the build (`make package` writes build/lambda/sizes.txt); a size
    typed into the README goes stale with the next change to the charge path."""
    text = README.read_text(encoding="utf-8")
    typed = re.findall(r"\d[\d,.]*\s*(?:bytes|KiB|MiB)\b", text)
    assert typed == [], f"sizes typed into the README: {typed}"
    assert "build/lambda/sizes.txt" in text
