"""The exact headers of every kind of answer: API, console, errors, and the hosts' own refusals.

Every expectation is written out literally (not read from the code's constants), so that a
weakened policy fails here: a CSP directive dropped or widened, HSTS without subdomains,
a cacheable receipt, a host adapter answering without the security headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.http.app import App, Call, GatewayAuthenticator, Route
from cardline.cde.http.messages import Request, Response
from cardline.cde.roles import PUBLIC
from cardline.http.console_integrity import importmap_csp_source
from cardline.http.console_routes import CONSOLE_FILES, CognitoSignIn, console_routes
from cardline.local import LocalStack, build_local
from tests.cards import VISA, payment

REQUEST_ID = "req-fixed"

# Every answer of the API, success or error.
API = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
JSON = {**API, "Content-Type": "application/json", "X-Request-Id": REQUEST_ID}
PROBLEM = {**API, "Content-Type": "application/problem+json", "X-Request-Id": REQUEST_ID}

# The page's import map is its one inline script, allowed by its hash (console_integrity).
IMPORTMAP = importmap_csp_source()
LOCAL_CONSOLE_CSP = (
    f"default-src 'none'; script-src 'self' {IMPORTMAP}; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COGNITO_CONSOLE_CSP = (
    f"default-src 'none'; script-src 'self' {IMPORTMAP}; style-src 'self'; img-src 'self'; "
    "connect-src 'self' https://cognito-idp.eu-central-1.amazonaws.com; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _console(content_type: str, csp: str) -> dict[str, str]:
    return {
        **API,
        "Content-Security-Policy": csp,
        "Content-Type": content_type,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "X-Request-Id": REQUEST_ID,
    }


CONSOLE_TYPES = {
    "/": "text/html; charset=utf-8",
    "/console/console.js": "text/javascript; charset=utf-8",
    "/console/api.js": "text/javascript; charset=utf-8",
    "/console/dom.js": "text/javascript; charset=utf-8",
    "/console/session.js": "text/javascript; charset=utf-8",
    "/console/pay.js": "text/javascript; charset=utf-8",
    "/console/payments.js": "text/javascript; charset=utf-8",
    "/console/refund.js": "text/javascript; charset=utf-8",
    "/console/capture.js": "text/javascript; charset=utf-8",
    "/console/ivr.js": "text/javascript; charset=utf-8",
    "/console/checks.js": "text/javascript; charset=utf-8",
    "/console/sign_in.js": "text/javascript; charset=utf-8",
    "/console/console.css": "text/css; charset=utf-8",
    "/console/favicon.svg": "image/svg+xml",
    "/console/config.json": "application/json",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    built = build_local(tmp_path_factory.mktemp("headers"), environ={})
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def key(stack: LocalStack) -> str:
    return stack.operators.add("agent-headers", role="supervisor")[1]


def _ask(
    app: App,
    method: str,
    path: str,
    *,
    key: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    sent = dict(headers or {})
    if key is not None:
        sent["authorization"] = f"Bearer {key}"
    raw = b""
    if body is not None:
        sent.setdefault("content-type", "application/json")
        raw = json.dumps(body).encode()
    return app.handle(Request(method, path, headers=sent, body=raw, request_id=REQUEST_ID))


def test_a_payment_answer(stack: LocalStack, key: str) -> None:
    answer = _ask(
        stack.app,
        "POST",
        "/v1/payments",
        key=key,
        body=payment(VISA),
        headers={"idempotency-key": "h1"},
    )
    assert answer.status == 201
    location = answer.headers.pop("Location")
    assert location == f"/v1/payments/{answer.json()['id']}"
    assert answer.headers == JSON


def test_a_declined_payment_answer(stack: LocalStack, key: str) -> None:
    answer = _ask(
        stack.app,
        "POST",
        "/v1/payments",
        key=key,
        body=payment(VISA, name="CCREJECT-IF"),
        headers={"idempotency-key": "h2"},
    )
    assert answer.json()["status"] == "declined"
    answer.headers.pop("Location")
    assert answer.headers == JSON


def test_reading_listing_and_refunding_answers(stack: LocalStack, key: str) -> None:
    paid = _ask(
        stack.app,
        "POST",
        "/v1/payments",
        key=key,
        body=payment(VISA),
        headers={"idempotency-key": "h3"},
    ).json()
    answers = {
        "list": _ask(stack.app, "GET", "/v1/payments", key=key),
        "read": _ask(stack.app, "GET", f"/v1/payments/{paid['id']}", key=key),
        "refund": _ask(
            stack.app,
            "POST",
            f"/v1/payments/{paid['id']}/refunds",
            key=key,
            headers={"idempotency-key": "r1"},
        ),
        "health": _ask(stack.app, "GET", "/health"),
    }
    for what, answer in answers.items():
        answer.headers.pop("Location", None)
        assert answer.status in (200, 201), what
        assert answer.headers == JSON, what


def test_the_openapi_document_may_be_cached_for_five_minutes(stack: LocalStack) -> None:
    answer = _ask(stack.app, "GET", "/openapi.json")
    assert answer.headers == {**JSON, "Cache-Control": "public, max-age=300"}


def test_error_answers(stack: LocalStack, key: str) -> None:
    unauthenticated = _ask(stack.app, "GET", "/v1/payments")
    assert unauthenticated.status == 401
    assert unauthenticated.headers == {**PROBLEM, "WWW-Authenticate": 'Bearer realm="cardline"'}

    not_allowed = _ask(stack.app, "DELETE", "/v1/payments")
    assert not_allowed.status == 405
    assert not_allowed.headers == {**PROBLEM, "Allow": "GET, POST"}

    refused = {
        404: _ask(stack.app, "GET", "/nowhere"),
        422: _ask(
            stack.app,
            "POST",
            "/v1/payments",
            key=key,
            body=payment("4111"),
            headers={"idempotency-key": "h4"},
        ),
        415: _ask(
            stack.app,
            "POST",
            "/v1/payments",
            key=key,
            body=payment(VISA),
            headers={"idempotency-key": "h5", "content-type": "text/plain"},
        ),
        413: _ask(
            stack.app,
            "POST",
            "/v1/payments",
            key=key,
            body={"reference": "x" * 20_000},
            headers={"idempotency-key": "h6"},
        ),
    }
    for status, answer in refused.items():
        assert answer.status == status
        assert answer.headers == PROBLEM, status


def test_an_internal_error_answer() -> None:
    def broken(call: Call) -> Response:
        raise RuntimeError("a bug")

    app = App([Route("GET", "/broken", broken, role=PUBLIC)], GatewayAuthenticator(), _Events())
    answer = _ask(app, "GET", "/broken")
    assert answer.status == 500
    assert answer.headers == PROBLEM


@pytest.mark.parametrize("path", sorted(CONSOLE_TYPES))
def test_each_console_answer_locally(stack: LocalStack, path: str) -> None:
    answer = _ask(stack.app, "GET", path)
    assert answer.status == 200
    assert answer.headers == _console(CONSOLE_TYPES[path], LOCAL_CONSOLE_CSP)


def test_the_console_types_cover_every_console_file() -> None:
    assert sorted(CONSOLE_TYPES) == sorted([*CONSOLE_FILES, "/console/config.json"])


@pytest.mark.parametrize("path", sorted(CONSOLE_TYPES))
def test_each_console_answer_on_aws(path: str) -> None:
    cognito = CognitoSignIn("eu-central-1", "1abc2def3ghi4jkl5mno6pqr7s")
    app = App(console_routes(cognito), GatewayAuthenticator(), _Events())
    answer = _ask(app, "GET", path)
    assert answer.status == 200
    assert answer.headers == _console(CONSOLE_TYPES[path], COGNITO_CONSOLE_CSP)


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)
