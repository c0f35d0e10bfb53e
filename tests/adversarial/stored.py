"""What a data folder holds, read the way an attacker with the disk would read it.

Every file is decoded (SQLite databases through SQLite as well as byte for byte), JSON
escapes are undone (``\\uff14`` is a full-width four, ``\\t`` a tab), and the shared
card-number detector reads the text: a card number is found however it was written,
not only as the digits a test sent.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from cardline.cde import pan

_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# JSON's one-letter escapes: the letter would otherwise read as a letter between two groups.
_SHORT_ESCAPE = re.compile(r"\\[nrtbf/\"\\]")


def unescape(text: str) -> str:
    """``text`` with JSON's escapes written out (short escapes as a space)."""
    return _SHORT_ESCAPE.sub(" ", _UNICODE_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text))


def _texts(path: Path) -> list[str]:
    data = path.read_bytes()
    texts = [data.decode("utf-8", "replace")]
    if data.startswith(b"SQLite format 3\x00"):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            texts.append("\n".join(db.iterdump()))
        finally:
            db.close()
    return [unescape(text) for text in texts]


def card_numbers_in(folder: Path) -> dict[str, set[str]]:
    """For each file below ``folder``, the digits of every card number the detector finds."""
    found: dict[str, set[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digits = {d for text in _texts(path) for _start, _end, d in pan.find_pans(text)}
        if digits:
            found[str(path.relative_to(folder))] = digits
    return found


def holding(folder: Path, numbers: set[str]) -> dict[str, set[str]]:
    """The files below ``folder`` that hold one of ``numbers`` (masked for the report)."""
    return {
        name: {"••••" + d[-4:] for d in digits & numbers}
        for name, digits in card_numbers_in(folder).items()
        if digits & numbers
    }
