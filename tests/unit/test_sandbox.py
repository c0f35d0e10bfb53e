"""The PayPal sandbox emulator over loopback HTTP: what it answers, remembers and breaks."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cardline.sandbox import Emulator, Fault
from cardline.sandbox.cards import DECLINE_TRIGGERS, luhn_valid
from tests.cards import AMEX, AMEX_CVV, CVV, DISCOVER, MASTERCARD, MISTYPED_VISA, VISA, VISA_2
from tests.paypal_http import Answer, PayPalHttp, card, order_body, paypal_expiry

ORDERS = "/v2/checkout/orders"


def luhn_complete(prefix: str, length: int) -> str:
    """``prefix`` padded with zeros and a check digit to a Luhn-valid ``length``-digit number."""
    body = prefix.ljust(length - 1, "0")
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def paypal(emulator: Emulator) -> Iterator[PayPalHttp]:
    client = PayPalHttp(emulator.base_url)
    yield client
    client.close()


def issue_of(answer: Answer) -> str:
    return str(answer.json()["details"][0]["issue"])


def capture_of(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order["purchase_units"][0]["payments"]["captures"][0])


def authorization_of(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order["purchase_units"][0]["payments"]["authorizations"][0])


def paid(paypal: PayPalHttp, **body: Any) -> dict[str, Any]:
    answer = paypal.create_order(order_body(**body))
    assert answer.status == 201, answer.body
    return dict(answer.json())


# -- OAuth ---------------------------------------------------------------------------


def test_token_is_issued_for_the_configured_client(paypal: PayPalHttp) -> None:
    answer = paypal.fetch_token()
    assert answer.status == 200
    token = answer.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 32400
    assert {"scope", "access_token", "app_id", "nonce"} <= token.keys()


def test_token_is_refused_for_a_wrong_secret(paypal: PayPalHttp) -> None:
    wrong = base64.b64encode(b"sandbox-client:not-the-secret").decode()
    answer = paypal.fetch_token(wrong)
    assert answer.status == 401
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client Authentication failed",
    }


def test_token_needs_the_client_credentials_grant(paypal: PayPalHttp) -> None:
    answer = paypal.raw(
        "POST",
        "/v1/oauth2/token",
        b"grant_type=password",
        {"Authorization": f"Basic {paypal.basic}"},
    )
    assert answer.status == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_api_calls_without_a_token_get_authentication_failure(paypal: PayPalHttp) -> None:
    answer = paypal.call("GET", f"{ORDERS}/ANY", auth=False)
    assert answer.status == 401
    assert answer.json()["name"] == "AUTHENTICATION_FAILURE"
    assert answer.headers["paypal-debug-id"] == answer.json()["debug_id"]


def test_expired_tokens_get_401_until_a_new_one_is_fetched(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    paid(paypal)
    emulator.expire_tokens()
    answer = paypal.create_order()
    assert answer.status == 401
    assert answer.json()["name"] == "AUTHENTICATION_FAILURE"
    paypal.forget_token()
    assert paypal.create_order().status == 201


def test_tokens_expire_after_their_ttl() -> None:
    with Emulator(token_ttl=0) as emulator:
        client = PayPalHttp(emulator.base_url)
        assert client.fetch_token().json()["expires_in"] == 0
        assert client.create_order().status == 401
        client.close()


# -- single-step card payments -------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code", "brand"),
    [
        (VISA, CVV, "VISA"),
        (VISA_2, CVV, "VISA"),
        (MASTERCARD, CVV, "MASTERCARD"),
        (AMEX, AMEX_CVV, "AMEX"),
        (DISCOVER, CVV, "DISCOVER"),
    ],
)
def test_test_cards_are_approved(paypal: PayPalHttp, number: str, code: str, brand: str) -> None:
    order = paid(paypal, payment_card=card(number, security_code=code), custom_id="c-1")
    assert order["status"] == "COMPLETED"
    assert order["payment_source"]["card"] == {
        "name": "Ada Lovelace",
        "last_digits": number[-4:],
        "brand": brand,
        "type": "CREDIT",
        "expiry": paypal_expiry(),
    }
    capture = capture_of(order)
    assert capture["status"] == "COMPLETED"
    assert capture["processor_response"]["response_code"] == "0000"
    assert capture["amount"] == {"currency_code": "USD", "value": "12.50"}
    assert capture["custom_id"] == "c-1"
    assert order["purchase_units"][0]["reference_id"] == "default"


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (luhn_complete("3530", 16), "JCB"),
        (luhn_complete("62", 16), "CHINA_UNION_PAY"),
        (luhn_complete("6759", 16), "MAESTRO"),
        (luhn_complete("36", 14), None),  # Diners: not in Orders v2.13's card_brand enum
    ],
)
def test_other_supported_brands_are_approved(
    paypal: PayPalHttp, number: str, brand: str | None
) -> None:
    order = paid(paypal, payment_card=card(number))
    assert capture_of(order)["status"] == "COMPLETED"
    assert order["payment_source"]["card"].get("brand") == brand


@pytest.mark.parametrize(("name", "code"), sorted(DECLINE_TRIGGERS.items()))
def test_ccreject_names_decline_the_capture(
    emulator: Emulator, paypal: PayPalHttp, name: str, code: str
) -> None:
    order = paid(paypal, payment_card=card(name=name))
    assert order["status"] == "COMPLETED"
    capture = capture_of(order)
    assert capture["status"] == "DECLINED"
    assert capture["processor_response"] == {
        "avs_code": "G",
        "cvv_code": "P",
        "response_code": code,
    }
    assert "seller_receivable_breakdown" not in capture
    assert emulator.capture_count() == 0


def test_cvv_failure_trigger_reports_00n7(paypal: PayPalHttp) -> None:
    order = paid(paypal, payment_card=card(name="CCREJECT-CVV_F"))
    assert capture_of(order)["processor_response"]["response_code"] == "00N7"


def test_ccreject_names_deny_an_authorization(paypal: PayPalHttp) -> None:
    order = paid(paypal, intent="AUTHORIZE", payment_card=card(name="CCREJECT-IF"))
    authorization = authorization_of(order)
    assert authorization["status"] == "DENIED"
    assert authorization["processor_response"]["response_code"] == "5120"


def test_card_orders_need_a_paypal_request_id(emulator: Emulator, paypal: PayPalHttp) -> None:
    answer = paypal.create_order(request_id=None)
    assert answer.status == 400
    assert answer.json()["name"] == "INVALID_REQUEST"
    assert issue_of(answer) == "PAYPAL_REQUEST_ID_REQUIRED"
    assert emulator.stats()["orders"] == 0


def test_request_ids_longer_than_108_characters_are_refused(paypal: PayPalHttp) -> None:
    assert paypal.create_order(request_id="r" * 108).status == 201
    answer = paypal.create_order(request_id="r" * 109)
    assert (answer.status, issue_of(answer)) == (400, "INVALID_STRING_LENGTH")


def test_minimal_is_the_default_answer(paypal: PayPalHttp) -> None:
    answer = paypal.create_order(prefer=None)
    assert answer.status == 201
    order = answer.json()
    assert order.keys() == {"id", "status", "links"}
    assert order["status"] == "COMPLETED"
    full = paypal.call("GET", f"{ORDERS}/{order['id']}").json()
    assert capture_of(full)["status"] == "COMPLETED"


def test_representation_carries_amount_ids_and_timestamps(paypal: PayPalHttp) -> None:
    order = paid(paypal, invoice_id="INV-7", description="Tickets", value="99")
    unit = order["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "USD", "value": "99.00"}
    assert unit["invoice_id"] == "INV-7"
    assert unit["description"] == "Tickets"
    assert order["intent"] == "CAPTURE"
    assert order["create_time"].endswith("Z")
    assert order["links"][0]["rel"] == "self"


# -- idempotency ---------------------------------------------------------------------


def test_replay_returns_the_first_order_without_charging_again(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    first = paypal.create_order(order_body(value="10.00"), request_id="once")
    again = paypal.create_order(order_body(value="99.00"), request_id="once")
    assert (first.status, again.status) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert capture_of(again.json())["amount"]["value"] == "10.00"
    assert emulator.capture_count() == 1
    assert len(emulator.captures_for("once")) == 1


def test_concurrent_creates_with_one_request_id_make_one_capture(emulator: Emulator) -> None:
    clients = [PayPalHttp(emulator.base_url) for _ in range(8)]
    for client in clients:
        client.token()
    start = threading.Barrier(len(clients))
    answers: list[Answer] = []
    lock = threading.Lock()

    def create(client: PayPalHttp) -> None:
        start.wait()
        answer = client.create_order(request_id="race")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=create, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert sorted(a.status for a in answers) == [200] * 7 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert emulator.capture_count() == 1
    assert len(emulator.captures_for("race")) == 1


def test_request_ids_are_scoped_to_the_operation(emulator: Emulator, paypal: PayPalHttp) -> None:
    order = paid(paypal)
    capture_id = capture_of(order)["id"]
    refund = paypal.call("POST", f"/v2/payments/captures/{capture_id}/refund", request_id="same")
    other = paypal.create_order(request_id="same")
    assert (refund.status, other.status) == (201, 201)
    assert emulator.stats()["orders"] == 2


# -- request validation --------------------------------------------------------------

EXPIRED = "2020-01"


@pytest.mark.parametrize(
    ("changes", "status", "issue", "field"),
    [
        ({"number": "4012 8888 8888 1881"}, 400, "INVALID_PARAMETER_SYNTAX", "number"),
        ({"number": MISTYPED_VISA}, 400, "INVALID_PARAMETER_VALUE", "number"),
        ({"number": "4012888888"}, 400, "INVALID_STRING_LENGTH", "number"),
        ({"number": None}, 400, "MISSING_REQUIRED_PARAMETER", "number"),
        ({"number": luhn_complete("9", 16)}, 422, "CARD_BRAND_NOT_SUPPORTED", "number"),
        ({"expiry": "12/30"}, 400, "INVALID_PARAMETER_SYNTAX", "expiry"),
        ({"expiry": "2030-13"}, 400, "INVALID_PARAMETER_SYNTAX", "expiry"),
        ({"expiry": EXPIRED}, 422, "CARD_EXPIRED", "expiry"),
        ({"expiry": paypal_expiry(40)}, 422, "INVALID_EXPIRY_DATE", "expiry"),
        ({"security_code": "1234"}, 422, "INVALID_SECURITY_CODE_LENGTH", "security_code"),
        ({"security_code": "12a"}, 400, "INVALID_PARAMETER_SYNTAX", "security_code"),
        ({"security_code": None}, 400, "MISSING_REQUIRED_PARAMETER", "security_code"),
        ({"name": ""}, 400, "INVALID_STRING_LENGTH", "name"),
        ({"name": "x" * 301}, 400, "INVALID_STRING_LENGTH", "name"),
        (
            {"stored_credential": {"payment_initiator": "MERCHANT", "payment_type": "ONE_TIME"}},
            422,
            "MERCHANT_INITIATED_WITH_SECURITY_CODE",
            "security_code",
        ),
    ],
)
def test_invalid_cards_are_refused_by_field_without_echoing_it(
    emulator: Emulator,
    paypal: PayPalHttp,
    changes: dict[str, Any],
    status: int,
    issue: str,
    field: str,
) -> None:
    payment_card = {**card(), **changes}
    payment_card = {k: v for k, v in payment_card.items() if v is not None}
    answer = paypal.create_order(order_body(payment_card=payment_card))
    assert answer.status == status
    detail = answer.json()["details"][0]
    assert detail["issue"] == issue
    assert detail["field"] == f"/payment_source/card/{field}"
    assert detail["location"] == "body"
    assert "value" not in detail
    for secret in (VISA, MISTYPED_VISA, "4012 8888 8888 1881", CVV):
        assert secret.encode() not in answer.body
    assert emulator.stats()["orders"] == 0


def test_amex_needs_a_four_digit_code(paypal: PayPalHttp) -> None:
    answer = paypal.create_order(order_body(payment_card=card(AMEX, security_code=CVV)))
    assert answer.status == 422
    assert issue_of(answer) == "INVALID_SECURITY_CODE_LENGTH"


@pytest.mark.parametrize(
    ("currency", "value", "status", "issue"),
    [
        ("JPY", "10.00", 422, "DECIMAL_PRECISION"),
        ("USD", "1.005", 422, "DECIMAL_PRECISION"),
        ("USD", "0.00", 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        ("USD", "-1.00", 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        ("XXX", "1.00", 422, "INVALID_CURRENCY_CODE"),
        ("usd", "1.00", 400, "INVALID_PARAMETER_SYNTAX"),
        ("USD", "1e3", 400, "INVALID_PARAMETER_SYNTAX"),
    ],
)
def test_amounts_follow_the_currency_rules(
    paypal: PayPalHttp, currency: str, value: str, status: int, issue: str
) -> None:
    answer = paypal.create_order(order_body(currency=currency, value=value))
    assert answer.status == status
    assert issue_of(answer) == issue


@pytest.mark.parametrize(
    ("currency", "value", "shown"),
    [
        ("JPY", "1000", "1000"),
        ("HUF", "250", "250"),
        ("USD", "12.5", "12.50"),
        ("EUR", "7", "7.00"),
    ],
)
def test_amounts_are_answered_in_minor_units(
    paypal: PayPalHttp, currency: str, value: str, shown: str
) -> None:
    order = paid(paypal, currency=currency, value=value)
    assert capture_of(order)["amount"] == {"currency_code": currency, "value": shown}


def test_a_numeric_amount_is_a_syntax_error(paypal: PayPalHttp) -> None:
    body = order_body()
    body["purchase_units"][0]["amount"]["value"] = 12.5
    answer = paypal.create_order(body)
    assert answer.status == 400
    assert answer.json()["details"][0]["field"] == "/purchase_units/0/amount/value"


@pytest.mark.parametrize(
    ("body", "issue"),
    [
        (b"{not json", "MALFORMED_REQUEST_JSON"),
        (b"[]", "MALFORMED_REQUEST_JSON"),
        (json.dumps({"purchase_units": []}).encode(), "MISSING_REQUIRED_PARAMETER"),
        (json.dumps({"intent": "SALE"}).encode(), "INVALID_PARAMETER_VALUE"),
        (
            json.dumps({"intent": "CAPTURE", "purchase_units": []}).encode(),
            "INVALID_ARRAY_MIN_ITEMS",
        ),
    ],
)
def test_malformed_order_bodies_are_invalid_requests(
    paypal: PayPalHttp, body: bytes, issue: str
) -> None:
    answer = paypal.call("POST", ORDERS, body, request_id="bad-body")
    assert answer.status == 400
    assert answer.json()["name"] == "INVALID_REQUEST"
    assert issue_of(answer) == issue


def test_a_non_json_content_type_is_refused(paypal: PayPalHttp) -> None:
    answer = paypal.call("POST", ORDERS, b"intent=CAPTURE", headers={"Content-Type": "text/plain"})
    assert answer.status == 415


# -- orders without a card, then capture / authorize ---------------------------------


def test_an_order_without_a_card_is_created_then_captured_with_one(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    created = paypal.call("POST", ORDERS, order_body(with_card=False))
    assert created.status == 201
    order = created.json()
    assert order["status"] == "CREATED"
    assert any(link["rel"] == "capture" for link in order["links"])
    path = f"{ORDERS}/{order['id']}/capture"
    assert issue_of(paypal.call("POST", path)) == "ORDER_NOT_APPROVED"
    captured = paypal.call("POST", path, {"payment_source": {"card": card()}}, request_id="cap")
    assert captured.status == 201
    assert capture_of(captured.json())["status"] == "COMPLETED"
    again = paypal.call("POST", path, {"payment_source": {"card": card()}})
    assert (again.status, issue_of(again)) == (422, "ORDER_ALREADY_CAPTURED")
    assert paypal.call("POST", path, request_id="cap").status == 200
    assert emulator.capture_count() == 1


def test_an_authorize_order_is_authorized_once(paypal: PayPalHttp) -> None:
    order = paypal.call("POST", ORDERS, order_body(intent="AUTHORIZE", with_card=False)).json()
    path = f"{ORDERS}/{order['id']}"
    wrong = paypal.call("POST", f"{path}/capture", {"payment_source": {"card": card()}})
    assert (wrong.status, issue_of(wrong)) == (422, "ACTION_DOES_NOT_MATCH_INTENT")
    done = paypal.call("POST", f"{path}/authorize", {"payment_source": {"card": card()}})
    assert done.status == 201
    assert authorization_of(done.json())["status"] == "CREATED"
    again = paypal.call("POST", f"{path}/authorize", {"payment_source": {"card": card()}})
    assert (again.status, issue_of(again)) == (422, "ORDER_ALREADY_AUTHORIZED")


# -- authorizations ------------------------------------------------------------------


def authorized(paypal: PayPalHttp, value: str = "20.00") -> str:
    order = paid(paypal, intent="AUTHORIZE", value=value, invoice_id="INV-A")
    authorization = authorization_of(order)
    assert authorization["status"] == "CREATED"
    assert "expiration_time" in authorization
    assert "captures" not in order["purchase_units"][0]["payments"]
    return str(authorization["id"])


def test_authorize_then_capture_in_two_parts(emulator: Emulator, paypal: PayPalHttp) -> None:
    auth_id = authorized(paypal)
    path = f"/v2/payments/authorizations/{auth_id}"
    assert paypal.call("GET", path).json()["status"] == "CREATED"
    part = {"amount": {"currency_code": "USD", "value": "5.00"}, "final_capture": False}
    first = paypal.call("POST", f"{path}/capture", part, request_id="part-1")
    assert first.status == 201
    assert first.json()["amount"]["value"] == "5.00"
    assert first.json()["supplementary_data"]["related_ids"]["authorization_id"] == auth_id
    assert paypal.call("GET", path).json()["status"] == "PARTIALLY_CAPTURED"
    over = paypal.call(
        "POST", f"{path}/capture", {"amount": {"currency_code": "USD", "value": "16.00"}}
    )
    assert (over.status, issue_of(over)) == (422, "MAX_CAPTURE_AMOUNT_EXCEEDED")
    rest = paypal.call("POST", f"{path}/capture", request_id="part-2")
    assert rest.json()["amount"]["value"] == "15.00"
    assert paypal.call("GET", path).json()["status"] == "CAPTURED"
    again = paypal.call("POST", f"{path}/capture")
    assert (again.status, issue_of(again)) == (422, "AUTHORIZATION_ALREADY_CAPTURED")
    assert paypal.call("POST", f"{path}/capture", part, request_id="part-1").status == 201
    assert emulator.capture_count() == 2


def test_final_capture_closes_the_authorization(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/authorizations/{authorized(paypal)}"
    part = {"amount": {"currency_code": "USD", "value": "5.00"}, "final_capture": True}
    assert paypal.call("POST", f"{path}/capture", part).status == 201
    assert paypal.call("GET", path).json()["status"] == "CAPTURED"


def test_capture_currency_must_match_the_authorization(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/authorizations/{authorized(paypal)}/capture"
    answer = paypal.call("POST", path, {"amount": {"currency_code": "EUR", "value": "1.00"}})
    assert (answer.status, issue_of(answer)) == (422, "AUTH_CAPTURE_CURRENCY_MISMATCH")


def test_void_then_capture_is_refused(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/authorizations/{authorized(paypal)}"
    voided = paypal.call("POST", f"{path}/void", prefer=None)
    assert (voided.status, voided.body) == (204, b"")
    assert paypal.call("GET", path).json()["status"] == "VOIDED"
    again = paypal.call("POST", f"{path}/void")
    assert (again.status, issue_of(again)) == (422, "PREVIOUSLY_VOIDED")
    capture = paypal.call("POST", f"{path}/capture")
    assert (capture.status, issue_of(capture)) == (422, "AUTHORIZATION_VOIDED")


def test_void_with_representation_answers_200(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/authorizations/{authorized(paypal)}"
    voided = paypal.call("POST", f"{path}/void", request_id="void-1")
    assert voided.status == 200
    assert voided.json()["status"] == "VOIDED"
    assert paypal.call("POST", f"{path}/void", request_id="void-1").status == 200


def test_a_captured_authorization_cannot_be_voided(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/authorizations/{authorized(paypal)}"
    paypal.call("POST", f"{path}/capture")
    answer = paypal.call("POST", f"{path}/void")
    assert (answer.status, issue_of(answer)) == (422, "PREVIOUSLY_CAPTURED")


# -- refunds -------------------------------------------------------------------------


def captured(paypal: PayPalHttp, **body: Any) -> str:
    return str(capture_of(paid(paypal, **body))["id"])


def test_an_empty_refund_refunds_everything(emulator: Emulator, paypal: PayPalHttp) -> None:
    capture_id = captured(paypal)
    answer = paypal.call("POST", f"/v2/payments/captures/{capture_id}/refund", request_id="r-1")
    assert answer.status == 201
    refund = answer.json()
    assert refund["status"] == "COMPLETED"
    assert refund["amount"] == {"currency_code": "USD", "value": "12.50"}
    capture = paypal.call("GET", f"/v2/payments/captures/{capture_id}").json()
    assert capture["status"] == "REFUNDED"
    assert paypal.call("GET", f"/v2/payments/refunds/{refund['id']}").json() == refund
    again = paypal.call("POST", f"/v2/payments/captures/{capture_id}/refund")
    assert (again.status, issue_of(again)) == (422, "CAPTURE_FULLY_REFUNDED")
    assert emulator.stats()["refunds"] == 1


def test_partial_refunds_up_to_the_captured_amount(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/captures/{captured(paypal)}"
    five = {"amount": {"currency_code": "USD", "value": "5.00"}, "note_to_payer": "Sorry"}
    first = paypal.call("POST", f"{path}/refund", five)
    assert first.json()["seller_payable_breakdown"]["total_refunded_amount"]["value"] == "5.00"
    assert paypal.call("GET", path).json()["status"] == "PARTIALLY_REFUNDED"
    too_much = {"amount": {"currency_code": "USD", "value": "7.51"}}
    exceeded = paypal.call("POST", f"{path}/refund", too_much)
    assert (exceeded.status, issue_of(exceeded)) == (422, "REFUND_AMOUNT_EXCEEDED")
    wrong = paypal.call(
        "POST", f"{path}/refund", {"amount": {"currency_code": "EUR", "value": "1.00"}}
    )
    assert (wrong.status, issue_of(wrong)) == (422, "REFUND_CAPTURE_CURRENCY_MISMATCH")
    rest = paypal.call("POST", f"{path}/refund")
    assert rest.json()["amount"]["value"] == "7.50"
    assert paypal.call("GET", path).json()["status"] == "REFUNDED"


def test_a_refund_replayed_by_request_id_refunds_once(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    path = f"/v2/payments/captures/{captured(paypal)}/refund"
    half = {"amount": {"currency_code": "USD", "value": "2.00"}}
    first = paypal.call("POST", path, half, request_id="refund-once")
    again = paypal.call("POST", path, half, request_id="refund-once")
    assert (first.status, again.status) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert emulator.stats()["refunds"] == 1


def test_a_declined_capture_cannot_be_refunded(paypal: PayPalHttp) -> None:
    capture_id = captured(paypal, payment_card=card(name="CCREJECT-REFUSED"))
    answer = paypal.call("POST", f"/v2/payments/captures/{capture_id}/refund")
    assert (answer.status, issue_of(answer)) == (422, "REFUND_NOT_ALLOWED")


def test_the_order_shows_its_refunds(paypal: PayPalHttp) -> None:
    order = paid(paypal)
    paypal.call("POST", f"/v2/payments/captures/{capture_of(order)['id']}/refund")
    again = paypal.call("GET", f"{ORDERS}/{order['id']}").json()
    payments = again["purchase_units"][0]["payments"]
    assert payments["captures"][0]["status"] == "REFUNDED"
    assert payments["refunds"][0]["status"] == "COMPLETED"


# -- unknown resources ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{ORDERS}/NOPE"),
        ("POST", f"{ORDERS}/NOPE/capture"),
        ("GET", "/v2/payments/authorizations/NOPE"),
        ("POST", "/v2/payments/authorizations/NOPE/capture"),
        ("POST", "/v2/payments/authorizations/NOPE/void"),
        ("GET", "/v2/payments/captures/NOPE"),
        ("POST", "/v2/payments/captures/NOPE/refund"),
        ("GET", "/v2/payments/refunds/NOPE"),
    ],
)
def test_unknown_ids_are_resource_not_found(paypal: PayPalHttp, method: str, path: str) -> None:
    answer = paypal.call(method, path)
    assert answer.status == 404
    assert answer.json()["name"] == "RESOURCE_NOT_FOUND"
    assert issue_of(answer) == "INVALID_RESOURCE_ID"
    assert answer.json()["details"][0]["location"] == "path"


def test_unknown_paths_and_methods(paypal: PayPalHttp) -> None:
    assert paypal.call("GET", "/v2/nothing/here").status == 404
    assert paypal.call("DELETE", f"{ORDERS}/X").status == 405


# -- PayPal-Mock-Response ------------------------------------------------------------


def mock(code: str) -> dict[str, str]:
    return {"PayPal-Mock-Response": json.dumps({"mock_application_codes": code})}


def test_mock_response_returns_that_error_without_charging(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    answer = paypal.create_order(headers=mock("INSTRUMENT_DECLINED"))
    assert answer.status == 422
    assert answer.json()["name"] == "UNPROCESSABLE_ENTITY"
    assert issue_of(answer) == "INSTRUMENT_DECLINED"
    assert emulator.stats()["orders"] == 0
    assert emulator.capture_count() == 0


def test_mock_response_works_on_payments_calls(paypal: PayPalHttp) -> None:
    path = f"/v2/payments/captures/{captured(paypal)}/refund"
    answer = paypal.call("POST", path, headers=mock("REFUND_TIME_LIMIT_EXCEEDED"))
    assert (answer.status, issue_of(answer)) == (422, "REFUND_TIME_LIMIT_EXCEEDED")


@pytest.mark.parametrize(
    ("code", "status"),
    [("INTERNAL_SERVER_ERROR", 500), ("MISSING_REQUIRED_PARAMETER", 400), ("CARD_EXPIRED", 422)],
)
def test_mock_response_status_follows_the_code(paypal: PayPalHttp, code: str, status: int) -> None:
    assert paypal.create_order(headers=mock(code)).status == status


def test_a_malformed_mock_header_is_a_bad_request(paypal: PayPalHttp) -> None:
    answer = paypal.create_order(headers={"PayPal-Mock-Response": "INSTRUMENT_DECLINED"})
    assert answer.status == 400


# -- faults --------------------------------------------------------------------------


def test_delay_fault_answers_normally_but_late(emulator: Emulator, paypal: PayPalHttp) -> None:
    paypal.token()
    emulator.inject(Fault(kind="delay", delay=0.05))
    started = time.monotonic()
    answer = paypal.create_order()
    assert time.monotonic() - started >= 0.05
    assert answer.status == 201


def test_status_fault_answers_the_error_without_processing(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    emulator.inject(Fault(kind="status", status=503, times=2))
    for _ in range(2):
        answer = paypal.create_order(request_id="after-503")
        assert answer.status == 503
        assert answer.json()["name"] == "SERVICE_UNAVAILABLE"
    assert emulator.capture_count() == 0
    assert paypal.create_order(request_id="after-503").status == 201


def test_429_fault_sets_retry_after(emulator: Emulator, paypal: PayPalHttp) -> None:
    emulator.inject(Fault(kind="status", status=429, retry_after=3))
    answer = paypal.create_order()
    assert answer.status == 429
    assert answer.headers["retry-after"] == "3"
    assert answer.json()["name"] == "RATE_LIMIT_REACHED"


def test_409_fault_names_its_issue(emulator: Emulator, paypal: PayPalHttp) -> None:
    emulator.inject(Fault(kind="status", status=409, issue="PREVIOUS_REQUEST_IN_PROGRESS"))
    answer = paypal.create_order()
    assert answer.status == 409
    assert answer.json()["name"] == "RESOURCE_CONFLICT"
    assert issue_of(answer) == "PREVIOUS_REQUEST_IN_PROGRESS"


def test_drop_before_closes_the_connection_without_processing(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    paypal.token()
    emulator.inject(Fault(kind="drop_before"))
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        paypal.create_order(request_id="dropped")
    assert emulator.capture_count() == 0
    assert paypal.create_order(request_id="dropped").status == 201
    assert emulator.capture_count() == 1


def test_drop_after_processes_then_closes_the_connection(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    paypal.token()
    emulator.inject(Fault(kind="drop_after"))
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        paypal.create_order(request_id="lost-answer")
    assert emulator.capture_count() == 1
    replay = paypal.create_order(request_id="lost-answer")
    assert replay.status == 200
    assert len(emulator.captures_for("lost-answer")) == 1
    assert emulator.capture_count() == 1


def test_malformed_json_fault_processes_then_answers_garbage(
    emulator: Emulator, paypal: PayPalHttp
) -> None:
    paypal.token()
    emulator.inject(Fault(kind="malformed_json"))
    answer = paypal.create_order(request_id="garbled")
    assert answer.status == 201
    with pytest.raises(ValueError, match=r"."):
        answer.json()
    assert emulator.capture_count() == 1
    assert paypal.create_order(request_id="garbled").json()["status"] == "COMPLETED"


def test_faults_match_method_and_path_prefix(emulator: Emulator, paypal: PayPalHttp) -> None:
    emulator.inject(Fault(kind="status", status=500, method="GET"))
    emulator.inject(Fault(kind="status", status=502, path_prefix="/v2/payments/"))
    order = paid(paypal)
    assert paypal.call("GET", f"{ORDERS}/{order['id']}").status == 500
    assert (
        paypal.call("POST", f"/v2/payments/captures/{capture_of(order)['id']}/refund").status == 502
    )
    assert paypal.call("GET", f"{ORDERS}/{order['id']}").status == 200


def test_token_requests_can_fail_too(emulator: Emulator, paypal: PayPalHttp) -> None:
    emulator.inject(Fault(kind="status", status=503, path_prefix="/v1/oauth2/token"))
    assert paypal.fetch_token().status == 503
    assert paypal.fetch_token().status == 200


def test_clear_faults_forgets_pending_ones(emulator: Emulator, paypal: PayPalHttp) -> None:
    emulator.inject(Fault(kind="status", status=500, times=5))
    emulator.clear_faults()
    assert paypal.create_order().status == 201


def test_latency_delays_every_request() -> None:
    with Emulator(latency=0.05) as emulator:
        client = PayPalHttp(emulator.base_url)
        started = time.monotonic()
        client.token()
        assert time.monotonic() - started >= 0.05
        client.close()


def test_faults_are_validated() -> None:
    with pytest.raises(ValueError, match="kind"):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        Fault(kind="delay", times=0)


# -- inspection ----------------------------------------------------------------------


def control(emulator: Emulator, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(emulator.base_url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def test_http_inspection_api(emulator: Emulator, paypal: PayPalHttp) -> None:
    paid(paypal)
    paypal.create_order(request_id="seen")
    captures = control(emulator, "GET", "/_emulator/captures?request_id=seen")["captures"]
    assert [c["status"] for c in captures] == ["COMPLETED"]
    stats = control(emulator, "GET", "/_emulator/stats")
    assert stats == {
        "authorizations": 0,
        "captures": 2,
        "orders": 2,
        "refunds": 0,
        "requests": 3,
        "token_requests": 1,
    }
    control(emulator, "POST", "/_emulator/faults", {"kind": "status", "status": 500})
    assert paypal.create_order().status == 500
    control(emulator, "POST", "/_emulator/faults", [{"kind": "status", "status": 502}])
    control(emulator, "DELETE", "/_emulator/faults")
    assert paypal.create_order().status == 201
    control(emulator, "POST", "/_emulator/expire-tokens")
    assert paypal.create_order().status == 401


def test_http_inspection_api_refuses_bad_faults(emulator: Emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        control(emulator, "POST", "/_emulator/faults", {"kind": "status", "colour": "red"})
    assert refused.value.code == 400


def test_request_log_has_no_bodies_or_credentials(emulator: Emulator, paypal: PayPalHttp) -> None:
    paypal.create_order(request_id="logged")
    log = emulator.request_log()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/v1/oauth2/token", 200),
        ("POST", ORDERS, 201),
    ]
    assert log[1]["request_id"] == "logged"
    text = json.dumps(log)
    assert paypal.token() not in text
    assert paypal.basic not in text
    assert "authorization" not in text.lower()
    assert VISA not in text


def test_no_card_number_or_security_code_is_kept(emulator: Emulator, paypal: PayPalHttp) -> None:
    paid(paypal)
    paid(paypal, payment_card=card(AMEX, security_code=AMEX_CVV))
    paid(paypal, intent="AUTHORIZE", payment_card=card(MASTERCARD))
    paid(paypal, payment_card=card(VISA_2, name="CCREJECT-IF"))
    paypal.create_order(order_body(payment_card=card(MISTYPED_VISA)))
    paypal.create_order(order_body(payment_card=card(VISA, expiry=EXPIRED)))
    state = repr(vars(emulator._store)) + json.dumps(emulator.request_log())
    state += json.dumps(
        [emulator.captures_for(e["request_id"] or "") for e in emulator.request_log()]
    )
    for number in (VISA, VISA_2, AMEX, MASTERCARD, MISTYPED_VISA):
        assert number not in state
    for code in (CVV, AMEX_CVV):
        assert f"'{code}'" not in state
        assert f'"{code}"' not in state
    assert "1881" in state  # the scan does see the cards' last digits
    assert "number" not in state
    assert "security_code" not in state


# -- HTTP behaviour ------------------------------------------------------------------


def test_connections_are_kept_alive(emulator: Emulator) -> None:
    host, _, port = emulator.base_url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    client = PayPalHttp(emulator.base_url)
    client.connection = connection
    client.token()
    sockets = set()
    for _ in range(3):
        answer = client.create_order()
        assert answer.status == 201
        assert "content-length" in answer.headers
        sockets.add(id(connection.sock))
    assert len(sockets) == 1
    connection.close()


def test_the_server_writes_nothing_to_stderr(
    emulator: Emulator, paypal: PayPalHttp, capfd: pytest.CaptureFixture[str]
) -> None:
    paid(paypal)
    paypal.call("GET", f"{ORDERS}/NOPE")
    assert capfd.readouterr().err == ""


def test_stop_hangs_up_and_stops_listening() -> None:
    emulator = Emulator()
    url = emulator.start()
    client = PayPalHttp(url)
    client.token()
    emulator.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        client.create_order()
    with pytest.raises(ConnectionRefusedError):
        client.create_order()
    with pytest.raises(RuntimeError):
        _ = emulator.base_url


def test_serve_forever_prints_its_url_and_stops_on_ctrl_c() -> None:
    code = "from cardline.sandbox import serve_forever; serve_forever('127.0.0.1', 0)"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert PayPalHttp(url).fetch_token().status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
