"""Identifiers that can never hold a card number.

Every id cardline makes is written in sixteen consonants instead of hex digits, so no id
carries a digit, let alone a 13–19 digit run that the PAN mask would rewrite (about one
hex id in a thousand held a Luhn-valid run). The derivations are those of the hex ids
they replace, letter for letter: ``from_hex`` turns an id made before the change into the
id made now, so that audit events written before keep naming the same payment.

This module is in the charge path: standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import TypeGuard

# One letter for each hex digit: no vowel (no words), no "l" (read as "1").
ALPHABET = "bcdfghjkmnpqrstv"
_FROM_HEX = str.maketrans("0123456789abcdef", ALPHABET)


def from_hex(text: str) -> str:
    """``text`` with each hex digit written as its letter (other characters unchanged)."""
    return text.translate(_FROM_HEX)


def digest(*parts: str) -> str:
    """SHA-256 of the parts (joined by the unit separator) as 64 letters."""
    return from_hex(hashlib.sha256("\x1f".join(parts).encode()).hexdigest())


def random_id(length: int = 32) -> str:
    """``length`` letters (4 random bits each; 32 letters are 128 bits, as uuid4's hex)."""
    return from_hex(os.urandom((length + 1) // 2).hex())[:length]


# The shape of an identifier another system makes and we keep (Amazon Connect's contact and
# instance ids): a UUID, any version, as Connect writes it. The PAN mask leaves a UUID whole,
# so a value kept as one must be checked for this shape where it comes in.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_uuid(text: object) -> TypeGuard[str]:
    """True when ``text`` is a UUID in its canonical lower-case form."""
    return isinstance(text, str) and _UUID.fullmatch(text) is not None
