"""The local host's SQLite files, opened so that a damaged one never stops a start.

A file SQLite cannot read as a database (a garbage header, a damaged or missing page, a
directory in its place) is moved aside, never deleted, next to where it was
(``ledger.sqlite3.damaged-20260101T120000Z``, with its ``-wal``/``-shm`` companions), and
a new, empty database takes its place. The caller says what that means for its data: the
ledger is rebuilt from the audit log, which it is a view of.

Only damage is handled this way. A file that cannot be opened for another reason (no
permission, a full disk, a lock held elsewhere) raises as before: moving it aside would
hide the real problem and leave the data behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("cardline.sqlite")

# SQLite's own words for "this is not a readable database" (extended codes included).
_DAMAGE_CODES = ("SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_IOERR_SHORT_READ")
_COMPANIONS = ("-wal", "-shm", "-journal")


class Damaged(Exception):
    """The file is not a readable SQLite database; the reason never quotes its content."""


def open_sqlite(
    path: Path,
    setup: Callable[[sqlite3.Connection], object],
    *,
    what: str,
    **connect: Any,
) -> tuple[sqlite3.Connection, Path | None]:
    """A connection to ``path`` on which ``setup`` (pragmas, schema) has run, and where a
    damaged file was moved to (None when it was sound).

    ``what`` names the file's role in the warning ("the ledger"); ``connect`` goes to
    ``sqlite3.connect``.
    """
    try:
        return _open(path, setup, connect), None
    except Damaged as damage:
        aside = move_aside(path)
        log.warning(
            "%s %s was damaged (%s): moved it to %s and started a new one",
            what,
            path,
            damage,
            aside.name,
        )
    return _open(path, setup, connect), aside


def move_aside(path: Path) -> Path:
    """Rename ``path`` (a file or a directory) and its SQLite companions out of the way;
    returns the new name. Never overwrites an earlier copy."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while aside.exists() or aside.is_symlink():
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    os.rename(path, aside)
    for suffix in _COMPANIONS:
        companion = Path(str(path) + suffix)
        if companion.exists():
            os.rename(companion, Path(str(aside) + suffix))
    return aside


def _open(
    path: Path, setup: Callable[[sqlite3.Connection], object], connect: dict[str, Any]
) -> sqlite3.Connection:
    if path.exists() and not path.is_file():
        raise Damaged("not a regular file")
    db: sqlite3.Connection = sqlite3.connect(str(path), **connect)
    try:
        verdict = [row[0] for row in db.execute("PRAGMA quick_check")]
        if verdict != ["ok"]:
            raise Damaged(f"SQLite's integrity check found {len(verdict)} problem(s)")
        setup(db)
    except sqlite3.DatabaseError as error:
        db.close()
        if getattr(error, "sqlite_errorname", "").startswith(_DAMAGE_CODES):
            raise Damaged(str(error)) from None
        raise
    except BaseException:
        db.close()
        raise
    return db
