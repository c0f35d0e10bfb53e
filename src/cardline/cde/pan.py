"""The one card-number detector: free-text validators, the log mask and the leak scan.

A card number is looked for the way a person or a program might write one: 13 to 19
decimal digits (any script's digits, full-width included: NFKC, then Unicode's decimal
value) in groups separated by any run of characters that are neither letters nor digits
(spaces, dashes, dots, slashes, underscores, tabs, line breaks, NBSP, en-dashes, …),
whose digits pass the Luhn check. Groups are never split: "4111111111111111 123" holds a
card number (the first group), "41111111111111111234" does not (one 20-digit number).
JSON's escapes are read as what they stand for (an audit line is ASCII JSON: a full-width
digit is "\\uff14" there, a tab "\\t"), and so is percent-encoding ("%20", "%34"). A
date and time as programs write them ("2026-12-01 22:16:15") is never taken for a card
number.

Two uses, two strictnesses:

- ``contains_pan`` (what a free-text field may not hold) looks everywhere, letters next to
  the digits included ("x4111111111111111").
- ``mask_pans`` (the logging filter, the audit lines) and
  ``find_pans(..., inside_identifiers=False)`` leave identifiers whole: ids of cardline's
  own older hex form, UUIDs (Amazon Connect's contact ids), PayPal request ids, request
  fingerprints and SHA-256 digests (hex, fixed across deploys) and 17-character PayPal
  ids. Those are never free text: each is made by us or PayPal, or checked for its shape
  where it comes in. The price: a capitals-only word glued to a 13-16
  digit card number into exactly 17 characters ("REF" and 14 digits) has a PayPal id's
  shape and is left whole by the mask (``contains_pan`` still finds it). Text a client
  wrote, which is never one of those identifiers, is masked with
  ``mask_pans(text, inside_identifiers=True)``.

What is masked keeps its last four digits and ends in a letter (``[PAN ••••1111 masked]``),
so the kept digits never join the digits after them into a new number: the mask is
idempotent.

This module is in the charge path: standard library only, ``unicodedata`` only for text
that is not ASCII.
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_DIGITS = 13
MAX_DIGITS = 19

# ASCII text's shadow: digits stay, letters become "a", everything else a separator " ".
_ASCII_SHADOW = {
    c: (chr(c) if chr(c).isdigit() else "a" if chr(c).isalpha() else " ") for c in range(128)
}
# A digit written as an escape (JSON's "\\uff14", an audit line's full-width four) shadows
# as the digit followed by "_", one per further character of the escape: still one digit.
_GROUPS = re.compile(r"[0-9][0-9_]*(?: +[0-9][0-9_]*)*")
_GROUP = re.compile(r"[0-9][0-9_]*")
# The quick look that most text ends with: a chain of 13 digits, separators left out.
_CLASSES = {c: ("0" if chr(c).isdigit() else "a" if chr(c).isalpha() else None) for c in range(128)}
_SHADOW_CLASSES = {ord("_"): "0", ord(" "): None, **{ord(d): "0" for d in "0123456789"}}
_THIRTEEN = "0" * MIN_DIGITS
# JSON's escapes (an audit line is ASCII JSON): a surrogate pair, \\uXXXX, or one character;
# and percent-encoding (a query string, a URL in an error): one ASCII byte, or the bytes of
# one UTF-8 character.
_ESCAPE = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(.))"
    r"|%([0-7][0-9a-fA-F]|[c-fC-F][0-9a-fA-F](?:%[89abAB][0-9a-fA-F]){1,3})",
    re.DOTALL,
)
_ESCAPED_SEPARATORS = frozenset("nrtbf")

# Identifier shapes the mask leaves whole (see the module docstring). The distinctive ones
# need no boundary around them: a database file glues its values together, so a UUID or a
# request id may stand right after other text there.
_IDENTIFIERS = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    r"|cardline-[a-z]+-[0-9a-f]{48}"  # PayPal-Request-Id
    r"|clfp1:[0-9a-f]{40}"  # a request fingerprint (an order's custom_id: fixed across deploys)
    r"|(?<![0-9A-Za-z])(?:"
    r"(?:pay|ref|evt|ivr)_[0-9a-f]{24,32}"  # cardline's ids before they were written in letters
    r"|[0-9a-f]{32}"  # event and request ids before they were written in letters
    r"|[0-9a-f]{64}"  # a SHA-256 digest (operator key hashes)
    r"|(?=[0-9A-Z]{0,16}[A-Z])[0-9A-Z]{17}"  # PayPal's order, capture and refund ids
    r")(?![0-9A-Za-z])"
)
# A date and time as programs write them ("2026-12-01 22:16:15.123"): 14 to 20 digits in
# one chain, one in ten of them Luhn-valid, never a card number. Left alone everywhere.
_DATE_TIMES = re.compile(
    r"(?<![0-9A-Za-z])[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}"
    r"(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?(?![0-9A-Za-z])"
)


@lru_cache(maxsize=4096)
def _shadow_char(char: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKC", char)
    values = [unicodedata.decimal(c, None) for c in folded]
    digits = [v for v in values if v is not None]
    if len(digits) == 1 and not any(
        c.isalnum() for c, v in zip(folded, values, strict=True) if v is None
    ):
        return str(digits[0])
    if any(c.isalnum() for c in folded):
        return "a"
    return " "


class _Shadows(dict[int, str]):
    """Any text's shadow table for str.translate: ASCII's, and each other character's
    shadow worked out when first met (up to a bound: what a caller sends cannot grow it)."""

    def __missing__(self, code: int) -> str:
        shade = _shadow_char(chr(code))
        if len(self) < 4096:
            self[code] = shade
        return shade


_SHADOWS = _Shadows(_ASCII_SHADOW)


def _escaped(match: re.Match[str]) -> str:
    """The shadow of one escape, as long as the escape."""
    high, low, code, single, percent = match.groups()
    if percent is not None:
        char = bytes.fromhex(percent.replace("%", "")).decode("utf-8", "replace")[0]
    elif single is not None:
        char = " " if single in _ESCAPED_SEPARATORS else single
    elif code is not None:
        char = chr(int(code, 16))
    else:
        char = chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
    shade = _SHADOWS[ord(char)]
    length = match.end() - match.start()
    return shade + ("_" if shade.isdigit() else shade) * (length - 1)


def _shadow(text: str) -> str:
    """``text`` with one ASCII character per character: its digit, "a" or " " (a digit
    written as an escape: the digit, then "_" for the rest of the escape)."""
    shadow = text.translate(_ASCII_SHADOW if text.isascii() else _SHADOWS)
    if "\\" in text or "%" in text:
        shadow = "".join(
            _escaped(piece) if isinstance(piece, re.Match) else shadow[piece[0] : piece[1]]
            for piece in _pieces(text)
        )
    return shadow


def _pieces(text: str) -> list[re.Match[str] | tuple[int, int]]:
    """The escapes in ``text`` and the (start, end) of the stretches between them."""
    pieces: list[re.Match[str] | tuple[int, int]] = []
    at = 0
    for match in _ESCAPE.finditer(text):
        pieces.append((at, match.start()))
        pieces.append(match)
        at = match.end()
    pieces.append((at, len(text)))
    return pieces


def luhn_ok(digits: str) -> bool:
    """The Luhn check of ASCII digits."""
    return (
        sum(map(int, digits[-1::-2])) + sum(map(_LUHN_DOUBLED.__getitem__, digits[-2::-2]))
    ) % 10 == 0


# Every second digit from the right counts double, less 9 when that is more than 9.
_LUHN_DOUBLED = {str(d): 2 * d - 9 if d > 4 else 2 * d for d in range(10)}


def _spans(shadow: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each card number in a shadow, left to right, not overlapping.

    In each chain of digit groups, the card number that starts at the earliest group and
    spans the most groups is taken first."""
    found: list[tuple[int, int, str]] = []
    for chain in _GROUPS.finditer(shadow):
        if chain.end() - chain.start() < MIN_DIGITS:
            continue
        groups = [
            (g.start(), g.end(), g.group().replace("_", "")) for g in _GROUP.finditer(chain.group())
        ]
        base = chain.start()
        i = 0
        while i < len(groups):
            best: tuple[int, str] | None = None
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > MAX_DIGITS:
                    break
                if len(digits) >= MIN_DIGITS and luhn_ok(digits):
                    best = (j, digits)
            if best is None:
                i += 1
                continue
            j, digits = best
            found.append((base + groups[i][0], base + groups[j][1], digits))
            i = j + 1
    return found


def _exempt_spans(text: str, inside_identifiers: bool) -> list[tuple[int, int]]:
    spans = [m.span() for m in _DATE_TIMES.finditer(text)]
    if not inside_identifiers:
        spans += [m.span() for m in _IDENTIFIERS.finditer(text)]
    return spans


def find_pans(text: str, *, inside_identifiers: bool = True) -> list[tuple[int, int, str]]:
    """(start, end, digits) of every card number in ``text``; with ``inside_identifiers=False``,
    not those inside an identifier (see the module docstring)."""
    if text.isascii() and "\\" not in text and "%" not in text:
        if _THIRTEEN not in text.translate(_CLASSES):
            return []
        shadow = text.translate(_ASCII_SHADOW)
    else:
        shadow = _shadow(text)
        if _THIRTEEN not in shadow.translate(_SHADOW_CLASSES):
            return []
    # What is exempt reads as letters: its digits join no chain, and digits right next to
    # it (a database file glues values together) make chains of their own.
    for start, end in _exempt_spans(text, inside_identifiers):
        shadow = shadow[:start] + "a" * (end - start) + shadow[end:]
    return _spans(shadow)


def contains_pan(text: str, *, inside_identifiers: bool = True) -> bool:
    """True when ``text`` holds a card number anywhere, however written (with
    ``inside_identifiers=False``: for a value that may be a UUID, such as a client's key)."""
    return bool(find_pans(text, inside_identifiers=inside_identifiers))


def is_pan(text: str) -> bool:
    """True when the whole of ``text`` (surrounding spaces aside) is one card number."""
    text = text.strip()
    spans = find_pans(text)
    return len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(text)


# What a masked card number becomes: its last 4 digits, then a letter, so that the kept
# digits never join the digits after them into a new card number (the mask is idempotent).
_MASK = "[PAN ••••{} masked]"


def mask_pans(text: str, *, inside_identifiers: bool = False) -> str:
    """``text`` with each card number outside an identifier (with ``inside_identifiers=True``:
    every card number, for text a client wrote) replaced by a mask that keeps its last 4
    digits: ``[PAN ••••1111 masked]``. What comes out holds no card number."""
    spans = find_pans(text, inside_identifiers=inside_identifiers)
    if not spans:
        return text
    # One pass leaves no card number: _spans tried every start before and after each span,
    # and the mask ends in a letter, so its kept digits start no new chain.
    pieces = []
    at = 0
    for start, end, digits in spans:
        pieces.append(text[at:start])
        pieces.append(_MASK.format(digits[-4:]))
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def shadow(text: str) -> str:
    """``text`` with one ASCII character per character, as the detector reads it: each
    digit of any script as its ASCII digit, each letter as "a", anything else as " "
    (the leak scan searches it for the test cards' digits, whatever their separators)."""
    return _shadow(text)
