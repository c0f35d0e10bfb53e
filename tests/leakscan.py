"""Scan everything the test suite left for card data, however it is written or encoded.

`make test` runs this last: `python -m tests.leakscan DIR`. Every file below DIR is read as
bytes (SQLite databases and their WAL files included) and the scan fails on any hit, or on
a file it could not read whole, or when the suite left one of the kinds of artifacts the
fixtures keep (`tests/artifacts.py`) out.

What it looks for, reading digits the way `cardline.cde.pan` does (any script's digits, any
run of separators between groups, one digit per line included):

- a test card of `tests/cards.py`, whole or its first 12 or 15 digits, Luhn-valid or not;
- any other card number: what `cardline.cde.pan.find_pans` finds outside identifiers (13-19
  digits, Luhn-valid), when it starts the way issued cards do (see `_ISSUED`);
- a test security code next to any spelling of a security-code label.

Each file is read in every layer it may hold, to `MAX_DEPTH` layers: as UTF-8 and, where it
decodes, as UTF-16 (either byte order, with or without a BOM, at either alignment, and runs
of UTF-16 text inside binary data); URL-, JSON-, Python- and HTML-escapes undone; each run
of base64 (standard or URL-safe, unpadded, wrapped in lines) decoded; each gzip or zlib
stream inside decompressed (CloudWatch Logs hands subscribers base64 of gzip of JSON); each
zip entry read. A hit names the file, where (line and column), the layers it was found in
and which form, masked: the last four digits only.
"""

from __future__ import annotations

import binascii
import html
import io
import re
import sys
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cardline.cde.pan import MIN_DIGITS, find_pans, shadow
from tests import artifacts
from tests.cards import TEST_CVVS, TEST_PANS

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DECODED_BYTES = 64 * 1024 * 1024  # per file, over all the streams decoded inside it
MAX_DEPTH = 8  # layers below the file: decoded, decompressed or unescaped
PREFIX_LENGTHS = (12, 15)

# -- what is looked for --------------------------------------------------------------------


def _test_card_forms() -> dict[str, str]:
    """Digits of each test card and of its first 12 and 15 digits -> the form a hit names."""
    forms = {pan: f"test card ••••{pan[-4:]}" for pan in TEST_PANS}
    for length in PREFIX_LENGTHS:
        for pan in TEST_PANS:
            forms.setdefault(pan[:length], f"first {length} digits of test card ••••{pan[-4:]}")
    return forms


_TEST_CARD_FORMS = _test_card_forms()
# Longest first: at one position the whole card wins over its prefix.
_TEST_CARD_DIGITS = re.compile("|".join(sorted(_TEST_CARD_FORMS, key=len, reverse=True)))
_CHAIN = re.compile(r"[0-9]+(?: +[0-9]+)*")  # digit groups in a shadow, separators between
_SHORTEST = min(len(d) for d in _TEST_CARD_FORMS)

# Card numbers are issued with a first digit of 3 to 6, or 2200-2204 (Mir) and 2221-2720
# (Mastercard's 2-series): millisecond and longer epoch timestamps (1…, until 2039), compact
# dates (20…), zero-padded counters (0…) are not taken for a card that is not a test card.
_ISSUED = re.compile(r"[3-6]|220[0-4]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720")

# Shapes that are not card numbers, blanked before looking for one that is not a test card:
# a date (year 19xx/20xx), a clock time, an IPv4 address with its port. None can hold a
# card's digits in a card's grouping.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_NOT_CARDS = re.compile(
    r"(?<![0-9])(?:"
    r"(?:19|20)[0-9]{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0?[1-9]|[12][0-9]|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)[0-9]{2}"
    r"|(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
    rf"|{_OCTET}(?:\.{_OCTET}){{3}}(?::[0-9]{{1,5}})?"
    r")(?![0-9])"
)

# ... and when it is written the way a card is printed or typed: one run of digits, fours
# (the last group shorter), or Amex/Diners' 4-6-5/4-6-4, parted by at most 3 characters.
# Machine text chains numbers of other sizes ("waitress-5 (140464402978496)", JSON arrays,
# versions); a test card is found in any grouping.
_CARD_LAYOUT = re.compile(
    r"[0-9]+|[0-9]{4}(?: {1,3}[0-9]{4})*(?: {1,3}[0-9]{1,4})|[0-9]{4} {1,3}[0-9]{6} {1,3}[0-9]{4,5}"
)

_SECURITY_CODE = re.compile(
    # The label: at a word start or a camelCase hump, any case, any separator inside.
    r"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))"
    r"(?P<label>(?i:security[^A-Za-z0-9]{0,3}code|cvv2?|cvc2?|csc|cid))(?![A-Za-z])"
    # Then quotes, brackets, colons, equals signs, escapes, spaces; then the code alone.
    r"[^A-Za-z0-9]{0,16}(?P<code>" + "|".join(sorted(TEST_CVVS, key=len, reverse=True)) + r")"
    r"(?![0-9])"
)


# -- a hit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """What was found, where: never the number itself."""

    path: str
    form: str  # e.g. "test card ••••1881", "card number ••••1111 (16 digits, Luhn-valid)"
    where: str  # "line 3, column 40" (of the innermost layer's text)
    layers: tuple[str, ...] = ()  # outermost first: "gzip at byte 11", "base64 at line 1, …"
    more: int = 0  # the same form seen this many more times in the file

    def __str__(self) -> str:
        inside = f" in {' > '.join(self.layers)}" if self.layers else ""
        more = f" (and {self.more} more)" if self.more else ""
        return f"{self.path}: {self.form} at {self.where}{inside}{more}"


def _where(text: str, at: int) -> str:
    line_start = text.rfind("\n", 0, at) + 1
    return f"line {text.count(chr(10), 0, at) + 1}, column {at - line_start + 1}"


def find_in_text(text: str) -> list[tuple[int, str]]:
    """(offset, form) of each piece of card data in one text, as it stands (no decoding)."""
    found: list[tuple[int, str]] = []
    shadowed = shadow(text)
    for chain in _CHAIN.finditer(shadowed):
        digits = chain.group().replace(" ", "")
        if len(digits) < _SHORTEST:
            continue
        positions: list[int] | None = None
        for match in _TEST_CARD_DIGITS.finditer(digits):
            if positions is None:
                positions = [chain.start() + i for i, c in enumerate(chain.group()) if c != " "]
            found.append((positions[match.start()], _TEST_CARD_FORMS[match.group()]))
        if len(digits) >= MIN_DIGITS:
            found.extend(_other_cards(text, shadowed, chain.start(), chain.end()))
    folded = text
    if not text.isascii() and _digit_count(shadowed) != _digit_count(text):
        folded = "".join(s if s.isdigit() else c for c, s in zip(text, shadowed, strict=True))
    for match in _SECURITY_CODE.finditer(folded):
        form = f"test security code {'*' * len(match['code'])} after {match['label']!r}"
        found.append((match.start(), form))
    return found


# Wide enough to hold the longest identifier around a chain of digits.
_CONTEXT = 80


def _other_cards(text: str, shadowed: str, start: int, end: int) -> list[tuple[int, str]]:
    """Card numbers other than the test cards in one chain of digit groups, read by
    ``cardline.cde.pan.find_pans`` with the chain's context (identifiers are left whole)."""
    at = max(0, start - _CONTEXT)
    window = _NOT_CARDS.sub(_blank, text[at : end + _CONTEXT])
    found = []
    for first, last, digits in find_pans(window, inside_identifiers=False):
        first, last = first + at, last + at
        if (
            start <= first
            and last <= end
            and _ISSUED.match(digits)
            and _CARD_LAYOUT.fullmatch(shadowed, first, last)
            and not _TEST_CARD_DIGITS.search(digits)
        ):
            found.append(
                (first, f"card number ••••{digits[-4:]} ({len(digits)} digits, Luhn-valid)")
            )
    return found


def _digit_count(text: str) -> int:
    return sum(map(text.count, "0123456789"))


def _blank(match: re.Match[str]) -> str:
    return "x" * (match.end() - match.start())  # same length: offsets stay true


# -- layers --------------------------------------------------------------------------------

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_SURROGATES = re.compile(r"\\u(d[89ab][0-9a-fA-F]{2})\\u(d[c-f][0-9a-fA-F]{2})", re.IGNORECASE)
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[nrtbfv0\"'/\\])")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,30});")
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}(?:\r?\n[A-Za-z0-9+/_-]{4,})*={0,2}")
_TO_STANDARD_BASE64 = str.maketrans("-_", "+/", "\r\n=")
_GZIP = re.compile(rb"\x1f\x8b\x08")
_ZLIB = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
_BOMS = (b"\xff\xfe", b"\xfe\xff")
# UTF-16 text of ASCII characters inside other bytes, either byte order.
_UTF16_RUN = re.compile(rb"(?:[\t\n\r\x20-\x7e]\x00){6,}|(?:\x00[\t\n\r\x20-\x7e]){6,}")


def _without_nuls(match: re.Match[bytes]) -> bytes:
    return match.group().replace(b"\x00", b"")


def _unescape(match: re.Match[str]) -> str:
    escape = match.group()
    if escape[1] in "uUx":
        return chr(int(escape[2:], 16)) if int(escape[2:], 16) <= 0x10FFFF else escape
    return _SIMPLE_ESCAPES.get(escape[1], escape[1])


def _pair(match: re.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def unescaped(text: str) -> str:
    """``text`` with URL, JSON/Python and HTML escapes undone, until none is left (4 rounds)."""
    for _ in range(4):
        before = text
        if "%" in text and _PERCENT.search(text):
            text = urllib.parse.unquote(text, errors="replace")
        if "\\" in text:
            text = _ESCAPE.sub(_unescape, _SURROGATES.sub(_pair, text))
        if "&" in text and _ENTITY.search(text):
            text = html.unescape(text)
        if text == before:
            break
    return text


def _worth_reading(data: bytes) -> bool:
    """Whether bytes decoded from a base64 run can be text or a stream: random bytes (what
    an id or a hash decodes to) are neither."""
    if data.startswith((b"\x1f\x8b", b"PK\x03\x04", *_BOMS)) or _ZLIB.match(data):
        return True
    if data.count(0) * 4 >= len(data):  # UTF-16
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class _FileScan:
    path: str
    budget: int = MAX_DECODED_BYTES
    hits: list[Hit] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    def take(self, size: int, what: str) -> bool:
        """Spend ``size`` decoded bytes of the budget; False (and noted) when it is spent."""
        if size > self.budget:
            self.incomplete.append(f"{what} left unread: over {MAX_DECODED_BYTES} decoded bytes")
            return False
        self.budget -= size
        return True

    def bytes_(self, data: bytes, layers: tuple[str, ...], depth: int) -> None:
        utf16 = self._utf16(data)
        if not utf16 or not (data.startswith(_BOMS) or data.count(0) * 4 >= len(data)):
            # Read as UTF-8, with any run of UTF-16 text inside written as its characters
            # (its NULs would otherwise part every digit from the next).
            plain = _UTF16_RUN.sub(_without_nuls, data) if 0 in data else data
            self.text(plain.decode("utf-8", "replace"), layers, depth)
        for name, text in utf16:
            self.text(text, (*layers, name), depth)
        if depth < MAX_DEPTH:
            self._streams(data, layers, depth)

    @staticmethod
    def _utf16(data: bytes) -> list[tuple[str, str]]:
        """(layer, text) of each reading of the whole of ``data`` as UTF-16 that decodes,
        when it is not UTF-8 text already."""
        if not data.startswith(_BOMS) and 0 not in data:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return []
        readings = []
        for codec in ("utf-16-le", "utf-16-be"):
            for align in (0, 1):
                part = data[align : align + (len(data) - align) // 2 * 2]
                try:
                    text = part.decode(codec)
                except UnicodeDecodeError:
                    continue
                readings.append((codec if not align else f"{codec} from byte 1", text))
        return readings

    def _streams(self, data: bytes, layers: tuple[str, ...], depth: int) -> None:
        for name, pattern, wbits in (("gzip", _GZIP, 31), ("zlib", _ZLIB, 15)):
            for start in pattern.finditer(data):
                inflated = self._inflate(data[start.start() :], wbits)
                if inflated and self.take(len(inflated), f"{name} at byte {start.start()}"):
                    self.bytes_(inflated, (*layers, f"{name} at byte {start.start()}"), depth + 1)
        if data.startswith(b"PK\x03\x04"):
            self._zip(data, layers, depth)

    def _inflate(self, data: bytes, wbits: int) -> bytes:
        stream = zlib.decompressobj(wbits)
        try:
            out = stream.decompress(data, self.budget + 1)
        except zlib.error:
            return b""
        if len(out) > self.budget:
            self.incomplete.append(f"a stream over {MAX_DECODED_BYTES} bytes left unread")
            return b""
        return out

    def _zip(self, data: bytes, layers: tuple[str, ...], depth: int) -> None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return
        with archive:
            for entry in archive.infolist():
                if entry.is_dir() or not self.take(entry.file_size, f"zip entry {entry.filename}"):
                    continue
                try:
                    content = archive.read(entry)
                except (zipfile.BadZipFile, OSError, RuntimeError, zlib.error):
                    self.incomplete.append(f"zip entry {entry.filename!r} unreadable")
                    continue
                self.bytes_(content, (*layers, f"zip entry {entry.filename!r}"), depth + 1)

    def text(self, text: str, layers: tuple[str, ...], depth: int) -> None:
        for at, form in find_in_text(text):
            self.hits.append(Hit(self.path, form, _where(text, at), layers))
        if depth >= MAX_DEPTH:
            return
        plain = unescaped(text)
        if plain != text:
            self.text(plain, (*layers, "unescaped"), depth + 1)
            return  # its base64 runs are looked at there, with their escapes undone
        for run in _BASE64.finditer(text):
            value = run.group().translate(_TO_STANDARD_BASE64)
            value = value[: len(value) - len(value) % 4] if len(value) % 4 == 1 else value
            try:
                decoded = binascii.a2b_base64(value + "=" * (-len(value) % 4))
            except binascii.Error:
                continue
            if _worth_reading(decoded) and self.take(len(decoded), "a base64 run"):
                layer = f"base64 at {_where(text, run.start())}"
                self.bytes_(decoded, (*layers, layer), depth + 1)

    def result(self) -> list[Hit]:
        """One hit per form, where it was seen in the fewest layers first; then what could
        not be read (a hit too: the scan cannot vouch for it)."""
        first: dict[str, Hit] = {}
        seen: dict[str, int] = {}
        for hit in sorted(self.hits, key=lambda h: len(h.layers)):
            first.setdefault(hit.form, hit)
            seen[hit.form] = seen.get(hit.form, 0) + 1
        hits = [Hit(h.path, h.form, h.where, h.layers, seen[h.form] - 1) for h in first.values()]
        return hits + [Hit(self.path, f"not scanned whole: {why}", "-") for why in self.incomplete]


def spellings(pan: str) -> set[str]:
    """A card's common plain spellings (whole, in fours with spaces or dashes, Amex 4-6-5),
    for tests that assert a text they hold lacks them; `scan_text` finds every form."""
    groups4 = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    forms = {pan, " ".join(groups4), "-".join(groups4)}
    if len(pan) == 15:
        amex = [pan[:4], pan[4:10], pan[10:]]
        forms |= {" ".join(amex), "-".join(amex)}
    return forms


# -- entry points --------------------------------------------------------------------------


def scan_bytes(data: bytes, path: str = "<bytes>") -> list[Hit]:
    """The hits in one file's bytes, in every layer they hold."""
    scan = _FileScan(path)
    scan.bytes_(data, (), 0)
    return scan.result()


def scan_text(text: str, path: str = "<text>") -> list[Hit]:
    """The hits in a text, in every layer it holds."""
    scan = _FileScan(path)
    scan.text(text, (), 0)
    return scan.result()


def scan(paths: Iterable[Path]) -> list[Hit]:
    """The hits in every file of ``paths`` (directories and missing paths are passed over)."""
    hits: list[Hit] = []
    for path in paths:
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            hits.append(Hit(str(path), f"not scanned: over {MAX_FILE_BYTES} bytes", "-"))
            continue
        hits.extend(scan_bytes(path.read_bytes(), str(path)))
    return hits


def _not_ours(path: Path, root: Path) -> bool:
    """Hypothesis' own folder (its example database and Unicode tables, left where the
    fuzzer ran): the inputs it generated hold card numbers by design; nothing in it was
    written by cardline."""
    return ".hypothesis" in path.relative_to(root).parts


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.leakscan DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    files = sorted(p for p in root.rglob("*") if p.is_file() and not _not_ours(p, root))
    started = time.perf_counter()
    hits = scan(files)
    took = time.perf_counter() - started
    total = sum(p.stat().st_size for p in files)
    print(
        f"leak scan: {len(files)} files, {total} bytes in {took:.1f} s; {len(TEST_PANS)} test "
        f"cards and their first {' and '.join(map(str, PREFIX_LENGTHS))} digits, any other "
        f"card number, {len(TEST_CVVS)} security codes"
    )
    failed = False
    if not files:
        print("leak scan: FAILED - the suite left nothing to scan", file=sys.stderr)
        failed = True
    for kind in artifacts.KINDS:
        if not any(p.is_relative_to(root / kind) for p in files):
            print(f"leak scan: FAILED - no {kind}/ (tests/artifacts.py)", file=sys.stderr)
            failed = True
    for hit in hits:
        print(f"leak scan: HIT {hit}", file=sys.stderr)
    if hits:
        print(f"leak scan: FAILED with {len(hits)} hits", file=sys.stderr)
        return 1
    if failed:
        return 1
    print("leak scan: 0 hits")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
