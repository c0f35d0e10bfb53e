"""POST /v1/webhooks/paypal against the fake PayPal's verify-webhook-signature: verified
events move the ledger; forged, replayed and hostile deliveries change nothing and are
audited; a verify endpoint that fails gets a 5xx so that PayPal delivers again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.pan import contains_pan
from tests.cards import CVV, VISA
from tests.webhooks import samples
from tests.webhooks.deliveries import deliver
from tests.webhooks.receiver import PAYMENT_ID, Receiver, receiver


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Receiver]:
    yield from receiver(tmp_path)


def _completed(number: int = 1) -> dict[str, Any]:
    return samples.event("PAYMENT.CAPTURE.COMPLETED", number)


def test_a_pending_capture_becomes_approved_when_paypal_says_completed(hooks: Receiver) -> None:
    assert hooks.payment()["status"] == "pending"
    answer = hooks.deliver(_completed())
    assert answer.status == 200
    assert answer.json() == {"event_id": "WH-0001WEBHOOKEVENT", "matched": True}
    assert hooks.payment()["status"] == "approved"
    (recorded,) = hooks.events(audit.WEBHOOK)
    assert (recorded.resource, recorded.operator, recorded.outcome) == (
        PAYMENT_ID,
        "paypal",
        "success",
    )
    assert recorded.details["paypal_event_id"] == "WH-0001WEBHOOKEVENT"


def test_a_pending_capture_paypal_denies_becomes_declined(hooks: Receiver) -> None:
    denied = samples.event(
        "PAYMENT.CAPTURE.DENIED", 2, status="DECLINED", status_details={"reason": "OTHER"}
    )
    assert hooks.deliver(denied).status == 200
    payment = hooks.payment()
    assert (payment["status"], payment["decline_reason"]) == ("declined", "OTHER")
    # A later COMPLETED for a declined capture is still the higher word: PayPal's last.
    assert hooks.deliver(_completed(3)).status == 200
    assert hooks.payment()["status"] == "approved"


def test_a_forged_delivery_is_refused_audited_and_changes_nothing(hooks: Receiver) -> None:
    headers, body = deliver(_completed())
    forged = body.replace(b'"PENDING"', b'"X"').replace(b'"25.00"', b'"2.00"')
    forged = body.replace(b"COMPLETED", b"COMPLETED ") if forged == body else forged
    before = hooks.payment()
    answer = hooks.post(headers, forged)
    assert answer.status == 400
    assert answer.json()["code"] == "webhook_not_verified"
    assert hooks.payment() == before
    assert hooks.events(audit.WEBHOOK) == []
    (refused,) = hooks.events(audit.AUTH_FAILURE)
    assert refused.origin == "203.0.113.9"
    assert refused.details["routes"] == {"POST /v1/webhooks/paypal": 1}
    assert refused.details["reasons"] == {"PayPal answered FAILURE": 1}


def test_a_delivery_signed_for_another_webhook_is_refused(tmp_path: Path) -> None:
    for hooks in receiver(tmp_path, webhook_id="ANOTHERWEBHOOKID"):
        assert hooks.deliver(_completed()).status == 400
        assert hooks.payment()["status"] == "pending"


def test_without_a_webhook_id_every_delivery_is_refused_and_audited(tmp_path: Path) -> None:
    for hooks in receiver(tmp_path, webhook_id=None):
        answer = hooks.deliver(_completed())
        assert (answer.status, answer.json()["code"]) == (400, "webhook_not_verified")
        assert hooks.fake.api_requests() == []  # nothing asked of PayPal
        (refused,) = hooks.events(audit.AUTH_FAILURE)
        assert refused.details["reasons"] == {"no PAYPAL_WEBHOOK_ID is configured": 1}


def test_headers_that_are_not_paypals_are_refused_before_paypal_is_asked(
    hooks: Receiver,
) -> None:
    headers, body = deliver(_completed())
    headers["paypal-cert-url"] = "https://attacker.example/cert.pem"
    assert hooks.post(headers, body).status == 400
    assert hooks.fake.api_requests() == []
    assert len(hooks.events(audit.AUTH_FAILURE)) == 1


def test_a_replayed_delivery_changes_nothing_the_second_time(hooks: Receiver) -> None:
    headers, body = deliver(_completed())
    assert hooks.post(headers, body).status == 200
    once = hooks.payment()
    assert hooks.post(headers, body).status == 200
    assert hooks.payment() == once
    assert [e.details["paypal_event_id"] for e in hooks.events(audit.WEBHOOK)] == [
        "WH-0001WEBHOOKEVENT"
    ] * 2


@pytest.mark.parametrize(
    "change",
    [
        {"id": VISA},
        {"status": "STOLEN"},
        {"amount": {"currency_code": "USD", "value": VISA}},
        {"supplementary_data": {"related_ids": {"order_id": f"{VISA} {CVV}"}}},
    ],
    ids=["pan-as-id", "unknown-status", "pan-as-amount", "pan-in-related-ids"],
)
def test_a_verified_event_with_a_hostile_body_is_audited_and_changes_nothing(
    hooks: Receiver, change: dict[str, Any]
) -> None:
    before = hooks.payment()
    answer = hooks.deliver(samples.event("PAYMENT.CAPTURE.COMPLETED", 5, **change))
    assert answer.status == 400
    assert not contains_pan(answer.body.decode())
    assert hooks.payment() == before
    (recorded,) = hooks.events(audit.WEBHOOK)
    assert (recorded.outcome, recorded.details["kind"]) == ("failure", "unreadable")
    assert VISA not in hooks.audit_file.read_text()


def test_a_reversal_shows_on_the_payment_like_a_refund_marked_as_a_reversal(
    hooks: Receiver,
) -> None:
    hooks.deliver(_completed())
    reversal = samples.event(
        "PAYMENT.CAPTURE.REVERSED", 2, amount={"currency_code": "USD", "value": "25.00"}
    )
    assert hooks.deliver(reversal).status == 200
    payment = hooks.payment()
    assert (payment["status"], payment["reversed_amount"], payment["refunded_amount"]) == (
        "reversed",
        "25.00",
        "25.00",
    )
    (row,) = payment["refunds"]
    assert (row["kind"], row["paypal_refund_id"], row["status"]) == (
        "reversal",
        samples.REFUND_ID,
        "COMPLETED",
    )


def test_a_refund_made_outside_cardline_appears_on_the_payment(hooks: Receiver) -> None:
    hooks.deliver(_completed())
    assert hooks.deliver(samples.event("PAYMENT.CAPTURE.REFUNDED", 2)).status == 200
    payment = hooks.payment()
    assert (payment["status"], payment["refunded_amount"]) == ("partially_refunded", "10.00")
    (row,) = payment["refunds"]
    assert (row["kind"], row["operator"], row["amount"]) == ("refund", "paypal", "10.00")


def test_a_refund_cardline_made_is_not_counted_twice_when_paypal_reports_it(
    hooks: Receiver,
) -> None:
    hooks.deliver(_completed())
    audit.record(
        hooks.sink,
        audit.REFUND,
        operator="agent-1",
        outcome="success",
        origin="127.0.0.1",
        resource=PAYMENT_ID,
        details={
            "id": "ref_cardlinemadethisrefund",
            "status": "COMPLETED",
            "amount": "10.00",
            "currency": "USD",
            "paypal_refund_id": samples.REFUND_ID,
        },
    )
    hooks.deliver(samples.event("PAYMENT.CAPTURE.REFUNDED", 2))
    payment = hooks.payment()
    assert payment["refunded_amount"] == "10.00"
    assert [r["id"] for r in payment["refunds"]] == ["ref_cardlinemadethisrefund"]


def test_a_dispute_shows_with_status_reason_and_due_date(hooks: Receiver) -> None:
    hooks.deliver(_completed())
    resolved = samples.event(
        "CUSTOMER.DISPUTE.RESOLVED",
        3,
        status="RESOLVED",
        dispute_outcome={"outcome_code": "RESOLVED_SELLER_FAVOUR"},
    )
    resolved["create_time"] = "2026-12-20T10:00:00.000Z"
    # Delivered out of order: the resolution first, then the dispute's creation.
    assert hooks.deliver(resolved).status == 200
    assert hooks.deliver(samples.event("CUSTOMER.DISPUTE.CREATED", 2)).status == 200
    payment = hooks.payment()
    assert {k: v for k, v in payment.items() if k.startswith("dispute_")} == {
        "dispute_id": samples.DISPUTE_ID,
        "dispute_status": "RESOLVED",
        "dispute_reason": "UNAUTHORISED",
        "dispute_due_date": "2026-12-13T08:00:00.000Z",
        "dispute_outcome": "RESOLVED_SELLER_FAVOUR",
    }
    assert payment["status"] == "approved"


def test_an_event_for_a_payment_cardline_never_took_is_audited_unmatched(
    hooks: Receiver,
) -> None:
    other = samples.event("PAYMENT.CAPTURE.COMPLETED", 9, id="9XX00000000000000")
    other["resource"]["supplementary_data"] = {"related_ids": {"order_id": "7YY00000000000000"}}
    answer = hooks.deliver(other)
    assert answer.json() == {"event_id": "WH-0009WEBHOOKEVENT", "matched": False}
    (recorded,) = hooks.events(audit.WEBHOOK)
    assert (recorded.resource, recorded.details["matched"]) == ("", False)
    assert hooks.payment()["status"] == "pending"


def test_the_audit_file_holds_no_card_data_after_every_webhook_path(hooks: Receiver) -> None:
    hooks.deliver(_completed())
    hooks.deliver(samples.event("PAYMENT.CAPTURE.COMPLETED", 2, id=VISA))
    headers, body = deliver(_completed(3))
    hooks.post(headers, body.replace(b"COMPLETED", json.dumps(VISA).encode()[1:-1]))
    text = hooks.audit_file.read_text()
    assert VISA not in text
    assert not contains_pan(text)
