"""The confirmation code a caller is given for a payment: the IVR speaks it, the agent
console shows it for the agent to read back. Written once here so the two never differ.

Standard library only (the charge route puts it in its answer).
"""

from __future__ import annotations

__all__ = ["CONFIRMATION_LENGTH", "confirmation_code"]

CONFIRMATION_LENGTH = 6


def confirmation_code(payment_id: str) -> str:
    """The last six characters of the payment id, upper-case: ``pay_…bcdfgh`` gives
    ``BCDFGH``. Payment ids are written in consonants (:mod:`cardline.cde.ids`), so the code
    holds no digit, no vowel and no "L" to mishear; it finds the payment again in the
    console's search."""
    return payment_id.removeprefix("pay_")[-CONFIRMATION_LENGTH:].upper()
