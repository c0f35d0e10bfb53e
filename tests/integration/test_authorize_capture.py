"""Authorize, then capture or void; AVS/CVV words; the merchant rules, end to end on the
local stack (waitress, the application, the emulator over loopback, SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.local import AUDIT_FILE
from tests.cards import VISA, VISA_CVV_MISMATCH, payment
from tests.conftest import Client, Running, local_stack

pytestmark = pytest.mark.slow

RULES = {
    "cvv_mismatch": "refuse",
    "avs_no_match": "flag",
    "above_cap": "refuse",
    "caps": {"agent": {"USD": "100.00"}},
}


@pytest.fixture
def ruled(data_dir: Path, artifacts: Path) -> Iterator[Running]:
    with local_stack(data_dir, artifacts, {"CARDLINE_RULES": json.dumps(RULES)}) as stack:
        yield stack


def _authorize(running: Running, amount: str = "20.00", **card: Any) -> dict[str, Any]:
    body = payment(VISA, amount=amount)
    body["intent"] = "AUTHORIZE"
    body["card"].update(card)  # type: ignore[union-attr]
    answer = running.client.pay(body)
    assert answer.status == 201, answer.body
    return dict(answer.json())


def _post(running: Running, path: str, body: Any = None, key: str = "k") -> Any:
    return running.client.request("POST", path, body, idempotency_key=key)


def _payment(running: Running, payment_id: str) -> dict[str, Any]:
    return dict(running.client.request("GET", f"/v1/payments/{payment_id}").json())


def _money_moved(running: Running) -> list[str]:
    assert running.stack.emulator is not None
    return [
        c["amount"]["value"]
        for c in running.stack.emulator.all_captures()
        if c["status"] in ("COMPLETED", "PENDING")
    ]


def test_authorize_capture_part_then_the_rest_each_idempotent(running: Running) -> None:
    paid = _authorize(running)
    shown = _payment(running, paid["id"])
    assert shown["status"] == "authorized"
    assert shown["authorization_expires_at"]
    assert shown["authorization_honoured_until"]
    assert shown["authorization_honoured_until"] < shown["authorization_expires_at"]

    part = _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "5.00"}, "c1")
    assert part.status == 201, part.body
    assert (part.json()["status"], part.json()["amount"]) == ("COMPLETED", "5.00")
    again = _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "5.00"}, "c1")
    assert again.status == 201
    assert again.json()["paypal_capture_id"] == part.json()["paypal_capture_id"]
    other = _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "6.00"}, "c1")
    assert (other.status, other.json()["code"]) == (409, "idempotency_conflict")
    assert _payment(running, paid["id"])["status"] == "partially_captured"

    too_much = _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "15.01"}, "c2")
    assert too_much.status == 422
    rest = _post(running, f"/v1/payments/{paid['id']}/capture", None, "c3")
    assert rest.status == 201, rest.body
    assert (rest.json()["amount"], rest.json()["final_capture"]) == ("15.00", True)
    assert _post(running, f"/v1/payments/{paid['id']}/capture", None, "c3").json() == rest.json()

    shown = _payment(running, paid["id"])
    assert (shown["status"], shown["captured_amount"]) == ("captured", "20.00")
    assert [c["amount"] for c in shown["captures"]] == ["5.00", "15.00"]
    assert sorted(_money_moved(running)) == ["15.00", "5.00"]  # once each, replays included
    more = _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "1.00"}, "c4")
    assert more.status == 422
    # A captured authorization refunds like any payment.
    refund = _post(running, f"/v1/payments/{paid['id']}/refunds", {"amount": "2.00"}, "r1")
    assert refund.status == 201, refund.body


def test_void_another_idempotent_and_nothing_captured_after(running: Running) -> None:
    paid = _authorize(running, amount="7.00")
    void = _post(running, f"/v1/payments/{paid['id']}/void", None, "v1")
    assert void.status == 201, void.body
    assert void.json()["status"] == "VOIDED"
    assert _post(running, f"/v1/payments/{paid['id']}/void", None, "v1").json() == void.json()
    assert _payment(running, paid["id"])["status"] == "voided"
    late = _post(running, f"/v1/payments/{paid['id']}/capture", None, "c1")
    assert late.status == 422
    assert "voided" in late.json()["detail"]
    assert _money_moved(running) == []


def test_a_payment_captured_at_once_cannot_be_captured_or_voided(running: Running) -> None:
    paid = running.client.pay(payment(VISA)).json()
    for action in ("capture", "void"):
        answer = _post(running, f"/v1/payments/{paid['id']}/{action}", None, action)
        assert answer.status == 422
        assert "Only an authorization" in answer.json()["detail"]


def test_capture_and_void_need_a_key_and_name_a_payment(running: Running) -> None:
    paid = _authorize(running)
    no_key = running.client.request("POST", f"/v1/payments/{paid['id']}/capture")
    assert no_key.status == 422
    assert _post(running, "/v1/payments/pay_missing/void").status == 404
    extra = _post(running, f"/v1/payments/{paid['id']}/capture", {"note": "x"}, "c9")
    assert extra.status == 422


def test_capture_and_void_are_audited_and_the_ledger_rebuilds_the_same(
    running: Running,
) -> None:
    paid = _authorize(running)
    _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "5.00"}, "c1")
    other = _authorize(running)
    _post(running, f"/v1/payments/{other['id']}/void", None, "v1")
    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    kinds = [(e.type, e.details.get("status")) for e in events if e.type in ("capture", "void")]
    assert kinds == [("capture", "COMPLETED"), ("void", "VOIDED")]
    from cardline.ledger.projector import rebuild
    from cardline.ledger.sqlite import SqliteLedger

    fresh = SqliteLedger(":memory:")
    rebuild(fresh, events)
    for payment_id in (paid["id"], other["id"]):
        assert fresh.get_payment(payment_id) == running.stack.ledger.get_payment(payment_id)
        assert fresh.captures_for(payment_id) == running.stack.ledger.captures_for(payment_id)


def test_the_receipt_and_the_payment_tell_avs_and_cvv_in_words(running: Running) -> None:
    body = payment(VISA)
    body["card"]["billing_address"] = {"postal_code": "11111", "country_code": "US"}  # type: ignore[index]
    receipt = running.client.pay(body).json()
    assert (receipt["avs_code"], receipt["cvv_code"]) == ("A", "M")
    assert receipt["avs_result"] == "Address matches, postal code does not"
    assert receipt["cvv_result"] == "Security code matches"
    shown = _payment(running, receipt["id"])
    assert (shown["avs_result"], shown["cvv_result"]) == (
        receipt["avs_result"],
        receipt["cvv_result"],
    )
    # The postal code went to PayPal only: not to the answer, the audit log or the ledger.
    assert b"11111" not in running.client.request("GET", f"/v1/payments/{receipt['id']}").body
    assert "11111" not in (running.stack.data_dir / AUDIT_FILE).read_text()


def test_a_billing_address_without_a_country_is_refused(running: Running) -> None:
    body = payment(VISA)
    body["card"]["billing_address"] = {"postal_code": "11111"}  # type: ignore[index]
    answer = running.client.pay(body)
    assert answer.status == 422
    assert answer.json()["field"] == "card.billing_address.country_code"


def test_under_rules_a_wrong_cvv_is_authorized_then_voided_never_captured(
    ruled: Running,
) -> None:
    body = payment(VISA_CVV_MISMATCH)
    answer = ruled.client.pay(body, key="cvv-1")
    assert answer.status == 201, answer.body
    receipt = answer.json()
    assert receipt["status"] == "declined"
    assert receipt["paypal_authorization_id"]
    assert receipt["paypal_capture_id"] is None
    assert "The security code did not match" in receipt["message"]
    assert "voided" in receipt["message"]
    assert "not charged" in receipt["message"]
    assert receipt["cvv_result"] == "Security code does not match"
    assert _money_moved(ruled) == []
    assert ruled.stack.emulator is not None
    paths = [r["path"] for r in ruled.stack.emulator.request_log() if r["method"] == "POST"]
    assert any(p.endswith("/void") for p in paths)
    assert not any(p.endswith("/capture") for p in paths)
    # A retry replays the first answer: still voided, still nothing captured.
    assert ruled.client.pay(body, key="cvv-1").json() == receipt
    assert _money_moved(ruled) == []
    assert _payment(ruled, receipt["id"])["status"] == "declined"


def test_under_rules_a_good_card_is_authorized_then_captured(ruled: Running) -> None:
    body = payment(VISA)
    body["card"]["billing_address"] = {"postal_code": "00000", "country_code": "US"}  # type: ignore[index]
    receipt = ruled.client.pay(body, key="good-1").json()
    assert receipt["status"] == "approved"
    assert receipt["paypal_authorization_id"]
    assert receipt["paypal_capture_id"]
    assert "billing address and postal code did not match" in receipt["flags"]
    assert _money_moved(ruled) == ["12.50"]
    assert ruled.client.pay(body, key="good-1").json() == receipt
    assert _money_moved(ruled) == ["12.50"]
    shown = _payment(ruled, receipt["id"])
    assert (shown["status"], shown["flags"]) == ("approved", receipt["flags"])


def test_under_rules_an_agent_above_the_cap_is_refused_before_paypal(
    ruled: Running, artifacts: Path
) -> None:
    assert ruled.stack.emulator is not None
    _operator, key = ruled.stack.operators.add("agent-capped", role="agent")
    agent = Client(ruled.url, key, artifacts / "http-answers.log")
    before = len(ruled.stack.emulator.request_log())
    answer = agent.pay(payment(VISA, amount="100.01"))
    assert (answer.status, answer.json()["code"]) == (422, "amount_above_cap")
    assert "agent cap of 100.00 USD" in answer.json()["detail"]
    assert len(ruled.stack.emulator.request_log()) == before
    assert agent.pay(payment(VISA, amount="100.00")).status == 201
    # A supervisor's cap is higher (RULES): the same amount goes to PayPal.
    assert ruled.client.pay(payment(VISA, amount="100.01")).status == 201


def test_reconcile_finds_nothing_to_repair_in_captured_and_voided_authorizations(
    running: Running,
) -> None:
    from datetime import UTC, datetime, timedelta

    from cardline.cde.paypal import PayPalClient
    from cardline.reconcile import Reconciler

    paid = _authorize(running)
    _post(running, f"/v1/payments/{paid['id']}/capture", {"amount": "5.00"}, "c1")
    other = _authorize(running)
    _post(running, f"/v1/payments/{other['id']}/void", None, "v1")
    held = _authorize(running)
    emulator = running.stack.emulator
    assert emulator is not None
    from cardline.cde.paypal import PayPalConfig

    config = PayPalConfig(emulator.base_url, emulator.client_id, emulator.client_secret)
    reconciler = Reconciler(
        PayPalClient(config), running.stack.ledger, running.stack.sink, search_delay=timedelta(0)
    )
    differences = reconciler.run(datetime.now(UTC) - timedelta(hours=1))
    named = {d.payment_id for d in differences}
    assert named.isdisjoint({paid["id"], other["id"], held["id"]}), differences
    assert _payment(running, paid["id"])["status"] == "partially_captured"
    assert _payment(running, other["id"])["status"] == "voided"
