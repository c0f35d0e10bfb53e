"""What the backoffice's PayPal actions on a payment share (refunds, captures and voids of
authorizations): their audit events, the refusal of a reused Idempotency-Key, and PayPal's
errors told to the agent in words. No card data: these act on PayPal's ids."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NoReturn

from cardline.cde import audit
from cardline.cde.errors import (
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    IdempotencyConflict,
)
from cardline.cde.paypal.codes import refusal_words

__all__ = ["decimal_or_none", "in_words", "paypal_words", "record", "refuse_reuse"]


def record(
    sink: audit.AuditSink,
    kind: str,
    succeeded: frozenset[str],
    *,
    operator: str,
    origin: str,
    payment_id: str,
    details: Mapping[str, Any],
) -> None:
    """The action's audit event: a success when its status is one of ``succeeded``."""
    audit.record(
        sink,
        kind,
        operator=operator,
        outcome="success" if details.get("status") in succeeded else "failure",
        origin=origin,
        resource=payment_id,
        details=details,
    )


def refuse_reuse(
    sink: audit.AuditSink, kind: str, *, operator: str, origin: str, payment_id: str, action_id: str
) -> NoReturn:
    """Audit, then refuse, an Idempotency-Key already used for another ``kind`` request."""
    details = {"id": action_id, "status": "rejected", "error": IdempotencyConflict.code}
    record(
        sink,
        kind,
        frozenset(),
        operator=operator,
        origin=origin,
        payment_id=payment_id,
        details=details,
    )
    raise IdempotencyConflict(
        f"This Idempotency-Key was already used for a different {kind} request; "
        f"use a new key for a new {kind}",
        field="Idempotency-Key",
    )


def paypal_words(error: GatewayError) -> dict[str, str]:
    """PayPal's own issue name and debug id, when it gave them, for the audit event only:
    support quotes them to PayPal, the agent reads words (card-free tokens: the client
    keeps nothing else of PayPal's answer)."""
    words = {"paypal_issue": error.issue, "paypal_debug_id": error.debug_id}
    return {name: value for name, value in words.items() if value is not None}


def in_words(error: GatewayError, *, noun: str, done: str, maybe: str, never: str) -> GatewayError:
    """The gateway error as the agent reads it: what happened to the ``noun`` (``done``:
    its past participle; ``maybe``: what may have happened; ``never``: why a retry is
    safe) and what to do, never PayPal's own names (the same class, so its code and status
    stay)."""
    if isinstance(error, GatewayOutcomeUnknown):
        detail = (
            f"PayPal did not confirm the {noun} in time: {maybe}. Retry with the same "
            f"Idempotency-Key to learn the outcome; {never}."
        )
    elif isinstance(error, GatewayUnavailable):
        detail = (
            f"PayPal could not be reached and nothing was {done}. Try again in a moment "
            "(the same Idempotency-Key is safe to reuse)."
        )
    else:
        words = refusal_words(error.issue, error.http_status)
        if isinstance(error, GatewayRejected):
            detail = f"PayPal refused the {noun} and nothing was {done}. {words}"
        else:
            detail = (
                f"PayPal gave no usable answer about the {noun}. {words} Retry with the same "
                f"Idempotency-Key: {never}."
            )
    return error.in_words(detail)


def decimal_or_none(value: object) -> Decimal | None:
    """``value`` as a Decimal, or None when it is missing or not a number."""
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None
