"""Reading a webhook delivery, and the verify request built around its raw bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cardline.cde.errors import InvalidRequest
from cardline.webhooks.notification import MAX_EVENT_BYTES, PAYPAL_CERT_HOSTS, read_delivery
from tests.cards import VISA
from tests.webhooks.samples import event

CERT = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
HEADERS = {
    "Paypal-Transmission-Id": "b2384410-f8d2-11e4-8bf3-77339302725b",
    "Paypal-Transmission-Time": "2026-12-01T10:05:02Z",
    "Paypal-Transmission-Sig": "vSOIQFIZQHv8G2vpbOpD/4fSC4/MYhdHyv+AmgJyeJQq6q5avWyHIe==",
    "Paypal-Cert-Url": CERT,
    "Paypal-Auth-Algo": "SHA256withRSA",
}
# Spaces, key order and an escaped character PayPal's serialiser might use: a decoded and
# re-encoded copy would differ from these bytes, and PayPal would then answer FAILURE.
BODY = (
    b'{ "id":"WH-0001WEBHOOKEVENT",  "event_type" : "PAYMENT.CAPTURE.COMPLETED",'
    b' "summary":"Payment completed for \\u0024 25.00 USD", "resource":{"id":"2GG279541U471931P"}}'
)


def _headers(**changes: str | None) -> dict[str, str]:
    headers = {**HEADERS}
    for name, value in changes.items():
        key = "Paypal-" + name.replace("_", "-").title()
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    return headers


def test_a_delivery_is_read_whatever_the_case_of_its_header_names() -> None:
    upper = {name.upper(): value for name, value in HEADERS.items()}
    delivery = read_delivery(upper, BODY)
    assert delivery.transmission.cert_url == CERT
    assert (delivery.event_id, delivery.event_type) == (
        "WH-0001WEBHOOKEVENT",
        "PAYMENT.CAPTURE.COMPLETED",
    )


def test_the_verify_request_carries_the_event_byte_for_byte() -> None:
    request = read_delivery(HEADERS, BODY).verification_request("8PT597110X687430LK")
    assert request.endswith(b'"webhook_event":' + BODY + b"}")
    decoded = json.loads(request)
    assert decoded["webhook_id"] == "8PT597110X687430LK"
    assert decoded["transmission_id"] == HEADERS["Paypal-Transmission-Id"]
    assert decoded["cert_url"] == CERT
    assert decoded["auth_algo"] == "SHA256withRSA"
    assert decoded["webhook_event"] == json.loads(BODY)


@pytest.mark.parametrize(
    "name", ["transmission_id", "transmission_time", "transmission_sig", "cert_url", "auth_algo"]
)
def test_a_missing_header_is_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_delivery(_headers(**{name: None}), BODY)
    assert refused.value.field == "PAYPAL-" + name.replace("_", "-").upper()


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://evil.example/v1/notifications/certs/CERT-1",
        "http://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",  # not TLS
        "https://api-m.sandbox.paypal.com.evil.example/certs/CERT-1",
        "https://user:pw@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com@evil.example/v1/notifications/certs/CERT-1",
        "http://127.0.0.1:8443/v1/notifications/certs/CERT-1",  # loopback, not configured
        "file:///etc/passwd",
    ],
)
def test_a_certificate_anywhere_but_paypal_is_refused(cert_url: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_delivery(_headers(cert_url=cert_url), BODY)
    assert refused.value.field == "PAYPAL-CERT-URL"
    assert "evil" not in str(refused.value)


def test_the_local_emulator_may_serve_its_certificate_over_loopback_when_configured() -> None:
    local = "http://127.0.0.1:8443/v1/notifications/certs/CERT-1"
    hosts = PAYPAL_CERT_HOSTS | {"127.0.0.1"}
    assert read_delivery(_headers(cert_url=local), BODY, hosts).transmission.cert_url == local
    with pytest.raises(InvalidRequest):  # configured, but plain http off the loopback
        read_delivery(_headers(cert_url="http://10.0.0.5/c"), BODY, hosts | {"10.0.0.5"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("transmission_time", "yesterday"),
        ("transmission_id", "1234567890"),  # PayPal's shape: not digits alone
        ("transmission_id", "x" * 51),
        ("transmission_sig", "not base64!"),
        ("auth_algo", "SHA256 with RSA"),
        ("transmission_id", VISA),
    ],
)
def test_a_header_outside_paypals_shapes_is_refused_without_repeating_it(
    name: str, value: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_delivery(_headers(**{name: value}), BODY)
    assert value not in str(refused.value)
    assert value not in json.dumps(refused.value.problem(), default=str)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"id": "WH-1"}',
        b'{"event_type": "PAYMENT.CAPTURE.COMPLETED"}',
        b'{"id": 7, "event_type": "PAYMENT.CAPTURE.COMPLETED"}',
        b"\xff\xfe{}",
        b'{"id": "WH-1", "event_type": "X", "pad": "' + b"a" * MAX_EVENT_BYTES + b'"}',
    ],
)
def test_a_body_that_is_not_a_paypal_event_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_delivery(HEADERS, body)
    assert refused.value.field in {"body", "id", "event_type"}


def test_a_sample_event_reads_as_a_delivery() -> None:
    sample: dict[str, Any] = event("PAYMENT.CAPTURE.PENDING", status="PENDING")
    delivery = read_delivery(HEADERS, json.dumps(sample).encode())
    assert delivery.event == sample
