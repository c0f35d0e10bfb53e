"""Files holding local secrets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def read_or_create_private(path: Path, make: Callable[[], str]) -> str:
    """The text of ``path``; on first use, ``make()`` is written there with mode 0600.

    Creation is exclusive, so two processes starting at once agree on one content.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(make())
    return path.read_text(encoding="utf-8")


def replace_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once (a reader sees the old or the new file, never
    part of one), mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
