"""Finding 3 (payment truth): a refund Idempotency-Key names one refund request.

Reused with another amount or on another payment it is refused with 409
idempotency_conflict, both when the ledger already holds the first refund and when it
lags behind PayPal (PayPal then replays its first answer, which is checked against the
request). Also the remaining-amount check, attacked directly (issue 11: the mutation
"ignore the amount already refunded" survived but for PayPal refusing it too).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.errors import IdempotencyConflict, InvalidRequest
from cardline.ledger.sqlite import SqliteLedger
from cardline.refund import Refunder
from tests.adversarial.refund_support import (
    MemorySink,
    audit_events,
    emulator_of,
    operator_of,
    paypal_of,
    rebuilt,
    refund_path,
)
from tests.cards import VISA, payment
from tests.conftest import Running


def _refund_events(running: Running, payment_id: str) -> list[audit.AuditEvent]:
    return [e for e in audit_events(running) if e.type == audit.REFUND and e.resource == payment_id]


def test_a_refund_key_reused_with_another_amount_is_refused(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    first = client.request("POST", refund_path(paid["id"]), {"amount": "5.00"}, idempotency_key="K")
    assert first.status == 201, first.body
    again = client.request("POST", refund_path(paid["id"]), {"amount": "7.00"}, idempotency_key="K")
    assert again.status == 409, again.body
    assert again.json()["code"] == "idempotency_conflict"
    assert emulator_of(running).stats()["refunds"] == 1
    row = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert (row["refunded_amount"], [r["amount"] for r in row["refunds"]]) == ("5.00", ["5.00"])
    # The audit log never claims the 7.00 was refunded.
    claimed = [
        e.details.get("amount")
        for e in _refund_events(running, paid["id"])
        if e.details.get("status") in ("COMPLETED", "PENDING")
    ]
    assert set(claimed) == {"5.00"}
    # The same key with the same amount is a replay: the first refund, not a second one.
    replay = client.request(
        "POST", refund_path(paid["id"]), {"amount": "5.00"}, idempotency_key="K"
    )
    assert replay.status == 201, replay.body
    assert replay.json()["id"] == first.json()["id"]
    assert emulator_of(running).stats()["refunds"] == 1


def test_a_refund_key_reused_on_another_payment_is_refused(running: Running) -> None:
    client = running.client
    one = client.pay(payment(VISA, amount="20.00")).json()
    other = client.pay(payment(VISA, amount="20.00")).json()
    assert client.request("POST", refund_path(one["id"]), idempotency_key="K").status == 201
    reused = client.request("POST", refund_path(other["id"]), idempotency_key="K")
    assert reused.status == 409, reused.body
    assert reused.json()["code"] == "idempotency_conflict"
    row = client.request("GET", f"/v1/payments/{other['id']}").json()
    assert (row["status"], row["refunds"]) == ("approved", [])
    capture = next(
        c for c in emulator_of(running).all_captures() if c["id"] == other["paypal_capture_id"]
    )
    assert capture["status"] == "COMPLETED"
    # A rebuilt ledger agrees: nothing was refunded on the other payment.
    assert rebuilt(running).refunds_for(other["id"]) == []


def _lagging_refunder(running: Running, paypal: Any, sink: MemorySink) -> Refunder:
    """A refunder whose ledger holds the payments but none of the refunds (AWS's projector
    lags behind the audit stream)."""
    ledger = rebuilt(running, keep=lambda e: e.type == audit.PAYMENT)
    return Refunder(paypal, ledger, sink)


def test_paypal_replaying_a_refund_of_another_capture_is_refused(running: Running) -> None:
    client = running.client
    one = client.pay(payment(VISA, amount="20.00")).json()
    other = client.pay(payment(VISA, amount="20.00")).json()
    assert client.request("POST", refund_path(one["id"]), idempotency_key="K").status == 201
    sink = MemorySink()
    with paypal_of(running) as paypal:
        refunder = _lagging_refunder(running, paypal, sink)
        with pytest.raises(IdempotencyConflict):
            refunder.refund(
                other["id"], None, operator=operator_of(running), idempotency_key="K", origin="t"
            )
    assert all(e.details.get("status") not in ("COMPLETED", "PENDING") for e in sink.events)
    assert emulator_of(running).stats()["refunds"] == 1


def test_paypal_replaying_a_refund_of_another_amount_is_refused(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    first = client.request("POST", refund_path(paid["id"]), {"amount": "5.00"}, idempotency_key="K")
    assert first.status == 201
    sink = MemorySink()
    with paypal_of(running) as paypal:
        refunder = _lagging_refunder(running, paypal, sink)
        for body in ({"amount": "6.00"}, None):
            with pytest.raises(IdempotencyConflict):
                refunder.refund(
                    paid["id"], body, operator=operator_of(running), idempotency_key="K", origin="t"
                )
    assert all(e.details.get("status") not in ("COMPLETED", "PENDING") for e in sink.events)


def test_a_refund_event_carries_the_fingerprint_of_its_request(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    body = {"amount": "5.00", "note": "damaged"}
    assert client.request("POST", refund_path(paid["id"]), body, idempotency_key="K").status == 201
    (event,) = _refund_events(running, paid["id"])
    fingerprint = event.details.get("fingerprint")
    assert isinstance(fingerprint, str)
    assert fingerprint.startswith("clrf1:")
    assert not any(ch.isdigit() for ch in fingerprint.removeprefix("clrf1:"))


# ---- the remaining-amount check, against a PayPal that would refund anything -----------


class _GenerousPayPal:
    """Refunds whatever it is asked to: only cardline's own check can stop a refund."""

    def __init__(self, rest: str = "5.00") -> None:
        self.calls: list[tuple[str, Any]] = []
        self.rest = rest  # what PayPal refunds when no amount is given

    def refund_capture(
        self, capture_id: str, *, request_id: str, money: Any = None, note: str | None = None
    ) -> dict[str, Any]:
        self.calls.append((capture_id, money))
        value = money.value if money is not None else self.rest
        return {
            "id": f"REFUND{len(self.calls)}",
            "status": "COMPLETED",
            "amount": {"value": value, "currency_code": "USD"},
            "links": [
                {"rel": "up", "href": f"https://paypal.test/v2/payments/captures/{capture_id}"}
            ],
        }


def _ledger_with(refunded: str | None) -> SqliteLedger:
    ledger = SqliteLedger(":memory:")
    details = {
        "status": "approved",
        "amount": "20.00",
        "currency": "USD",
        "paypal_capture_id": "CAPTUREONE",
    }
    ledger.apply(audit.AuditEvent(audit.PAYMENT, "op", "success", "ip", "pay_gen", details))
    if refunded is not None:
        refund = {
            "id": "ref_earlier",
            "status": "COMPLETED",
            "amount": refunded,
            "currency": "USD",
            "paypal_refund_id": "REFUNDEARLIER",
        }
        ledger.apply(audit.AuditEvent(audit.REFUND, "op", "success", "ip", "pay_gen", refund))
    return ledger


@pytest.mark.parametrize("asked", ["5.01", "10.00", "20.00"])
def test_a_refund_above_what_is_left_never_reaches_paypal(asked: str) -> None:
    paypal = _GenerousPayPal()
    refunder = Refunder(paypal, _ledger_with("15.00"), MemorySink())  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as refused:
        refunder.refund(
            "pay_gen", {"amount": asked}, operator="op", idempotency_key="k", origin="t"
        )
    assert refused.value.field == "amount"
    assert "5.00" in refused.value.detail
    assert paypal.calls == []


def test_what_is_left_can_be_refunded_and_a_full_refund_asks_for_the_rest() -> None:
    paypal = _GenerousPayPal()
    refunder = Refunder(paypal, _ledger_with("15.00"), MemorySink())  # type: ignore[arg-type]
    done = refunder.refund(
        "pay_gen", {"amount": "5.00"}, operator="op", idempotency_key="k1", origin="t"
    )
    assert done["amount"] == "5.00"
    assert [Decimal(c[1].value) for c in paypal.calls] == [Decimal("5.00")]


def test_a_full_refund_after_a_partial_one_records_only_the_rest() -> None:
    refunder = Refunder(_GenerousPayPal(), _ledger_with("15.00"), MemorySink())  # type: ignore[arg-type]
    done = refunder.refund("pay_gen", None, operator="op", idempotency_key="k2", origin="t")
    assert done["amount"] == "5.00"
