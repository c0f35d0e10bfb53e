"""Reauthorizing an authorization after PayPal's honour period, end to end on the local
stack (each test's own: its emulator's clock is moved on by days)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.ledger.projector import rebuild
from cardline.ledger.sqlite import SqliteLedger
from cardline.local import AUDIT_FILE
from tests.cards import VISA, payment
from tests.conftest import Client, Running

pytestmark = pytest.mark.slow


def _authorize(running: Running, amount: str = "30.00") -> dict[str, Any]:
    body = payment(VISA, amount=amount)
    body["intent"] = "AUTHORIZE"
    answer = running.client.pay(body)
    assert answer.status == 201, answer.body
    return dict(answer.json())


def _post(running: Running, path: str, key: str, body: Any = None) -> Any:
    return running.client.request("POST", path, body, idempotency_key=key)


def _payment(running: Running, payment_id: str) -> dict[str, Any]:
    return dict(running.client.request("GET", f"/v1/payments/{payment_id}").json())


def test_reauthorize_after_the_honour_period_then_capture_the_new_hold(running: Running) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    paid = _authorize(running)
    path = f"/v1/payments/{paid['id']}/reauthorize"

    soon = _post(running, path, "r0")
    assert soon.status == 422, soon.body
    assert "fourth day" in soon.json()["detail"]
    assert "REAUTHORIZATION_TOO_SOON" not in soon.body.decode()  # words, not PayPal's names
    before = _payment(running, paid["id"])

    emulator.advance_clock(days=4)
    made = _post(running, path, "r1")
    assert made.status == 201, made.body
    reauthorization = made.json()
    assert (reauthorization["kind"], reauthorization["status"]) == ("reauthorization", "CREATED")
    assert reauthorization["amount"] == "30.00"
    assert _post(running, path, "r1").json() == reauthorization  # a replay

    shown = _payment(running, paid["id"])
    assert shown["reauthorization_id"] == reauthorization["paypal_capture_id"]
    assert shown["reauthorization_id"] != shown["paypal_authorization_id"]
    assert shown["authorization_honoured_until"] > before["authorization_honoured_until"]
    assert shown["authorization_expires_at"] == before["authorization_expires_at"]
    assert shown["status"] == "authorized"

    twice = _post(running, path, "r2")
    assert twice.status == 422
    assert "once" in twice.json()["detail"]

    captured = _post(running, f"/v1/payments/{paid['id']}/capture", "c1")
    assert captured.status == 201, captured.body
    assert _payment(running, paid["id"])["status"] == "captured"
    moved = [c for c in emulator.all_captures() if c["status"] == "COMPLETED"]
    assert [c["amount"]["value"] for c in moved] == ["30.00"]


def test_void_after_reauthorizing_releases_the_hold_and_a_key_is_one_request(
    running: Running,
) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    paid = _authorize(running, "12.00")
    other = _authorize(running, "13.00")
    emulator.advance_clock(days=5)
    assert _post(running, f"/v1/payments/{paid['id']}/reauthorize", "r1").status == 201
    reused = _post(running, f"/v1/payments/{other['id']}/reauthorize", "r1")
    assert (reused.status, reused.json()["code"]) == (409, "idempotency_conflict")

    void = _post(running, f"/v1/payments/{paid['id']}/void", "v1")
    assert void.status == 201, void.body
    assert _payment(running, paid["id"])["status"] == "voided"
    late = _post(running, f"/v1/payments/{paid['id']}/capture", "c1")
    assert late.status == 422
    assert [c for c in emulator.all_captures() if c["status"] == "COMPLETED"] == []

    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    kinds = [
        (e.type, e.details.get("status"), e.outcome)
        for e in events
        if e.type == audit.REAUTHORIZATION
    ]
    assert kinds == [
        ("reauthorization", "CREATED", "success"),
        ("reauthorization", "rejected", "failure"),
    ]
    fresh = SqliteLedger(":memory:")
    rebuild(fresh, events)
    assert fresh.get_payment(paid["id"]) == running.stack.ledger.get_payment(paid["id"])


def test_only_an_untouched_authorization_is_reauthorized(running: Running) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    at_once = running.client.pay(payment(VISA)).json()
    answer = _post(running, f"/v1/payments/{at_once['id']}/reauthorize", "r1")
    assert answer.status == 422
    assert "Only an authorization" in answer.json()["detail"]

    part = _authorize(running, "20.00")
    assert (
        _post(running, f"/v1/payments/{part['id']}/capture", "c1", {"amount": "5.00"}).status == 201
    )
    emulator.advance_clock(days=4)
    answer = _post(running, f"/v1/payments/{part['id']}/reauthorize", "r2")
    assert answer.status == 422
    assert "nothing was captured" in answer.json()["detail"]
    assert (
        _post(running, f"/v1/payments/{part['id']}/reauthorize", "r3", {"amount": "1"}).status
        == 422
    )
    assert running.client.request("POST", f"/v1/payments/{part['id']}/reauthorize").status == 422


def test_an_agent_may_not_reauthorize(running: Running, artifacts: Path) -> None:
    _operator, key = running.stack.operators.add("ada", role="agent")
    ada = Client(running.url, key, artifacts / "http-answers.log")
    body = payment(VISA)
    body["intent"] = "AUTHORIZE"
    paid = ada.pay(body).json()
    answer = ada.request(
        "POST", f"/v1/payments/{paid['id']}/reauthorize", idempotency_key=str(uuid.uuid4())
    )
    assert answer.status == 403
    assert (answer.json()["code"], answer.json()["role"]) == ("role_required", "supervisor")
