"""Findings 6, 7, 8 and 9b: what a hostile or unlucky PayPal answer may make of a payment.

Once an order was sent, PayPal may have charged the card: anything short of a usable
answer (an empty 2xx, a malformed head, a body cut short, a flood, a drip, an audit sink
that fails after the charge) must reach the agent as ``outcome_unknown`` (504, "retry
with the same key"), with an audit event saying so, and never as "failed" or "nothing was
charged". Against a hostile PayPal on loopback (tests/adversarial/hostile_paypal.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardline.cde import audit
from cardline.cde.charge import Charger, Receipt, parse_payment_request
from cardline.cde.errors import GatewayError, GatewayOutcomeUnknown, GatewayUnavailable
from cardline.cde.paypal import PayPalClient, PayPalConfig, interpret_order
from cardline.cde.request_rules import payment_id_for
from tests.adversarial.hostile_paypal import (
    ClientGone,
    Exchange,
    HostilePayPal,
    answer_with,
    hostile_paypal,
    json_answer,
)
from tests.cards import CVV, VISA, payment
from tests.leakscan import spellings

MIB = 1 << 20
KEY = "hostile-key"


class Events:
    """An audit sink in memory."""

    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


class FailingSink:
    """An audit sink whose disk is full."""

    def emit(self, event: audit.AuditEvent) -> None:
        raise OSError(28, "No space left on device")


class Clock:
    """A clock that moves only when read (``tick`` a read) or slept on: no real time."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 1000.0
        self.tick = tick
        self.slept: list[float] = []

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_for(server: HostilePayPal, clock: Clock | None = None, **config: Any) -> PayPalClient:
    clock = clock or Clock()
    settings_: dict[str, Any] = {"timeout": 2.0, "max_attempts": 1, **config}
    return PayPalClient(
        PayPalConfig(server.base_url, "id", "secret", **settings_),
        sleep=clock.sleep,
        clock=clock,
    )


def charge(client: PayPalClient, sink: audit.AuditSink) -> Receipt:
    charger = Charger(client, sink, b"k" * 32)
    try:
        return charger.charge(
            parse_payment_request(payment(VISA)), operator="op", idempotency_key=KEY, origin="ip"
        )
    finally:
        client.close()


def assert_unknown(client: PayPalClient, events: Events) -> GatewayOutcomeUnknown:
    """The charge ends in outcome_unknown (504) with one audit event saying so."""
    with pytest.raises(GatewayOutcomeUnknown) as caught:
        charge(client, events)
    error = caught.value
    assert (error.status, error.code) == (504, "outcome_unknown")
    assert "same Idempotency-Key" in error.detail
    assert [e.outcome for e in events.events] == ["unknown"]
    assert events.events[0].details["status"] == "unknown"
    assert events.events[0].resource == payment_id_for("op", KEY)
    return error


def _order(status: str = "COMPLETED", **unit: Any) -> dict[str, Any]:
    return {"id": "ORD1", "status": status, "purchase_units": [{"reference_id": "x", **unit}]}


def _approved() -> dict[str, Any]:
    capture = {
        "id": "CAP1",
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": "12.50"},
    }
    return _order(payments={"captures": [capture]})


# --------------------------------------------------------------------------- finding 6


NO_CAPTURE = {
    "an empty object": json_answer(201, {}),
    "an order CREATED without payments": json_answer(201, _order("CREATED")),
    "an order APPROVED without payments": json_answer(200, _order("APPROVED")),
    "an order COMPLETED without payments": json_answer(201, _order("COMPLETED")),
    "empty captures": json_answer(201, _order(payments={"captures": []})),
    "a body shorter than its Content-Length": (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
        + json.dumps(_approved()).encode()[:40]
    ),
}


@pytest.mark.parametrize("answer", sorted(NO_CAPTURE))
def test_a_2xx_answer_without_a_capture_is_an_unknown_outcome(answer: str) -> None:
    with hostile_paypal(answer_with(NO_CAPTURE[answer])) as server:
        assert_unknown(client_for(server), Events())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
# "cardline_decline": the key of the refusal document the client once made up, which no
# answer of PayPal's holds: a document that names it must not be settled by it.
_keys = st.sampled_from(
    ["id", "status", "purchase_units", "payments", "intent", "create_time", "cardline_decline"]
)
_statuses = st.sampled_from(["COMPLETED", "CREATED", "SAVED", "APPROVED", "VOIDED", ""])


@st.composite
def _orders_without_payment(draw: st.DrawFn) -> dict[str, Any]:
    """Order-shaped documents with no capture and no authorization in their first unit."""
    document: dict[str, Any] = draw(st.dictionaries(_keys, _json, max_size=4))
    document["status"] = draw(_statuses)
    unit = draw(st.dictionaries(st.sampled_from(["amount", "custom_id", "payments"]), _json))
    payments = unit.get("payments")
    if isinstance(payments, dict):
        payments.pop("captures", None)
        payments.pop("authorizations", None)
    document["purchase_units"] = draw(st.sampled_from([[unit], [], None, "x"]))
    return document


@settings(max_examples=300, deadline=None)
@given(_orders_without_payment())
def test_no_answer_without_a_payment_is_ever_settled_as_failed(document: dict[str, Any]) -> None:
    assert interpret_order(document).status == "unknown"


# --------------------------------------------------------------------------- finding 7


def _nested(depth: int) -> bytes:
    return b'{"id":' * depth + b"1" + b"}" * depth


MALFORMED = {
    "status in superscript digits": b"HTTP/1.1 2\xb9\xb9 Created\r\nContent-Length: 2\r\n\r\n{}",
    "Content-Length in superscript digits": (
        b"HTTP/1.1 201 Created\r\nContent-Length: \xb2\r\n\r\n{}"
    ),
    "Content-Length in Arabic-Indic digits": (
        "HTTP/1.1 201 Created\r\nContent-Length: \u0662\r\n\r\n{}".encode()
    ),
    "deeply nested JSON (list)": (
        b"HTTP/1.1 201 Created\r\nContent-Length: 200000\r\n\r\n" + b"[" * 100000 + b"]" * 100000
    ),
    "deeply nested JSON (object)": (
        b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(_nested(50000)) + _nested(50000)
    ),
    "chunk size in superscript digits": (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n\xb2\r\n{}\r\n0\r\n\r\n"
    ),
    "a status line and nothing else": b"HTTP/1.1 201 Created\r\n",
    "an interim answer, then the end": b"HTTP/1.1 100 Continue\r\n\r\n",
    "a NUL in the head": b"HTTP/1.1 201 Created\r\nX: \x00\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.mark.parametrize("answer", sorted(MALFORMED))
def test_a_malformed_answer_after_sending_is_an_unknown_outcome(answer: str) -> None:
    with hostile_paypal(answer_with(MALFORMED[answer])) as server:
        assert_unknown(client_for(server), Events())


_heads = st.sampled_from(
    [
        b"HTTP/1.1 201 Created\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 2\xb901 OK\r\n",
        b"HTTP/1.0 201 Created\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n",
        b"HTTP/9 201\r\n",
        b"",
    ]
)
_fields = st.lists(
    st.sampled_from(
        [
            b"Content-Length: 2\r\n",
            b"Content-Length: 99999\r\n",
            b"Content-Length: -1\r\n",
            b"Content-Length: \xb2\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: gzip\r\n",
            b"Connection: close\r\n",
            b"X: \xff\xfe\r\n",
            b" folded\r\n",
        ]
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def scripted() -> Any:
    """One hostile server for every example; each example sets what it answers."""
    current: list[bytes] = [b""]

    def answer(exchange: Exchange) -> None:
        exchange.write(current[0])

    with hostile_paypal(answer) as server:
        yield server, current


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(head=_heads, fields=_fields, body=st.binary(max_size=300))
def test_whatever_follows_an_order_the_agent_hears_outcome_unknown(
    scripted: Any, head: bytes, fields: list[bytes], body: bytes
) -> None:
    server, current = scripted
    current[0] = head + b"".join(fields) + b"\r\n" + body
    assert_unknown(client_for(server), Events())


def _flood(prefix: bytes, unit: bytes, limit: int = 64 * MIB) -> Callable[[Exchange], None]:
    def write(exchange: Exchange) -> None:
        exchange.write(prefix)
        block = unit * (65536 // len(unit))
        while exchange.sent < limit:
            exchange.write(block)

    return write


FLOODS = {
    "interim answers": (b"", b"HTTP/1.1 100 Continue\r\n\r\n"),
    "interim answers with fields": (b"", b"HTTP/1.1 102 Processing\r\nX: y\r\n\r\n"),
    "trailer fields": (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        b"X: y\r\n",
    ),
    "header fields": (b"HTTP/1.1 201 Created\r\n", b"X: y\r\n"),
    "chunks": (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\n \r\n"),
    "a body without a length": (b"HTTP/1.1 201 Created\r\n\r\n", b" "),
}


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_a_flood_is_cut_off_and_is_an_unknown_outcome(flood: str) -> None:
    prefix, unit = FLOODS[flood]
    with hostile_paypal(_flood(prefix, unit)) as server:
        assert_unknown(client_for(server), Events())
    # The client stopped reading and hung up long before the 64 MiB were written (what
    # the server wrote includes the kernel's socket buffers, a few MiB on loopback).
    assert len(server.hung_up) == 1
    assert server.hung_up[0].sent < 16 * MIB


def _drip(exchange: Exchange) -> None:
    exchange.write(b"HTTP/1.1 201 Created\r\nX-Drip: ")
    stop = threading.Event()
    for _ in range(3000):  # a byte every 2 ms: 6 s in all
        exchange.write(b"a")
        stop.wait(0.002)
    exchange.write(b"\r\nContent-Length: 2\r\n\r\n{}")


def test_a_drip_fed_answer_ends_at_the_attempt_deadline() -> None:
    # Each reading of the clock moves it 10 ms: a 1 s attempt can read it only ~100 times,
    # and a drip-fed head (a byte at a time, never a pause as long as the timeout) cannot
    # keep the attempt alive past that.
    with hostile_paypal(_drip) as server:
        assert_unknown(client_for(server, Clock(tick=0.01), timeout=1.0), Events())
    assert len(server.hung_up) == 1


def test_the_call_deadline_spans_attempts_and_backoff() -> None:
    unavailable = json_answer(503, {"name": "SERVICE_UNAVAILABLE"})
    unavailable = unavailable.replace(b"\r\n\r\n", b"\r\nRetry-After: 5\r\n\r\n", 1)
    clock = Clock()
    with hostile_paypal(answer_with(unavailable)) as server:
        client = client_for(server, clock, max_attempts=4, deadline=8.0)
        with pytest.raises(GatewayUnavailable):
            charge(client, Events())
    # 5 s of backoff fits in 8 s, a second 5 s does not: two attempts, one sleep.
    assert len(server.api_requests()) == 2
    assert clock.slept == [5.0]


# --------------------------------------------------------------------------- finding 8


def test_concurrent_payments_are_in_flight_together() -> None:
    callers = 4
    together = threading.Barrier(callers, timeout=10)
    met: list[bool] = []

    def answer(exchange: Exchange) -> None:
        # Answers only once every caller's order has arrived: one shared connection, or a
        # lock held across the exchange, would break the barrier.
        try:
            together.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        exchange.write(json_answer(201, _approved()))

    results: list[object] = []
    with hostile_paypal(answer) as server:
        client = client_for(server, max_attempts=1)

        def pay(n: int) -> None:
            try:
                results.append(
                    Charger(client, Events(), b"k" * 32).charge(
                        parse_payment_request(payment(VISA)),
                        operator="op",
                        idempotency_key=f"together-{n}",
                        origin="ip",
                    )
                )
            except GatewayError as error:
                results.append(error)

        threads = [threading.Thread(target=pay, args=(n,)) for n in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        client.close()
    assert met == [True] * callers
    assert sorted(type(r).__name__ for r in results) == ["Receipt"] * callers


# --------------------------------------------------------------------------- finding 9b


def test_an_audit_failure_after_paypal_charged_is_an_unknown_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    approved = answer_with(json_answer(201, _approved()))
    with hostile_paypal(approved) as server, pytest.raises(GatewayOutcomeUnknown) as caught:
        charge(client_for(server), FailingSink())
    assert (caught.value.status, caught.value.code) == (504, "outcome_unknown")
    payment_id = payment_id_for("op", KEY)
    assert payment_id in caught.value.detail
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any(payment_id in r.getMessage() for r in errors)
    assert [form for form in spellings(VISA) if form in caplog.text] == []
    assert f"security_code={CVV}" not in caplog.text


# ------------------------------------------------ finding 5's answer, issue 11's mutant


def _drop_then_401() -> Callable[[Exchange], None]:
    seen: list[int] = []

    def answer(exchange: Exchange) -> None:
        seen.append(1)
        if len(seen) == 1:
            return  # the order arrived; its answer is lost (closed without a word)
        exchange.write(json_answer(401, {"name": "AUTHENTICATION_FAILURE"}))

    return answer


TOKEN_FAILURES = {
    "token refused": lambda n: None if n == 0 else json_answer(401, {"error": "invalid_client"}),
    "token endpoint down": lambda n: None if n == 0 else json_answer(503, {"name": "DOWN"}),
}


@pytest.mark.parametrize("failure", sorted(TOKEN_FAILURES))
def test_a_token_failure_after_a_maybe_processed_order_is_unknown(failure: str) -> None:
    with hostile_paypal(_drop_then_401(), token=TOKEN_FAILURES[failure]) as server:
        error = assert_unknown(client_for(server, max_attempts=4), Events())
    assert "nothing was charged" not in error.detail


def test_a_retry_refused_at_the_door_never_says_nothing_was_charged() -> None:
    unavailable = json_answer(503, {"name": "SERVICE_UNAVAILABLE"})
    with (
        hostile_paypal(answer_with(unavailable)) as server,
        pytest.raises(GatewayUnavailable) as caught,
    ):
        charge(client_for(server), Events())
    detail = caught.value.detail
    # An earlier attempt with this key may have been approved: only this attempt is known.
    assert "nothing was charged" not in detail
    assert "this attempt" in detail.lower()
    assert payment_id_for("op", KEY) in detail


def test_a_refusal_of_a_retry_never_says_nothing_was_charged() -> None:
    refused = json_answer(
        422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "PAYEE_ACCOUNT_RESTRICTED"}]}
    )
    with hostile_paypal(answer_with(refused)) as server, pytest.raises(GatewayError) as caught:
        charge(client_for(server), Events())
    assert caught.value.status == 422
    assert "nothing was charged" not in caught.value.detail
    assert "this attempt" in caught.value.detail.lower()
    assert payment_id_for("op", KEY) in caught.value.detail


def test_the_hostile_server_can_tell_a_hang_up() -> None:
    # The flood and drip tests lean on this: a client that leaves is noticed.
    with hostile_paypal(_flood(b"HTTP/1.1 201 Created\r\n\r\n", b" ", limit=64 * MIB)) as server:
        client = client_for(server, max_attempts=1, timeout=0.5)
        with pytest.raises((GatewayError, ClientGone)):
            client.get_order("ORD1")
        client.close()
    assert len(server.hung_up) == 1
