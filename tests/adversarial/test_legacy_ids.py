"""Legacy ids: payment ids were ``pay_`` + 24 hex digits and refund ids ``ref_`` + 24 hex
digits until ids were written in letters (``ids.from_hex`` of the same digest). A payment
recorded before the change, in an audit file holding old-form events, is served under its
current id (and found by its old one), refunded, and reconciled without a difference; a
refund retried after the change is the same refund, never a second one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from cardline.cde import audit, ids
from cardline.cde.card import Card
from cardline.cde.money import parse_money
from cardline.cde.paypal import PayPalClient
from cardline.cde.request_rules import payment_id_for, paypal_request_id_for
from cardline.reconcile import Reconciler
from tests.adversarial.refund_support import (
    emulator_of,
    operator_of,
    paypal_of,
    rebuilt,
    refund_path,
)
from tests.cards import CVV, VISA, future_expiry
from tests.conftest import Running

KEY = "key-from-before-the-change"
REFUND_KEY = "refund-from-before-the-change"


def _legacy(prefix: str, *parts: str, tail: bool = False) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return prefix + (digest[-24:] if tail else digest[:24])


def _old_payment(paypal: PayPalClient, operator: str) -> tuple[str, dict[str, Any]]:
    """A payment made the way the code before the change made it, and its audit event."""
    legacy_id = _legacy("pay_", "payment", operator, KEY)
    card = Card.parse(number=VISA, expiry=future_expiry(), security_code=CVV, name="Ada Lovelace")
    outcome, order = paypal.create_order(
        request_id=paypal_request_id_for(operator, KEY),
        money=parse_money("20.00", "USD"),
        card=card,
        intent="CAPTURE",
        invoice_id=legacy_id,
        custom_id=None,
        description="order-before",
    )
    details = {
        "id": legacy_id,
        "status": outcome.status,
        "amount": "20.00",
        "currency": "USD",
        "brand": outcome.brand,
        "last4": outcome.last_digits,
        "operator": operator,
        "created_at": order["create_time"],
        "reference": "order-before",
        "intent": "CAPTURE",
        "paypal_order_id": outcome.order_id,
        "paypal_capture_id": outcome.capture_id,
    }
    return legacy_id, details


def test_a_payment_recorded_under_a_legacy_id_is_served_refunded_and_reconciled(
    running: Running,
) -> None:
    client = running.client
    operator = operator_of(running)
    current = payment_id_for(operator, KEY)
    with paypal_of(running) as paypal:
        legacy_id, details = _old_payment(paypal, operator)
        assert "pay_" + ids.from_hex(legacy_id.removeprefix("pay_")) == current
        # A refund made before the change too (5.00), with its old-form audit event.
        old_refund = paypal.refund_capture(
            details["paypal_capture_id"],
            request_id=paypal_request_id_for(operator, REFUND_KEY, "refund"),
            money=parse_money("5.00", "USD"),
        )
        legacy_refund_id = _legacy("ref_", "refund", operator, REFUND_KEY, tail=True)
        sink = running.stack.sink
        sink.emit(audit.AuditEvent(audit.PAYMENT, operator, "success", "t", legacy_id, details))
        sink.emit(
            audit.AuditEvent(
                audit.REFUND,
                operator,
                "success",
                "t",
                legacy_id,
                {
                    "id": legacy_refund_id,
                    "payment_id": legacy_id,
                    "status": "COMPLETED",
                    "amount": "5.00",
                    "currency": "USD",
                    "paypal_refund_id": old_refund["id"],
                    "created_at": old_refund["create_time"],
                },
            )
        )
        for ledger in (running.stack.ledger, rebuilt(running)):
            row = ledger.get_payment(current)
            assert row is not None
            assert (row["id"], row["status"], row["refunded_amount"]) == (
                current,
                "partially_refunded",
                "5.00",
            )
            assert [r["id"] for r in ledger.refunds_for(current)] == [
                "ref_" + ids.from_hex(legacy_refund_id.removeprefix("ref_"))
            ]
        by_old = client.request("GET", f"/v1/payments/{legacy_id}")
        assert by_old.status == 200, by_old.body
        assert by_old.json()["id"] == current
        # The refund retried after the change: PayPal replays it; it is counted once.
        retried = client.request(
            "POST", refund_path(current), {"amount": "5.00"}, idempotency_key=REFUND_KEY
        )
        assert retried.status == 201, retried.body
        assert retried.json()["paypal_refund_id"] == old_refund["id"]
        assert emulator_of(running).stats()["refunds"] == 1
        rest = client.request("POST", refund_path(current), idempotency_key="after-the-change")
        assert rest.status == 201, rest.body
        assert rest.json()["amount"] == "15.00"
        since = datetime.now(UTC) - timedelta(hours=1)
        assert Reconciler(paypal, running.stack.ledger, running.stack.sink).run(since) == []
    row = client.request("GET", f"/v1/payments/{current}").json()
    assert (row["status"], row["refunded_amount"]) == ("refunded", "20.00")
    assert running.stack.ledger.get_payment(legacy_id) is not None
    assert {p["id"] for p in running.stack.ledger.list_payments().items} == {current}
