"""Every operator and payment action writes the audit event it should, field by field.

Each expectation is written out: the event's type, who acted, the outcome, the resource and
the details. A revocation recorded as an addition, a decline recorded as a success or a
failed refund recorded as money given back must each fail here.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.card import Card
from cardline.cde.charge import Charger, PaymentRequest
from cardline.cde.errors import (
    CardlineError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
)
from cardline.cde.money import Money, parse_money
from cardline.cde.paypal import ChargeOutcome, interpret_order
from cardline.local import AUDIT_FILE
from cardline.operators import OperatorStore
from cardline.refund import Refunder
from tests.cards import CVV, VISA

PAYMENT_ID = "pay_jcbcnqtqhvcpfvktrfdhqgsh"  # of operator "op_ada" and key "key-1"
FACTS = {
    "amount": "12.50",
    "currency": "USD",
    "brand": "VISA",
    "last4": "1881",
    "reference": "order-7",
    "intent": "CAPTURE",
}


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def _fields(event: audit.AuditEvent) -> dict[str, Any]:
    """The event without its random id and its time (checked for shape only)."""
    found = event.to_dict()
    assert found.pop("schema") == "cardline.cde.audit/1"
    assert found.pop("event_id")
    assert found.pop("time").endswith("Z")
    return found


# --------------------------------------------------------------------------- operators


def test_adding_an_operator_is_audited_as_operator_added(tmp_path: Path) -> None:
    events = _Events()
    store = OperatorStore(tmp_path / "operators.json", events)
    operator, _key = store.add("ada", by="admin-1", origin="192.0.2.10")
    (event,) = events.events
    assert _fields(event) == {
        "type": "operator_added",
        "operator": "admin-1",
        "outcome": "success",
        "origin": "192.0.2.10",
        "resource": operator.id,
        "details": {"name": "ada", "role": "agent"},
    }


@pytest.mark.parametrize("by_name", [True, False], ids=["by-name", "by-id"])
def test_revoking_an_operator_is_audited_as_operator_revoked(tmp_path: Path, by_name: bool) -> None:
    events = _Events()
    store = OperatorStore(tmp_path / "operators.json", events)
    operator, _key = store.add("ada")
    store.revoke("ada" if by_name else operator.id, by="admin-2", origin="192.0.2.11")
    assert [e.type for e in events.events] == ["operator_added", "operator_revoked"]
    assert _fields(events.events[1]) == {
        "type": "operator_revoked",
        "operator": "admin-2",
        "outcome": "success",
        "origin": "192.0.2.11",
        "resource": operator.id,
        "details": {"name": "ada", "role": "agent"},
    }


def test_refused_operator_changes_and_listing_write_no_event(tmp_path: Path) -> None:
    events = _Events()
    store = OperatorStore(tmp_path / "operators.json", events)
    store.add("ada")
    with pytest.raises(InvalidRequest):
        store.add("ada")  # already active
    with pytest.raises(InvalidRequest):
        store.add("bad\nname")
    with pytest.raises(NotFound):
        store.revoke("nobody")
    store.list()
    assert [e.type for e in events.events] == ["operator_added"]


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A process of its own, as an operator runs it: cli.main sets up the root logger.
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cardline.cli import main; sys.exit(main())",
            "operators",
            *args,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_the_operators_command_audits_add_and_revoke_but_not_list(tmp_path: Path) -> None:
    _cli(tmp_path, "add", "grace")
    listed = _cli(tmp_path, "list")
    _cli(tmp_path, "revoke", "grace")
    _cli(tmp_path, "list")
    operator_id = listed.stdout.split("\t")[0]
    events = [_fields(e) for e in audit.read_events(tmp_path / AUDIT_FILE)]
    assert events == [
        {
            "type": "operator_added",
            "operator": "cli",
            "outcome": "success",
            "origin": "local",
            "resource": operator_id,
            "details": {"name": "grace", "role": "agent"},
        },
        {
            "type": "operator_revoked",
            "operator": "cli",
            "outcome": "success",
            "origin": "local",
            "resource": operator_id,
            "details": {"name": "grace", "role": "agent"},
        },
    ]


# --------------------------------------------------------------------------- payments


class _PayPal:
    """Answers every order with ``order`` (its custom_id filled in) or raises ``error``."""

    def __init__(self, order: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.order, self.error = order, error

    def create_order(self, *, custom_id: str, **kw: Any) -> tuple[ChargeOutcome, dict[str, Any]]:
        if self.error is not None:
            raise self.error
        assert self.order is not None
        order = {
            **self.order,
            "purchase_units": [{**self.order["purchase_units"][0], "custom_id": custom_id}],
        }
        return interpret_order(order), order


def _order(status: str, response_code: str | None = None) -> dict[str, Any]:
    capture: dict[str, Any] = {
        "id": "3C679366HH908993F",
        "status": status,
        "amount": {"currency_code": "USD", "value": "12.50"},
    }
    if response_code is not None:
        capture["processor_response"] = {"response_code": response_code}
    return {
        "id": "5O190127TN364715T",
        "status": "COMPLETED",
        "create_time": "2026-11-28T10:00:00Z",
        "payment_source": {"card": {"last_digits": "1881", "brand": "VISA"}},
        "purchase_units": [{"payments": {"captures": [capture]}}],
    }


def _request(amount: str = "12.50") -> PaymentRequest:
    card = Card.parse(
        number=VISA,
        expiry="12/2030",
        security_code=CVV,
        name="Ada Lovelace",
        today=date(2026, 1, 1),
    )
    return PaymentRequest(parse_money(amount, "USD"), card, "order-7", "CAPTURE")


def _charge(paypal: _PayPal, request: PaymentRequest | None = None) -> tuple[Any, _Events]:
    events = _Events()
    charger = Charger(paypal, events, b"k" * 32)  # type: ignore[arg-type]
    try:
        answer: Any = charger.charge(
            request or _request(), operator="op_ada", idempotency_key="key-1", origin="203.0.113.7"
        )
    except CardlineError as error:
        answer = error
    return answer, events


def _receipt(**changed: Any) -> dict[str, Any]:
    return {
        "id": PAYMENT_ID,
        "status": "approved",
        "amount": "12.50",
        "currency": "USD",
        "brand": "VISA",
        "last4": "1881",
        "operator": "op_ada",
        "created_at": "2026-11-28T10:00:00Z",
        "reference": "order-7",
        "decline_code": None,
        "decline_reason": None,
        "message": "The payment was approved.",
        "retryable": False,
        "intent": "CAPTURE",
        "paypal_order_id": "5O190127TN364715T",
        "paypal_capture_id": "3C679366HH908993F",
        "paypal_authorization_id": None,
        "authorization_expires_at": None,
        "avs_code": None,
        "avs_result": None,
        "cvv_code": None,
        "cvv_result": None,
        "flags": None,
        **changed,
    }


def _payment_event(outcome: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "payment",
        "operator": "op_ada",
        "outcome": outcome,
        "origin": "203.0.113.7",
        "resource": PAYMENT_ID,
        "details": details,
    }


def test_an_approved_payment_is_audited_as_a_success_with_its_receipt() -> None:
    receipt, events = _charge(_PayPal(_order("COMPLETED")))
    (event,) = events.events
    assert _fields(event) == _payment_event("success", _receipt())
    assert receipt.to_dict() == _receipt()


def test_a_declined_payment_is_audited_as_a_failure_with_the_decline() -> None:
    receipt, events = _charge(_PayPal(_order("DECLINED", "5120")))
    declined = _receipt(
        status="declined",
        decline_code="5120",
        decline_reason="INSUFFICIENT_FUNDS",
        message="The card has insufficient funds.",
    )
    (event,) = events.events
    assert _fields(event) == _payment_event("failure", declined)
    assert receipt.to_dict() == declined


@pytest.mark.parametrize(
    ("error", "outcome", "status", "code"),
    [
        (GatewayUnavailable("down", debug_id="dbg1"), "failure", "failed", "gateway_unavailable"),
        (
            GatewayRejected("refused", issue="INVALID_PARAMETER_VALUE", debug_id="dbg1"),
            "failure",
            "failed",
            "gateway_rejected",
        ),
        (
            GatewayOutcomeUnknown("no answer", debug_id="dbg1"),
            "unknown",
            "unknown",
            "outcome_unknown",
        ),
    ],
    ids=["unavailable", "rejected", "unknown"],
)
def test_a_payment_paypal_did_not_take_is_audited_with_what_is_known(
    error: Exception, outcome: str, status: str, code: str
) -> None:
    raised, events = _charge(_PayPal(error=error))
    assert raised.code == code
    (event,) = events.events
    assert _fields(event) == _payment_event(
        outcome, {**FACTS, "status": status, "error": code, "paypal_debug_id": "dbg1"}
    )


def test_a_key_reused_for_another_request_is_audited_as_rejected() -> None:
    # PayPal replays the key's first order, whose fingerprint is not this request's.
    order = _order("COMPLETED")
    replayed = {**order, "purchase_units": [{**order["purchase_units"][0], "custom_id": "clfp1:x"}]}
    raised, events = _charge(_Replaying(replayed), _request("99.00"))
    assert isinstance(raised, IdempotencyConflict)
    (event,) = events.events
    assert _fields(event) == _payment_event(
        "failure", {"status": "rejected", "error": "idempotency_conflict"}
    )


class _Replaying(_PayPal):
    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__(order)

    def create_order(self, *, custom_id: str, **kw: Any) -> tuple[ChargeOutcome, dict[str, Any]]:
        assert self.order is not None
        return interpret_order(self.order), self.order


# --------------------------------------------------------------------------- refunds


class _Ledger:
    def __init__(self, payment: dict[str, Any]) -> None:
        self.payment = payment

    def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        return self.payment if payment_id == self.payment["id"] else None

    def get_refund(self, refund_id: str) -> dict[str, Any] | None:
        return None  # no refund made with this key yet


class _RefundingPayPal:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.refunds: list[Money | None] = []

    def refund_capture(
        self, capture_id: str, *, request_id: str, money: Money | None, note: str | None
    ) -> dict[str, Any]:
        assert capture_id == "3C679366HH908993F"
        self.refunds.append(money)
        if self.error is not None:
            raise self.error
        value = money.value if money is not None else "12.50"
        return {
            "id": "1JU08902781691411",
            "status": "COMPLETED",
            "amount": {"currency_code": "USD", "value": value},
            "create_time": "2026-11-28T11:00:00Z",
        }


def _payment(status: str = "approved", refunded: str | None = None) -> dict[str, Any]:
    return {
        "id": PAYMENT_ID,
        "status": status,
        "amount": "12.50",
        "currency": "USD",
        "paypal_capture_id": "3C679366HH908993F",
        "refunded_amount": refunded,
    }


def _refund(
    payment: dict[str, Any], body: object, paypal: _RefundingPayPal | None = None
) -> tuple[Any, _Events, _RefundingPayPal]:
    paypal = paypal or _RefundingPayPal()
    events = _Events()
    refunder = Refunder(paypal, _Ledger(payment), events)  # type: ignore[arg-type]
    try:
        answer: Any = refunder.refund(
            PAYMENT_ID, body, operator="op_ada", idempotency_key="refund-1", origin="203.0.113.7"
        )
    except CardlineError as error:
        answer = error
    return answer, events, paypal


def _refund_event(outcome: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "refund",
        "operator": "op_ada",
        "outcome": outcome,
        "origin": "203.0.113.7",
        "resource": PAYMENT_ID,
        "details": details,
    }


# The refund request's fingerprint, kept in its events (of operator, payment, amount, note).
REFUND_REST = "clrf1:rrgkjmgsjnqcjdgtvgfvjrsfchmpjmcdpjvkskvr"  # no amount: the rest
REFUND_5 = "clrf1:sbcbsbckpngsvtphvsdjkhvknmksnktqgdjqvndj"  # 5.00 USD


@pytest.mark.parametrize(
    ("body", "amount", "fingerprint"),
    [(None, "12.50", REFUND_REST), ({"amount": "5.00"}, "5.00", REFUND_5)],
)
def test_a_refund_is_audited_as_a_success_with_its_amount(
    body: object, amount: str, fingerprint: str
) -> None:
    refund, events, _paypal = _refund(_payment(), body)
    (event,) = events.events
    # The refund id's own known answers: tests/adversarial/test_refund_ids.py.
    assert refund["id"].startswith("ref_")
    assert _fields(event) == _refund_event(
        "success",
        {
            "id": refund["id"],
            "payment_id": PAYMENT_ID,
            "status": "COMPLETED",
            "amount": amount,
            "currency": "USD",
            "paypal_refund_id": "1JU08902781691411",
            "created_at": "2026-11-28T11:00:00Z",
            "fingerprint": fingerprint,
        },
    )


def test_a_refund_paypal_refused_is_audited_as_a_failure() -> None:
    refused = GatewayRejected("refused", issue="CAPTURE_FULLY_REFUNDED")
    raised, events, _paypal = _refund(_payment(), None, _RefundingPayPal(refused))
    assert raised.code == "gateway_rejected"
    (event,) = events.events
    assert event.details["id"].startswith("ref_")
    assert _fields(event) == _refund_event(
        "failure",
        {
            "id": event.details["id"],
            "payment_id": PAYMENT_ID,
            "amount": "12.50",
            "currency": "USD",
            "fingerprint": REFUND_REST,
            "status": "FAILED",
            "error": "gateway_rejected",
            "paypal_issue": "CAPTURE_FULLY_REFUNDED",
        },
    )


@pytest.mark.parametrize(
    ("refunded", "asked", "allowed"),
    [
        (None, "12.50", True),
        (None, "12.51", False),
        ("5.00", "7.50", True),  # exactly what is left
        ("5.00", "7.51", False),
        ("5.00", "12.50", False),  # the whole amount again, after a partial refund
        ("12.49", "0.01", True),
        ("12.49", "0.02", False),
    ],
)
def test_a_refund_may_not_exceed_what_is_left_to_refund(
    refunded: str | None, asked: str, allowed: bool
) -> None:
    status = "partially_refunded" if refunded else "approved"
    answer, events, paypal = _refund(_payment(status, refunded), {"amount": asked})
    if allowed:
        assert [m.amount for m in paypal.refunds if m is not None] == [Decimal(asked)]
        assert [e.outcome for e in events.events] == ["success"]
    else:
        assert isinstance(answer, InvalidRequest)
        assert answer.field == "amount"
        left = Decimal("12.50") - Decimal(refunded or "0")
        assert f"({left} USD)" in answer.detail
        assert paypal.refunds == []  # PayPal was never asked
        assert events.events == []


@pytest.mark.parametrize("status", ["declined", "failed", "unknown", "refunded", "authorized"])
def test_only_a_captured_payment_can_be_refunded(status: str) -> None:
    answer, events, paypal = _refund(_payment(status), None)
    assert isinstance(answer, InvalidRequest)
    assert answer.field == "payment"
    assert paypal.refunds == []
    assert events.events == []
