"""Finding 4 (payment truth): a refund retried after a failure is never lost, and
`reconcile` compares every refund with PayPal's record and repairs the ledger.

The console's "Confirm again" sends the same request with the same Idempotency-Key:
these tests send exactly that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cardline.cde.money import parse_money
from cardline.reconcile import Reconciler
from cardline.sandbox import Fault
from tests.adversarial.refund_support import emulator_of, paypal_of, rebuilt, refund_path
from tests.cards import VISA, payment
from tests.conftest import Running

_REFUND_POST = "/v2/payments/captures/"


def _since() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def _refusing(kind: str) -> Fault:
    # Every attempt of one call (and more): the client's retries cannot get through.
    return Fault(kind, path_prefix=_REFUND_POST, method="POST", times=20, status=503, retry_after=0)


@pytest.mark.parametrize(("body", "expected"), [(None, "20.00"), ({"amount": "5.00"}, "5.00")])
def test_a_refund_confirmed_again_after_paypal_503_is_recorded_completed(
    running: Running, body: dict[str, Any] | None, expected: str
) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    emulator = emulator_of(running)
    emulator.inject(_refusing("status"))
    failed = client.request("POST", refund_path(paid["id"]), body, idempotency_key="confirm")
    assert failed.status >= 500, failed.body
    emulator.clear_faults()
    again = client.request("POST", refund_path(paid["id"]), body, idempotency_key="confirm")
    assert again.status == 201, again.body
    assert (again.json()["status"], again.json()["amount"]) == ("COMPLETED", expected)
    row = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert [(r["status"], r["amount"]) for r in row["refunds"]] == [("COMPLETED", expected)]
    assert row["refunded_amount"] == expected
    assert row["status"] == ("refunded" if expected == "20.00" else "partially_refunded")
    # The audit log says the same to a rebuilt ledger.
    again_row = rebuilt(running).get_payment(paid["id"])
    assert again_row is not None
    assert (again_row["status"], again_row["refunded_amount"]) == (row["status"], expected)


def test_reconcile_adds_a_refund_made_outside_cardline(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    with paypal_of(running) as paypal:
        outside = paypal.refund_capture(
            paid["paypal_capture_id"], request_id="outside-1", money=parse_money("3.00", "USD")
        )
        found = Reconciler(paypal, running.stack.ledger, running.stack.sink).run(_since())
        assert [(d.payment_id, d.kind, d.repaired) for d in found] == [
            (paid["id"], "refund_missing", True)
        ]
        assert Reconciler(paypal, running.stack.ledger, running.stack.sink).run(_since()) == []
    row = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert (row["status"], row["refunded_amount"]) == ("partially_refunded", "3.00")
    assert [(r["status"], r["amount"], r["paypal_refund_id"]) for r in row["refunds"]] == [
        ("COMPLETED", "3.00", outside["id"])
    ]
    # Kept by the audit log: a rebuilt ledger has it too.
    assert [r["paypal_refund_id"] for r in rebuilt(running).refunds_for(paid["id"])] == [
        outside["id"]
    ]


def test_reconcile_completes_a_failed_refund_row_that_paypal_made(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    emulator = emulator_of(running)
    # PayPal refunds, then every answer (the first and each replay) is lost on the way.
    emulator.inject(Fault("drop_after", path_prefix=_REFUND_POST, method="POST", times=20))
    lost = client.request("POST", refund_path(paid["id"]), idempotency_key="lost")
    assert lost.status == 504, lost.body
    emulator.clear_faults()
    before = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert [r["status"] for r in before["refunds"]] != ["COMPLETED"]
    with paypal_of(running) as paypal:
        found = Reconciler(paypal, running.stack.ledger, running.stack.sink).run(_since())
        assert [(d.kind, d.repaired) for d in found] == [("refund_status", True)]
        assert Reconciler(paypal, running.stack.ledger, running.stack.sink).run(_since()) == []
    row = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert (row["status"], row["refunded_amount"]) == ("refunded", "20.00")
    assert [(r["id"], r["status"]) for r in row["refunds"]] == [
        (before["refunds"][0]["id"], "COMPLETED")
    ]
    assert emulator.stats()["refunds"] == 1
