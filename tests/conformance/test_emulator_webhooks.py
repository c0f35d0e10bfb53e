"""The emulator's webhooks by PayPal's own documents: every event it sends (the envelope by
Webhooks v1, the resource by Payments v2 or Disputes v1), and every Webhooks v1 answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cardline.sandbox import Emulator
from cardline.sandbox.events import EVENT_TYPES
from cardline.webhooks.notification import PAYPAL_CERT_HOSTS, read_delivery
from tests.conformance.spec import (
    SKIP_REASON,
    SPEC_DIR,
    load_spec,
    validate_response,
    validate_schema,
)
from tests.paypal_http import PayPalHttp, card, order_body
from tests.webhook_listener import listening

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason=SKIP_REASON)

NOTIFICATIONS = "notifications_webhooks_v1"
WEBHOOKS = "/v1/notifications/webhooks"
WEBHOOK = "/v1/notifications/webhooks/{webhook_id}"
VERIFY = "/v1/notifications/verify-webhook-signature"
# resource_type -> (document, schema) of the resource an event carries.
RESOURCE_SCHEMAS = {
    "capture": ("payments_payment_v2", "capture-2"),
    "refund": ("payments_payment_v2", "refund"),
    "authorization": ("payments_payment_v2", "authorization-2"),
    "dispute": ("customer_disputes_v1", "dispute"),
}


def _first(order: dict[str, Any], kind: str) -> str:
    return str(order["purchase_units"][0]["payments"][kind][0]["id"])


def _fire(paypal: PayPalHttp, **body: str) -> None:
    answer = paypal.call("POST", "/_emulator/webhooks/fire", body, auth=False)
    assert answer.status == 201, answer.body


@pytest.fixture(scope="module")
def events() -> Iterator[dict[str, dict[str, Any]]]:
    """One event of every type the emulator sends, each made the way it comes about."""
    with Emulator() as emulator:
        paypal = PayPalHttp(emulator.base_url)

        def pay(name: str = "Ada Lovelace", **body: Any) -> dict[str, Any]:
            answer = paypal.create_order(
                order_body(payment_card=card(name=name), invoice_id=name + "-1", **body)
            )
            assert answer.status == 201, answer.body
            return dict(answer.json())

        completed = _first(pay(), "captures")
        paypal.call("POST", f"/v2/payments/captures/{completed}/refund", {}, request_id="r")
        pay("CCREJECT-IF")
        pending = _first(pay("WEBHOOK-PENDING"), "captures")
        _fire(paypal, event_type="PAYMENT.CAPTURE.DENIED", capture_id=pending)
        reversed_ = _first(pay("reverse me"), "captures")
        _fire(paypal, event_type="PAYMENT.CAPTURE.REVERSED", capture_id=reversed_, value="1.00")
        authorization = _first(pay("authorize me", intent="AUTHORIZE"), "authorizations")
        paypal.call("POST", f"/v2/payments/authorizations/{authorization}/void", None)
        disputed = _first(pay("Dispute-Me"), "captures")  # an invoice_number it can hold
        for kind in ("CREATED", "UPDATED"):
            _fire(paypal, event_type=f"CUSTOMER.DISPUTE.{kind}", capture_id=disputed)
        _fire(
            paypal,
            event_type="CUSTOMER.DISPUTE.RESOLVED",
            capture_id=disputed,
            outcome="RESOLVED_BUYER_FAVOUR",
        )
        paypal.close()
        yield {event["event_type"]: event for event in emulator.events()}


def test_every_event_type_was_made(events: dict[str, dict[str, Any]]) -> None:
    assert set(events) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_event_is_webhooks_v1s_event(
    events: dict[str, dict[str, Any]], event_type: str
) -> None:
    event = events[event_type]
    validate_schema(load_spec(NOTIFICATIONS), "event", event)
    assert event["resource_type"] == EVENT_TYPES[event_type].resource_type


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_events_resource_is_what_paypals_document_describes(
    events: dict[str, dict[str, Any]], event_type: str
) -> None:
    event = events[event_type]
    document, schema = RESOURCE_SCHEMAS[event["resource_type"]]
    validate_schema(load_spec(document), schema, event["resource"])


@pytest.fixture
def paypal() -> Iterator[PayPalHttp]:
    with Emulator() as emulator:
        client = PayPalHttp(emulator.base_url)
        yield client
        client.close()


def _conforms(template: str, method: str, status: int, answer: Any) -> Any:
    assert answer.status == status, answer.body
    body = answer.json() if answer.body else None
    validate_response(load_spec(NOTIFICATIONS), template, method, status, body)
    return body


def test_the_webhook_operations_answer_by_the_document(paypal: PayPalHttp) -> None:
    spec = load_spec(NOTIFICATIONS)
    request = {"url": "https://example.com/hook", "event_types": [{"name": "*"}]}
    # Webhooks v1 marks the event's fields (and, through readOnly: false, the webhook's
    # url) read-only, which the write validator takes literally; the shapes are checked.
    validate_schema(spec, "webhook", request)
    made = _conforms(WEBHOOKS, "POST", 201, paypal.call("POST", WEBHOOKS, request))
    _conforms(WEBHOOKS, "GET", 200, paypal.call("GET", WEBHOOKS))
    _conforms(WEBHOOK, "GET", 200, paypal.call("GET", f"{WEBHOOKS}/{made['id']}"))
    _conforms(WEBHOOK, "DELETE", 204, paypal.call("DELETE", f"{WEBHOOKS}/{made['id']}"))
    _conforms(WEBHOOK, "GET", 404, paypal.call("GET", f"{WEBHOOKS}/{made['id']}"))
    _conforms(WEBHOOKS, "POST", 400, paypal.call("POST", WEBHOOKS, {"url": "x"}))
    _conforms(WEBHOOKS, "GET", 401, paypal.call("GET", WEBHOOKS, auth=False))


def test_the_verification_request_and_answers_are_by_the_document() -> None:
    spec = load_spec(NOTIFICATIONS)
    with listening() as listener, Emulator() as emulator:
        webhook_id = emulator.subscribe(listener.url)
        paypal = PayPalHttp(emulator.base_url)
        paypal.create_order(order_body())
        got = listener.next()
        delivery = read_delivery(got.headers, got.body, PAYPAL_CERT_HOSTS | {"127.0.0.1"})
        request = json.loads(delivery.verification_request(webhook_id))
        # The documented signature pattern refuses a base64 value that begins with "+" or
        # "/" (about one in 32); the field is checked with a value it takes.
        checked = dict(request, transmission_sig="c2ln")
        validate_schema(spec, "verify_webhook_signature", checked)
        _conforms(VERIFY, "POST", 200, paypal.call("POST", VERIFY, request))
        forged = dict(request, webhook_id="ANOTHERWEBHOOK")
        assert _conforms(VERIFY, "POST", 200, paypal.call("POST", VERIFY, forged)) == {
            "verification_status": "FAILURE"
        }
        _conforms(VERIFY, "POST", 400, paypal.call("POST", VERIFY, {"webhook_id": "X"}))
        paypal.close()
