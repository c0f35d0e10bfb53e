"""The local service end to end: waitress, the application, the emulator over loopback, SQLite."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cardline.cde import audit
from cardline.cde.request_rules import paypal_request_id_for
from cardline.http.backoffice_routes import openapi_document
from cardline.http.console_routes import CONSOLE_FILES, console_routes
from cardline.ledger.projector import rebuild
from cardline.ledger.sqlite import SqliteLedger
from cardline.local import AUDIT_FILE
from tests.cards import AMEX, AMEX_CVV, MISTYPED_VISA, TEST_CVVS, TEST_PANS, VISA, payment
from tests.conftest import Answer, Running
from tests.seeded import unique

pytestmark = pytest.mark.slow


def _schema(name: str) -> OAS31Validator:
    document = openapi_document()
    registry: Registry[Any] = Registry().with_resource(
        "urn:cardline:openapi", Resource(contents=document, specification=DRAFT202012)
    )
    schema = {"$ref": f"urn:cardline:openapi#/components/schemas/{name}"}
    return OAS31Validator(schema, registry=registry)


def _no_card_data(answer: Answer) -> None:
    for pan in TEST_PANS:
        assert pan.encode() not in answer.body
    assert b"security_code" not in answer.body


def _operator_id(running: Running) -> str:
    return running.stack.operators.list()[0].id


def test_approved_payment_answers_201_with_last4_only(running: Running) -> None:
    answer = running.client.pay(payment(VISA))
    assert answer.status == 201
    body = answer.json()
    _schema("Payment").validate(body)
    assert body["status"] == "approved"
    assert body["last4"] == "1881"
    assert body["brand"] == "VISA"
    assert body["paypal_capture_id"]
    assert answer.headers["Location"] == f"/v1/payments/{body['id']}"
    assert answer.headers["Cache-Control"] == "no-store"
    _no_card_data(answer)


def test_ccreject_name_is_declined_with_insufficient_funds(running: Running) -> None:
    answer = running.client.pay(payment(VISA, name="CCREJECT-IF"))
    assert answer.status == 201
    body = answer.json()
    assert body["status"] == "declined"
    assert body["decline_code"] == "5120"
    assert body["decline_reason"] == "INSUFFICIENT_FUNDS"
    assert body["message"]


def test_same_idempotency_key_returns_same_payment_and_one_capture(running: Running) -> None:
    key = unique("retry-")
    before = running.stack.emulator.capture_count()  # type: ignore[union-attr]
    first = running.client.pay(payment(VISA), key)
    second = running.client.pay(payment(VISA), key)
    assert first.status == second.status == 201
    assert first.json() == second.json()
    request_id = paypal_request_id_for(_operator_id(running), key)
    assert len(running.stack.emulator.captures_for(request_id)) == 1  # type: ignore[union-attr]
    assert running.stack.emulator.capture_count() == before + 1  # type: ignore[union-attr]


def test_same_key_with_a_different_request_is_refused(running: Running) -> None:
    key = unique("reuse-")
    assert running.client.pay(payment(VISA, amount="10.00"), key).status == 201
    answer = running.client.pay(payment(VISA, amount="99.00"), key)
    assert answer.status == 409
    assert answer.json()["code"] == "idempotency_conflict"


def test_amex_needs_four_digit_code_and_is_approved(running: Running) -> None:
    answer = running.client.pay(payment(AMEX, code=AMEX_CVV))
    assert answer.status == 201
    assert answer.json()["brand"] == "AMEX"
    wrong = running.client.pay(payment(AMEX, code="123"))
    assert wrong.status == 422
    assert wrong.json()["field"] == "card.security_code"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (payment(MISTYPED_VISA), {}, 422, "invalid_card"),
        (payment(VISA, amount="12.505"), {}, 422, "invalid_amount"),
        (payment(VISA, currency="XYZ"), {}, 422, "invalid_amount"),
        (payment(VISA, expiry="01/20"), {}, 422, "invalid_card"),
        ({**payment(VISA), "surprise": 1}, {}, 422, "invalid_request"),
        ([1, 2, 3], {}, 422, "invalid_request"),
    ],
)
def test_bad_payment_requests_get_problem_answers_without_card_data(
    running: Running, body: Any, headers: dict[str, str], status: int, code: str
) -> None:
    answer = running.client.pay(body)
    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    _schema("Problem").validate(problem)
    assert problem["code"] == code
    _no_card_data(answer)


def test_float_amount_is_refused(running: Running) -> None:
    body = payment(VISA)
    raw = json.dumps(body).replace('"12.50"', "12.5").encode()
    answer = running.client.request(
        "POST",
        "/v1/payments",
        raw=raw,
        headers={"Content-Type": "application/json"},
        idempotency_key="float-1",
    )
    assert answer.status == 422
    assert answer.json()["field"] == "amount"


def test_transport_errors(running: Running) -> None:
    raw = json.dumps(payment(VISA)).encode()
    wrong_type = running.client.request(
        "POST", "/v1/payments", raw=raw, headers={"Content-Type": "text/plain"}, idempotency_key="t"
    )
    assert wrong_type.status == 415
    broken = running.client.request(
        "POST",
        "/v1/payments",
        raw=raw[:-9],
        headers={"Content-Type": "application/json"},
        idempotency_key="b",
    )
    assert broken.status == 400
    _no_card_data(broken)
    huge = running.client.request(
        "POST",
        "/v1/payments",
        raw=b"{" + b" " * 20000 + b"}",
        headers={"Content-Type": "application/json"},
        idempotency_key="h",
    )
    assert huge.status == 413
    no_key = running.client.request("POST", "/v1/payments", payment(VISA))
    assert no_key.status == 422
    assert no_key.json()["field"] == "Idempotency-Key"
    assert running.client.request("DELETE", "/v1/payments").status == 405
    assert running.client.request("GET", "/nowhere").status == 404


def test_routes_need_a_valid_operator_key_and_failures_are_audited(running: Running) -> None:
    client = running.client
    for path in ("/v1/payments", "/v1/payments/pay_x"):
        assert client.request("GET", path, auth=False).status == 401
        bad = client.request("GET", path, auth=False, headers={"Authorization": "Bearer nope"})
        assert bad.status == 401
        assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.request("POST", "/v1/payments", payment(VISA), auth=False).status == 401
    assert client.request("GET", "/health", auth=False).status == 200
    assert client.request("GET", "/openapi.json", auth=False).status == 200
    running.stack.app.flush()  # failed attempts are written per source and interval
    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    failures = [e for e in events if e.type == audit.AUTH_FAILURE]
    assert sum(e.details["count"] for e in failures) == 5
    assert all(e.outcome == "failure" and e.origin == "127.0.0.1" for e in failures)


def test_list_get_and_refund_in_part_then_in_full(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA, amount="20.00")).json()
    client.pay(payment(VISA, name="CCREJECT-IF"))
    part = client.request(
        "POST", f"/v1/payments/{paid['id']}/refunds", {"amount": "5.00"}, idempotency_key="r1"
    )
    assert part.status == 201, part.body
    _schema("Refund").validate(part.json())
    assert part.json()["amount"] == "5.00"
    assert client.request("GET", f"/v1/payments/{paid['id']}").json()["status"] == (
        "partially_refunded"
    )
    too_much = client.request(
        "POST", f"/v1/payments/{paid['id']}/refunds", {"amount": "15.01"}, idempotency_key="r2"
    )
    assert too_much.status == 422
    rest = client.request("POST", f"/v1/payments/{paid['id']}/refunds", idempotency_key="r3")
    assert rest.status == 201, rest.body
    assert rest.json()["amount"] == "15.00"
    detail = client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert detail["status"] == "refunded"
    assert [r["amount"] for r in detail["refunds"]] == ["5.00", "15.00"]

    declined = client.request("GET", "/v1/payments?status=declined").json()
    assert [p["status"] for p in declined["items"]] == ["declined"]
    first = client.request("GET", "/v1/payments?limit=1").json()
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    second = client.request("GET", f"/v1/payments?limit=1&cursor={first['next_cursor']}").json()
    assert second["items"][0]["id"] != first["items"][0]["id"]
    today = client.request("GET", "/v1/payments?since=2000-01-01&until=2999-01-01").json()
    assert len(today["items"]) == 2
    assert client.request("GET", "/v1/payments?status=bogus").status == 422
    assert client.request("GET", "/v1/payments/pay_missing").status == 404


def test_ledger_rebuilt_from_the_audit_file_matches_the_live_one(running: Running) -> None:
    client = running.client
    paid = client.pay(payment(VISA)).json()
    client.pay(payment(VISA, name="CCREJECT-SF"))
    client.request(
        "POST", f"/v1/payments/{paid['id']}/refunds", {"amount": "1.00"}, idempotency_key="rb"
    )
    live = running.stack.ledger.list_payments(limit=100).items
    rebuilt_ledger = SqliteLedger(":memory:")
    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    rebuild(rebuilt_ledger, events)
    assert rebuilt_ledger.list_payments(limit=100).items == live
    # Replaying twice changes nothing: projection is idempotent by event id.
    assert rebuild(rebuilt_ledger, events)[0] == 0
    assert rebuilt_ledger.list_payments(limit=100).items == live


def test_audit_events_carry_pci_10_2_2_fields_and_no_card_data(running: Running) -> None:
    running.client.pay(payment(VISA))
    running.client.pay(payment(VISA, name="CCREJECT-IF"))
    path = running.stack.data_dir / AUDIT_FILE
    events = list(audit.read_events(path))
    payments = [e for e in events if e.type == audit.PAYMENT]
    assert [e.outcome for e in payments] == ["success", "failure"]
    for event in events:
        record = event.to_dict()
        for field in ("event_id", "type", "time", "operator", "outcome", "origin", "resource"):
            assert record[field]
    text = path.read_text()
    assert not any(pan in text for pan in TEST_PANS)
    assert not any(f'"{cvv}"' in text for cvv in TEST_CVVS)


def test_every_route_is_documented_in_the_openapi_document(running: Running) -> None:
    document = running.client.request("GET", "/openapi.json", auth=False).json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    # The console's static files are a web page, not part of the API the document describes
    # (on AWS the gateway generator adds them itself: cardline.deploy.gateway.STATIC).
    console = {(route.method, route.template) for route in console_routes()}
    static = {(route.method, route.template) for route in running.stack.app.routes if route.static}
    served = {(route.method, route.template) for route in running.stack.app.routes}
    assert {("GET", path) for path in CONSOLE_FILES} < console
    assert console == static
    assert documented == served - static


def test_the_payment_names_its_agent_and_carries_the_ivrs_confirmation_code(
    running: Running,
) -> None:
    from cardline.cde.confirmation import confirmation_code

    charged = running.client.pay(payment(VISA)).json()
    assert charged["confirmation_code"] == confirmation_code(charged["id"])
    shown = running.client.request("GET", f"/v1/payments/{charged['id']}").json()
    _schema("Payment").validate(shown)
    assert shown["operator"] == _operator_id(running)
    assert shown["operator_name"] == "agent-test"
    assert shown["confirmation_code"] == charged["confirmation_code"]
    me = running.client.request("GET", "/v1/operator").json()
    assert me == {"operator": _operator_id(running), "name": "agent-test", "role": "supervisor"}


@pytest.mark.parametrize("text", [VISA, f"order {VISA[:8]} {VISA[8:]}", "x" * 128, "a\nb", " "])
def test_a_search_holding_a_card_number_or_junk_is_refused_without_echo(
    running: Running, text: str
) -> None:
    from urllib.parse import quote

    answer = running.client.request("GET", f"/v1/payments?search={quote(text)}")
    assert answer.status == 422
    assert answer.json()["field"] == "search"
    _no_card_data(answer)
    assert quote(text).encode() not in answer.body
