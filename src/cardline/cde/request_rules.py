"""Rules every route applies to what it is sent, card or not: no unknown fields, a
well-formed Idempotency-Key, and the ids derived from the operator and that key.

No card data here: the backoffice, the IVR sessions and the refund use case import these
without importing the charge use case.
"""

from __future__ import annotations

import hashlib

from cardline.cde import ids
from cardline.cde.errors import InvalidRequest
from cardline.cde.pan import contains_pan

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "INTENTS",
    "INTENT_RULE",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_NAME_LENGTH",
    "MAX_REFERENCE",
    "NOT_AN_OBJECT",
    "payment_id_for",
    "paypal_request_id_for",
    "reject_unknown",
    "validate_idempotency_key",
]

MAX_REFERENCE = 127
MAX_IDEMPOTENCY_KEY = 255
MAX_NAME_LENGTH = 300  # the cardholder name, as PayPal's card.name allows
# A payment's intent: PayPal's own, a capture now or an authorization to capture later.
INTENTS = frozenset({"CAPTURE", "AUTHORIZE"})
INTENT_RULE = "intent must be CAPTURE or AUTHORIZE"
# What every route that takes a JSON body says of one that is not an object.
NOT_AN_OBJECT = "The request body must be a JSON object"


def reject_unknown(names: Iterable[str], allowed: frozenset[str], where: str) -> None:
    """Refuse fields outside ``allowed``. The answer names the fields that are allowed and
    never one it was sent: a caller can put anything, a card number included, in a key."""
    if not set(names) <= allowed:
        raise InvalidRequest(
            f"{where} holds a field that is not one of: {', '.join(sorted(allowed))}",
            field=where,
        )


def validate_idempotency_key(key: str | None) -> str:
    """The Idempotency-Key header: required, 1–255 printable ASCII characters."""
    if key is None or key == "":
        raise InvalidRequest("The Idempotency-Key header is required", field="Idempotency-Key")
    # Printable ASCII without the space: what all(32 < ord(c) < 127) says, at C speed.
    if len(key) > MAX_IDEMPOTENCY_KEY or not (
        key.isascii() and key.isprintable() and " " not in key
    ):
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters",
            field="Idempotency-Key",
        )
    if contains_pan(key, inside_identifiers=False):
        raise InvalidRequest(
            "Idempotency-Key must not contain a card number", field="Idempotency-Key"
        )
    return key


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def payment_id_for(operator: str, idempotency_key: str) -> str:
    """Stable payment id: the same operator and key always name the same payment."""
    return "pay_" + ids.digest("payment", operator, idempotency_key)[:24]


def paypal_request_id_for(operator: str, idempotency_key: str, purpose: str = "order") -> str:
    """PayPal-Request-Id derived from the operator and their Idempotency-Key (≤ 108 chars)."""
    return f"cardline-{purpose}-" + _digest(purpose, operator, idempotency_key)[:48]
