"""What an authorization or a capture may do next, decided once.

Each ``*_refusal`` function names the 422 issue PayPal answers an action with, or None
when the action is allowed. The operations in :mod:`cardline.sandbox.api` raise that
issue, and :mod:`cardline.sandbox.views` advertises an action's HATEOAS link only when its
refusal is None: a link is offered exactly when following it works.

Authorizations (PayPal's Payments v2 reauthorize contract): an authorization honours
:data:`HONOUR_DAYS` days and is valid :data:`VALID_DAYS` days from the original
authorization. It may be reauthorized once, after its honour period and before it
expires; the reauthorization is a new authorization that takes over the hold (capture it,
not the original) and cannot itself be reauthorized or voided (void the original, which
voids both).
"""

from __future__ import annotations

from cardline.sandbox.amounts import Amount
from cardline.sandbox.clock import seconds_of
from cardline.sandbox.errors import Issue
from cardline.sandbox.records import Authorization, Capture

DAY = 86400
HONOUR_DAYS = 3
VALID_DAYS = 29


def expired(auth: Authorization, now: float) -> bool:
    """True once ``auth`` has passed its expiration time."""
    return now >= seconds_of(auth.expiration_time)


def capture_refusal(auth: Authorization, now: float) -> Issue | None:
    """Why ``auth`` cannot be captured now, if it cannot."""
    if auth.status == "VOIDED":
        return Issue("AUTHORIZATION_VOIDED")
    if auth.status == "DENIED":
        return Issue("AUTHORIZATION_DENIED")
    if auth.status == "CAPTURED":
        return Issue("AUTHORIZATION_ALREADY_CAPTURED")
    if auth.reauthorization_id is not None:
        # The hold moved to the reauthorization; PayPal's closest words for "not this one".
        return Issue("TRANSACTION_REFUSED")
    if expired(auth, now):
        return Issue("AUTHORIZATION_EXPIRED")
    return None


def void_refusal(auth: Authorization) -> Issue | None:
    """Why ``auth`` cannot be voided, if it cannot."""
    if auth.status == "CAPTURED":
        return Issue("PREVIOUSLY_CAPTURED")
    if auth.status == "VOIDED":
        return Issue("PREVIOUSLY_VOIDED")
    if auth.status == "DENIED" or auth.parent_id is not None:
        return Issue("CANNOT_BE_VOIDED")
    return None


def reauthorize_refusal(auth: Authorization, now: float) -> Issue | None:
    """Why ``auth`` cannot be reauthorized now, if it cannot."""
    if auth.status == "VOIDED":
        return Issue("AUTHORIZATION_VOIDED")
    if auth.status in ("CAPTURED", "PARTIALLY_CAPTURED"):
        return Issue("AUTHORIZATION_ALREADY_CAPTURED")
    if auth.status != "CREATED":
        return Issue("TRANSACTION_REFUSED")
    if auth.parent_id is not None or auth.reauthorization_id is not None:
        return Issue("REAUTHORIZATION_NOT_SUPPORTED")  # once, and only the original
    if expired(auth, now):
        return Issue("AUTHORIZATION_EXPIRED")
    if now - seconds_of(auth.create_time) < HONOUR_DAYS * DAY:
        return Issue("REAUTHORIZATION_TOO_SOON")
    return None


def reauthorization_limit(original: Amount) -> Amount:
    """The most a reauthorization may hold: 115 % of the original amount and, in USD (the
    documented case), no more than 75.00 above it."""
    limit = original.minor * 115 // 100
    if original.currency == "USD":
        limit = min(limit, original.minor + 7500)
    return original.with_minor(limit)


def refund_refusal(capture: Capture) -> Issue | None:
    """Why ``capture`` cannot be refunded, if it cannot."""
    if not capture.moved_money:
        return Issue("REFUND_NOT_ALLOWED")
    if capture.status == "PENDING":
        return Issue("PENDING_CAPTURE")
    if capture.status == "REFUNDED":
        return Issue("CAPTURE_FULLY_REFUNDED")
    return None
