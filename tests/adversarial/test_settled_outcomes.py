"""Finding 5 (payment truth): an approved payment retried with the same key while PayPal
fails stays approved in the ledger (a failed retry never regresses a settled outcome),
and it can still be refunded. What the retry's answer says is the charge path's business;
these tests judge only what the ledger records."""

from __future__ import annotations

import uuid

import pytest

from cardline.sandbox import Fault
from tests.adversarial.refund_support import emulator_of, rebuilt, refund_path
from tests.cards import VISA, payment
from tests.conftest import Running


@pytest.mark.parametrize("status", [503, 422])
def test_an_approved_payment_retried_while_paypal_fails_stays_approved(
    running: Running, status: int
) -> None:
    client = running.client
    key = str(uuid.uuid4())
    body = payment(VISA, amount="20.00")
    paid = client.pay(body, key=key).json()
    assert paid["status"] == "approved"
    emulator = emulator_of(running)
    emulator.inject(
        Fault(
            "status",
            path_prefix="/v2/checkout/orders",
            method="POST",
            times=20,
            status=status,
            retry_after=0,
        )
    )
    client.pay(body, key=key)  # the agent retries while PayPal fails
    emulator.clear_faults()
    row = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert (row["status"], row["paypal_capture_id"]) == ("approved", paid["paypal_capture_id"])
    again = rebuilt(running).get_payment(paid["id"])
    assert again is not None
    assert again["status"] == "approved"
    refund = client.request("POST", refund_path(paid["id"]), idempotency_key="after-retry")
    assert refund.status == 201, refund.body
    assert client.request("GET", f"/v1/payments/{paid['id']}").json()["status"] == "refunded"
