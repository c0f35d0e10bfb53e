"""The Lambda runtime's Python (python3.13, as template.yaml says), found where people keep it.

`make package` compiles the charge zip's byte code with it. Looked for, in order:
``PYTHON_RUNTIME`` (and nothing else when it is set), ``python3.13`` on ``PATH``, pyenv's
installed versions (``$PYENV_ROOT`` or ``~/.pyenv``: ``versions/3.13.*/bin/python3.13``,
newest first, whether or not pyenv has selected them; a pyenv shim of an unselected
version fails, so the shim alone is not enough), then Debian's and a source build's
``/usr/bin`` and ``/usr/local/bin``. Each candidate must answer that it is 3.13.

    python -m cardline.deploy.runtime    # prints the path, or one line on how to supply one
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

VERSION = "3.13"
NAME = f"python{VERSION}"
SYSTEM_PLACES: tuple[Path, ...] = (Path("/usr/bin") / NAME, Path("/usr/local/bin") / NAME)
_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


class RuntimeNotFound(Exception):
    """No Python of the runtime's version was found; the message says how to supply one."""


def _how() -> str:
    return (
        f"give its path: make package PYTHON_RUNTIME=/path/to/{NAME} (or install one: "
        f"pyenv install {VERSION}, or on Debian 13: apt-get install {NAME}); "
        "PYTHON_RUNTIME=none builds without byte code (slower cold starts)"
    )


def version_of(python: str) -> str | None:
    """The ``major.minor`` that ``python`` says it is, or None if it does not run."""
    try:
        done = subprocess.run(  # noqa: S603 - a path the user or the search gave
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    said = done.stdout.strip()
    return said if done.returncode == 0 and re.fullmatch(r"\d+\.\d+", said) else None


def _patch(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parents[1].name))


def _candidates(environ: Mapping[str, str]) -> Iterator[str]:
    on_path = shutil.which(NAME, path=environ.get("PATH", ""))
    if on_path is not None:
        yield on_path
    home = environ.get("HOME")
    roots = [environ.get("PYENV_ROOT"), str(Path(home) / ".pyenv") if home else None]
    for root in dict.fromkeys(r for r in roots if r):
        found = Path(root).glob(f"versions/{VERSION}.*/bin/{NAME}")
        for python in sorted(found, key=_patch, reverse=True):
            yield str(python)
    for python in SYSTEM_PLACES:
        yield str(python)


def find_runtime_python(environ: Mapping[str, str] = os.environ) -> str:
    """The path of a Python ``VERSION`` to compile the charge zip's byte code with."""
    given = environ.get("PYTHON_RUNTIME")
    if given:
        said = version_of(given)
        if said != VERSION:
            what = f"is Python {said}" if said else "does not run"
            raise RuntimeNotFound(f"PYTHON_RUNTIME={given} {what}, not {VERSION}: {_how()}")
        return given
    for python in _candidates(environ):
        if version_of(python) == VERSION:
            return python
    raise RuntimeNotFound(
        f"no Python {VERSION} (the Lambda runtime's) on PATH, in pyenv or in /usr/bin: {_how()}"
    )


def main() -> int:
    """Print the runtime's Python, or say on stderr how to supply one (exit 1)."""
    try:
        print(find_runtime_python(os.environ))
    except RuntimeNotFound as missing:
        print(f"make package: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
