"""What the payments list's ``search`` matches, written once for every ledger backend.

A payment matches a search text when any of these holds:

- its reference contains the text (letter case ignored);
- the text is four digits and they are the card's last four;
- the text is an amount equal to the payment's (``11``, ``11.0`` and ``11.00`` are one);
- the text is the payment id, or the confirmation code the caller was given for it.

Both ledgers filter with :meth:`Search.matches` while they page, newest first, so a search
answers pages like any other list: a later page holds the older matches, none is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from cardline.cde.confirmation import CONFIRMATION_LENGTH, confirmation_code
from cardline.ledger.states import current_id

__all__ = ["Search"]

_LAST4 = re.compile(r"[0-9]{4}")
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,3})?")  # "0011" is a last 4, not 11


def _decimal(value: object) -> Decimal | None:
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


class Search:
    """A search text, read once; :meth:`matches` tests one payment row against it."""

    __slots__ = ("amount", "code", "last4", "lowered", "payment_id", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.casefold()
        self.last4 = text if _LAST4.fullmatch(text) else None
        self.amount = _decimal(text)
        self.code = text.upper() if len(text) == CONFIRMATION_LENGTH else None
        self.payment_id = current_id(text.casefold())  # a legacy hex id finds its payment

    def matches(self, row: Mapping[str, Any]) -> bool:
        """True when the payment ``row`` (as a ledger keeps or serves it) matches."""
        reference = row.get("reference")
        if isinstance(reference, str) and self.lowered in reference.casefold():
            return True
        if self.last4 is not None and row.get("last4") == self.last4:
            return True
        if self.amount is not None and _decimal(row.get("amount")) == self.amount:
            return True
        payment_id = row.get("id")
        if not isinstance(payment_id, str):
            return False
        if payment_id == self.payment_id:
            return True
        return self.code is not None and confirmation_code(payment_id) == self.code
