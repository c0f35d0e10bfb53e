"""Roles over HTTP: an agent takes payments and reads their own; a supervisor refunds,
reads every payment and exports them; each refusal is a 403 naming the role needed, and
every audit event records the role its operator held."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.local import AUDIT_FILE
from tests.cards import AMEX, TEST_PANS, VISA, payment
from tests.conftest import Client, Running


def _client(running: Running, name: str, role: str, artifacts: Path) -> Client:
    _operator, key = running.stack.operators.add(name, role=role)
    return Client(running.url, key, artifacts / "http-answers.log")


@pytest.fixture
def ada(running: Running, artifacts: Path) -> Client:
    return _client(running, "ada", "agent", artifacts)


@pytest.fixture
def grace(running: Running, artifacts: Path) -> Client:
    return _client(running, "grace", "agent", artifacts)


@pytest.fixture
def boss(running: Running, artifacts: Path) -> Client:
    return _client(running, "boss", "supervisor", artifacts)


def _paid(client: Client, **terms: object) -> str:
    answer = client.pay(payment(**terms))  # type: ignore[arg-type]
    assert answer.status == 201, answer.body
    payment_id: str = answer.json()["id"]
    return payment_id


def _refund(client: Client, payment_id: str) -> int:
    return client.request(
        "POST",
        f"/v1/payments/{payment_id}/refunds",
        {"amount": "1.00"},
        idempotency_key=str(uuid.uuid4()),
    ).status


def _events(running: Running) -> list[audit.AuditEvent]:
    return list(audit.read_events(running.stack.data_dir / AUDIT_FILE))


def _refused(answer_body: bytes, role: str) -> None:
    problem = json.loads(answer_body)
    assert (problem["status"], problem["code"], problem["role"]) == (403, "role_required", role)
    assert role in problem["detail"]


def test_an_agent_gets_403_on_refund_and_the_payment_stays_unrefunded(
    running: Running, ada: Client
) -> None:
    paid = _paid(ada)
    answer = ada.request(
        "POST", f"/v1/payments/{paid}/refunds", {"amount": "1.00"}, idempotency_key="r-1"
    )
    assert answer.status == 403
    assert answer.headers["Content-Type"] == "application/problem+json"
    _refused(answer.body, "supervisor")
    assert ada.request("GET", f"/v1/payments/{paid}").json()["refunded_amount"] == "0"
    refusals = [e for e in _events(running) if e.type == audit.ROLE_REFUSED]
    assert [(e.resource, e.role, e.details["role_required"]) for e in refusals] == [
        ("POST /v1/payments/{id}/refunds", "agent", "supervisor")
    ]
    assert not [e for e in _events(running) if e.type == audit.REFUND]


def test_an_agent_gets_403_on_another_agents_payment_and_reads_their_own(
    ada: Client, grace: Client
) -> None:
    adas = _paid(ada)
    graces = _paid(grace, number=AMEX, code="1234")
    assert ada.request("GET", f"/v1/payments/{adas}").status == 200
    answer = ada.request("GET", f"/v1/payments/{graces}")
    assert answer.status == 403
    _refused(answer.body, "supervisor")
    assert b"8431" not in answer.body  # nothing of the payment
    assert graces.encode() not in answer.body


def test_an_agent_lists_only_their_own_payments_and_a_supervisor_all(
    ada: Client, grace: Client, boss: Client
) -> None:
    adas = {_paid(ada), _paid(ada)}
    graces = {_paid(grace)}
    assert {p["id"] for p in ada.request("GET", "/v1/payments").json()["items"]} == adas
    assert {p["id"] for p in grace.request("GET", "/v1/payments").json()["items"]} == graces
    # Paging and search cannot widen an agent's view either.
    first = ada.request("GET", "/v1/payments?limit=1").json()
    second = ada.request("GET", f"/v1/payments?limit=1&cursor={first['next_cursor']}").json()
    assert {first["items"][0]["id"], second["items"][0]["id"]} == adas
    assert ada.request("GET", "/v1/payments?search=1881").json()["items"] != []
    assert grace.request("GET", "/v1/payments?search=ada").json()["items"] == []
    everyone = {p["id"] for p in boss.request("GET", "/v1/payments").json()["items"]}
    assert everyone == adas | graces


def test_a_supervisor_refunds_and_reads_any_payment_and_events_record_each_role(
    running: Running, ada: Client, boss: Client
) -> None:
    paid = _paid(ada)
    assert boss.request("GET", f"/v1/payments/{paid}").status == 200
    assert _refund(boss, paid) == 201
    assert boss.request("GET", f"/v1/payments/{paid}").json()["refunded_amount"] == "1.00"
    roles = {(e.type, e.role) for e in _events(running) if e.resource.startswith("pay_")}
    assert roles == {(audit.PAYMENT, "agent"), (audit.REFUND, "supervisor")}


def test_the_signed_in_operator_is_told_their_role(ada: Client, boss: Client) -> None:
    assert ada.request("GET", "/v1/operator").json()["role"] == "agent"
    assert boss.request("GET", "/v1/operator").json()["role"] == "supervisor"


def test_an_agent_gets_403_on_the_export(ada: Client) -> None:
    answer = ada.request("GET", "/v1/payments/export")
    assert answer.status == 403
    _refused(answer.body, "supervisor")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_has_masked_cards_outcomes_and_refunds_and_never_a_card_number(
    ada: Client, boss: Client
) -> None:
    refunded = _paid(ada, number=VISA, amount="20.00")
    assert _refund(boss, refunded) == 201
    answer = boss.request("GET", "/v1/payments/export?since=2000-01-01")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.body.decode()
    rows = {row["id"]: row for row in _rows(text)}
    row = rows[refunded]
    assert row["card"] == "VISA ending 1881"
    assert (row["status"], row["refunded_amount"]) == ("partially_refunded", "1.00")
    assert row["refunds"] == "COMPLETED 1.00 USD"
    assert row["operator"]
    assert row["confirmation_code"]
    assert not [number for number in TEST_PANS if number in text]


def test_the_export_keeps_to_its_period_and_refuses_unknown_or_bad_bounds(
    ada: Client, boss: Client
) -> None:
    _paid(ada)
    future = _rows(boss.request("GET", "/v1/payments/export?since=2999-01-01").body.decode())
    assert future == []
    past = _rows(boss.request("GET", "/v1/payments/export?until=2000-01-01").body.decode())
    assert past == []
    assert boss.request("GET", "/v1/payments/export?status=approved").status == 422
    bad = boss.request("GET", "/v1/payments/export?since=yesterday")
    assert (bad.status, bad.json()["field"]) == (422, "since")


@pytest.mark.parametrize(
    "reference",
    [
        '=HYPERLINK("http://attacker.example","click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)",
    ],
)
def test_a_reference_that_is_a_formula_is_exported_as_text(
    ada: Client, boss: Client, reference: str
) -> None:
    paid = _paid(ada, reference=reference)
    text = boss.request("GET", "/v1/payments/export").body.decode()
    (row,) = [row for row in _rows(text) if row["id"] == paid]
    assert row["reference"] == "'" + reference
    for cell_row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cell_row)


def test_operators_made_without_a_role_may_not_read_or_refund_each_others_payments(
    running: Running, artifacts: Path
) -> None:
    """The defect roles fix: every operator could read and refund every other's payment."""
    keys = [running.stack.operators.add(name)[1] for name in ("first", "second")]
    first, second = (Client(running.url, key, artifacts / "http-answers.log") for key in keys)
    paid = _paid(first)
    assert second.request("GET", f"/v1/payments/{paid}").status == 403
    assert _refund(second, paid) == 403
    assert _refund(first, paid) == 403  # refunds are a supervisor's, even of one's own
