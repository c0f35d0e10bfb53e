"""The ledger's webhook rules are maxima and fill-ins: any order of delivery, any number of
replays, gives the same payment (hypothesis shuffles and duplicates the events)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cardline.cde import audit
from cardline.http.webhook_route import fact_details
from cardline.ledger.sqlite import SqliteLedger
from cardline.reconcile import outside_refund_id
from cardline.webhooks.events import read_event
from tests.webhooks import samples

PAYMENT_ID = "pay_orderpropertyaaaaaaaa"


def _webhook(event: dict[str, Any], number: int) -> audit.AuditEvent:
    details, _ids = fact_details(read_event(event))
    details["matched"] = True
    if details["kind"] in ("refund", "reversal"):
        details["id"] = outside_refund_id(details["paypal_refund_id"])
    return audit.AuditEvent(
        audit.WEBHOOK,
        "paypal",
        "success",
        "203.0.113.9",
        PAYMENT_ID,
        details,
        event_id=f"webhookevent{chr(97 + number)}",
        time=f"2026-12-0{1 + number % 9}T10:00:00.000Z",
    )


def _events() -> list[audit.AuditEvent]:
    resolved = samples.event(
        "CUSTOMER.DISPUTE.RESOLVED",
        6,
        status="RESOLVED",
        dispute_outcome={"outcome_code": "RESOLVED_BUYER_FAVOUR"},
    )
    resolved["create_time"] = "2026-12-20T10:00:00.000Z"
    updated = samples.event("CUSTOMER.DISPUTE.UPDATED", 5, status="UNDER_REVIEW")
    updated["create_time"] = "2026-12-10T10:00:00.000Z"
    webhooks = [
        samples.event("PAYMENT.CAPTURE.PENDING", 1, status="PENDING"),
        samples.event("PAYMENT.CAPTURE.COMPLETED", 2),
        samples.event("PAYMENT.CAPTURE.REFUNDED", 3),
        samples.event(
            "PAYMENT.CAPTURE.REVERSED",
            4,
            id="8RR00000000000000",
            amount={"currency_code": "USD", "value": "15.00"},
        ),
        updated,
        resolved,
        samples.event("CUSTOMER.DISPUTE.CREATED", 7),
        samples.event("PAYMENT.AUTHORIZATION.CREATED", 8),
    ]
    return [_webhook(event, number) for number, event in enumerate(webhooks)]


def _payment() -> audit.AuditEvent:
    return audit.AuditEvent(
        audit.PAYMENT,
        "agent-1",
        "success",
        "127.0.0.1",
        PAYMENT_ID,
        {
            "status": "pending",
            "amount": "25.00",
            "currency": "USD",
            "paypal_capture_id": samples.CAPTURE_ID,
            "paypal_order_id": samples.ORDER_ID,
        },
        event_id="paymenteventaaaa",
        time="2026-12-01T09:00:00.000Z",
    )


def _ledger_after(events: list[audit.AuditEvent]) -> tuple[Any, ...]:
    ledger = SqliteLedger(":memory:")
    try:
        ledger.apply(_payment())
        for event in events:
            ledger.apply(event)
        return ledger.get_payment(PAYMENT_ID), ledger.refunds_for(PAYMENT_ID)
    finally:
        ledger.close()


EXPECTED = _ledger_after(_events())


def test_the_events_in_order_settle_the_payment_as_paypal_last_said() -> None:
    payment, refunds = EXPECTED
    assert payment["status"] == "reversed"
    assert (payment["refunded_amount"], payment["reversed_amount"]) == ("25.00", "15.00")
    assert sorted(r["kind"] for r in refunds) == ["refund", "reversal"]
    assert (payment["dispute_status"], payment["dispute_outcome"]) == (
        "RESOLVED",
        "RESOLVED_BUYER_FAVOUR",
    )
    assert payment["dispute_due_date"] == "2026-12-13T08:00:00.000Z"


def _renamed(event: audit.AuditEvent, copy: int) -> audit.AuditEvent:
    """The same event recorded again under another id (a replay the ledger cannot tell)."""
    return audit.AuditEvent(
        event.type,
        event.operator,
        event.outcome,
        event.origin,
        event.resource,
        event.details,
        event_id=f"{event.event_id}copy{chr(97 + copy)}",
        time=event.time,
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.data())
def test_any_order_and_any_replays_give_the_same_payment(data: st.DataObject) -> None:
    events = _events()
    copies = data.draw(st.lists(st.sampled_from(range(len(events))), max_size=12))
    replayed = events + [_renamed(events[i], n) for n, i in enumerate(copies)]
    replayed += [events[i] for i in copies]  # the same id again: applied once
    shuffled = data.draw(st.permutations(replayed))
    assert _ledger_after(list(shuffled)) == EXPECTED
