"""The ledger: a queryable view of the audit log, rebuildable from it at any time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cardline.cde.audit import AuditEvent

PAYMENT_STATUSES = (
    "approved",
    "declined",
    "failed",
    "pending",
    "unknown",
    "partially_refunded",
    "refunded",
    "reversed",
)


@dataclass(frozen=True)
class Page:
    """One page of payments, newest first, with the cursor for the next page (or None)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class Ledger(Protocol):
    """What every ledger backend offers (SQLite locally, DynamoDB on AWS)."""

    def apply(self, event: AuditEvent) -> bool:
        """Project one audit event; False when it was already applied."""
        ...

    def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        """The payment as served, by its id (or the legacy form of it), or None."""
        ...

    def find_by_paypal_id(self, paypal_id: str) -> dict[str, Any] | None:
        """The payment as served whose PayPal order, capture or authorization id is
        ``paypal_id``, or None (how a PayPal webhook event finds its payment)."""
        ...

    def get_refund(self, refund_id: str) -> dict[str, Any] | None:
        """The refund row with its request fingerprint (for idempotency checks), or None."""
        ...

    def list_payments(
        self,
        *,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
    ) -> Page:
        """Payments newest first; ``search`` keeps those it matches (cardline.ledger.search)."""
        ...

    def refunds_for(self, payment_id: str) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...
