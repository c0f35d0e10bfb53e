"""The charging use case with an in-memory PayPal: idempotency, fingerprints, audit."""

from __future__ import annotations

from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.card import Card
from cardline.cde.charge import Charger, fingerprint, parse_payment_request
from cardline.cde.errors import (
    GatewayOutcomeUnknown,
    IdempotencyConflict,
    InvalidAmount,
    InvalidCard,
    InvalidRequest,
)
from cardline.cde.money import Money
from cardline.cde.paypal import ChargeOutcome, interpret_order
from cardline.cde.request_rules import validate_idempotency_key
from tests.cards import CVV, VISA, payment

KEY = b"k" * 32


class FakePayPal:
    """Keeps orders by PayPal-Request-Id and replays them, as PayPal does."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.fail_with: Exception | None = None

    def create_order(
        self, *, request_id: str, money: Money, card: Card, **kw: Any
    ) -> tuple[ChargeOutcome, dict[str, Any]]:
        self.calls.append({"request_id": request_id, "money": money, **kw})
        if self.fail_with is not None:
            raise self.fail_with
        if request_id not in self.orders:
            self.orders[request_id] = {
                "id": f"ORDER{len(self.orders)}",
                "status": "COMPLETED",
                "create_time": "2026-11-28T10:00:00Z",
                "payment_source": {"card": {"last_digits": card.last4, "brand": card.brand.value}},
                "purchase_units": [
                    {
                        "custom_id": kw["custom_id"],
                        "payments": {
                            "captures": [
                                {
                                    "id": f"CAP{len(self.orders)}",
                                    "status": "COMPLETED",
                                    "amount": {
                                        "currency_code": money.currency,
                                        "value": money.value,
                                    },
                                }
                            ]
                        },
                    }
                ],
            }
        return interpret_order(self.orders[request_id]), self.orders[request_id]


class Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def _charger() -> tuple[Charger, FakePayPal, Events]:
    paypal, events = FakePayPal(), Events()
    return Charger(paypal, events, KEY), paypal, events  # type: ignore[arg-type]


def test_approved_charge_gives_a_masked_receipt_and_one_success_event() -> None:
    charger, paypal, events = _charger()
    receipt = charger.charge(
        parse_payment_request(payment(VISA)), operator="op", idempotency_key="k1", origin="ip"
    )
    assert receipt.status == "approved"
    assert (receipt.brand, receipt.last4, receipt.amount) == ("VISA", "1881", "12.50")
    # Literals (tests/unit/test_known_answers.py pins the derivations themselves).
    assert receipt.id == "pay_qdtgjrsckdpbvhgtjkfvcshv"
    assert paypal.calls[0]["request_id"] == (
        "cardline-order-820747e96da0640d8104c910d0ec1d23c836894daa14ed59"
    )
    assert [e.outcome for e in events.events] == ["success"]
    assert VISA not in repr(receipt.to_dict())
    assert VISA not in events.events[0].to_json()


def test_retry_with_same_key_is_the_same_receipt_and_one_order() -> None:
    charger, paypal, _events = _charger()
    first = charger.charge(
        parse_payment_request(payment(VISA)), operator="op", idempotency_key="k", origin="ip"
    )
    second = charger.charge(
        parse_payment_request(payment(VISA)), operator="op", idempotency_key="k", origin="ip"
    )
    assert first == second
    assert len(paypal.orders) == 1


def test_same_key_different_operator_is_a_different_payment() -> None:
    charger, paypal, _events = _charger()
    a = charger.charge(
        parse_payment_request(payment(VISA)), operator="a", idempotency_key="k", origin="ip"
    )
    b = charger.charge(
        parse_payment_request(payment(VISA)), operator="b", idempotency_key="k", origin="ip"
    )
    assert a.id != b.id
    assert len(paypal.orders) == 2


@pytest.mark.parametrize(
    "changed",
    [
        {"amount": "12.51"},
        {"reference": "order-2"},
        {"currency": "EUR"},
        {
            "card": {
                "number": "4005519200000004",
                "expiry": "12/30",
                "security_code": CVV,
                "name": "Ada Lovelace",
            }
        },
    ],
)
def test_key_reused_for_a_different_request_is_refused(changed: dict[str, Any]) -> None:
    charger, _paypal, events = _charger()
    charger.charge(
        parse_payment_request(payment(VISA, expiry="12/30")),
        operator="op",
        idempotency_key="k",
        origin="ip",
    )
    with pytest.raises(IdempotencyConflict):
        charger.charge(
            parse_payment_request({**payment(VISA, expiry="12/30"), **changed}),
            operator="op",
            idempotency_key="k",
            origin="ip",
        )
    assert events.events[-1].details["status"] == "rejected"


def test_fingerprint_is_keyed_and_never_holds_the_pan() -> None:
    request = parse_payment_request(payment(VISA))
    mark = fingerprint(request, "op", KEY)
    assert mark.startswith("clfp1:")
    assert VISA not in mark
    assert VISA[-4:] not in mark
    assert mark != fingerprint(parse_payment_request(payment(VISA)), "op", b"other" * 8)


def test_gateway_failure_is_audited_as_unknown_and_reraised() -> None:
    charger, paypal, events = _charger()
    paypal.fail_with = GatewayOutcomeUnknown("timed out")
    with pytest.raises(GatewayOutcomeUnknown):
        charger.charge(
            parse_payment_request(payment(VISA)), operator="op", idempotency_key="k", origin="ip"
        )
    assert events.events[0].outcome == "unknown"
    assert events.events[0].details["status"] == "unknown"


def test_card_is_wiped_after_the_call() -> None:
    charger, _paypal, _events = _charger()
    request = parse_payment_request(payment(VISA))
    charger.charge(request, operator="op", idempotency_key="k", origin="ip")
    with pytest.raises(RuntimeError):
        request.card.paypal_card()


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({}, InvalidRequest, "amount"),
        ({"amount": "1.00"}, InvalidRequest, "currency"),
        ({"amount": 1.0, "currency": "USD", "card": {}}, InvalidAmount, "amount"),
        ({"amount": "1.00", "currency": "USD"}, InvalidRequest, "card"),
        (
            {"amount": "1.00", "currency": "USD", "card": {"number": VISA}},
            InvalidRequest,
            "card.expiry",
        ),
        ({**payment(VISA), "intent": "SALE"}, InvalidRequest, "intent"),
        ({**payment(VISA), "reference": "x" * 128}, InvalidRequest, "reference"),
        ({**payment(VISA), "card": {**payment(VISA)["card"], "pin": "1"}}, InvalidRequest, "card"),  # type: ignore[dict-item]
        (payment("4012888888881882"), InvalidCard, "card.number"),
    ],
)
def test_request_validation_names_the_field_and_never_the_value(
    body: Any, error: type, field: str
) -> None:
    with pytest.raises(error) as raised:
        parse_payment_request(body)
    assert raised.value.field == field
    assert VISA not in str(raised.value)
    assert "4012888888881882" not in str(raised.value)


@pytest.mark.parametrize("key", [None, "", "a b", "x" * 256, "é"])
def test_bad_idempotency_keys_are_refused(key: str | None) -> None:
    with pytest.raises(InvalidRequest):
        validate_idempotency_key(key)
