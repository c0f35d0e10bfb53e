"""Scan everything the test suite produced for the test PANs and security codes.

`make test` runs this last: `python -m tests.leakscan DIR`. It reads every file below DIR
as bytes (SQLite databases and their WAL files included) and fails on any hit: a test PAN
in any common spelling (plain, spaced in fours, dashed, Amex 4-6-5), or a test security
code next to a security-code field name.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.cards import TEST_CVVS, TEST_PANS


def spellings(pan: str) -> set[str]:
    groups4 = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    forms = {pan, " ".join(groups4), "-".join(groups4)}
    if len(pan) == 15:
        amex = [pan[:4], pan[4:10], pan[10:]]
        forms |= {" ".join(amex), "-".join(amex)}
    return forms


def _needles() -> list[tuple[str, re.Pattern[bytes]]]:
    needles = [
        (f"PAN ••••{pan[-4:]} as {form!r}", re.compile(re.escape(form.encode())))
        for pan in TEST_PANS
        for form in sorted(spellings(pan))
    ]
    for code in TEST_CVVS:
        pattern = rb"(?i)(security_code|cvv|cvc|csc)[\"'\\]*\s*[:=]\s*[\"'\\]*" + code.encode()
        pattern += rb"(?![0-9])"
        needles.append((f"security code {'*' * len(code)}", re.compile(pattern)))
    return needles


def scan(paths: Iterable[Path]) -> list[str]:
    """One line per hit: which file, what was found (masked), at which byte offset."""
    needles = _needles()
    hits: list[str] = []
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for label, pattern in needles:
            for match in pattern.finditer(data):
                hits.append(f"{path}: {label} at byte {match.start()}")
    return hits


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.leakscan DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    files = sorted(p for p in root.rglob("*") if p.is_file())
    hits = scan(files)
    total = sum(p.stat().st_size for p in files)
    print(
        f"leak scan: {len(files)} files, {total} bytes, {len(TEST_PANS)} test PANs, "
        f"{len(TEST_CVVS)} security codes"
    )
    if not files:
        print("leak scan: FAILED - the suite left nothing to scan", file=sys.stderr)
        return 1
    for hit in hits:
        print(f"leak scan: HIT {hit}", file=sys.stderr)
    if hits:
        print(f"leak scan: FAILED with {len(hits)} hits", file=sys.stderr)
        return 1
    print("leak scan: 0 hits")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
