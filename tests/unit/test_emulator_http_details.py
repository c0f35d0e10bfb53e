"""The emulator's HTTP details: every request, whatever its method or shape, gets PayPal's
JSON error (never the standard library's HTML page), and every action link it advertises
answers 2xx when followed."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cardline.sandbox import Emulator
from tests.paypal_http import Answer, PayPalHttp, order_body

ORDERS = "/v2/checkout/orders"
AUTHORIZATIONS = "/v2/payments/authorizations"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def paypal(emulator: Emulator) -> Iterator[PayPalHttp]:
    client = PayPalHttp(emulator.base_url)
    yield client
    client.close()


def assert_paypal_error(answer: Answer, status: int, name: str) -> None:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"] == "application/json"
    assert b"<html" not in answer.body.lower()
    body = answer.json()
    assert body["name"] == name
    assert body["debug_id"] == answer.headers["paypal-debug-id"]
    assert isinstance(body["message"], str)
    assert body["message"]


# -- methods ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "CONNECT", "PROPFIND", "BREW"])
@pytest.mark.parametrize(
    "path", [ORDERS, f"{ORDERS}/X", f"{AUTHORIZATIONS}/ANY/capture", "/v1/oauth2/token"]
)
def test_a_method_no_operation_takes_is_paypals_json_405(
    paypal: PayPalHttp, method: str, path: str
) -> None:
    answer = paypal.call(method, path)
    assert_paypal_error(answer, 405, "METHOD_NOT_SUPPORTED")
    assert answer.headers["allow"] == ("GET" if path == ORDERS + "/X" else "POST")


def test_a_head_request_gets_the_405_headers_and_no_body(paypal: PayPalHttp) -> None:
    answer = paypal.call("HEAD", ORDERS)
    assert answer.status == 405
    assert answer.headers["content-type"] == "application/json"
    assert answer.body == b""
    # The connection stays usable: HEAD's answer announced no body it did not send.
    assert paypal.call("GET", f"{ORDERS}/NOPE").status == 404


def test_an_unknown_method_on_an_unknown_path_is_not_found(paypal: PayPalHttp) -> None:
    assert_paypal_error(paypal.call("OPTIONS", "/v2/nothing/here"), 404, "RESOURCE_NOT_FOUND")


def raw_exchange(emulator: Emulator, request: bytes) -> Answer:
    """Send ``request`` as is on a new connection; the answer the server writes back."""
    url = urllib.parse.urlsplit(emulator.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


@pytest.mark.parametrize(
    ("request_bytes", "status", "name"),
    [
        (b"NONSENSE\r\n\r\n", 400, "INVALID_REQUEST"),
        (b"GET /v2/checkout/orders HTTP/9.0\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "REQUEST_URI_TOO_LONG"),
        (
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n",
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
        ),
    ],
    ids=["bad-request-line", "bad-version", "long-target", "too-many-headers"],
)
def test_a_request_the_server_cannot_parse_gets_paypals_json_error(
    emulator: Emulator, request_bytes: bytes, status: int, name: str
) -> None:
    answer = raw_exchange(emulator, request_bytes)
    assert_paypal_error(answer, status, name)


# -- links -----------------------------------------------------------------------------


def path_of(link: dict[str, str]) -> str:
    return urllib.parse.urlsplit(link["href"]).path


def authorization(paypal: PayPalHttp) -> dict[str, Any]:
    created = paypal.create_order(order_body(intent="AUTHORIZE", value="20.00"))
    assert created.status == 201, created.body
    order = paypal.call("GET", f"{ORDERS}/{created.json()['id']}").json()
    auth_id = order["purchase_units"][0]["payments"]["authorizations"][0]["id"]
    return dict(paypal.call("GET", f"{AUTHORIZATIONS}/{auth_id}").json())


def partly_captured(paypal: PayPalHttp) -> dict[str, Any]:
    auth = authorization(paypal)
    part = {"amount": {"currency_code": "USD", "value": "5.00"}, "final_capture": False}
    assert paypal.call("POST", f"{AUTHORIZATIONS}/{auth['id']}/capture", part).status == 201
    return dict(paypal.call("GET", f"{AUTHORIZATIONS}/{auth['id']}").json())


def capture(paypal: PayPalHttp) -> dict[str, Any]:
    created = paypal.create_order()
    order = paypal.call("GET", f"{ORDERS}/{created.json()['id']}").json()
    capture_id = order["purchase_units"][0]["payments"]["captures"][0]["id"]
    return dict(paypal.call("GET", f"/v2/payments/captures/{capture_id}").json())


def posted_links(resource: dict[str, Any]) -> list[str]:
    return [link["rel"] for link in resource["links"] if link["method"] == "POST"]


@pytest.mark.parametrize(
    "make", [authorization, partly_captured, capture], ids=lambda f: f.__name__
)
def test_every_action_link_answers_2xx_when_followed(
    paypal: PayPalHttp, make: Callable[[PayPalHttp], dict[str, Any]]
) -> None:
    rels = posted_links(make(paypal))
    assert rels  # each of these states has something to do
    for rel in rels:
        fresh = make(paypal)  # each action on a resource of its own, in the same state
        link = next(link for link in fresh["links"] if link["rel"] == rel)
        answer = paypal.call("POST", path_of(link))
        assert 200 <= answer.status < 300, (rel, answer.status, answer.body[:300])


def test_an_empty_paypal_request_id_is_too_short_not_absent(paypal: PayPalHttp) -> None:
    """Found by schemathesis: the header's schema has minLength 1."""
    answer = paypal.create_order(request_id="")
    assert answer.status == 400
    assert answer.json()["details"][0]["issue"] == "INVALID_STRING_LENGTH"
