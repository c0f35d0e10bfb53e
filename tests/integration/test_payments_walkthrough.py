"""The README's curl walkthrough of authorize, capture and void, run as printed against
`cardline serve`: every command's comment is what it must print.

A block is marked ``<!-- walkthrough: NAME [RULES JSON] -->`` and run by bash with ``URL``
and ``KEY`` set, on a fresh `cardline serve` (with ``CARDLINE_RULES`` when the marker
gives rules). A command's comment ``# TEXT`` is checked against its line of output: TEXT
up to the first `` (``, ``:`` or ``,`` is the whole line, or, when it holds `` ... ``, each
part must appear in it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.serve_process import Served, clean_env

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"<!-- walkthrough: (\w+)(?: (\{.*?\}))? -->\n```sh\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str | None, str]]:
    return [(m[1], m[2], m[3]) for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def expectations(block: str) -> list[str]:
    """The comments of the commands that print, in order."""
    found = []
    for line in block.splitlines():
        command, _, comment = line.partition("  # ")
        if command.strip() and not command.lstrip().startswith("#") and comment:
            found.append(comment.strip())
    return found


def matches(expected: str, printed: str) -> bool:
    if " ... " in expected:
        return all(part.strip() in printed for part in expected.split(" ... "))
    return printed == re.split(r" \(|:|,", expected, maxsplit=1)[0].strip()


def test_the_walkthrough_has_both_blocks() -> None:
    assert [name for name, _, _ in blocks()] == ["plain", "rules"]
    assert all(expectations(block) for _, _, block in blocks())


@pytest.mark.parametrize(("name", "rules", "block"), blocks(), ids=lambda v: str(v)[:10])
def test_each_walkthrough_command_prints_what_its_comment_says(
    name: str, rules: str | None, block: str, data_dir: Path, artifacts: Path
) -> None:
    env = clean_env({"CARDLINE_RULES": rules} if rules else None)
    if rules:
        json.loads(rules)  # the marker's rules are the rules the prose gives
        assert f"CARDLINE_RULES='{rules}'" in DOC.read_text(encoding="utf-8")
    served = Served(data_dir, artifacts / f"walkthrough-{name}.log", env)
    try:
        ran = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + block],
            env={**env, "URL": served.url, "KEY": served.key()},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        served.stop()
    assert ran.returncode == 0, ran.stderr
    printed = ran.stdout.splitlines()
    expected = expectations(block)
    assert len(printed) == len(expected), (printed, expected)
    for want, got in zip(expected, printed, strict=True):
        assert matches(want, got), (want, got)
