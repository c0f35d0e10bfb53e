"""The one card-number detector: free-text validators, the log mask and the leak scan.

A card number is looked for the way a person or a program might write one: 13 to 19
decimal digits (any script's digits, full-width included: NFKC, then Unicode's decimal
value) in groups separated by any run of characters that are neither letters nor digits
(spaces, dashes, dots, slashes, underscores, tabs, line breaks, NBSP, en-dashes, …),
whose digits pass the Luhn check. Groups are never split: "4111111111111111 123" holds a
card number (the first group), "41111111111111111234" does not (one 20-digit number).

Two uses, two strictnesses:

- ``contains_pan`` (what a free-text field may not hold) looks everywhere, letters next to
  the digits included ("x4111111111111111").
- ``mask_pans`` (the logging filter, the audit lines) and
  ``find_pans(..., inside_identifiers=False)`` leave identifiers whole: ids of cardline's
  own older hex form, UUIDs (Amazon Connect's contact ids), PayPal request ids and
  17-character PayPal ids. Those are never free text: each is made by us or PayPal, or
  checked for its shape where it comes in.

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
_GROUPS = re.compile(r"[0-9]+(?: +[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")

# Identifier shapes the mask leaves whole (see the module docstring).
_IDENTIFIERS = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"(?:pay|ref|evt|ivr)_[0-9a-f]{24,32}"  # cardline's ids before they were written in letters
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    r"|cardline-[a-z]+-[0-9a-f]{48}"  # PayPal-Request-Id
    r"|[0-9a-f]{32}"  # event and request ids before they were written in letters
    r"|(?=[0-9A-Z]{0,16}[A-Z])[0-9A-Z]{17}"  # PayPal's order, capture and refund ids
    r")(?![0-9A-Za-z])"
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


def _shadow(text: str) -> str:
    """``text`` with one ASCII character per character: its digit, "a" or " "."""
    if text.isascii():
        return text.translate(_ASCII_SHADOW)
    return "".join(_ASCII_SHADOW[ord(c)] if c < "\x80" else _shadow_char(c) for c in text)


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
        groups = [(g.start(), g.end(), g.group()) for g in _GROUP.finditer(chain.group())]
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


def _identifier_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _IDENTIFIERS.finditer(text)]


def find_pans(text: str, *, inside_identifiers: bool = True) -> list[tuple[int, int, str]]:
    """(start, end, digits) of every card number in ``text``; with ``inside_identifiers=False``,
    not those inside an identifier (see the module docstring)."""
    spans = _spans(_shadow(text))
    if inside_identifiers or not spans:
        return spans
    exempt = _identifier_spans(text)
    return [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in exempt)]


def contains_pan(text: str, *, inside_identifiers: bool = True) -> bool:
    """True when ``text`` holds a card number anywhere, however written (with
    ``inside_identifiers=False``: for a value that may be a UUID, such as a client's key)."""
    return bool(find_pans(text, inside_identifiers=inside_identifiers))


def is_pan(text: str) -> bool:
    """True when the whole of ``text`` (surrounding spaces aside) is one card number."""
    text = text.strip()
    spans = _spans(_shadow(text))
    return len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(text)


def mask_pans(text: str) -> str:
    """``text`` with each card number outside an identifier replaced by a mask that keeps
    its last 4 digits: ``[PAN ••••1111]``."""
    spans = find_pans(text, inside_identifiers=False)
    if not spans:
        return text
    pieces = []
    at = 0
    for start, end, digits in spans:
        pieces.append(text[at:start])
        pieces.append("[PAN ••••" + digits[-4:] + "]")
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def shadow(text: str) -> str:
    """``text`` with one ASCII character per character, as the detector reads it: each
    digit of any script as its ASCII digit, each letter as "a", anything else as " "
    (the leak scan searches it for the test cards' digits, whatever their separators)."""
    return _shadow(text)
