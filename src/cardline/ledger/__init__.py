"""The ledger: a queryable view of the audit log, rebuildable from it at any time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from cardline.cde.audit import AuditEvent
from cardline.cde.errors import InvalidRequest

PAYMENT_STATUSES = (
    "approved",
    "declined",
    "failed",
    "pending",
    "unknown",
    "partially_refunded",
    "refunded",
    "reversed",
    "authorized",
    "partially_captured",
    "captured",
    "voided",
)


def time_bound(value: str | None, name: str) -> str | None:
    """An ISO date or date-time, normalised to the ledger's UTC text form (a list's or an
    export's ``since`` and ``until``); InvalidRequest names ``name`` when it is neither."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat() + "T00:00:00.000Z"
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} must be an ISO 8601 date or date-time", field=name) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="milliseconds") + "Z"


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
        operator: str | None = None,
    ) -> Page:
        """Payments newest first; ``search`` keeps those it matches (cardline.ledger.search),
        ``operator`` those that operator took."""
        ...

    def refunds_for(self, payment_id: str) -> list[dict[str, Any]]: ...

    def get_capture(self, capture_id: str) -> dict[str, Any] | None:
        """The capture or void row with its request fingerprint, or None."""
        ...

    def captures_for(self, payment_id: str) -> list[dict[str, Any]]:
        """The payment's captures and voids, oldest first, as served."""
        ...

    def close(self) -> None: ...
