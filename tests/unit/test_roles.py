"""The role mechanism: every route of every host declares the lowest role it needs, the
App refuses the others with a 403 naming it, the role comes from the operator store or
the Cognito groups API Gateway's authorizer vouched for (never from the request itself),
and the audit events of a request record its operator's role."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardline.cde import audit, roles
from cardline.cde.http.app import App, Call, GatewayAuthenticator, Route
from cardline.cde.http.charge_route import payment_route
from cardline.cde.http.lambda_events import handle_event, request_from_event
from cardline.cde.http.messages import Request, Response, json_response
from cardline.http.backoffice_routes import backoffice_routes
from cardline.http.console_routes import CognitoSignIn, console_routes
from cardline.ivr.session_routes import session_routes
from cardline.local import LocalStack, build_local

EVENTS = Path(__file__).resolve().parents[2] / "events"
# The routes only a supervisor (or an admin) may call. A route needing more than an agent
# is added here on purpose, never by accident.
SUPERVISOR_ROUTES = {
    ("POST", "/v1/payments/{id}/refunds"),
    ("GET", "/v1/payments/export"),
    ("GET", "/metrics"),
}


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


@pytest.fixture
def stack(data_dir: Path) -> Iterator[LocalStack]:
    built = build_local(data_dir, environ={})
    try:
        yield built
    finally:
        built.close()


def _never() -> Any:
    raise AssertionError("not called")


def _every_host(stack: LocalStack) -> dict[str, list[Route]]:
    cognito = CognitoSignIn("eu-west-1", "a" * 26)
    return {
        "local": stack.app.routes,
        "backoffice lambda": [
            *backoffice_routes(_never, _never, "sandbox"),
            *session_routes(_never),  # with the IVR sessions table
            *console_routes(cognito, ivr_sessions=True),
        ],
        "charge lambda": [payment_route(_never)],
    }


def test_every_route_of_every_host_declares_a_role(stack: LocalStack) -> None:
    for host, routes in _every_host(stack).items():
        for route in routes:
            assert route.role in (*roles.ROLES, roles.PUBLIC), (host, route.template)
            assert route.authenticated == (route.role != roles.PUBLIC)
        declared = {(r.method, r.template): r.role for r in routes}
        for key in SUPERVISOR_ROUTES & set(declared):
            assert declared[key] == roles.SUPERVISOR, (host, key)
        # Above an agent means a supervisor: no route is an admin's alone (yet).
        assert roles.ADMIN not in declared.values(), host
    (charge,) = _every_host(stack)["charge lambda"]
    assert charge.role == roles.AGENT  # every role may take payments


def test_a_route_cannot_be_made_without_a_role_or_with_one_that_is_not() -> None:
    def ok(call: Call) -> Response:
        return json_response(200, {})

    with pytest.raises(TypeError, match="role"):
        Route("GET", "/v1/x", ok)  # type: ignore[call-arg]
    for wrong in ("", "root", "Supervisor", "authenticated"):
        with pytest.raises(ValueError, match="role"):
            Route("GET", "/v1/x", ok, role=wrong)
    assert Route("GET", "/v1/x", ok, role=roles.SUPERVISOR).role == "supervisor"


def _concrete(template: str) -> str:
    return re.sub(r"\{\w+\}", "pay_abcdefghijklmnopqrstuvwx", template)


def test_an_agent_is_refused_every_route_above_their_role_before_it_runs(
    stack: LocalStack,
) -> None:
    _agent, key = stack.operators.add("ada", role=roles.AGENT)
    guarded = [r for r in stack.app.routes if not roles.allows(roles.AGENT, r.role)]
    assert {(r.method, r.template) for r in guarded} >= SUPERVISOR_ROUTES
    for route in guarded:
        answer = stack.app.handle(
            Request(
                route.method,
                _concrete(route.template),
                headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
                body=b'{"amount": "1.00"}' if route.method == "POST" else b"",
            )
        )
        assert answer.status == 403, route.template
        assert answer.headers["Content-Type"] == "application/problem+json"
        problem = json.loads(answer.body)
        assert (problem["code"], problem["role"]) == ("role_required", route.role)


@pytest.mark.parametrize(
    ("held", "needed", "allowed"),
    [
        ("agent", "agent", True),
        ("agent", "supervisor", False),
        ("agent", "admin", False),
        ("supervisor", "agent", True),
        ("supervisor", "supervisor", True),
        ("supervisor", "admin", False),
        ("admin", "supervisor", True),
        ("admin", "agent", True),
        ("public", "agent", False),
        ("", "agent", False),
        ("root", "agent", False),
        ("agent", "root", False),
        ("root", "public", True),
    ],
)
def test_the_roles_are_a_ladder_and_an_unknown_role_may_do_nothing(
    held: str, needed: str, allowed: bool
) -> None:
    assert roles.allows(held, needed) is allowed


@given(st.lists(st.sampled_from(["agent", "supervisor", "admin", "Admin", "ops", ""])))
def test_the_role_of_some_groups_is_the_highest_role_among_them(groups: list[str]) -> None:
    held = roles.highest(groups)
    known = [g for g in groups if g in roles.ROLES]
    assert held == (max(known, key=roles.ROLES.index) if known else roles.DEFAULT_ROLE)


def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def _with_groups(name: str, groups: object) -> dict[str, Any]:
    event = copy.deepcopy(_event(name))
    authorizer = event["requestContext"]["authorizer"]
    claims = authorizer["jwt"]["claims"] if "jwt" in authorizer else authorizer["claims"]
    claims["cognito:groups"] = groups
    return event


@pytest.mark.parametrize(
    ("name", "groups", "expected"),
    [
        ("refund-http-v2.json", "[supervisor]", ("supervisor",)),
        ("refund-http-v2.json", "[agent admin]", ("agent", "admin")),
        ("list-payments-rest-v1.json", "supervisor,agent", ("supervisor", "agent")),
        ("list-payments-rest-v1.json", "[admin, agent]", ("admin", "agent")),
        ("list-payments-rest-v1.json", ["supervisor"], ("supervisor",)),
        ("list-payments-rest-v1.json", "", ()),
        ("list-payments-rest-v1.json", 7, ()),
    ],
)
def test_the_cognito_groups_claim_is_read_in_each_form_api_gateway_passes_it(
    name: str, groups: object, expected: tuple[str, ...]
) -> None:
    assert request_from_event(_with_groups(name, groups)).gateway_groups == expected


def test_groups_count_only_with_the_authorizers_identity_and_never_from_headers() -> None:
    event = _with_groups("list-payments-rest-v1.json", "admin")
    del event["requestContext"]["authorizer"]["claims"]["sub"]
    assert request_from_event(event).gateway_groups == ()
    forged = copy.deepcopy(_event("list-payments-rest-v1.json"))
    forged["headers"].update({"cognito:groups": "admin", "X-Cardline-Role": "admin"})
    request = request_from_event(forged)
    assert GatewayAuthenticator().authenticate(request).role == roles.AGENT


def test_on_lambda_a_user_in_no_group_is_an_agent_and_a_supervisor_group_refunds() -> None:
    def answered(call: Call) -> Response:
        return json_response(200, {"role": call.role})

    app = App.on_lambda(
        [Route("POST", "/v1/payments/{id}/refunds", answered, role=roles.SUPERVISOR)], _Events()
    )
    plain = copy.deepcopy(_event("refund-http-v2.json"))
    del plain["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"]
    refused = handle_event(app, plain)
    assert refused["statusCode"] == 403
    assert json.loads(refused["body"])["role"] == "supervisor"
    allowed = handle_event(app, _event("refund-http-v2.json"))
    assert (allowed["statusCode"], json.loads(allowed["body"])) == (200, {"role": "supervisor"})


def test_the_events_a_request_writes_record_its_operators_role_and_only_theirs() -> None:
    events = _Events()

    def writes(call: Call) -> Response:
        for operator in (call.operator, "reconcile"):
            audit.record(
                events, audit.PAYMENT, operator=operator, outcome="ok", origin="o", resource="r"
            )
        raise RuntimeError("after writing")  # the role is forgotten however it ends

    class _Keys:
        def authenticate(self, request: Request) -> Any:
            from cardline.cde.http.app import Caller

            return Caller("op_boss", roles.SUPERVISOR)

    app = App([Route("POST", "/w", writes, role=roles.AGENT)], _Keys(), events)
    assert app.handle(Request("POST", "/w", headers={"authorization": "Bearer k"})).status == 500
    audit.record(events, audit.PAYMENT, operator="op_boss", outcome="ok", origin="o", resource="r")
    assert [e.role for e in events.events] == ["supervisor", "", ""]


def test_an_events_role_survives_its_line_and_an_event_without_one_keeps_its_old_line() -> None:
    with_role = audit.AuditEvent("refund", "op_a", "ok", "o", "r", {}, "e", "t", role="agent")
    line = with_role.to_json()
    assert json.loads(line) == {**with_role.to_dict(), "role": "agent"}
    assert audit.AuditEvent.from_dict(json.loads(line)) == with_role
    without = audit.AuditEvent("refund", "op_a", "ok", "o", "r", {}, "e", "t")
    assert "role" not in without.to_json()
    assert json.loads(without.to_json()) == without.to_dict()
    assert audit.AuditEvent.from_dict(json.loads(without.to_json())).role == ""


def test_the_openapi_document_names_the_role_each_route_declares(stack: LocalStack) -> None:
    from cardline.http.backoffice_routes import openapi_document

    documented = {
        (method.upper(), path): operation
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    }
    served = {(r.method, r.template): r for r in stack.app.routes if not r.static}
    assert set(documented) <= set(served)
    for key, operation in documented.items():
        role = served[key].role
        assert operation["x-cardline-role"] == role, key
        assert ("403" in operation["responses"]) == (role != roles.PUBLIC), key
        assert (operation.get("security") == []) == (role == roles.PUBLIC), key
