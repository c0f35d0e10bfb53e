"""How audit events become ledger rows, independent of where the rows are kept.

The rules are the state machine of :mod:`cardline.ledger.states`: a payment event folds
into the payment row, a refund event into its refund row, a capture, void or
reauthorization event into its capture row, and the payment's captured and refunded
amounts and status are recomputed from those rows. Replaying the audit log in any order of
retries and deliveries gives the same ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cardline.cde import audit
from cardline.cde.audit import AuditEvent
from cardline.ledger.states import (
    AUTHORIZATION_ACTIONS,
    PAYMENT_COLUMNS,
    REFUND_COLUMNS,
    ledger_event,
)

__all__ = ["PAYMENT_COLUMNS", "REFUND_COLUMNS", "is_projected", "projected", "rebuild"]


def is_projected(event: AuditEvent) -> bool:
    """Only payment, refund, capture, void, reauthorization and webhook events shape the
    ledger; the rest stay in the audit log."""
    return event.type in {audit.PAYMENT, audit.REFUND, audit.WEBHOOK, *AUTHORIZATION_ACTIONS}


def projected(event: AuditEvent) -> AuditEvent | None:
    """The event ``event`` is folded as (a webhook event read as what it amounts to:
    :func:`cardline.ledger.states.ledger_event`), or None for none."""
    if event.type == audit.WEBHOOK:
        return ledger_event(event)
    return event if is_projected(event) else None


def rebuild(ledger: Any, events: Iterable[AuditEvent]) -> tuple[int, int]:
    """Apply every event in order; returns (applied, already present or ignored)."""
    applied = skipped = 0
    for event in events:
        if ledger.apply(event):
            applied += 1
        else:
            skipped += 1
    return applied, skipped
