"""cardline.cde.paypal against a scripted fake PayPal on 127.0.0.1 (no sleeps: ``sleep``
is injected).

The fake answers the OAuth token endpoint and the Orders/Payments routes the client uses,
and lets each test script the next answers exactly: an HTTP status with a body, a
dropped connection (before or after "processing"), a hang past the client's timeout, or
a connection closed right after an answer. It counts accepted TCP connections.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cardline.cde.card import Card
from cardline.cde.errors import (
    CardlineError,
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    NotFound,
)
from cardline.cde.metrics import PAYPAL_LATENCY, PAYPAL_RETRIES, EmfRecorder
from cardline.cde.money import Money, parse_money
from cardline.cde.paypal import (
    RESPONSE_CODES,
    RETRYABLE_RESPONSE_CODES,
    ChargeOutcome,
    PayPalClient,
    PayPalConfig,
    interpret_order,
)
from tests.cards import CVV, VISA, future_expiry
from tests.leakscan import spellings
from tests.webhooks.deliveries import WEBHOOK_ID, deliver, verdict

ORDERS = "/v2/checkout/orders"
TOKEN = "/v1/oauth2/token"
VERIFY = "/v1/notifications/verify-webhook-signature"


# --------------------------------------------------------------------------- the fake PayPal


@dataclass
class Reply:
    """Answer with this status, body (dict -> JSON, bytes -> raw, None -> empty), headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Drop:
    """Read the whole request, then close the connection without answering.

    ``processed`` first handles the request as usual (the charge happens, and a replay
    with the same PayPal-Request-Id returns it): the answer is lost on the way back.
    """

    processed: bool = False


@dataclass
class Hang:
    """Read the request and say nothing for ``seconds`` (past the client's timeout)."""

    seconds: float = 1.0


@dataclass
class CloseAfter:
    """Answer normally, then close the connection (without a Connection: close header)."""

    reply: Reply | None = None


Action = Reply | Drop | Hang | CloseAfter


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def error_body(name: str, issue: str | None = None, **detail: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "message": "scripted", "debug_id": "fakedebugid"}
    if issue is not None:
        body["details"] = [{"issue": issue, **detail}]
    return body


class FakePayPal:
    """A scripted PayPal. ``script`` answers API calls in order, then defaults take over."""

    CLIENT_ID = "fake-client"
    CLIENT_SECRET = "fake-secret"

    def __init__(self) -> None:
        self.script: list[Action] = []
        self.token_script: list[Action] = []
        self.requests: list[Recorded] = []
        self.connections = 0
        self.token_ttl = 32400
        self.closed_after_answer = threading.Event()
        self._valid_tokens: set[str] = set()
        self._issued = 0
        self._ids = 0
        self._store: dict[str, dict[str, Any]] = {}
        self._replays: dict[tuple[str, str], Reply] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per answer

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                action = fake.handle(self.command, self.path, headers, body)
                if isinstance(action, Drop):
                    self.close_connection = True
                    return
                if isinstance(action, Hang):
                    time.sleep(action.seconds)
                    self.close_connection = True
                    return
                reply = action.reply if isinstance(action, CloseAfter) else action
                assert reply is not None
                self._write(reply)
                if isinstance(action, CloseAfter):
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    fake.closed_after_answer.set()

            def _write(self, reply: Reply) -> None:
                if isinstance(reply.body, dict | list):
                    data = json.dumps(reply.body).encode()
                else:
                    data = reply.body or b""
                self.send_response(reply.status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Paypal-Debug-Id", "fakedebugid")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> FakePayPal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def stop_listening(self) -> None:
        """Close the listening socket: new connections are refused."""
        self._server.shutdown()
        self._server.server_close()

    # ---------------------------------------------------------------- inspection

    def api_requests(self, path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.path != TOKEN and (path is None or r.path == path)]

    def token_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == TOKEN]

    def revoke_tokens(self) -> None:
        with self._lock:
            self._valid_tokens.clear()

    # ---------------------------------------------------------------- behaviour

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Action:
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))
            if path == TOKEN:
                if self.token_script:
                    return self.token_script.pop(0)
                return self._token(headers, body)
            if headers.get("authorization", "").removeprefix("Bearer ") not in self._valid_tokens:
                return Reply(401, {"name": "AUTHENTICATION_FAILURE", "debug_id": "fakedebugid"})
            action: Action | None = self.script.pop(0) if self.script else None
            if isinstance(action, Drop) and action.processed:
                self._default(method, path, headers, body)
                return action
            if isinstance(action, CloseAfter) and action.reply is None:
                return CloseAfter(self._default(method, path, headers, body))
            if action is not None:
                return action
            return self._default(method, path, headers, body)

    def _token(self, headers: dict[str, str], body: bytes) -> Reply:
        expected = base64.b64encode(f"{self.CLIENT_ID}:{self.CLIENT_SECRET}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return Reply(401, {"error": "invalid_client", "error_description": "refused"})
        if body != b"grant_type=client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        self._issued += 1
        token = f"A21AAfake-token-{self._issued}"
        self._valid_tokens.add(token)
        return Reply(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-FAKE",
                "expires_in": self.token_ttl,
                "nonce": "fake",
            },
        )

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:010d}"

    def _default(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        request_id = headers.get("paypal-request-id")
        if method == "POST" and request_id and (path, request_id) in self._replays:
            return self._replays[(path, request_id)]
        reply = self._route(method, path, body)
        if method == "POST" and request_id and reply.status < 300:
            self._replays[(path, request_id)] = reply
        return reply

    def _route(self, method: str, path: str, body: bytes) -> Reply:
        parts = path.strip("/").split("/")
        if method == "POST" and path == ORDERS:
            order = self._order(json.loads(body))
            self._store[order["id"]] = order
            return Reply(201, order)
        if method == "GET" and path.startswith(ORDERS + "/"):
            return self._stored(parts[-1])
        if method == "POST" and path.startswith("/v2/payments/authorizations/"):
            if parts[-1] == "void":
                return Reply(204)
            request = json.loads(body) if body else {}
            capture = {
                "id": self._next_id("CAP"),
                "status": "COMPLETED",
                "amount": request.get("amount", {"currency_code": "USD", "value": "12.50"}),
                "final_capture": request.get("final_capture", False),
            }
            self._store[capture["id"]] = capture
            return Reply(201, capture)
        if method == "POST" and path.startswith("/v2/payments/captures/"):
            request = json.loads(body) if body else {}
            refund = {
                "id": self._next_id("REF"),
                "status": "COMPLETED",
                "amount": request.get("amount", {"currency_code": "USD", "value": "12.50"}),
            }
            self._store[refund["id"]] = refund
            return Reply(201, refund)
        if method == "GET" and path.startswith("/v2/payments/"):
            return self._stored(parts[-1])
        if method == "POST" and path == VERIFY:
            return Reply(200, {"verification_status": verdict(body)})
        return Reply(404, error_body("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"))

    def _stored(self, key: str) -> Reply:
        if key in self._store:
            return Reply(200, self._store[key])
        return Reply(404, error_body("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"))

    def _order(self, request: dict[str, Any]) -> dict[str, Any]:
        card = request["payment_source"]["card"]
        unit_in = request["purchase_units"][0]
        amount = unit_in["amount"]
        # The sandbox's decline triggers in the cardholder name.
        code = {"CCREJECT-IF": "5120", "CCREJECT-REFUSED": "0500"}.get(card["name"], "0000")
        payment: dict[str, Any] = {
            "amount": amount,
            "processor_response": {
                "avs_code": "G" if code != "0000" else "A",
                "cvv_code": "P" if code != "0000" else "M",
                "response_code": code,
            },
        }
        if "custom_id" in unit_in:
            payment["custom_id"] = unit_in["custom_id"]
        unit = {
            key: unit_in[key]
            for key in ("invoice_id", "custom_id", "description")
            if key in unit_in
        }
        unit.update({"reference_id": "default", "amount": amount})
        if request["intent"] == "CAPTURE":
            payment.update(
                id=self._next_id("CAP"), status="COMPLETED" if code == "0000" else "DECLINED"
            )
            unit["payments"] = {"captures": [payment]}
        else:
            payment.update(
                id=self._next_id("AUTH"), status="CREATED" if code == "0000" else "DENIED"
            )
            unit["payments"] = {"authorizations": [payment]}
        self._store[payment["id"]] = payment
        return {
            "id": self._next_id("ORD"),
            "status": "COMPLETED",
            "intent": request["intent"],
            "payment_source": {
                "card": {
                    "name": card["name"],
                    "last_digits": card["number"][-4:],
                    "brand": "VISA" if card["number"].startswith("4") else "MASTERCARD",
                    "type": "CREDIT",
                }
            },
            "purchase_units": [unit],
            "create_time": "2025-01-01T00:00:00Z",
        }


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake() -> Iterator[FakePayPal]:
    server = FakePayPal().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(
    fake: FakePayPal, sleeps: list[float], clock: Clock
) -> Iterator[Callable[..., PayPalClient]]:
    made: list[PayPalClient] = []

    def make(**overrides: Any) -> PayPalClient:
        settings: dict[str, Any] = {
            "base_url": fake.base_url,
            "client_id": FakePayPal.CLIENT_ID,
            "client_secret": FakePayPal.CLIENT_SECRET,
            "timeout": 2.0,
        }
        settings.update(overrides)
        client = PayPalClient(
            PayPalConfig(**settings), sleep=sleeps.append, clock=clock, rng=random.Random(7)
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., PayPalClient]) -> PayPalClient:
    return make_client()


def visa(name: str = "Ada Lovelace") -> Card:
    return Card.parse(number=VISA, expiry=future_expiry(), security_code=CVV, name=name)


def usd(amount: str = "12.50") -> Money:
    return parse_money(amount, "USD")


def create(
    client: PayPalClient, request_id: str = "req-1", **kwargs: Any
) -> tuple[ChargeOutcome, dict[str, Any]]:
    kwargs.setdefault("money", usd())
    kwargs.setdefault("card", visa())
    return client.create_order(request_id=request_id, **kwargs)


def order(client: PayPalClient, request_id: str = "req-1", **kwargs: Any) -> dict[str, Any]:
    """PayPal's order, as create_order returns it beside the outcome."""
    return create(client, request_id, **kwargs)[1]


def outcome_of(client: PayPalClient, request_id: str = "req-1", **kwargs: Any) -> ChargeOutcome:
    """What the payment came to, as create_order returns it beside the order."""
    return create(client, request_id, **kwargs)[0]


# --------------------------------------------------------------------------- requests sent


def test_create_order_sends_the_single_step_card_order(
    client: PayPalClient, fake: FakePayPal
) -> None:
    answer = order(
        client, "req-shape", custom_id="clfp1:abc", invoice_id="INV-1", description="order-1"
    )

    (sent,) = fake.api_requests(ORDERS)
    assert sent.method == "POST"
    assert sent.json() == {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "amount": {"currency_code": "USD", "value": "12.50"},
                "invoice_id": "INV-1",
                "custom_id": "clfp1:abc",
                "description": "order-1",
            }
        ],
        "payment_source": {
            "card": {
                "number": VISA,
                "expiry": visa().expiry.paypal,
                "security_code": CVV,
                "name": "Ada Lovelace",
            }
        },
    }
    assert sent.headers["paypal-request-id"] == "req-shape"
    assert sent.headers["prefer"] == "return=representation"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["authorization"] == "Bearer A21AAfake-token-1"
    assert "paypal-mock-response" not in sent.headers
    assert interpret_order(answer).status == "approved"


def test_token_request_uses_basic_auth_and_client_credentials(
    client: PayPalClient, fake: FakePayPal
) -> None:
    order(client)

    (token,) = fake.token_requests()
    assert token.method == "POST"
    expected = base64.b64encode(b"fake-client:fake-secret").decode()
    assert token.headers["authorization"] == f"Basic {expected}"
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.body == b"grant_type=client_credentials"


def test_mock_response_header_passes_through(client: PayPalClient, fake: FakePayPal) -> None:
    mock = '{"mock_application_codes":"INSTRUMENT_DECLINED"}'
    order(client, mock_response=mock)
    assert fake.api_requests(ORDERS)[0].headers["paypal-mock-response"] == mock


def test_authorize_intent_yields_an_authorization(client: PayPalClient, fake: FakePayPal) -> None:
    outcome = outcome_of(client, intent="AUTHORIZE")
    assert fake.api_requests(ORDERS)[0].json()["intent"] == "AUTHORIZE"
    assert outcome.status == "approved"
    assert outcome.authorization_id is not None
    assert outcome.capture_id is None


def test_payments_calls_send_request_ids_and_bodies(client: PayPalClient, fake: FakePayPal) -> None:
    capture = client.capture_authorization("AUTH1", request_id="cap-1", money=usd("5.00"))
    full = client.capture_authorization("AUTH2", request_id="cap-2")
    refund = client.refund_capture(capture["id"], request_id="ref-1", money=usd("1.00"), note="x")
    rest = client.refund_capture(capture["id"], request_id="ref-2")
    voided = client.void_authorization("AUTH3", request_id="void-1")

    sent = fake.api_requests()
    assert [(r.method, r.path) for r in sent] == [
        ("POST", "/v2/payments/authorizations/AUTH1/capture"),
        ("POST", "/v2/payments/authorizations/AUTH2/capture"),
        ("POST", f"/v2/payments/captures/{capture['id']}/refund"),
        ("POST", f"/v2/payments/captures/{capture['id']}/refund"),
        ("POST", "/v2/payments/authorizations/AUTH3/void"),
    ]
    assert [r.headers["paypal-request-id"] for r in sent] == [
        "cap-1",
        "cap-2",
        "ref-1",
        "ref-2",
        "void-1",
    ]
    assert sent[0].json() == {
        "final_capture": True,
        "amount": {"currency_code": "USD", "value": "5.00"},
    }
    assert sent[1].json() == {"final_capture": True}
    assert sent[2].json() == {
        "amount": {"currency_code": "USD", "value": "1.00"},
        "note_to_payer": "x",
    }
    assert sent[3].json() == {}
    assert sent[4].body == b""
    assert capture["status"] == full["status"] == "COMPLETED"
    assert refund["status"] == rest["status"] == "COMPLETED"
    assert voided is None  # 204 No Content


def test_void_returns_the_representation_when_paypal_sends_one(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(Reply(200, {"id": "AUTH3", "status": "VOIDED"}))
    assert client.void_authorization("AUTH3", request_id="void-1") == {
        "id": "AUTH3",
        "status": "VOIDED",
    }


def test_reads_return_stored_resources_and_raise_not_found(
    client: PayPalClient, fake: FakePayPal
) -> None:
    created = order(client)
    capture_id = interpret_order(created).capture_id
    assert capture_id is not None
    assert client.get_order(created["id"])["id"] == created["id"]
    assert client.get_capture(capture_id)["id"] == capture_id
    refund = client.refund_capture(capture_id, request_id="r-1")
    assert client.get_refund(refund["id"])["status"] == "COMPLETED"
    for read in (client.get_order, client.get_capture, client.get_refund):
        with pytest.raises(NotFound):
            read("NOSUCHID")
    assert all(r.method == "GET" for r in fake.api_requests() if "NOSUCHID" in r.path)
    assert all(
        "paypal-request-id" not in r.headers for r in fake.api_requests() if r.method == "GET"
    )


def test_ids_that_cannot_be_paypal_ids_are_refused_without_a_request(
    client: PayPalClient, fake: FakePayPal
) -> None:
    with pytest.raises(NotFound):
        client.get_order("../../v1/oauth2/token")
    with pytest.raises(GatewayRejected):
        client.refund_capture("a/b", request_id="r-1")
    assert fake.api_requests() == []


@pytest.mark.parametrize("bad", ["", "x" * 109, "line\r\nInjected: 1", "caf\u00e9"])
def test_request_ids_must_be_short_printable_ascii(client: PayPalClient, bad: str) -> None:
    with pytest.raises(ValueError, match="request_id"):
        order(client, bad)


# --------------------------------------------------------------------------- OAuth token


def test_token_is_fetched_once_for_several_calls(client: PayPalClient, fake: FakePayPal) -> None:
    for n in range(3):
        order(client, f"req-{n}")

    assert len(fake.token_requests()) == 1
    assert client.stats["token_fetches"] == 1
    assert {r.headers["authorization"] for r in fake.api_requests()} == {"Bearer A21AAfake-token-1"}


@pytest.mark.parametrize(
    ("ttl", "margin"),
    [(32400, 300.0), (3600, 300.0), (100, 10.0)],  # min(5 minutes, 10 % of expires_in)
)
def test_token_is_refreshed_shortly_before_it_expires(
    client: PayPalClient, fake: FakePayPal, clock: Clock, ttl: int, margin: float
) -> None:
    fake.token_ttl = ttl
    start = clock.now
    order(client, "a")
    clock.now = start + ttl - margin - 0.5
    order(client, "b")
    assert len(fake.token_requests()) == 1
    clock.now = start + ttl - margin + 0.5
    order(client, "c")
    assert len(fake.token_requests()) == 2
    assert fake.api_requests()[-1].headers["authorization"] == "Bearer A21AAfake-token-2"


def test_a_failed_refresh_keeps_using_the_token_that_has_not_expired(
    client: PayPalClient, fake: FakePayPal, clock: Clock
) -> None:
    fake.token_ttl = 3600
    start = clock.now
    order(client, "a")
    clock.now = start + 3600 - 100  # inside the 300 s refresh margin, before expiry
    fake.token_script.append(Reply(503, {"name": "SERVICE_UNAVAILABLE"}))

    assert outcome_of(client, "b").status == "approved"
    assert len(fake.token_requests()) == 2
    assert fake.api_requests()[-1].headers["authorization"] == "Bearer A21AAfake-token-1"


def test_a_401_fetches_a_new_token_once_and_retries(
    client: PayPalClient, fake: FakePayPal, sleeps: list[float]
) -> None:
    order(client, "a")
    fake.revoke_tokens()

    answer = order(client, "b")

    assert interpret_order(answer).status == "approved"
    assert len(fake.token_requests()) == 2
    second = fake.api_requests(ORDERS)[1:]
    assert [r.headers["authorization"] for r in second] == [
        "Bearer A21AAfake-token-1",
        "Bearer A21AAfake-token-2",
    ]
    assert {r.headers["paypal-request-id"] for r in second} == {"b"}
    assert sleeps == []


def test_the_401_retry_does_not_use_up_an_attempt(
    make_client: Callable[..., PayPalClient], fake: FakePayPal
) -> None:
    client = make_client(max_attempts=1)
    order(client, "a")
    fake.revoke_tokens()
    assert outcome_of(client, "b").status == "approved"


def test_a_second_401_means_the_credentials_were_refused(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script += [Reply(401, error_body("AUTHENTICATION_FAILURE"))] * 2

    with pytest.raises(GatewayRejected, match="credentials were refused") as caught:
        order(client)

    assert caught.value.http_status == 401
    assert len(fake.token_requests()) == 2
    assert len(fake.api_requests()) == 2


def test_refused_client_credentials_raise_gateway_rejected(
    make_client: Callable[..., PayPalClient], fake: FakePayPal
) -> None:
    client = make_client(client_secret="wrong")
    with pytest.raises(GatewayRejected, match="credentials were refused") as caught:
        order(client)
    assert caught.value.issue == "invalid_client"
    assert fake.api_requests() == []


def test_token_endpoint_outages_are_retried_and_classified_unavailable(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, sleeps: list[float]
) -> None:
    client = make_client(max_attempts=3)
    fake.token_script += [Reply(503, {"name": "SERVICE_UNAVAILABLE"})] * 3
    with pytest.raises(GatewayUnavailable):
        order(client)
    assert len(fake.token_requests()) == 3
    assert len(sleeps) == 2
    assert fake.api_requests() == []


def test_a_malformed_token_answer_is_a_gateway_error(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.token_script.append(Reply(200, {"token_type": "Bearer"}))
    with pytest.raises(GatewayError, match="token"):
        order(client)


# --------------------------------------------------------------------------- retries


RETRYABLE = [
    pytest.param(Reply(500, error_body("INTERNAL_SERVER_ERROR")), id="500"),
    pytest.param(Reply(502, b"<html>bad gateway</html>"), id="502"),
    pytest.param(Reply(503, error_body("SERVICE_UNAVAILABLE")), id="503"),
    pytest.param(Reply(504, b""), id="504"),
    pytest.param(Reply(429, error_body("RATE_LIMIT_REACHED")), id="429"),
    pytest.param(
        Reply(409, error_body("RESOURCE_CONFLICT", "PREVIOUS_REQUEST_IN_PROGRESS")),
        id="409-in-progress",
    ),
    pytest.param(Drop(), id="dropped-before-processing"),
    pytest.param(Drop(processed=True), id="dropped-after-processing"),
]


@pytest.mark.parametrize("failure", RETRYABLE)
def test_transient_failures_are_retried_with_the_same_request_id(
    client: PayPalClient, fake: FakePayPal, sleeps: list[float], failure: Action
) -> None:
    fake.script.append(failure)

    answer = order(client, "same-id")

    attempts = fake.api_requests(ORDERS)
    assert len(attempts) == 2
    assert {r.headers["paypal-request-id"] for r in attempts} == {"same-id"}
    assert attempts[0].body == attempts[1].body
    assert interpret_order(answer).status == "approved"
    assert len(sleeps) == 1
    assert client.stats["retries"] == 1


def test_a_retried_call_is_one_latency_and_one_retry_in_the_metrics(
    client: PayPalClient, fake: FakePayPal
) -> None:
    recorder = EmfRecorder("charge")
    client.metrics = recorder
    fake.script.append(Reply(503, error_body("SERVICE_UNAVAILABLE")))
    order(client, "counted")
    (document,) = recorder.documents(timestamp_ms=1)
    assert document[PAYPAL_RETRIES] == 1
    assert isinstance(document[PAYPAL_LATENCY], int | float)  # one call, its attempts in it


def test_a_replay_after_a_lost_answer_returns_the_first_order(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(Drop(processed=True))
    answer = order(client, "lost-answer")
    again = order(client, "lost-answer")
    assert answer["id"] == again["id"]


def test_retry_after_is_honoured_on_429_and_capped(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, sleeps: list[float]
) -> None:
    client = make_client(deadline=120.0)  # room for both waits
    fake.script += [
        Reply(429, error_body("RATE_LIMIT_REACHED"), {"Retry-After": "7"}),
        Reply(429, error_body("RATE_LIMIT_REACHED"), {"Retry-After": "3600"}),
    ]
    order(client)
    assert sleeps == [7.0, 30.0]


def test_an_unreadable_retry_after_falls_back_to_backoff(
    client: PayPalClient, fake: FakePayPal, sleeps: list[float]
) -> None:
    fake.script.append(Reply(429, None, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    order(client)
    assert len(sleeps) == 1
    assert 0.0 <= sleeps[0] <= 0.25


def test_backoff_is_exponential_capped_and_jittered(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, sleeps: list[float]
) -> None:
    client = make_client(max_attempts=8, backoff_base=0.25, backoff_cap=1.0)
    fake.script += [Reply(500, error_body("INTERNAL_SERVER_ERROR"))] * 7

    order(client)

    assert len(sleeps) == 7
    ceilings = [min(1.0, 0.25 * 2**n) for n in range(7)]
    assert all(0.0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))
    assert len(set(sleeps)) == len(sleeps)  # jittered, not a fixed schedule
    # Full jitter over many draws: the ceiling bounds every delay and most are well below it.
    draws = [client._backoff(20, None) for _ in range(500)]
    assert max(draws) <= 1.0
    assert min(draws) < 0.1
    assert 0.35 < sum(draws) / len(draws) < 0.65


def test_attempts_stop_at_max_attempts(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, sleeps: list[float]
) -> None:
    client = make_client(max_attempts=3)
    fake.script += [Reply(500, error_body("INTERNAL_SERVER_ERROR"))] * 5

    with pytest.raises(GatewayOutcomeUnknown):
        order(client)

    assert len(fake.api_requests(ORDERS)) == 3
    assert len(sleeps) == 2


def test_a_decline_is_never_retried_by_the_client(client: PayPalClient, fake: FakePayPal) -> None:
    declined = order_body(capture_status="DECLINED", code="9100")
    fake.script.append(Reply(201, declined))
    outcome = outcome_of(client)
    assert outcome.status == "declined"
    assert outcome.retryable is True
    assert len(fake.api_requests(ORDERS)) == 1


def test_connections_are_reused_across_calls(client: PayPalClient, fake: FakePayPal) -> None:
    created = order(client, "a")
    order(client, "b")
    client.get_order(created["id"])
    client.refund_capture(interpret_order(created).capture_id or "", request_id="r")

    assert fake.connections == 1
    assert client.stats["connections"] == 1
    assert client.stats["requests"] == 5  # token + 4 API calls


def test_a_connection_the_server_closed_is_replaced_before_sending(
    client: PayPalClient, fake: FakePayPal, sleeps: list[float]
) -> None:
    fake.script.append(CloseAfter())
    order(client, "a")
    assert fake.closed_after_answer.wait(5)

    order(client, "b")

    assert fake.connections == 2
    assert client.stats["retries"] == 0
    assert sleeps == []


def test_the_connection_is_reopened_after_an_error(client: PayPalClient, fake: FakePayPal) -> None:
    fake.script.append(Drop())
    order(client)
    assert fake.connections == 2
    order(client, "next")
    assert fake.connections == 2


def test_concurrent_calls_share_one_token(client: PayPalClient, fake: FakePayPal) -> None:
    errors: list[CardlineError] = []

    def work(n: int) -> None:
        try:
            order(client, f"thread-{n}")
        except CardlineError as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(fake.token_requests()) == 1
    assert len(fake.api_requests(ORDERS)) == 8


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        pytest.param([Reply(500)] * 4, GatewayOutcomeUnknown, id="500s"),
        pytest.param([Reply(502)] * 4, GatewayOutcomeUnknown, id="502s"),
        pytest.param([Reply(504)] * 4, GatewayOutcomeUnknown, id="504s"),
        pytest.param([Drop()] * 4, GatewayOutcomeUnknown, id="dropped"),
        pytest.param(
            [Reply(409, error_body("RESOURCE_CONFLICT", "PREVIOUS_REQUEST_IN_PROGRESS"))] * 4,
            GatewayOutcomeUnknown,
            id="409s",
        ),
        pytest.param([Reply(503)] * 4, GatewayUnavailable, id="503s"),
        pytest.param([Reply(429)] * 4, GatewayUnavailable, id="429s"),
        pytest.param([Reply(503), Reply(429)] * 2, GatewayUnavailable, id="503-429"),
        pytest.param(
            [Reply(500), Reply(503), Reply(503), Reply(503)],
            GatewayOutcomeUnknown,
            id="once-maybe-processed-stays-unknown",
        ),
    ],
)
def test_exhausted_posts_say_whether_they_may_have_been_processed(
    client: PayPalClient, fake: FakePayPal, failures: list[Action], expected: type[GatewayError]
) -> None:
    fake.script += failures
    with pytest.raises(GatewayError) as caught:
        order(client)
    assert type(caught.value) is expected
    assert len(fake.api_requests(ORDERS)) == 4


def test_a_timeout_after_sending_is_unknown(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, sleeps: list[float]
) -> None:
    client = make_client(timeout=0.2, max_attempts=2)
    order(client, "warm-up")  # token fetched, connection open
    fake.script += [Hang(0.6), Hang(0.6)]

    with pytest.raises(GatewayOutcomeUnknown, match="timeout"):
        order(client)
    assert len(sleeps) == 1


def test_connection_refused_is_unavailable(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, sleeps: list[float]
) -> None:
    client = make_client(max_attempts=3)
    order(client, "warm-up")
    client.close()
    fake.stop_listening()

    with pytest.raises(GatewayUnavailable, match="ConnectionRefusedError"):
        order(client)
    assert len(sleeps) == 2


def test_an_unreachable_token_endpoint_is_unavailable(sleeps: list[float], clock: Clock) -> None:
    with socket.socket() as probe:  # bound, not listening: refused, and no one else's port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        config = PayPalConfig(f"http://127.0.0.1:{port}", "id", "secret", max_attempts=2)
        client = PayPalClient(config, sleep=sleeps.append, clock=clock)
        with pytest.raises(GatewayUnavailable):
            order(client)
    assert len(sleeps) == 1


def test_gets_that_keep_failing_are_unavailable(client: PayPalClient, fake: FakePayPal) -> None:
    fake.script += [Reply(500), Reply(502), Drop(), Reply(504)]
    with pytest.raises(GatewayUnavailable):
        client.get_order("ORD1")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", "\u00ff".encode("latin-1")])
def test_an_unreadable_answer_to_a_post_is_unknown(
    client: PayPalClient, fake: FakePayPal, body: bytes
) -> None:
    fake.script.append(Reply(201, body))
    with pytest.raises(GatewayOutcomeUnknown) as caught:
        order(client)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert len(fake.api_requests(ORDERS)) == 1


def test_an_unreadable_answer_to_a_get_is_a_gateway_error(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(Reply(200, b"<html>oops</html>"))
    with pytest.raises(GatewayError) as caught:
        client.get_order("ORD1")
    assert type(caught.value) is GatewayError


# --------------------------------------------------------------------------- refusals and declines


CARD_ISSUES = [
    "INSTRUMENT_DECLINED",
    "CARD_EXPIRED",
    "INVALID_EXPIRY_DATE",
    "INVALID_SECURITY_CODE_LENGTH",
    "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR",
    "PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED",
    "TRANSACTION_REFUSED",
    "CARD_BRAND_NOT_SUPPORTED",
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
]


@pytest.mark.parametrize("issue", CARD_ISSUES)
def test_card_issues_on_create_are_declined_outcomes(
    client: PayPalClient, fake: FakePayPal, issue: str
) -> None:
    fake.script.append(
        Reply(422, error_body("UNPROCESSABLE_ENTITY", issue, field="/payment_source/card"))
    )

    outcome, answer = create(client, custom_id="clfp1:xyz")

    assert answer == {}  # PayPal made no order, and none is made up for it
    assert outcome.status == "declined"
    assert outcome.decline_reason == issue
    assert outcome.message
    assert outcome.order_id is None
    assert outcome.retryable is False
    assert (outcome.brand, outcome.last_digits) == ("VISA", "1881")
    assert (outcome.amount, outcome.currency, outcome.custom_id) == ("12.50", "USD", "clfp1:xyz")


def test_a_merchant_not_enabled_for_cards_is_a_failure(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(
        Reply(422, error_body("UNPROCESSABLE_ENTITY", "NOT_ENABLED_FOR_CARD_PROCESSING"))
    )
    outcome = outcome_of(client)
    assert outcome.status == "failed"
    assert outcome.decline_reason == "NOT_ENABLED_FOR_CARD_PROCESSING"


def test_three_d_secure_is_a_failure_a_caller_cannot_fix(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(Reply(422, error_body("UNPROCESSABLE_ENTITY", "PAYER_ACTION_REQUIRED")))
    outcome = outcome_of(client)
    assert outcome.status == "failed"
    assert "3-D Secure" in (outcome.message or "")
    assert "phone" in (outcome.message or "")


def test_processor_declines_come_back_as_declined_outcomes(
    client: PayPalClient, fake: FakePayPal
) -> None:
    outcome = outcome_of(client, card=visa("CCREJECT-IF"))
    assert outcome.status == "declined"
    assert outcome.response_code == "5120"
    assert outcome.decline_reason == "INSUFFICIENT_FUNDS"
    assert outcome.message == "The card has insufficient funds."
    assert outcome.order_id is not None
    assert outcome.retryable is False


@pytest.mark.parametrize(
    ("reply", "method", "issue"),
    [
        (
            Reply(422, error_body("UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_ID")),
            "order",
            "DUPLICATE_INVOICE_ID",
        ),
        (
            Reply(422, error_body("UNPROCESSABLE_ENTITY", "ITEM_TOTAL_MISMATCH")),
            "order",
            "ITEM_TOTAL_MISMATCH",
        ),
        (
            Reply(400, error_body("INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX")),
            "order",
            "INVALID_PARAMETER_SYNTAX",
        ),
        (
            Reply(403, error_body("NOT_AUTHORIZED", "PERMISSION_DENIED")),
            "order",
            "PERMISSION_DENIED",
        ),
        (
            Reply(422, error_body("UNPROCESSABLE_ENTITY", "AUTHORIZATION_EXPIRED")),
            "capture",
            "AUTHORIZATION_EXPIRED",
        ),
        (
            Reply(422, error_body("UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")),
            "refund",
            "REFUND_AMOUNT_EXCEEDED",
        ),
        (
            Reply(404, error_body("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")),
            "refund",
            "INVALID_RESOURCE_ID",
        ),
        (
            Reply(422, error_body("UNPROCESSABLE_ENTITY", "PREVIOUSLY_VOIDED")),
            "void",
            "PREVIOUSLY_VOIDED",
        ),
    ],
)
def test_refusals_raise_gateway_rejected_with_issue_and_debug_id(
    client: PayPalClient, fake: FakePayPal, reply: Reply, method: str, issue: str
) -> None:
    fake.script.append(reply)
    calls: dict[str, Callable[[], object]] = {
        "order": lambda: order(client),
        "capture": lambda: client.capture_authorization("AUTH1", request_id="c"),
        "refund": lambda: client.refund_capture("CAP1", request_id="r"),
        "void": lambda: client.void_authorization("AUTH1", request_id="v"),
    }
    with pytest.raises(GatewayRejected) as caught:
        calls[method]()
    assert caught.value.issue == issue
    assert caught.value.http_status == reply.status
    assert caught.value.debug_id == "fakedebugid"
    assert issue in caught.value.detail
    assert len(fake.api_requests()) == 1  # refusals are not retried


def test_rejections_name_the_field_but_never_echo_its_value(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(
        Reply(
            400,
            error_body(
                "INVALID_REQUEST",
                "INVALID_PARAMETER_VALUE",
                field="/payment_source/card/number",
                value=VISA,
                location="body",
                description=f"bad number {VISA}",
            ),
        )
    )
    with pytest.raises(GatewayRejected) as caught:
        order(client)
    assert caught.value.field == "/payment_source/card/number"
    assert VISA not in repr(caught.value.__dict__)


# --------------------------------------------------------------------------- interpret_order


def order_body(
    *,
    status: str = "COMPLETED",
    capture_status: str | None = "COMPLETED",
    auth_status: str | None = None,
    code: str | None = "0000",
    advice: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "id": "PAY1",
        "amount": {"currency_code": "EUR", "value": "9.99"},
        "custom_id": "clfp1:c",
    }
    if code is not None:
        payment["processor_response"] = {"response_code": code, "avs_code": "G", "cvv_code": "P"}
        if advice is not None:
            payment["processor_response"]["payment_advice_code"] = advice
    if reason is not None:
        payment["status_details"] = {"reason": reason}
    payments: dict[str, Any] = {}
    if capture_status is not None:
        payments["captures"] = [{**payment, "status": capture_status}]
    if auth_status is not None:
        payments["authorizations"] = [{**payment, "status": auth_status}]
    return {
        "id": "ORD1",
        "status": status,
        "payment_source": {"card": {"brand": "VISA", "last_digits": "1881", "type": "CREDIT"}},
        "purchase_units": [
            {
                "amount": {"currency_code": "EUR", "value": "9.99"},
                "custom_id": "clfp1:c",
                "payments": payments,
            }
        ],
    }


@pytest.mark.parametrize(
    ("body", "status", "reason", "retryable"),
    [
        (order_body(), "approved", None, False),
        (
            order_body(capture_status="PENDING", code=None, reason="PENDING_REVIEW"),
            "pending",
            "PENDING_REVIEW",
            False,
        ),
        (
            order_body(capture_status="DECLINED", code="5120"),
            "declined",
            "INSUFFICIENT_FUNDS",
            False,
        ),
        (order_body(capture_status="DECLINED", code="0500"), "declined", "DO_NOT_HONOR", False),
        (order_body(capture_status="DECLINED", code="9500"), "declined", "SUSPECTED_FRAUD", False),
        (order_body(capture_status="DECLINED", code="00N7"), "declined", "CVV2_FAILURE", False),
        (
            order_body(capture_status="DECLINED", code="9100"),
            "declined",
            "DECLINED_PLEASE_RETRY",
            True,
        ),
        (
            order_body(capture_status="DECLINED", code="5920"),
            "declined",
            "ISSUER_NOT_AVAILABLE_RETRIABLE",
            True,
        ),
        (
            order_body(capture_status="DECLINED", code="8110"),
            "declined",
            "RETRIABLE_COMMUNICATION_ERROR",
            True,
        ),
        (
            order_body(capture_status="DECLINED", code="9100", advice="03"),
            "declined",
            "DECLINED_PLEASE_RETRY",
            False,
        ),
        (order_body(capture_status="DECLINED", code="ZZ99"), "declined", None, False),
        (order_body(capture_status="FAILED", code="5100"), "declined", "GENERIC_DECLINE", False),
        (order_body(capture_status="FAILED", code=None), "failed", "FAILED", False),
        (order_body(capture_status="DECLINED", code=None), "failed", "DECLINED", False),
        (order_body(capture_status=None, auth_status="CREATED"), "approved", None, False),
        (order_body(capture_status=None, auth_status="CAPTURED"), "approved", None, False),
        (
            order_body(capture_status=None, auth_status="DENIED", code="5400"),
            "declined",
            "EXPIRED_CARD",
            False,
        ),
        (order_body(capture_status=None, auth_status="PENDING", code=None), "pending", None, False),
        (order_body(capture_status=None, auth_status="VOIDED"), "failed", "VOIDED", False),
        (
            order_body(status="PAYER_ACTION_REQUIRED", capture_status=None),
            "failed",
            "PAYER_ACTION_REQUIRED",
            False,
        ),
        # No capture and no authorization: the answer does not say what became of the card.
        (order_body(status="CREATED", capture_status=None), "unknown", None, False),
        (order_body(status="COMPLETED", capture_status=None), "unknown", None, False),
        ({}, "unknown", None, False),
    ],
)
def test_interpret_order(
    body: dict[str, Any], status: str, reason: str | None, retryable: bool
) -> None:
    outcome = interpret_order(body)
    assert outcome.status == status
    assert outcome.decline_reason == reason
    assert outcome.retryable is retryable
    assert outcome.message


def test_interpret_order_keeps_ids_card_and_amount() -> None:
    outcome = interpret_order(order_body(capture_status="DECLINED", code="5120"))
    assert outcome == ChargeOutcome(
        status="declined",
        order_id="ORD1",
        capture_id="PAY1",
        authorization_id=None,
        response_code="5120",
        decline_reason="INSUFFICIENT_FUNDS",
        message="The card has insufficient funds.",
        retryable=False,
        brand="VISA",
        last_digits="1881",
        custom_id="clfp1:c",
        amount="9.99",
        currency="EUR",
        avs_code="G",
        cvv_code="P",
    )
    auth = interpret_order(order_body(capture_status=None, auth_status="CREATED"))
    assert (auth.authorization_id, auth.capture_id) == ("PAY1", None)


def test_response_codes_cover_the_brief() -> None:
    brief = {
        "0500": "DO_NOT_HONOR",
        "9500": "SUSPECTED_FRAUD",
        "5400": "EXPIRED_CARD",
        "5180": "INVALID_OR_RESTRICTED_CARD",
        "5120": "INSUFFICIENT_FUNDS",
        "9520": "LOST_OR_STOLEN",
        "1330": "INVALID_ACCOUNT",
        "5100": "GENERIC_DECLINE",
        "00N7": "CVV2_FAILURE",
        "9100": "DECLINED_PLEASE_RETRY",
        "5920": "ISSUER_NOT_AVAILABLE_RETRIABLE",
        "8110": "RETRIABLE_COMMUNICATION_ERROR",
        "5150": "PICKUP_CARD_SPECIAL_CONDITIONS",
        "PPRN": "REATTEMPT_NOT_PERMITTED",
    }
    for code, reason in brief.items():
        assert RESPONSE_CODES[code][0] == reason
    assert all(message.endswith(".") for _, message in RESPONSE_CODES.values())
    assert {"9100", "5920", "8110"} == RETRYABLE_RESPONSE_CODES
    # Fraud and lost/stolen must read as a plain decline to the caller.
    for code in ("9500", "9520"):
        assert "fraud" not in RESPONSE_CODES[code][1].lower()
        assert "stolen" not in RESPONSE_CODES[code][1].lower()


# --------------------------------------------------------------------------- configuration, TLS


@pytest.mark.parametrize(
    "url",
    [
        "http://api-m.paypal.com",
        "http://api-m.sandbox.paypal.com",
        "http://10.0.0.1:8080",
        "http://128.0.0.1",
        "http://127.0.0.1.example.com",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
        "api-m.paypal.com",
        "https://user:pw@api-m.paypal.com",
    ],
)
def test_plain_http_is_refused_except_to_loopback(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the reason
        PayPalConfig(url, "id", "secret")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.9.8.7",
        "http://localhost:1234",
        "http://[::1]:8080",
        "https://api-m.paypal.com",
        PayPalConfig.SANDBOX_URL,
    ],
)
def test_https_anywhere_and_http_to_loopback_are_accepted(url: str) -> None:
    assert PayPalConfig(url, "id", "secret").base_url == url


def test_tls_is_verified_and_at_least_1_2() -> None:
    client = PayPalClient(PayPalConfig(PayPalConfig.LIVE_URL, "id", "secret"))
    connection = client._new_connection()
    context = client._ssl_context

    assert context is not None
    assert isinstance(connection, http.client.HTTPSConnection)
    assert connection._context is context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert (connection.host, connection.port) == ("api-m.paypal.com", 443)


def test_loopback_http_uses_a_plain_connection(client: PayPalClient) -> None:
    connection = client._new_connection()
    assert isinstance(connection, http.client.HTTPConnection)
    assert not isinstance(connection, http.client.HTTPSConnection)
    assert client._ssl_context is None


def test_from_env() -> None:
    assert PayPalConfig.from_env({}) is None
    assert PayPalConfig.from_env({"PAYPAL_CLIENT_ID": "id"}) is None
    creds = {"PAYPAL_CLIENT_ID": "id", "PAYPAL_CLIENT_SECRET": "s3cret"}
    sandbox = PayPalConfig.from_env(creds)
    assert sandbox is not None
    assert sandbox.base_url == PayPalConfig.SANDBOX_URL
    assert (sandbox.client_id, sandbox.client_secret) == ("id", "s3cret")
    live = PayPalConfig.from_env({**creds, "PAYPAL_ENV": "live"})
    assert live is not None
    assert live.base_url == PayPalConfig.LIVE_URL
    local = PayPalConfig.from_env(
        {**creds, "PAYPAL_ENV": "live", "PAYPAL_BASE_URL": "http://127.0.0.1:9"}
    )
    assert local is not None
    assert local.base_url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="PAYPAL_ENV"):
        PayPalConfig.from_env({**creds, "PAYPAL_ENV": "production"})
    with pytest.raises(ValueError, match="http"):
        PayPalConfig.from_env({**creds, "PAYPAL_BASE_URL": "http://api-m.paypal.com"})
    assert "s3cret" not in repr(sandbox)


# --------------------------------------------------------------------------- card data never leaks


def _error_paths() -> list[Any]:
    echo = error_body(
        "INVALID_REQUEST",
        "INVALID_PARAMETER_VALUE",
        field="/payment_source/card/number",
        value=VISA,
        description=f"The value {VISA} / {CVV} is not valid.",
    )
    echo_422 = error_body("UNPROCESSABLE_ENTITY", "CARD_EXPIRED", value=f"{VISA} {CVV}")
    return [
        pytest.param([Reply(400, echo)], "raise", id="400 echoing the card"),
        pytest.param([Reply(422, echo_422)], "outcome", id="422 echoing the card"),
        pytest.param([Reply(500, echo)] * 4, "raise", id="500s echoing the card"),
        pytest.param([Drop()] * 4, "raise", id="dropped"),
        pytest.param(
            [Reply(201, f'{{"number": "{VISA}", "cvv": "{CVV}"'.encode())], "raise", id="malformed"
        ),
        pytest.param([Reply(401, echo)] * 2, "raise", id="double 401"),
        pytest.param([Hang(0.5)] * 4, "raise", id="timeout"),
    ]


def _leaks(text: str) -> list[str]:
    found = [form for form in spellings(VISA) if form in text]
    if re.search(rf"(?<![0-9]){CVV}(?![0-9])", text):
        found.append("security code")
    return found


@pytest.mark.parametrize(("script", "ends"), _error_paths())
def test_no_card_data_in_errors_or_logs(
    make_client: Callable[..., PayPalClient],
    fake: FakePayPal,
    caplog: pytest.LogCaptureFixture,
    script: list[Action],
    ends: str,
) -> None:
    caplog.set_level("DEBUG")
    client = make_client(timeout=0.15)
    fake.script += script
    card = visa()

    try:
        outcome, result = client.create_order(request_id="leak-test", money=usd(), card=card)
    except CardlineError as error:
        assert ends == "raise"
        texts = [str(error), repr(error), repr(error.__dict__), *traceback.format_exception(error)]
        texts += [json.dumps(error.problem())]
        # Frames in our module must not hold the card data either (debuggers, error trackers).
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_globals.get("__name__", "").startswith("cardline.cde.paypal"):
                texts += [repr(value) for value in tb.tb_frame.f_locals.values()]
            tb = tb.tb_next
    else:
        assert ends == "outcome"
        texts = [repr(result), repr(outcome)]

    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    leaked = [hit for text in texts for hit in _leaks(text)]
    assert leaked == []
    assert fake.api_requests()[0].json()["payment_source"]["card"]["number"] == VISA


def test_request_bodies_do_not_show_in_reprs() -> None:
    from cardline.cde.paypal.client import _order_payload

    payload = _order_payload(usd(), visa(), "CAPTURE", None, None, None)
    assert VISA.encode() in payload.data
    assert _leaks(repr(payload)) == []


# --------------------------------------------------------------------------- webhook verification


def _verify_body(webhook_id: str = WEBHOOK_ID) -> bytes:
    """A verify request around a delivery's raw bytes, as ``Delivery`` builds it."""
    from cardline.webhooks.notification import read_delivery
    from tests.webhooks.samples import event

    headers, body = deliver(event("PAYMENT.CAPTURE.COMPLETED"))
    return read_delivery(headers, body).verification_request(webhook_id)


def test_verify_webhook_signature_sends_the_bytes_it_is_given(
    client: PayPalClient, fake: FakePayPal
) -> None:
    body = _verify_body()
    assert client.verify_webhook_signature(body) is True
    (sent,) = fake.api_requests(VERIFY)
    assert sent.method == "POST"
    assert sent.body == body
    assert sent.headers["content-type"] == "application/json"


def test_verify_webhook_signature_is_false_on_failure_and_on_a_refusal(
    client: PayPalClient, fake: FakePayPal
) -> None:
    assert client.verify_webhook_signature(_verify_body("ANOTHERWEBHOOK")) is False
    fake.script.append(Reply(400, error_body("VALIDATION_ERROR", "INVALID_PARAMETER_SYNTAX")))
    assert client.verify_webhook_signature(_verify_body()) is False
    fake.script.append(Reply(200, {"verification_status": "success"}))  # only SUCCESS is
    assert client.verify_webhook_signature(_verify_body()) is False


@pytest.mark.parametrize(
    "answers",
    [
        [Reply(500, error_body("INTERNAL_SERVER_ERROR"))] * 3,
        [Reply(503)] * 3,
        [Hang(0.6)] * 3,
        [Reply(200, b"<html>")],
    ],
    ids=["500", "503", "timeout", "unreadable"],
)
def test_verify_webhook_signature_raises_when_paypal_gives_no_answer(
    make_client: Callable[..., PayPalClient], fake: FakePayPal, answers: list[Action]
) -> None:
    client = make_client(max_attempts=3, timeout=0.3)
    fake.script += answers
    with pytest.raises(GatewayError):
        client.verify_webhook_signature(_verify_body())


def test_create_webhook_subscribes_a_url_and_returns_its_id(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script.append(Reply(201, {"id": "0EH40505U7160970P", "url": "http://x/"}))
    assert client.create_webhook("http://x/", ["PAYMENT.CAPTURE.COMPLETED"]) == "0EH40505U7160970P"
    (sent,) = fake.api_requests("/v1/notifications/webhooks")
    assert json.loads(sent.body) == {
        "url": "http://x/",
        "event_types": [{"name": "PAYMENT.CAPTURE.COMPLETED"}],
    }
