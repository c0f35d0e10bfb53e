"""Credentials on every route, and throttling of repeated bad keys.

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

from cardline import audit
from cardline.http.app import App, Route
from cardline.http.messages import Request
from cardline.http.throttle import FAILURE_LIMIT, FailureThrottle, Throttled
from cardline.local import AUDIT_FILE, LocalStack, build_local
from tests.conftest import Running

PUBLIC = {("GET", "/health"), ("GET", "/openapi.json")}
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
        Route("POST", "/console/x", lambda call: None, authenticated=False, static=True)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="static"):
        Route("GET", "/console/x", lambda call: None, static=True)  # type: ignore[arg-type,return-value]


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
        if route.authenticated:
            continue
        answer = stack.app.handle(Request(method="GET", path=_concrete(route)))
        assert answer.status == 200, route.template


def test_repeated_bad_keys_are_throttled_per_address_and_audited(running: Running) -> None:
    client = running.client
    for _ in range(FAILURE_LIMIT):
        bad = client.request(
            "GET", "/v1/payments", auth=False, headers={"Authorization": "Bearer x"}
        )
        assert bad.status == 401
    throttled = client.request(
        "GET", "/v1/payments", auth=False, headers={"Authorization": "Bearer x"}
    )
    assert throttled.status == 429
    assert throttled.json()["code"] == "too_many_requests"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # While throttled even a good key waits: a guess cannot be told apart from it.
    assert client.request("GET", "/v1/payments").status == 429
    assert client.request("GET", "/health").status == 200
    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    assert [e.type for e in events].count(audit.AUTH_FAILURE) == FAILURE_LIMIT
    throttles = [e for e in events if e.type == audit.AUTH_THROTTLED]
    assert len(throttles) == 1
    assert throttles[0].origin == "127.0.0.1"
    # Another address is not affected.
    other = running.stack.app.handle(
        Request(
            method="GET",
            path="/v1/payments",
            headers={"authorization": f"Bearer {running.key}"},
            source_ip="192.0.2.99",
        )
    )
    assert other.status == 200


def test_missing_credentials_do_not_count_towards_the_throttle(running: Running) -> None:
    for _ in range(FAILURE_LIMIT + 5):
        assert running.client.request("GET", "/v1/payments", auth=False).status == 401
    assert running.client.request("GET", "/v1/payments").status == 200


def test_the_throttle_lifts_when_failures_leave_the_window() -> None:
    now = [1000.0]
    throttle = FailureThrottle(limit=3, window=60.0, clock=lambda: now[0])
    assert [throttle.failure("a") for _ in range(3)] == [False, False, True]
    with pytest.raises(Throttled) as refused:
        throttle.check("a")
    assert refused.value.headers["Retry-After"] == "60"
    throttle.check("b")
    now[0] += 30
    with pytest.raises(Throttled) as still:
        throttle.check("a")
    assert still.value.retry_after == 30
    now[0] += 30.5
    throttle.check("a")


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    throttle = FailureThrottle(limit=2, max_sources=100)
    for n in range(1000):
        throttle.failure(f"198.51.100.{n}")
    assert len(throttle._failures) == 100
