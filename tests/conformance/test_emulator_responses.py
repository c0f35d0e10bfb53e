"""Every answer the sandbox emulator gives validates against PayPal's official OpenAPI schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError

from cardline.sandbox import Emulator, Fault
from cardline.sandbox.cards import DECLINE_TRIGGERS, luhn_valid
from tests.cards import AMEX, AMEX_CVV, MASTERCARD
from tests.conformance.spec import SKIP_REASON, SPEC_DIR, load_spec, validate_response
from tests.paypal_http import Answer, PayPalHttp, card, order_body
from tests.seeded import unique

ORDERS = "/v2/checkout/orders"
ORDER = "/v2/checkout/orders/{id}"
AUTHORIZATION = "/v2/payments/authorizations/{authorization_id}"
CAPTURE = "/v2/payments/captures/{capture_id}"
REFUND = "/v2/payments/refunds/{refund_id}"

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def orders() -> dict[str, Any]:
    return load_spec("checkout_orders_v2")


@pytest.fixture(scope="module")
def payments() -> dict[str, Any]:
    return load_spec("payments_payment_v2")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def paypal(emulator: Emulator) -> Iterator[PayPalHttp]:
    emulator.clear_faults()
    client = PayPalHttp(emulator.base_url)
    yield client
    client.close()


def conforms(
    spec: dict[str, Any], template: str, method: str, answer: Answer, status: int
) -> dict[str, Any]:
    """Assert the status, validate the body, and return it."""
    assert answer.status == status, answer.body
    body = answer.json() if answer.body else None
    validate_response(spec, template, method, status, body)
    return body or {}


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix.ljust(length - 1, "0")
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def captured_order(paypal: PayPalHttp, **body: Any) -> dict[str, Any]:
    return dict(paypal.create_order(order_body(**body)).json())


def capture_id(order: dict[str, Any]) -> str:
    return str(order["purchase_units"][0]["payments"]["captures"][0]["id"])


def authorization_id(order: dict[str, Any]) -> str:
    return str(order["purchase_units"][0]["payments"]["authorizations"][0]["id"])


# -- orders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payment_card", "intent"),
    [
        (card(), "CAPTURE"),
        (card(), "AUTHORIZE"),
        (card(AMEX, security_code=AMEX_CVV), "CAPTURE"),
        (card(MASTERCARD, name="A"), "CAPTURE"),  # a one-letter name is not echoed
        (card(luhn_complete("62", 16)), "CAPTURE"),
        (card(luhn_complete("6759", 16)), "CAPTURE"),
        (card(luhn_complete("36", 14)), "AUTHORIZE"),
        *((card(name=name), "CAPTURE") for name in sorted(DECLINE_TRIGGERS)),
        (card(name="CCREJECT-SF"), "AUTHORIZE"),
    ],
)
def test_create_order_representation(
    orders: dict[str, Any], paypal: PayPalHttp, payment_card: dict[str, Any], intent: str
) -> None:
    invoice = unique("INV-")  # PayPal refuses a paid invoice id twice
    body = order_body(intent=intent, payment_card=payment_card, invoice_id=invoice, custom_id="c-1")
    conforms(orders, ORDERS, "POST", paypal.create_order(body), 201)


def test_create_order_minimal_and_replay(orders: dict[str, Any], paypal: PayPalHttp) -> None:
    minimal = conforms(
        orders, ORDERS, "POST", paypal.create_order(request_id="r", prefer=None), 201
    )
    assert minimal.keys() == {"id", "status", "links"}
    conforms(orders, ORDERS, "POST", paypal.create_order(request_id="r"), 200)


@pytest.mark.parametrize("currency", ["JPY", "EUR", "HUF"])
def test_create_order_in_other_currencies(
    orders: dict[str, Any], paypal: PayPalHttp, currency: str
) -> None:
    conforms(
        orders, ORDERS, "POST", paypal.create_order(order_body(currency=currency, value="100")), 201
    )


def test_get_order_after_capture_and_refunds(orders: dict[str, Any], paypal: PayPalHttp) -> None:
    order = captured_order(paypal)
    refund_path = f"/v2/payments/captures/{capture_id(order)}/refund"
    paypal.call("POST", refund_path, {"amount": {"currency_code": "USD", "value": "1.00"}})
    paypal.call("POST", refund_path)
    answer = paypal.call("GET", f"{ORDERS}/{order['id']}")
    body = conforms(orders, ORDER, "GET", answer, 200)
    assert len(body["purchase_units"][0]["payments"]["refunds"]) == 2


def test_order_without_card_then_capture(orders: dict[str, Any], paypal: PayPalHttp) -> None:
    created = conforms(
        orders, ORDERS, "POST", paypal.call("POST", ORDERS, order_body(with_card=False)), 201
    )
    assert created["status"] == "CREATED"
    path = f"{ORDERS}/{created['id']}/capture"
    conforms(orders, ORDER, "GET", paypal.call("GET", f"{ORDERS}/{created['id']}"), 200)
    template = f"{ORDER}/capture"
    conforms(orders, template, "POST", paypal.call("POST", path), 422)
    body = {"payment_source": {"card": card()}}
    conforms(orders, template, "POST", paypal.call("POST", path, body), 201)
    conforms(orders, template, "POST", paypal.call("POST", path, body), 422)
    conforms(orders, template, "POST", paypal.call("POST", path, b"{oops"), 400)


def test_order_without_card_then_authorize(orders: dict[str, Any], paypal: PayPalHttp) -> None:
    created = paypal.call("POST", ORDERS, order_body(intent="AUTHORIZE", with_card=False)).json()
    path = f"{ORDERS}/{created['id']}/authorize"
    template = f"{ORDER}/authorize"
    body = {"payment_source": {"card": card()}}
    conforms(orders, template, "POST", paypal.call("POST", path, body), 201)
    conforms(orders, template, "POST", paypal.call("POST", path, body), 422)


def test_intent_mismatch(orders: dict[str, Any], paypal: PayPalHttp) -> None:
    body = {"payment_source": {"card": card()}}
    for_capture = paypal.call("POST", ORDERS, order_body(with_card=False)).json()
    path = f"{ORDERS}/{for_capture['id']}/authorize"
    conforms(orders, f"{ORDER}/authorize", "POST", paypal.call("POST", path, body), 422)
    # The capture-order 422 list lacks ACTION_DOES_NOT_MATCH_INTENT (the authorize list has
    # it). Pinned so a spec update shows.
    for_authorize = paypal.call("POST", ORDERS, order_body(intent="AUTHORIZE", with_card=False))
    path = f"{ORDERS}/{for_authorize.json()['id']}/capture"
    answer = paypal.call("POST", path, body)
    assert answer.status == 422
    assert answer.json()["details"][0]["issue"] == "ACTION_DOES_NOT_MATCH_INTENT"
    with pytest.raises(ValidationError):
        validate_response(orders, f"{ORDER}/capture", "POST", 422, answer.json())


# -- authorizations, captures, refunds -----------------------------------------------


def test_authorization_get_capture_and_void(payments: dict[str, Any], paypal: PayPalHttp) -> None:
    first = authorization_id(captured_order(paypal, intent="AUTHORIZE", value="30.00"))
    path = f"/v2/payments/authorizations/{first}"
    conforms(payments, AUTHORIZATION, "GET", paypal.call("GET", path), 200)
    part = {"amount": {"currency_code": "USD", "value": "10.00"}, "final_capture": False}
    conforms(
        payments,
        f"{AUTHORIZATION}/capture",
        "POST",
        paypal.call("POST", f"{path}/capture", part),
        201,
    )
    minimal = paypal.call("POST", f"{path}/capture", part, prefer=None)
    conforms(payments, f"{AUTHORIZATION}/capture", "POST", minimal, 201)
    conforms(payments, AUTHORIZATION, "GET", paypal.call("GET", path), 200)
    conforms(payments, f"{AUTHORIZATION}/void", "POST", paypal.call("POST", f"{path}/void"), 200)

    second = authorization_id(captured_order(paypal, intent="AUTHORIZE"))
    path = f"/v2/payments/authorizations/{second}"
    voided = paypal.call("POST", f"{path}/void", prefer=None)
    conforms(payments, f"{AUTHORIZATION}/void", "POST", voided, 204)
    conforms(payments, f"{AUTHORIZATION}/void", "POST", paypal.call("POST", f"{path}/void"), 422)
    conforms(
        payments, f"{AUTHORIZATION}/capture", "POST", paypal.call("POST", f"{path}/capture"), 422
    )


def test_authorization_capture_errors(payments: dict[str, Any], paypal: PayPalHttp) -> None:
    authorized = captured_order(paypal, intent="AUTHORIZE")
    path = f"/v2/payments/authorizations/{authorization_id(authorized)}"
    template = f"{AUTHORIZATION}/capture"
    for body, status in [
        ({"amount": {"currency_code": "USD", "value": "99.00"}}, 422),
        ({"amount": {"currency_code": "USD", "value": "1.001"}}, 422),
        ({"amount": {"currency_code": "EUR", "value": "1.00"}}, 422),
        ({"amount": {"currency_code": "USD", "value": 1}}, 400),
        (b"{oops", 400),
    ]:
        conforms(payments, template, "POST", paypal.call("POST", f"{path}/capture", body), status)
    conforms(payments, template, "POST", paypal.call("POST", f"{path}/capture"), 201)
    conforms(payments, template, "POST", paypal.call("POST", f"{path}/capture"), 422)
    conforms(payments, f"{AUTHORIZATION}/void", "POST", paypal.call("POST", f"{path}/void"), 422)
    denied = authorization_id(
        captured_order(paypal, intent="AUTHORIZE", payment_card=card(name="CCREJECT-IF"))
    )
    denied_path = f"/v2/payments/authorizations/{denied}"
    conforms(payments, AUTHORIZATION, "GET", paypal.call("GET", denied_path), 200)
    conforms(payments, template, "POST", paypal.call("POST", f"{denied_path}/capture"), 422)
    conforms(
        payments, f"{AUTHORIZATION}/void", "POST", paypal.call("POST", f"{denied_path}/void"), 422
    )


def test_capture_and_refunds(payments: dict[str, Any], paypal: PayPalHttp) -> None:
    path = f"/v2/payments/captures/{capture_id(captured_order(paypal, value='20.00'))}"
    template = f"{CAPTURE}/refund"
    conforms(payments, CAPTURE, "GET", paypal.call("GET", path), 200)
    partial = {"amount": {"currency_code": "USD", "value": "5.00"}, "note_to_payer": "Sorry"}
    refund = conforms(
        payments, template, "POST", paypal.call("POST", f"{path}/refund", partial), 201
    )
    conforms(payments, CAPTURE, "GET", paypal.call("GET", path), 200)
    conforms(
        payments, REFUND, "GET", paypal.call("GET", f"/v2/payments/refunds/{refund['id']}"), 200
    )
    minimal = paypal.call("POST", f"{path}/refund", partial, prefer=None, request_id="ref-1")
    conforms(payments, template, "POST", minimal, 201)
    replay = paypal.call("POST", f"{path}/refund", partial, request_id="ref-1")
    conforms(payments, template, "POST", replay, 201)
    for body, status in [
        ({"amount": {"currency_code": "USD", "value": "99.00"}}, 422),
        ({"amount": {"currency_code": "EUR", "value": "1.00"}}, 422),
        ({"amount": {"currency_code": "USD", "value": "0"}}, 422),
        ({"amount": {"currency_code": "USD"}}, 400),
        ({"custom_id": "not allowed here!"}, 400),
    ]:
        conforms(payments, template, "POST", paypal.call("POST", f"{path}/refund", body), status)
    conforms(payments, template, "POST", paypal.call("POST", f"{path}/refund"), 201)
    conforms(payments, CAPTURE, "GET", paypal.call("GET", path), 200)
    conforms(payments, template, "POST", paypal.call("POST", f"{path}/refund"), 422)


def test_declined_capture_and_refund_refusal(payments: dict[str, Any], paypal: PayPalHttp) -> None:
    order = captured_order(paypal, payment_card=card(name="CCREJECT-BANK_ERROR"))
    path = f"/v2/payments/captures/{capture_id(order)}"
    conforms(payments, CAPTURE, "GET", paypal.call("GET", path), 200)
    conforms(payments, f"{CAPTURE}/refund", "POST", paypal.call("POST", f"{path}/refund"), 422)


def test_zero_decimal_currency_capture_and_refund(
    payments: dict[str, Any], paypal: PayPalHttp
) -> None:
    order = captured_order(paypal, currency="JPY", value="1500")
    path = f"/v2/payments/captures/{capture_id(order)}"
    conforms(payments, CAPTURE, "GET", paypal.call("GET", path), 200)
    decimals = {"amount": {"currency_code": "JPY", "value": "10.50"}}
    conforms(
        payments, f"{CAPTURE}/refund", "POST", paypal.call("POST", f"{path}/refund", decimals), 422
    )
    half = {"amount": {"currency_code": "JPY", "value": "750"}}
    conforms(
        payments, f"{CAPTURE}/refund", "POST", paypal.call("POST", f"{path}/refund", half), 201
    )


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"number": "4012-8888-8888-1881"}, 400),
        ({"number": "4012888888881882"}, 400),
        ({"number": "401288"}, 400),
        ({"expiry": "2030/12"}, 400),
        ({"expiry": "2020-01"}, 422),
        ({"expiry": "2090-01"}, 422),
        ({"security_code": "1234"}, 422),
        ({"security_code": "x"}, 400),
        ({"security_code": None}, 400),
        ({"stored_credential": {"payment_initiator": "MERCHANT", "payment_type": "ONE_TIME"}}, 422),
    ],
)
def test_create_order_card_errors(
    orders: dict[str, Any], paypal: PayPalHttp, changes: dict[str, Any], status: int
) -> None:
    payment_card = {k: v for k, v in {**card(), **changes}.items() if v is not None}
    answer = paypal.create_order(order_body(payment_card=payment_card))
    conforms(orders, ORDERS, "POST", answer, status)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{oops", 400),
        (json.dumps({"intent": "SALE"}).encode(), 400),
        (json.dumps({"intent": "CAPTURE"}).encode(), 400),
        (json.dumps(order_body(value="1.001")).encode(), 422),
        (json.dumps(order_body(currency="JPY", value="1.5")).encode(), 422),
        (json.dumps(order_body(value="0")).encode(), 422),
        (json.dumps(order_body(currency="ABC")).encode(), 422),
        (json.dumps(order_body(invoice_id="")).encode(), 400),
    ],
)
def test_create_order_body_errors(
    orders: dict[str, Any], paypal: PayPalHttp, body: bytes, status: int
) -> None:
    conforms(orders, ORDERS, "POST", paypal.call("POST", ORDERS, body, request_id="e"), status)


def test_create_order_needs_a_request_id(orders: dict[str, Any], paypal: PayPalHttp) -> None:
    conforms(orders, ORDERS, "POST", paypal.create_order(request_id=None), 400)


@pytest.mark.parametrize(
    "code",
    [
        "INSTRUMENT_DECLINED",
        "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR",
        "PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED",
        "DUPLICATE_INVOICE_ID",
        "TRANSACTION_REFUSED",
        "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
        "NOT_ENABLED_FOR_CARD_PROCESSING",
        "CARD_EXPIRED",
        "INVALID_SECURITY_CODE_LENGTH",
    ],
)
def test_mocked_card_errors(orders: dict[str, Any], paypal: PayPalHttp, code: str) -> None:
    header = {"PayPal-Mock-Response": json.dumps({"mock_application_codes": code})}
    conforms(orders, ORDERS, "POST", paypal.create_order(headers=header), 422)


def test_unknown_card_brand_matches_the_capture_order_list(
    orders: dict[str, Any], paypal: PayPalHttp
) -> None:
    # Orders v2.13 lists CARD_BRAND_NOT_SUPPORTED for capture/authorize, not for create,
    # although a single-step create performs the capture. Pinned so a spec update shows.
    answer = paypal.create_order(order_body(payment_card=card(luhn_complete("9", 16))))
    body = conforms(orders, f"{ORDER}/capture", "POST", answer, 422)
    assert body["details"][0]["issue"] == "CARD_BRAND_NOT_SUPPORTED"
    with pytest.raises(ValidationError):
        validate_response(orders, ORDERS, "POST", 422, body)


def test_authentication_failures(
    orders: dict[str, Any], payments: dict[str, Any], paypal: PayPalHttp
) -> None:
    conforms(orders, ORDERS, "POST", paypal.call("POST", ORDERS, order_body(), auth=False), 401)
    conforms(orders, ORDER, "GET", paypal.call("GET", f"{ORDERS}/X", auth=False), 401)
    for template, path in [
        (AUTHORIZATION, "/v2/payments/authorizations/X"),
        (CAPTURE, "/v2/payments/captures/X"),
        (REFUND, "/v2/payments/refunds/X"),
    ]:
        conforms(payments, template, "GET", paypal.call("GET", path, auth=False), 401)


def test_not_found(orders: dict[str, Any], payments: dict[str, Any], paypal: PayPalHttp) -> None:
    conforms(orders, ORDER, "GET", paypal.call("GET", f"{ORDERS}/NOPE"), 404)
    conforms(orders, f"{ORDER}/capture", "POST", paypal.call("POST", f"{ORDERS}/NOPE/capture"), 404)
    for template, method, path in [
        (AUTHORIZATION, "GET", "/v2/payments/authorizations/NOPE"),
        (f"{AUTHORIZATION}/capture", "POST", "/v2/payments/authorizations/NOPE/capture"),
        (f"{AUTHORIZATION}/void", "POST", "/v2/payments/authorizations/NOPE/void"),
        (CAPTURE, "GET", "/v2/payments/captures/NOPE"),
        (f"{CAPTURE}/refund", "POST", "/v2/payments/captures/NOPE/refund"),
        (REFUND, "GET", "/v2/payments/refunds/NOPE"),
    ]:
        conforms(payments, template, method, paypal.call(method, path), 404)


def test_injected_server_errors(
    emulator: Emulator, orders: dict[str, Any], payments: dict[str, Any], paypal: PayPalHttp
) -> None:
    paypal.token()
    for status in (500, 503):
        emulator.inject(Fault(kind="status", status=status))
        conforms(orders, ORDERS, "POST", paypal.create_order(), status)
    emulator.inject(Fault(kind="status", status=409, issue="PREVIOUS_REQUEST_IN_PROGRESS"))
    conforms(
        payments,
        f"{CAPTURE}/refund",
        "POST",
        paypal.call("POST", "/v2/payments/captures/X/refund"),
        409,
    )
    emulator.inject(Fault(kind="status", status=415))
    conforms(orders, ORDERS, "POST", paypal.create_order(), 415)


def test_rate_limit_has_no_schema_in_the_documents(
    emulator: Emulator, orders: dict[str, Any], paypal: PayPalHttp
) -> None:
    # Neither document declares a 429 or a RATE_LIMIT_REACHED error; pinned so a spec
    # update shows, while the body keeps the common error shape.
    paypal.token()
    emulator.inject(Fault(kind="status", status=429, retry_after=1))
    answer = paypal.create_order()
    assert answer.status == 429
    body = answer.json()
    assert {"name", "message", "debug_id"} <= body.keys()
    with pytest.raises(ValidationError):
        validate_response(orders, ORDERS, "POST", 429, body)
