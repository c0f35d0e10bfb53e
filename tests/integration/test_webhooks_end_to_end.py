"""`cardline serve` and its embedded emulator end to end: the emulator's signed deliveries
reach POST /v1/webhooks/paypal, verify through the PayPal client, and move the ledger
(pending → approved, a reversal, a dispute), as the trigger names in docs/emulator.md say."""

from __future__ import annotations

from typing import Any

import pytest

from cardline.sandbox import Emulator
from cardline.sandbox.triggers import STEP
from tests.cards import VISA, payment
from tests.conftest import Running
from tests.webhook_listener import WAIT

pytestmark = pytest.mark.slow


def _emulator(running: Running) -> Emulator:
    emulator = running.stack.emulator
    assert emulator is not None
    return emulator


def _subscribed(running: Running) -> Emulator:
    emulator = _emulator(running)
    assert running.stack.subscribe_webhooks(running.url) is not None
    return emulator


def _pay(running: Running, name: str) -> dict[str, Any]:
    answer = running.client.pay(payment(VISA, name=name))
    assert answer.status == 201, answer.body
    return dict(answer.json())


def _delivered(emulator: Emulator, count: int) -> None:
    """Wait until ``count`` attempts have been answered, each with a 2xx."""
    assert emulator.webhooks.deliverer.wait_for_attempts(count, WAIT)
    attempts = emulator.deliveries()
    assert [a["status"] for a in attempts] == [200] * len(attempts), attempts


def _shown(running: Running, payment_id: str) -> dict[str, Any]:
    answer = running.client.request("GET", f"/v1/payments/{payment_id}")
    assert answer.status == 200, answer.body
    return dict(answer.json())


def test_a_pending_capture_becomes_approved_when_the_emulator_says_completed(
    running: Running,
) -> None:
    emulator = _subscribed(running)
    paid = _pay(running, "WEBHOOK-PENDING")
    assert paid["status"] == "pending"
    _delivered(emulator, 1)  # PAYMENT.CAPTURE.PENDING
    assert _shown(running, paid["id"])["status"] == "pending"
    emulator.advance_clock(seconds=STEP)
    _delivered(emulator, 2)  # PAYMENT.CAPTURE.COMPLETED
    assert _shown(running, paid["id"])["status"] == "approved"


def test_a_reversal_and_a_dispute_show_on_the_payment(running: Running) -> None:
    emulator = _subscribed(running)
    reversed_ = _pay(running, "WEBHOOK-REVERSED")
    disputed = _pay(running, "WEBHOOK-DISPUTE")
    _delivered(emulator, 2)  # both COMPLETED
    emulator.advance_clock(seconds=STEP)
    _delivered(emulator, 4)  # REVERSED, CUSTOMER.DISPUTE.CREATED
    shown = _shown(running, reversed_["id"])
    assert shown["status"] == "reversed"
    assert shown["reversed_amount"] == reversed_["amount"]
    dispute = _shown(running, disputed["id"])
    assert (dispute["dispute_reason"], dispute["dispute_status"]) == (
        "UNAUTHORISED",
        "WAITING_FOR_SELLER_RESPONSE",
    )
    assert dispute["dispute_due_date"]
    emulator.advance_clock(seconds=2 * STEP)
    _delivered(emulator, 6)  # UPDATED, RESOLVED
    resolved = _shown(running, disputed["id"])
    assert (resolved["dispute_status"], resolved["dispute_outcome"]) == (
        "RESOLVED",
        "RESOLVED_SELLER_FAVOUR",
    )
    assert resolved["status"] == "approved"
