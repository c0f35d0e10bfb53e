"""What a verified PayPal webhook event says, as one fact cardline can apply.

Events are read by their type, and only the fields cardline acts on are taken: the ids that
find the payment, the new status, the amount, the reason PayPal gives. A type cardline does
not act on is an ``Ignored`` fact (PayPal is answered 2xx so it stops retrying). Field
shapes follow PayPal's Payments v2 and Disputes v1 documents; anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardline.cde.errors import InvalidRequest
from cardline.cde.money import Money, parse_money
from cardline.cde.pan import contains_pan

__all__ = [
    "EVENT_TYPES",
    "AuthorizationChanged",
    "CaptureChanged",
    "CaptureRefunded",
    "DisputeChanged",
    "Fact",
    "Ignored",
    "read_event",
]

# PayPal's resource ids (related_ids: ^[A-Z0-9]+$, 1-20; disputes: PP-D-... up to 255).
_RESOURCE_ID = re.compile(r"[A-Z0-9]{1,20}")
_DISPUTE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_CODE = re.compile(r"[0-9A-Z_]{1,64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class CaptureChanged:
    """PAYMENT.CAPTURE.COMPLETED / PENDING / DECLINED / DENIED: a capture's new status."""

    event_id: str
    event_type: str
    capture_id: str
    status: str
    amount: Money
    order_id: str | None
    authorization_id: str | None
    reason: str | None
    update_time: str | None


@dataclass(frozen=True)
class CaptureRefunded:
    """PAYMENT.CAPTURE.REFUNDED / REVERSED: money went back to the payer, by the merchant
    (a refund, made in cardline or elsewhere) or by PayPal (a reversal)."""

    event_id: str
    event_type: str
    refund_id: str
    capture_id: str
    status: str
    amount: Money
    update_time: str | None

    @property
    def reversed(self) -> bool:
        return self.event_type == "PAYMENT.CAPTURE.REVERSED"


@dataclass(frozen=True)
class AuthorizationChanged:
    """PAYMENT.AUTHORIZATION.CREATED / VOIDED."""

    event_id: str
    event_type: str
    authorization_id: str
    status: str
    amount: Money
    order_id: str | None
    expiration_time: str | None


@dataclass(frozen=True)
class DisputeChanged:
    """CUSTOMER.DISPUTE.CREATED / UPDATED / RESOLVED: a dispute on one or more captures."""

    event_id: str
    event_type: str
    dispute_id: str
    status: str
    reason: str
    capture_ids: tuple[str, ...]
    amount: Money | None
    seller_response_due_date: str | None
    outcome: str | None


@dataclass(frozen=True)
class Ignored:
    """An event type cardline does not act on."""

    event_id: str
    event_type: str


Fact = CaptureChanged | CaptureRefunded | AuthorizationChanged | DisputeChanged | Ignored

CAPTURE_EVENTS = frozenset(
    {
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.PENDING",
        "PAYMENT.CAPTURE.DECLINED",
        "PAYMENT.CAPTURE.DENIED",
    }
)
REFUND_EVENTS = frozenset({"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
AUTHORIZATION_EVENTS = frozenset({"PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED"})
DISPUTE_EVENTS = frozenset(
    {"CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.UPDATED", "CUSTOMER.DISPUTE.RESOLVED"}
)
# Every event type cardline acts on: what its webhook subscription asks for.
EVENT_TYPES = CAPTURE_EVENTS | REFUND_EVENTS | AUTHORIZATION_EVENTS | DISPUTE_EVENTS
CAPTURE_STATUSES = frozenset(
    {"COMPLETED", "DECLINED", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "FAILED"}
)
REFUND_STATUSES = frozenset({"CANCELLED", "FAILED", "PENDING", "COMPLETED"})
AUTHORIZATION_STATUSES = frozenset(
    {"CREATED", "CAPTURED", "DENIED", "PARTIALLY_CAPTURED", "VOIDED", "PENDING"}
)


def _refuse(what: str) -> InvalidRequest:
    return InvalidRequest(f"The webhook event's {what} is not what PayPal sends", field="body")


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(what)
    return value


def _text(
    document: Mapping[str, Any], key: str, shape: re.Pattern[str], *, required: bool = True
) -> str | None:
    value = document.get(key)
    if value is None and not required:
        return None
    # A PayPal id is 17 letters and digits (the detector knows the shape); a card number
    # where an id should be is refused, never stored.
    if (
        not isinstance(value, str)
        or not shape.fullmatch(value)
        or contains_pan(value, inside_identifiers=False)
    ):
        raise _refuse(key)
    return value


def _required(document: Mapping[str, Any], key: str, shape: re.Pattern[str]) -> str:
    value = _text(document, key, shape)
    assert value is not None
    return value


def _status(document: Mapping[str, Any], allowed: frozenset[str]) -> str:
    status = document.get("status")
    if status not in allowed:
        raise _refuse("status")
    assert isinstance(status, str)
    return status


def _amount(document: Mapping[str, Any], key: str = "amount") -> Money:
    money = _object(document.get(key), key)
    value, currency = money.get("value"), money.get("currency_code")
    if not isinstance(value, str) or not isinstance(currency, str):
        raise _refuse(key)
    try:
        return parse_money(value, currency)
    except InvalidRequest:
        raise _refuse(key) from None


def _related(resource: Mapping[str, Any], key: str) -> str | None:
    supplementary = resource.get("supplementary_data")
    if supplementary is None:
        return None
    related = _object(_object(supplementary, "supplementary_data").get("related_ids", {}), key)
    return _text(related, key, _RESOURCE_ID, required=False)


def _up_capture(resource: Mapping[str, Any]) -> str:
    """The capture a refund belongs to: its ``up`` link (PayPal's refunds name it nowhere
    else), or ``supplementary_data.related_ids.capture_id`` where given."""
    related = _related(resource, "capture_id")
    if related is not None:
        return related
    for link in resource.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "up":
            match = re.search(r"/v2/payments/captures/([A-Z0-9]{1,20})$", str(link.get("href")))
            if match:
                return match.group(1)
    raise _refuse("capture link")


def _capture(event_id: str, event_type: str, resource: Mapping[str, Any]) -> CaptureChanged:
    details = resource.get("status_details")
    reason = None
    if details is not None:
        reason = _text(_object(details, "status_details"), "reason", _CODE, required=False)
    return CaptureChanged(
        event_id=event_id,
        event_type=event_type,
        capture_id=_required(resource, "id", _RESOURCE_ID),
        status=_status(resource, CAPTURE_STATUSES),
        amount=_amount(resource),
        order_id=_related(resource, "order_id"),
        authorization_id=_related(resource, "authorization_id"),
        reason=reason,
        update_time=_text(resource, "update_time", _TIME, required=False),
    )


def _refund(event_id: str, event_type: str, resource: Mapping[str, Any]) -> CaptureRefunded:
    return CaptureRefunded(
        event_id=event_id,
        event_type=event_type,
        refund_id=_required(resource, "id", _RESOURCE_ID),
        capture_id=_up_capture(resource),
        status=_status(resource, REFUND_STATUSES),
        amount=_amount(resource),
        update_time=_text(resource, "update_time", _TIME, required=False),
    )


def _authorization(
    event_id: str, event_type: str, resource: Mapping[str, Any]
) -> AuthorizationChanged:
    return AuthorizationChanged(
        event_id=event_id,
        event_type=event_type,
        authorization_id=_required(resource, "id", _RESOURCE_ID),
        status=_status(resource, AUTHORIZATION_STATUSES),
        amount=_amount(resource),
        order_id=_related(resource, "order_id"),
        expiration_time=_text(resource, "expiration_time", _TIME, required=False),
    )


def _dispute(event_id: str, event_type: str, resource: Mapping[str, Any]) -> DisputeChanged:
    transactions = resource.get("disputed_transactions")
    if not isinstance(transactions, list) or not 1 <= len(transactions) <= 1000:
        raise _refuse("disputed_transactions")
    captures = tuple(
        _required(_object(item, "disputed_transactions"), "seller_transaction_id", _RESOURCE_ID)
        for item in transactions
    )
    outcome = resource.get("dispute_outcome")
    outcome_code = None
    if outcome is not None:
        outcome_code = _text(_object(outcome, "dispute_outcome"), "outcome_code", _CODE)
    return DisputeChanged(
        event_id=event_id,
        event_type=event_type,
        dispute_id=_required(resource, "dispute_id", _DISPUTE_ID),
        status=_required(resource, "status", _CODE),
        reason=_required(resource, "reason", _CODE),
        capture_ids=captures,
        amount=_amount(resource, "dispute_amount") if "dispute_amount" in resource else None,
        seller_response_due_date=_text(resource, "seller_response_due_date", _TIME, required=False),
        outcome=outcome_code,
    )


def read_event(event: Mapping[str, Any]) -> Fact:
    """The fact a verified event reports; raises ``InvalidRequest`` if an event of a type
    cardline acts on does not have the fields PayPal's documents give it."""
    event_id, event_type = str(event["id"]), str(event["event_type"])
    if event_type in EVENT_TYPES:
        resource = _object(event.get("resource"), "resource")
    else:
        return Ignored(event_id=event_id, event_type=event_type)
    if event_type in CAPTURE_EVENTS:
        return _capture(event_id, event_type, resource)
    if event_type in REFUND_EVENTS:
        return _refund(event_id, event_type, resource)
    if event_type in AUTHORIZATION_EVENTS:
        return _authorization(event_id, event_type, resource)
    return _dispute(event_id, event_type, resource)
