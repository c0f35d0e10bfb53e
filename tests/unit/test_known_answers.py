"""Known answers for every derivation that must not change across a deploy.

A retry after a deploy must name the same payment (its PayPal invoice id), send the same
PayPal-Request-Id (PayPal replays instead of charging again) and carry the same request
fingerprint (else the retry is refused as a reused key). Each expected value here is a
literal, computed once; a change to any of them is a change to what a retry sends.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from cardline.cde import audit, ids
from cardline.cde.card import Card
from cardline.cde.charge import Charger, PaymentRequest, fingerprint
from cardline.cde.money import Money, parse_money
from cardline.cde.paypal import interpret_order
from cardline.cde.request_rules import payment_id_for, paypal_request_id_for
from cardline.ivr.connect import idempotency_key_for, operator_for
from tests.cards import CVV, VISA

KEY = b"k" * 32
LOCAL_OPERATOR = "op_4f9c2a1b7d3e8f60"  # an operator of operators.json
COGNITO_OPERATOR = "c4d8b2a0-1e3f-4a5b-9c7d-0e1f2a3b4c5d"  # a Cognito user's sub
CONNECT_INSTANCE = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CONTACT = "9f0e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
IVR_OPERATOR = "ivr:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
IVR_KEY = "connect-contact:9f0e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"

# (operator, Idempotency-Key, payment id, the hex id the same payment had before ids were
# written in letters, PayPal-Request-Id of the order, PayPal-Request-Id of a refund)
DERIVATIONS = [
    (
        LOCAL_OPERATOR,
        "order-2026-0001",
        "pay_phfjbgtdghmntncbccmhdpbr",
        "pay_a53604e24589e91011852a0c",
        "cardline-order-73871007272e09583d66e6df5c8479478825037b9c89651e",
        "cardline-refund-63f139e3855b1e3cc48947b8ed3ba179d56bb249173e1af0",
    ),
    (
        COGNITO_OPERATOR,
        "5b1d0a9e-2c4f-4e8a-b6d3-7f9e1c2a4b6d",
        "pay_qprkhmhrpkmptjcsprnttpnv",
        "pay_bac7585ca78ae61dac9eea9f",
        "cardline-order-cb6aa264b91c68885ebf3ded4c1c03de774917ca090672ea",
        "cardline-refund-126b3458c137eea5c0ad4232b0db8a3769d1efbc97284d89",
    ),
    (
        IVR_OPERATOR,
        IVR_KEY,
        "pay_hjmjjmtnqvvcfdpkgfsrdpsn",
        "pay_568668e9bff132a743dc2ad9",
        "cardline-order-be520676948ec34f97b4a8f5f2eee4a7feeba4cd4c18fd8a",
        "cardline-refund-e2c8e5337445c25a23c1dbf2141815febda02b1dabf81f57",
    ),
]
IDS = ["local-operator", "cognito-operator", "ivr-contact"]


@pytest.mark.parametrize(
    ("operator", "key", "payment_id", "_hex_id", "_order_id", "_refund_id"), DERIVATIONS, ids=IDS
)
def test_the_payment_id_of_an_operator_and_key_is_fixed(
    operator: str, key: str, payment_id: str, _hex_id: str, _order_id: str, _refund_id: str
) -> None:
    assert payment_id_for(operator, key) == payment_id


@pytest.mark.parametrize(
    ("operator", "key", "payment_id", "hex_id", "_order_id", "_refund_id"), DERIVATIONS, ids=IDS
)
def test_the_payment_id_is_its_old_hex_id_written_in_letters(
    operator: str, key: str, payment_id: str, hex_id: str, _order_id: str, _refund_id: str
) -> None:
    # The hex id an audit event written before the change holds: SHA-256 of the parts
    # joined by the unit separator, its first 24 hex digits.
    parts = f"payment\x1f{operator}\x1f{key}".encode()
    assert "pay_" + hashlib.sha256(parts).hexdigest()[:24] == hex_id
    assert "pay_" + ids.from_hex(hex_id.removeprefix("pay_")) == payment_id


@pytest.mark.parametrize(
    ("operator", "key", "_payment_id", "_hex_id", "order_id", "refund_id"), DERIVATIONS, ids=IDS
)
def test_the_paypal_request_ids_of_an_operator_and_key_are_fixed(
    operator: str, key: str, _payment_id: str, _hex_id: str, order_id: str, refund_id: str
) -> None:
    assert paypal_request_id_for(operator, key) == order_id
    assert paypal_request_id_for(operator, key, "order") == order_id
    assert paypal_request_id_for(operator, key, "refund") == refund_id


def test_the_letters_stand_for_the_hex_digits_in_order() -> None:
    assert ids.from_hex("0123456789abcdef") == "bcdfghjkmnpqrstv"
    assert ids.digest("payment", LOCAL_OPERATOR, "order-2026-0001") == (
        "phfjbgtdghmntncbccmhdpbrfcbsrqvvnvjghddqftfsmvfqmjhgfjdmrvbmgpbc"
    )


def test_the_ivr_charges_each_contact_under_its_instance_and_contact_id() -> None:
    assert operator_for(CONNECT_INSTANCE) == IVR_OPERATOR
    assert idempotency_key_for(CONTACT) == IVR_KEY


def _request(intent: str = "CAPTURE", reference: str | None = "order-7") -> PaymentRequest:
    card = Card.parse(
        number=VISA,
        expiry="12/2030",
        security_code=CVV,
        name="Ada Lovelace",
        today=date(2026, 1, 1),
    )
    return PaymentRequest(parse_money("12.50", "USD"), card, reference, intent)


@pytest.mark.parametrize(
    ("intent", "reference", "key", "expected"),
    [
        ("CAPTURE", "order-7", KEY, "clfp1:420261a1e65a9545e82a7e761baccb74e42f1e88"),
        ("AUTHORIZE", "order-7", KEY, "clfp1:a8fac5c73b76cca004734eed203e2134e3847638"),
        ("CAPTURE", None, KEY, "clfp1:388c07c3bd4cd644502ce292331813573c9bdc23"),
        ("CAPTURE", "order-7", b"other-key-" * 4, "clfp1:b700ca80e0d100430c01507c4209ff703d944c14"),
    ],
    ids=["capture", "authorize", "no-reference", "another-key"],
)
def test_the_request_fingerprint_is_fixed(
    intent: str, reference: str | None, key: bytes, expected: str
) -> None:
    assert fingerprint(_request(intent, reference), LOCAL_OPERATOR, key) == expected


class _RecordingPayPal:
    """Answers one approved capture and keeps what the Charger sent."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def create_order(self, *, request_id: str, money: Money, card: Card, **kw: Any) -> Any:
        self.sent = {"request_id": request_id, **kw}
        capture = {"id": "3C679366HH908993F", "status": "COMPLETED"}
        order = {
            "id": "5O190127TN364715T",
            "status": "COMPLETED",
            "create_time": "2026-11-28T10:00:00Z",
            "purchase_units": [{"custom_id": kw["custom_id"], "payments": {"captures": [capture]}}],
        }
        return interpret_order(order), order


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def test_a_charge_sends_and_records_the_derived_ids() -> None:
    paypal, events = _RecordingPayPal(), _Events()
    charger = Charger(paypal, events, KEY)  # type: ignore[arg-type]
    receipt = charger.charge(
        _request(), operator=LOCAL_OPERATOR, idempotency_key="order-2026-0001", origin="ip"
    )
    assert receipt.id == "pay_phfjbgtdghmntncbccmhdpbr"
    assert paypal.sent["request_id"] == (
        "cardline-order-73871007272e09583d66e6df5c8479478825037b9c89651e"
    )
    assert paypal.sent["invoice_id"] == "pay_phfjbgtdghmntncbccmhdpbr"
    assert paypal.sent["custom_id"] == "clfp1:420261a1e65a9545e82a7e761baccb74e42f1e88"
    assert [e.resource for e in events.events] == ["pay_phfjbgtdghmntncbccmhdpbr"]
