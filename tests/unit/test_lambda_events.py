"""API Gateway REST (v1) and HTTP API (v2) events in and out; junk never crashes a handler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardline.cde.audit import StreamSink
from cardline.cde.http.app import App, Call, Route
from cardline.cde.http.lambda_events import handle_event, request_from_event
from cardline.cde.http.messages import Response, json_response
from cardline.cde.roles import AGENT

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _echo_app() -> App:
    def echo(call: Call) -> Response:
        return json_response(
            200,
            {
                "operator": call.operator,
                "params": call.params,
                "query": call.request.query,
                "body": call.request.body.decode(),
                "ip": call.request.source_ip,
            },
        )

    import io

    return App.on_lambda(  # as a function builds it: failed attempts written at once
        [
            Route("POST", "/v1/payments/{id}/refunds", echo, role=AGENT),
            Route("GET", "/v1/payments", echo, role=AGENT),
        ],
        StreamSink(io.StringIO()),
    )


def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_rest_v1_event_is_translated() -> None:
    event = {
        "httpMethod": "POST",
        "path": "/v1/payments/pay_1/refunds",
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": None,
        "body": '{"amount": "1.00"}',
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "r-1",
            "identity": {"sourceIp": "203.0.113.9"},
            "authorizer": {"claims": {"sub": "agent-sub-1"}},
        },
    }
    answer = handle_event(_echo_app(), event)
    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert body == {
        "operator": "agent-sub-1",
        "params": {"id": "pay_1"},
        "query": {},
        "body": '{"amount": "1.00"}',
        "ip": "203.0.113.9",
    }
    assert answer["headers"]["X-Request-Id"] == "r-1"


def test_http_api_v2_event_is_translated_with_stage_prefix_removed() -> None:
    event = {
        "version": "2.0",
        "rawPath": "/prod/v1/payments",
        "rawQueryString": "status=approved",
        "headers": {"authorization": "x"},
        "queryStringParameters": {"status": "approved"},
        "requestContext": {
            "stage": "prod",
            "http": {"method": "GET", "sourceIp": "198.51.100.7"},
            "authorizer": {"jwt": {"claims": {"sub": "agent-2"}}},
        },
        "isBase64Encoded": False,
    }
    answer = handle_event(_echo_app(), event)
    assert answer["statusCode"] == 200
    assert "multiValueHeaders" not in answer
    body = json.loads(answer["body"])
    assert body["operator"] == "agent-2"
    assert body["query"] == {"status": "approved"}


def test_missing_authorizer_identity_is_401() -> None:
    event = {"httpMethod": "GET", "path": "/v1/payments", "requestContext": {}}
    assert handle_event(_echo_app(), event)["statusCode"] == 401


def test_base64_body_is_decoded() -> None:
    import base64

    event = {
        "httpMethod": "POST",
        "path": "/v1/payments/p/refunds",
        "body": base64.b64encode(b"{}").decode(),
        "isBase64Encoded": True,
        "requestContext": {"authorizer": {"principalId": "machine-1"}},
    }
    request = request_from_event(event)
    assert request.body == b"{}"
    assert request.gateway_identity == "machine-1"


# The ivr function's scheduled key check is the one sample that is not an HTTP event.
KEY_CHECK_EVENT = "ivr-key-check.json"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in EVENTS.glob("*.json") if p.name != KEY_CHECK_EVENT)
)
def test_sample_events_are_understood(name: str) -> None:
    request = request_from_event(_load(name))
    assert request.method in {"GET", "POST"}
    assert request.path.startswith("/")


def test_the_sample_key_check_event_is_the_ivr_functions_schedule() -> None:
    from cardline.ivr.key_expiry_metric import stack_of

    assert stack_of(_load(KEY_CHECK_EVENT))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
event_keys = st.sampled_from(
    [
        "version",
        "httpMethod",
        "path",
        "rawPath",
        "headers",
        "body",
        "isBase64Encoded",
        "requestContext",
        "queryStringParameters",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.dictionaries(event_keys, json_values, max_size=9)))
def test_junk_events_never_crash_the_handler(event: Any) -> None:
    answer = handle_event(_echo_app(), event)
    assert 200 <= answer["statusCode"] < 600
    json.loads(answer["body"])
