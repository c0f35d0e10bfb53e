"""The hosts' own refusals carry the security headers of every other answer.

The WSGI host (``cardline serve``) and the Lambda host answer some requests before the App
sees them: a body over the limit, an unreadable Content-Length or query string, an event
whose body is not valid base64. Those answers must carry the same headers as the App's.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.errors import InvalidRequest
from cardline.cde.http.app import App, Call, GatewayAuthenticator, Route
from cardline.cde.http.lambda_events import handle_event
from cardline.cde.http.messages import Response
from cardline.cde.roles import PUBLIC
from cardline.http.wsgi import wsgi_app
from tests.cards import VISA
from tests.unit.test_security_headers import API  # the literal header set, written once


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def _small_app() -> App:
    def echo(call: Call) -> Response:
        if call.request.body == b"refuse":
            raise InvalidRequest("refused", field="body")
        return Response(200, {"Content-Type": "application/json"}, b"{}")

    return App([Route("POST", "/echo", echo, role=PUBLIC)], GatewayAuthenticator(), _Events())


def _without_request_id(headers: dict[str, str]) -> dict[str, str]:
    found = dict(headers)
    request_id = found.pop("X-Request-Id")
    assert request_id
    return found


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_lambda_answers_carry_the_headers_the_app_set(version: str) -> None:
    for body, status, kind in (
        ("{}", 200, "application/json"),
        ("refuse", 422, "application/problem+json"),
    ):
        event = _event(version, body)
        answer = handle_event(_small_app(), event)
        assert answer["statusCode"] == status
        assert answer["headers"] == {**API, "Content-Type": kind, "X-Request-Id": "lambda-request"}


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_an_event_the_lambda_host_cannot_read_is_answered_with_the_security_headers(
    version: str,
) -> None:
    event = {**_event(version, "not base64!"), "isBase64Encoded": True}
    answer = handle_event(_small_app(), event)
    assert answer["statusCode"] == 400
    assert _without_request_id(answer["headers"]) == {
        **API,
        "Content-Type": "application/problem+json",
    }


def _event(version: str, body: str) -> dict[str, Any]:
    if version == "2.0":
        return {
            "version": "2.0",
            "rawPath": "/echo",
            "requestContext": {
                "http": {"method": "POST", "sourceIp": "192.0.2.1"},
                "requestId": "lambda-request",
                "stage": "$default",
            },
            "body": body,
        }
    return {
        "httpMethod": "POST",
        "path": "/echo",
        "requestContext": {"identity": {"sourceIp": "192.0.2.1"}, "requestId": "lambda-request"},
        "body": body,
    }


def _wsgi(environ: dict[str, Any]) -> tuple[str, dict[str, str]]:
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.append((status, headers))

    body = b"".join(wsgi_app(_small_app(), max_body=64)(environ, start_response))
    ((status, headers),) = seen
    found = dict(headers)
    assert found.pop("Content-Length") == str(len(body))
    return status, found


def _environ(body: bytes, **more: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/echo",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "192.0.2.1",
        **more,
    }


def test_wsgi_answers_carry_the_headers_the_app_set() -> None:
    status, headers = _wsgi(_environ(b"{}"))
    assert status == "200 OK"
    assert _without_request_id(headers) == {**API, "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param(_environ(b"x" * 65), id="oversize-body"),
        pytest.param(_environ(b"{}", CONTENT_LENGTH="two"), id="unreadable-content-length"),
        pytest.param(_environ(b"{}", QUERY_STRING="&".join(["a=1"] * 51)), id="unreadable-query"),
    ],
)
def test_a_request_the_wsgi_host_cannot_read_is_answered_with_the_security_headers(
    environ: dict[str, Any],
) -> None:
    status, headers = _wsgi(environ)
    assert status.split()[0] in ("400", "413")
    assert _without_request_id(headers) == {**API, "Content-Type": "application/problem+json"}


def test_the_base64_body_of_a_lambda_event_is_read() -> None:
    event = {**_event("2.0", base64.b64encode(b"refuse").decode()), "isBase64Encoded": True}
    assert handle_event(_small_app(), event)["statusCode"] == 422


# --------------------------------------------------------------------------- one answer path


def _unreadable_events(version: str) -> dict[str, dict[str, Any]]:
    """Events the Lambda host refuses before the App sees a request, each naming its
    request id as API Gateway does."""
    readable = _event(version, "{}")
    no_method = _event(version, "{}")
    no_method.pop("httpMethod", None)
    no_method.pop("rawPath", None)
    return {
        "bad-base64": {**_event(version, "not base64!"), "isBase64Encoded": True},
        "body-not-text": {**readable, "body": {"a": 1}},
        "no-method-or-path": no_method,
    }


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("kind", ["bad-base64", "body-not-text", "no-method-or-path"])
def test_an_unreadable_event_is_answered_as_the_app_answers_an_unreadable_body(
    version: str, kind: str
) -> None:
    # The App's own 400 for a body that is not JSON: the answer every refusal must match.
    app_refusal = handle_event(_json_app(), {**_event(version, "{"), "headers": _JSON})
    assert app_refusal["statusCode"] == 400
    answer = handle_event(_json_app(), _unreadable_events(version)[kind])
    assert answer["statusCode"] == 400
    assert answer["headers"] == app_refusal["headers"]
    assert answer["headers"]["X-Request-Id"] == "lambda-request"
    body, expected = json.loads(answer["body"]), json.loads(app_refusal["body"])
    assert body.keys() - {"field"} == expected.keys() - {"field"}
    assert body["instance"] == expected["instance"] == "urn:cardline:request:lambda-request"
    assert answer.keys() == app_refusal.keys()


_JSON = {"content-type": "application/json"}


def _json_app() -> App:
    def read(call: Call) -> Response:
        call.request.json()
        return Response(200, {"Content-Type": "application/json"}, b"{}")

    return App([Route("POST", "/echo", read, role=PUBLIC)], GatewayAuthenticator(), _Events())


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize(
    "request_id",
    [
        pytest.param(VISA, id="a-card-number"),
        pytest.param(int(VISA), id="a-number"),
        pytest.param(f"ref-{VISA}", id="a-card-number-inside"),
        pytest.param("a\r\nSet-Cookie: x=1", id="a-header-injection"),
        pytest.param("r" * 2000, id="too-long"),
        pytest.param({"id": "x"}, id="an-object"),
        pytest.param("", id="empty"),
    ],
)
@pytest.mark.parametrize("readable", [True, False], ids=["readable", "unreadable"])
def test_a_request_id_the_event_should_not_carry_is_never_echoed(
    version: str, request_id: Any, readable: bool
) -> None:
    event = _event(version, "{}")
    event["requestContext"] = {**event["requestContext"], "requestId": request_id}
    if not readable:
        event["isBase64Encoded"] = True
        event["body"] = "not base64!"
    answer = handle_event(_small_app(), event)
    assert answer["statusCode"] == (200 if readable else 400)
    ours = answer["headers"]["X-Request-Id"]
    assert ours.isalpha()  # one of our own ids (cardline.cde.ids)
    assert len(ours) == 32
    assert request_id == "" or str(request_id) not in answer["body"]
    assert VISA not in json.dumps(answer)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize(
    "request_id", ["c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "JKJaXmPLvHcESHA=", "list-1"]
)
def test_api_gateways_own_request_ids_are_kept(version: str, request_id: str) -> None:
    for body, base64_encoded in (("{}", False), ("not base64!", True)):
        event = {**_event(version, body), "isBase64Encoded": base64_encoded}
        event["requestContext"] = {**event["requestContext"], "requestId": request_id}
        assert handle_event(_small_app(), event)["headers"]["X-Request-Id"] == request_id
