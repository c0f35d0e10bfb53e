"""The webhook events the emulator sends, and the envelope PayPal wraps a resource in.

An event is PayPal's ``event`` object (notifications_webhooks_v1.json): ``id``,
``event_version``, ``create_time``, ``resource_type``, ``resource_version``,
``event_type``, ``summary`` and ``resource``, the resource being the Payments v2 capture,
refund or authorization (as ``GET`` shows it at that moment) or the Disputes v1 dispute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventType:
    """One event type: its resource's type and version, and PayPal's description."""

    resource_type: str
    resource_version: str
    description: str


_PAYMENTS = "2.0"  # Payments v2 resources
_DISPUTES = "1.0"  # Disputes v1 resources

# PayPal's descriptions, from its list of webhook event names.
EVENT_TYPES: Mapping[str, EventType] = {
    "PAYMENT.CAPTURE.COMPLETED": EventType("capture", _PAYMENTS, "A payment capture completes."),
    "PAYMENT.CAPTURE.PENDING": EventType(
        "capture", _PAYMENTS, "The state of a payment capture changes to pending."
    ),
    "PAYMENT.CAPTURE.DECLINED": EventType("capture", _PAYMENTS, "A payment capture is declined."),
    "PAYMENT.CAPTURE.DENIED": EventType("capture", _PAYMENTS, "A payment capture is denied."),
    "PAYMENT.CAPTURE.REFUNDED": EventType(
        "refund", _PAYMENTS, "A merchant refunds a payment capture."
    ),
    "PAYMENT.CAPTURE.REVERSED": EventType(
        "refund", _PAYMENTS, "PayPal reverses a payment capture."
    ),
    "PAYMENT.AUTHORIZATION.CREATED": EventType(
        "authorization", _PAYMENTS, "A payment authorization is created, approved, executed."
    ),
    "PAYMENT.AUTHORIZATION.VOIDED": EventType(
        "authorization", _PAYMENTS, "A payment authorization is voided."
    ),
    "CUSTOMER.DISPUTE.CREATED": EventType("dispute", _DISPUTES, "A dispute is created."),
    "CUSTOMER.DISPUTE.UPDATED": EventType("dispute", _DISPUTES, "A dispute is updated."),
    "CUSTOMER.DISPUTE.RESOLVED": EventType("dispute", _DISPUTES, "A dispute is resolved."),
}


def envelope(
    event_type: str, resource: Mapping[str, Any], *, event_id: str, create_time: str
) -> dict[str, Any]:
    """``resource`` wrapped as PayPal's event of ``event_type``."""
    kind = EVENT_TYPES[event_type]
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": create_time,
        "resource_type": kind.resource_type,
        "resource_version": kind.resource_version,
        "event_type": event_type,
        "summary": kind.description,
        "resource": dict(resource),
    }


def event_id(new_id: Callable[[], str]) -> str:
    """A PayPal-style event id, "WH-" and two resource-style ids (no long digit run)."""
    return f"WH-{new_id()}-{new_id()}"
