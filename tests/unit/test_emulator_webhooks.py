"""The emulator's webhooks as PayPal's Webhooks v1 has them: subscriptions, signed
deliveries, and verify-webhook-signature answering SUCCESS only for what it sent."""

from __future__ import annotations

import base64
import copy
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cardline.sandbox import Emulator
from cardline.webhooks.notification import PAYPAL_CERT_HOSTS, read_delivery
from tests.paypal_http import PayPalHttp, card, order_body
from tests.webhook_listener import Listener, Received, listening

WEBHOOKS = "/v1/notifications/webhooks"
VERIFY = "/v1/notifications/verify-webhook-signature"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def paypal(emulator: Emulator) -> Iterator[PayPalHttp]:
    client = PayPalHttp(emulator.base_url)
    yield client
    client.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as running:
        yield running


def subscribe(paypal: PayPalHttp, url: str, *names: str) -> str:
    answer = paypal.call(
        "POST", WEBHOOKS, {"url": url, "event_types": [{"name": n} for n in names or ("*",)]}
    )
    assert answer.status == 201, answer.body
    return str(answer.json()["id"])


def verify(paypal: PayPalHttp, fields: Any) -> str:
    answer = paypal.call("POST", VERIFY, fields)
    assert answer.status == 200, answer.body
    return str(answer.json()["verification_status"])


def pay(paypal: PayPalHttp, name: str = "Ada Lovelace", **body: Any) -> dict[str, Any]:
    answer = paypal.create_order(order_body(payment_card=card(name=name), **body))
    assert answer.status == 201, answer.body
    return dict(answer.json())


def delivered(paypal: PayPalHttp, listener: Listener) -> tuple[str, Received]:
    """A webhook for ``listener``, a payment, and the delivery of its COMPLETED event."""
    webhook_id = subscribe(paypal, listener.url)
    pay(paypal)
    return webhook_id, listener.next_of("PAYMENT.CAPTURE.COMPLETED")


# -- subscriptions ---------------------------------------------------------------------


def test_a_subscription_is_made_listed_shown_and_deleted(paypal: PayPalHttp) -> None:
    webhook_id = subscribe(paypal, "https://example.com/hook", "PAYMENT.CAPTURE.COMPLETED")
    shown = paypal.call("GET", f"{WEBHOOKS}/{webhook_id}").json()
    assert shown["url"] == "https://example.com/hook"
    assert [t["name"] for t in shown["event_types"]] == ["PAYMENT.CAPTURE.COMPLETED"]
    listed = paypal.call("GET", WEBHOOKS).json()["webhooks"]
    assert [w["id"] for w in listed] == [webhook_id]
    assert paypal.call("DELETE", f"{WEBHOOKS}/{webhook_id}").status == 204
    gone = paypal.call("GET", f"{WEBHOOKS}/{webhook_id}")
    assert gone.status == 404
    assert gone.json()["name"] == "INVALID_RESOURCE_ID"
    assert paypal.call("DELETE", f"{WEBHOOKS}/{webhook_id}").status == 404
    assert paypal.call("GET", WEBHOOKS).json()["webhooks"] == []


def test_a_url_is_subscribed_once_and_an_app_has_at_most_ten(paypal: PayPalHttp) -> None:
    subscribe(paypal, "https://example.com/0")
    again = paypal.call(
        "POST", WEBHOOKS, {"url": "https://example.com/0", "event_types": [{"name": "*"}]}
    )
    assert (again.status, again.json()["name"]) == (400, "WEBHOOK_URL_ALREADY_EXISTS")
    for n in range(1, 10):
        subscribe(paypal, f"https://example.com/{n}")
    eleventh = paypal.call(
        "POST", WEBHOOKS, {"url": "https://example.com/10", "event_types": [{"name": "*"}]}
    )
    assert (eleventh.status, eleventh.json()["name"]) == (400, "WEBHOOK_NUMBER_LIMIT_EXCEEDED")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "https://example.com/hook"},
        {"url": "https://example.com/hook", "event_types": []},
        {"url": "ftp://example.com/hook", "event_types": [{"name": "*"}]},
        {"url": "not a url", "event_types": [{"name": "*"}]},
        {"url": "https://example.com/hook", "event_types": [{"name": "lower.case"}]},
        {"url": "https://example.com/hook", "event_types": ["PAYMENT.CAPTURE.COMPLETED"]},
        {"url": "https://example.com/" + "x" * 2048, "event_types": [{"name": "*"}]},
    ],
)
def test_a_malformed_subscription_is_a_validation_error(paypal: PayPalHttp, body: Any) -> None:
    answer = paypal.call("POST", WEBHOOKS, body)
    assert answer.status == 400
    assert answer.json()["name"] == "VALIDATION_ERROR"
    assert paypal.call("GET", WEBHOOKS).json()["webhooks"] == []


def test_webhooks_and_verification_need_a_bearer_token(paypal: PayPalHttp) -> None:
    for method, path in (("GET", WEBHOOKS), ("POST", WEBHOOKS), ("POST", VERIFY)):
        assert paypal.call(method, path, {}, auth=False).status == 401


def test_only_the_subscribed_event_types_are_delivered(
    paypal: PayPalHttp, listener: Listener
) -> None:
    with listening() as everything:
        subscribe(paypal, listener.url, "PAYMENT.CAPTURE.DECLINED")
        subscribe(paypal, everything.url)
        pay(paypal)
        pay(paypal, name="CCREJECT-IF")
        # Each attempt goes on a thread of its own: PayPal promises no order either.
        types = {everything.next().event["event_type"] for _ in range(2)}
        assert types == {"PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DECLINED"}
    assert listener.next().event["event_type"] == "PAYMENT.CAPTURE.DECLINED"
    assert listener.received.empty()


def test_subscriptions_and_the_signing_key_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "paypal.sqlite3"
    with Emulator(state_path=state) as first:
        webhook_id = first.subscribe("http://127.0.0.1:9/v1/webhooks/paypal")
        cert = first.webhooks.signer.cert_pem
    with Emulator(state_path=state) as second:
        assert second.subscribe("http://127.0.0.1:9/v1/webhooks/paypal") == webhook_id
        # A listener restarted on another port keeps its webhook id when it says it moved.
        moved = second.subscribe("http://127.0.0.1:10/v1/webhooks/paypal", moves=True)
        assert moved == webhook_id
        assert [h.url for h in second.webhooks.all()] == ["http://127.0.0.1:10/v1/webhooks/paypal"]
        assert second.webhooks.signer.cert_pem == cert
        other = second.subscribe("http://127.0.0.1:11/v1/webhooks/paypal")
        assert other != webhook_id


# -- signed deliveries -----------------------------------------------------------------


def test_a_delivery_carries_paypals_headers_and_a_signature_its_certificate_checks(
    emulator: Emulator, paypal: PayPalHttp, listener: Listener
) -> None:
    webhook_id, got = delivered(paypal, listener)
    assert got.header("PAYPAL-AUTH-ALGO") == "SHA256withRSA"
    assert got.header("Content-Type") == "application/json"
    cert_url = got.header("PAYPAL-CERT-URL")
    assert cert_url.startswith(f"{emulator.base_url}/v1/notifications/certs/CERT-")
    pem = paypal.call("GET", cert_url.removeprefix(emulator.base_url), auth=False)
    assert pem.status == 200
    public = x509.load_pem_x509_certificate(pem.body).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    signed = "|".join(
        [
            got.header("PAYPAL-TRANSMISSION-ID"),
            got.header("PAYPAL-TRANSMISSION-TIME"),
            webhook_id,
            str(zlib.crc32(got.body)),
        ]
    )
    signature = base64.b64decode(got.header("PAYPAL-TRANSMISSION-SIG"))
    public.verify(signature, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    tampered = signed.replace(webhook_id, "WH0THERWEBHOOK")
    with pytest.raises(InvalidSignature):
        public.verify(signature, tampered.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_an_unknown_certificate_url_is_not_found(paypal: PayPalHttp) -> None:
    assert paypal.call("GET", "/v1/notifications/certs/CERT-nope", auth=False).status == 404


def test_a_delivery_verifies(paypal: PayPalHttp, listener: Listener) -> None:
    webhook_id, got = delivered(paypal, listener)
    assert verify(paypal, got.verify_fields(webhook_id)) == "SUCCESS"


def test_the_receivers_verification_request_built_from_raw_bytes_verifies(
    emulator: Emulator, paypal: PayPalHttp, listener: Listener
) -> None:
    """The contract with cardline's own receiving side (cardline.webhooks.notification)."""
    webhook_id, got = delivered(paypal, listener)
    delivery = read_delivery(got.headers, got.body, PAYPAL_CERT_HOSTS | {"127.0.0.1"})
    answer = paypal.call("POST", VERIFY, delivery.verification_request(webhook_id))
    assert answer.json() == {"verification_status": "SUCCESS"}


def test_a_re_serialised_but_equal_event_verifies(paypal: PayPalHttp, listener: Listener) -> None:
    webhook_id, got = delivered(paypal, listener)
    reordered = dict(reversed(list(json.loads(got.body).items())))
    fields = got.verify_fields(webhook_id, reordered)
    body = json.dumps(fields, indent=4, sort_keys=True).encode()
    answer = paypal.call("POST", VERIFY, body)
    assert answer.json() == {"verification_status": "SUCCESS"}


def _tampered(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    changed = copy.deepcopy(event)
    changed["resource"]["amount"]["value"] = "0.01"
    yield changed
    changed = copy.deepcopy(event)
    changed["resource"]["status"] = "REFUNDED"
    yield changed
    changed = copy.deepcopy(event)
    changed["event_type"] = "PAYMENT.CAPTURE.REVERSED"
    yield changed
    changed = copy.deepcopy(event)
    changed["extra"] = None
    yield changed
    changed = copy.deepcopy(event)
    changed["resource"]["final_capture"] = 1  # true is not 1 in JSON
    yield changed


def test_a_tampered_event_does_not_verify(paypal: PayPalHttp, listener: Listener) -> None:
    webhook_id, got = delivered(paypal, listener)
    for changed in _tampered(got.event):
        assert verify(paypal, got.verify_fields(webhook_id, changed)) == "FAILURE", changed


def test_another_webhook_id_or_header_value_does_not_verify(
    paypal: PayPalHttp, listener: Listener
) -> None:
    webhook_id, got = delivered(paypal, listener)
    fields = got.verify_fields(webhook_id)
    assert verify(paypal, dict(fields, webhook_id="WH0THERWEBHOOK1")) == "FAILURE"
    assert verify(paypal, dict(fields, transmission_time="2020-01-01T00:00:00Z")) == "FAILURE"
    assert verify(paypal, dict(fields, transmission_id="69cd13f0-d67a-11e5")) == "FAILURE"
    assert verify(paypal, dict(fields, auth_algo="SHA1withRSA")) == "FAILURE"
    assert verify(paypal, dict(fields, cert_url="https://api.paypal.com/v1/certs/X")) == "FAILURE"
    other_sig = base64.b64encode(b"\x00" * 256).decode()
    assert verify(paypal, dict(fields, transmission_sig="A" + other_sig[1:])) == "FAILURE"
    assert verify(paypal, fields) == "SUCCESS"


def test_a_transmission_replayed_to_another_subscription_does_not_verify(
    paypal: PayPalHttp,
) -> None:
    with listening() as first, listening() as second:
        first_id = subscribe(paypal, first.url)
        second_id = subscribe(paypal, second.url)
        pay(paypal)
        to_first = first.next()
        to_second = second.next()
    assert to_first.event == to_second.event  # one event, a transmission to each
    assert to_first.header("PAYPAL-TRANSMISSION-ID") != to_second.header("PAYPAL-TRANSMISSION-ID")
    assert verify(paypal, to_first.verify_fields(first_id)) == "SUCCESS"
    assert verify(paypal, to_first.verify_fields(second_id)) == "FAILURE"
    assert verify(paypal, to_second.verify_fields(second_id)) == "SUCCESS"


def test_an_event_the_emulator_never_sent_does_not_verify(paypal: PayPalHttp) -> None:
    forged = {
        "auth_algo": "SHA256withRSA",
        "cert_url": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "transmission_id": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "transmission_sig": "bG1JOTVKeDM=",
        "transmission_time": "2026-12-01T10:00:00Z",
        "webhook_id": "1JE4291016473214C",
        "webhook_event": {"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"},
    }
    assert verify(paypal, forged) == "FAILURE"


@pytest.mark.parametrize(
    "change",
    [
        {"webhook_id": None},
        {"webhook_id": "has-dashes"},
        {"auth_algo": "SHA256 with RSA"},
        {"transmission_id": "12345"},
        {"transmission_time": "yesterday"},
        {"webhook_event": "not an object"},
        {"transmission_sig": "A" * 501},
    ],
)
def test_a_malformed_verification_request_is_a_validation_error(
    paypal: PayPalHttp, change: dict[str, Any]
) -> None:
    fields = {
        "auth_algo": "SHA256withRSA",
        "cert_url": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "transmission_id": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "transmission_sig": "bG1JOTVKeDM=",
        "transmission_time": "2026-12-01T10:00:00Z",
        "webhook_id": "1JE4291016473214C",
        "webhook_event": {},
    }
    fields.update(change)
    answer = paypal.call("POST", VERIFY, {k: v for k, v in fields.items() if v is not None})
    assert answer.status == 400
    assert answer.json()["name"] == "VALIDATION_ERROR"
