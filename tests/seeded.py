"""What the suite draws instead of randomness: the same values on every run.

- Hypothesis runs derandomized (its examples come from a hash of each test) and without
  its example database, so a run never depends on what an earlier run found.
- ``unique(prefix)`` names a key, table or invoice: unique within the test process, the
  same in every run of the same tests, and written in cardline.cde.ids' letters, so that no
  name can hold a digit run a card-number detector or the leak scan would take for a card
  (a random UUID holds a Luhn-valid 13-digit run about one time in 250).
- ``contact_id()`` is an Amazon Connect contact id (a UUID) of the same kind: hex letters
  only, but for the version and variant digits.
"""

from __future__ import annotations

import itertools

from hypothesis import settings

from cardline.cde import ids

settings.register_profile("cardline", derandomize=True, database=None)
settings.load_profile("cardline")

_serial = itertools.count(1)


def unique(prefix: str = "") -> str:
    """``prefix`` and 12 letters that no other call in this process returns."""
    return prefix + ids.from_hex(f"{next(_serial):012x}")


def contact_id() -> str:
    """A version-4 UUID, unique in this process, with no digit but its "4" and "8"."""
    letters = "abcdef"
    n = next(_serial)
    body = "".join(letters[(n // 6**i) % 6] for i in range(30))[::-1]
    return f"{body[:8]}-{body[8:12]}-4{body[12:15]}-8{body[15:18]}-{body[18:30]}"
