"""How audit events become ledger rows, independent of where the rows are kept.

A payment event upserts the payment; a refund event adds a refund and moves the payment's
refunded total and status. A later, less certain event (``unknown``) never overwrites a
settled outcome, so replaying the audit log in any order of retries gives the same ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from cardline import audit
from cardline.audit import AuditEvent

PAYMENT_COLUMNS = (
    "id",
    "status",
    "amount",
    "currency",
    "brand",
    "last4",
    "reference",
    "operator",
    "intent",
    "decline_code",
    "decline_reason",
    "message",
    "paypal_order_id",
    "paypal_capture_id",
    "paypal_authorization_id",
    "refunded_amount",
    "created_at",
    "updated_at",
)

REFUND_COLUMNS = (
    "id",
    "payment_id",
    "status",
    "amount",
    "currency",
    "operator",
    "paypal_refund_id",
    "created_at",
)

SETTLED = frozenset({"approved", "declined", "failed", "partially_refunded", "refunded"})


def payment_row(event: AuditEvent, existing: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The payment row after ``event``, or None when the event changes nothing."""
    details = event.details
    status = str(details.get("status", "unknown"))
    if status == "rejected":
        return None
    if existing is not None and existing["status"] in SETTLED and status not in SETTLED:
        return None
    row: dict[str, Any] = (
        dict(existing) if existing else {column: None for column in PAYMENT_COLUMNS}
    )
    for column in PAYMENT_COLUMNS:
        if column in details and details[column] is not None:
            row[column] = details[column]
    row["id"] = event.resource
    row["status"] = status
    row["operator"] = row["operator"] or event.operator
    if existing is not None and existing["status"] in {"partially_refunded", "refunded"}:
        row["status"] = existing["status"]
    row["refunded_amount"] = (existing or {}).get("refunded_amount") or "0"
    row["created_at"] = (
        (existing or {}).get("created_at") or details.get("created_at") or event.time
    )
    row["updated_at"] = event.time
    return row


def refund_rows(
    event: AuditEvent, payment: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The refund row and the payment row it updates (None when the payment is unknown)."""
    details = event.details
    refund = {column: details.get(column) for column in REFUND_COLUMNS}
    refund["payment_id"] = event.resource
    refund["operator"] = event.operator
    refund["created_at"] = details.get("created_at") or event.time
    if payment is None or details.get("status") not in {"COMPLETED", "PENDING"}:
        return refund, None
    updated = dict(payment)
    refunded = Decimal(str(payment.get("refunded_amount") or "0")) + Decimal(str(details["amount"]))
    updated["refunded_amount"] = str(refunded)
    updated["status"] = (
        "refunded" if refunded >= Decimal(str(payment["amount"])) else "partially_refunded"
    )
    updated["updated_at"] = event.time
    return refund, updated


def is_projected(event: AuditEvent) -> bool:
    """Only payment and refund events shape the ledger; the rest stay in the audit log."""
    return event.type in {audit.PAYMENT, audit.REFUND}


def rebuild(ledger: Any, events: Iterable[AuditEvent]) -> tuple[int, int]:
    """Apply every event in order; returns (applied, already present or ignored)."""
    applied = skipped = 0
    for event in events:
        if ledger.apply(event):
            applied += 1
        else:
            skipped += 1
    return applied, skipped
