"""Credentials on every route, and the slowing of repeated bad keys.

Routes are enumerated from the App itself, so a route added later is covered without
touching this file. Only /health, /openapi.json and routes marked ``static`` (the
console's files) may answer without credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardline.cde import audit, roles
from cardline.cde.http.app import App, Route
from cardline.cde.http.messages import Request
from cardline.cde.http.throttle import (
    BASE_DELAY,
    FREE_GLOBAL,
    FREE_PER_SOURCE,
    MAX_DELAY,
    WINDOW_SECONDS,
    FailureThrottle,
)
from cardline.local import AUDIT_FILE, LocalStack, build_local
from tests.conftest import Running

WEBHOOK = "/v1/webhooks/paypal"
TWILIO = "/v1/twilio/pay"  # its credential is Twilio's basic auth (test_twilio_pay.py)
PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("POST", WEBHOOK), ("POST", TWILIO)}
BAD_CREDENTIALS = [
    None,
    "Bearer",
    "Bearer ",
    "Bearer not-a-key",
    "Bearer cl_" + "A" * 43,
    "Basic YWdlbnQ6c2VjcmV0",
    "bearer\tcl_x",
    "Bearer cl_x, Bearer cl_y",
]


@pytest.fixture
def stack(data_dir: Path) -> Iterator[LocalStack]:
    built = build_local(data_dir, environ={})
    try:
        yield built
    finally:
        built.close()


def _concrete(route: Route) -> str:
    return re.sub(r"\{\w+\}", "pay_0123456789abcdef01234567", route.template)


def _guarded(app: App) -> list[Route]:
    return [r for r in app.routes if not r.static and (r.method, r.template) not in PUBLIC]


def test_only_health_openapi_and_static_files_are_public(stack: LocalStack) -> None:
    public = {(r.method, r.template) for r in stack.app.routes if not r.authenticated}
    static = {(r.method, r.template) for r in stack.app.routes if r.static}
    assert public - static == PUBLIC
    assert all(method == "GET" for method, _ in static)
    assert len(_guarded(stack.app)) >= 4  # payments: take, list, read, refund


def test_static_routes_must_be_unauthenticated_gets() -> None:
    with pytest.raises(ValueError, match="static"):
        Route("POST", "/console/x", lambda call: None, role=roles.PUBLIC, static=True)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="static"):
        Route("GET", "/console/x", lambda call: None, role=roles.AGENT, static=True)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
def test_every_guarded_route_refuses_missing_and_invalid_credentials(
    stack: LocalStack, credential: str | None
) -> None:
    for number, route in enumerate(_guarded(stack.app)):
        headers = {"content-type": "application/json", "idempotency-key": "k-1"}
        if credential is not None:
            headers["authorization"] = credential
        request = Request(
            method=route.method,
            path=_concrete(route),
            headers=headers,
            body=b'{"amount": "1.00"}' if route.method == "POST" else b"",
            source_ip=f"192.0.2.{number + 1}",  # one address per route: no throttling here
        )
        answer = stack.app.handle(request)
        assert answer.status == 401, (route.method, route.template, credential)
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert json.loads(answer.body)["code"] == "unauthorized"


def test_the_public_routes_answer_without_credentials(stack: LocalStack) -> None:
    for route in stack.app.routes:
        if route.authenticated or route.template in (WEBHOOK, TWILIO):
            continue
        answer = stack.app.handle(Request(method="GET", path=_concrete(route)))
        assert answer.status == 200, route.template


def test_the_paypal_webhook_needs_no_key_but_believes_only_what_paypal_verifies(
    stack: LocalStack,
) -> None:
    # Its credential is PayPal's verification of the delivery (tests/webhooks): without
    # one, a caller with or without an operator key is refused, and nothing is recorded.
    for credential in (None, "Bearer not-a-key"):
        headers = {"content-type": "application/json"}
        if credential is not None:
            headers["authorization"] = credential
        request = Request("POST", WEBHOOK, headers=headers, body=b'{"id": "WH-1"}')
        answer = stack.app.handle(request)
        assert answer.status == 400
        assert json.loads(answer.body)["code"] == "webhook_not_verified"


def test_repeated_bad_keys_are_slowed_audited_in_aggregate_and_never_block_a_good_key(
    running: Running,
) -> None:
    client = running.client
    for _ in range(FREE_PER_SOURCE + 1):  # the last one waits BASE_DELAY
        bad = client.request(
            "GET", "/v1/payments", auth=False, headers={"Authorization": "Bearer x"}
        )
        assert bad.status == 401
        assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.request("GET", "/v1/payments").status == 200
    assert client.request("GET", "/health").status == 200
    running.stack.app.flush()
    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    failures = [e for e in events if e.type == audit.AUTH_FAILURE]
    assert len(failures) == 1
    assert failures[0].origin == "127.0.0.1"
    assert failures[0].details["count"] == FREE_PER_SOURCE + 1
    assert failures[0].details["delayed"] == 1
    assert failures[0].details["delay_seconds"] == BASE_DELAY
    assert failures[0].details["routes"] == {"GET /v1/payments": FREE_PER_SOURCE + 1}


class _Time:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_missing_credentials_are_not_delayed_and_spend_no_budget(stack: LocalStack) -> None:
    fake = _Time()
    throttle = FailureThrottle(clock=fake.clock, sleep=fake.sleep)
    app = App(stack.app.routes, stack.operators, stack.sink, throttle=throttle)
    for _ in range(FREE_GLOBAL + 5):
        assert app.handle(Request("GET", "/v1/payments", source_ip="192.0.2.9")).status == 401
    for _ in range(FREE_PER_SOURCE):
        bad = Request(
            "GET", "/v1/payments", headers={"authorization": "Bearer x"}, source_ip="192.0.2.9"
        )
        assert app.handle(bad).status == 401
    assert fake.slept == []
    app.close()  # its held failures written, its flusher ended, before the stack closes


def test_delays_double_per_failure_up_to_the_bound_and_lift_with_the_window() -> None:
    fake = _Time()
    throttle = FailureThrottle(clock=fake.clock, sleep=fake.sleep)
    delays = []
    for _ in range(FREE_PER_SOURCE + 8):
        delay = throttle.failure("a")
        throttle.wait(delay)
        delays.append(delay)
    assert delays[:FREE_PER_SOURCE] == [0.0] * FREE_PER_SOURCE
    assert delays[FREE_PER_SOURCE : FREE_PER_SOURCE + 4] == [
        BASE_DELAY,
        2 * BASE_DELAY,
        4 * BASE_DELAY,
        8 * BASE_DELAY,
    ]
    assert max(delays) == MAX_DELAY
    assert throttle.failure("b") == 0.0  # another address starts free
    fake.now += WINDOW_SECONDS + 1
    assert throttle.failure("a") == 0.0


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    fake = _Time()
    throttle = FailureThrottle(max_sources=100, clock=fake.clock, sleep=fake.sleep)
    for n in range(1000):
        throttle.wait(throttle.failure(f"198.51.100.{n}"))
    assert len(throttle._failures) == 100
