"""What happens after the first answer, simulated: each trigger name's lifecycle, each
event fired on demand, and the events the API's own actions send, with GET agreeing with
what every event said."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cardline import cli
from cardline.sandbox import Emulator
from cardline.sandbox.clock import seconds_of
from cardline.sandbox.events import EVENT_TYPES
from cardline.sandbox.lifecycles import FIRE_HELP, SELLER_RESPONSE_DAYS
from cardline.sandbox.triggers import STEP, TRIGGERS
from cardline.webhooks.events import (
    AuthorizationChanged,
    CaptureChanged,
    CaptureRefunded,
    DisputeChanged,
    read_event,
)
from tests.paypal_http import PayPalHttp, card, order_body
from tests.webhook_listener import Listener, listening

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


@dataclass
class Sandbox:
    emulator: Emulator
    paypal: PayPalHttp
    listener: Listener

    def pay(self, name: str = "Ada Lovelace", **body: Any) -> dict[str, Any]:
        answer = self.paypal.create_order(order_body(payment_card=card(name=name), **body))
        assert answer.status == 201, answer.body
        return dict(answer.json())

    def get(self, path: str) -> dict[str, Any]:
        answer = self.paypal.call("GET", path)
        assert answer.status == 200, answer.body
        return dict(answer.json())

    def next_step(self, event_type: str) -> dict[str, Any]:
        """Let one lifecycle step pass; the event it sent."""
        self.emulator.advance_clock(seconds=STEP)
        return self.listener.next_of(event_type).event

    def fire(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = self.paypal.call("POST", "/_emulator/webhooks/fire", body, auth=False)
        return answer.status, answer.json()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with listening() as listener, Emulator() as emulator:
        emulator.subscribe(listener.url)
        paypal = PayPalHttp(emulator.base_url)
        yield Sandbox(emulator, paypal, listener)
        paypal.close()


def capture_of(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order["purchase_units"][0]["payments"]["captures"][0])


def authorization_of(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order["purchase_units"][0]["payments"]["authorizations"][0])


def types_about(emulator: Emulator, resource_id: str) -> list[str]:
    """The types of the events sent about ``resource_id`` (or a refund of it), in order."""
    found = []
    for event in emulator.events():
        resource = json.dumps(event["resource"])
        if resource_id in resource:
            found.append(event["event_type"])
    return found


# -- pending captures ----------------------------------------------------------------


def test_a_pending_capture_completes_later(sandbox: Sandbox) -> None:
    order = sandbox.pay("WEBHOOK-PENDING")
    capture = capture_of(order)
    assert capture["status"] == "PENDING"
    assert capture["status_details"] == {"reason": "PENDING_REVIEW"}
    pending = sandbox.listener.next_of("PAYMENT.CAPTURE.PENDING")
    fact = read_event(pending.event)
    assert isinstance(fact, CaptureChanged)
    assert (fact.capture_id, fact.status, fact.reason) == (
        capture["id"],
        "PENDING",
        "PENDING_REVIEW",
    )
    assert fact.order_id == order["id"]
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "PENDING"

    completed = read_event(sandbox.next_step("PAYMENT.CAPTURE.COMPLETED"))
    assert isinstance(completed, CaptureChanged)
    assert (completed.capture_id, completed.status) == (capture["id"], "COMPLETED")
    shown = sandbox.get(f"/v2/payments/captures/{capture['id']}")
    assert shown["status"] == "COMPLETED"
    assert "status_details" not in shown
    assert types_about(sandbox.emulator, capture["id"]) == [
        "PAYMENT.CAPTURE.PENDING",
        "PAYMENT.CAPTURE.COMPLETED",
    ]


def test_a_pending_capture_can_be_denied_instead(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay("webhook-pending-denied"))  # case does not matter
    assert capture["status"] == "PENDING"
    denied = read_event(sandbox.next_step("PAYMENT.CAPTURE.DENIED"))
    assert isinstance(denied, CaptureChanged)
    assert denied.status == "DECLINED"
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "DECLINED"


def test_a_pending_capture_cannot_be_refunded_until_it_completes(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay("WEBHOOK-PENDING"))
    refund = f"/v2/payments/captures/{capture['id']}/refund"
    refused = sandbox.paypal.call("POST", refund, {}, request_id="r-1")
    assert refused.status == 422
    assert refused.json()["details"][0]["issue"] == "PENDING_CAPTURE"
    sandbox.next_step("PAYMENT.CAPTURE.COMPLETED")
    assert sandbox.paypal.call("POST", refund, {}, request_id="r-2").status == 201


# -- reversals and refunds at PayPal -------------------------------------------------


def test_a_reversal_refunds_the_capture_and_is_among_its_refunds(sandbox: Sandbox) -> None:
    order = sandbox.pay("WEBHOOK-REVERSED")
    capture = capture_of(order)
    assert capture["status"] == "COMPLETED"
    sandbox.listener.next_of("PAYMENT.CAPTURE.COMPLETED")
    reversed_event = sandbox.next_step("PAYMENT.CAPTURE.REVERSED")
    fact = read_event(reversed_event)
    assert isinstance(fact, CaptureRefunded)
    assert fact.reversed
    assert fact.capture_id == capture["id"]
    assert str(fact.amount.amount) == capture["amount"]["value"]
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "REFUNDED"
    refunds = sandbox.get(f"/v2/checkout/orders/{order['id']}")["purchase_units"][0]["payments"]
    assert [r["id"] for r in refunds["refunds"]] == [fact.refund_id]
    assert sandbox.get(f"/v2/payments/refunds/{fact.refund_id}")["status"] == "COMPLETED"
    # The reversal is a refund in PayPal's records, but it was never sent as REFUNDED.
    assert types_about(sandbox.emulator, fact.refund_id) == ["PAYMENT.CAPTURE.REVERSED"]


def test_a_partial_reversal_leaves_the_rest_refundable(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay(value="30.00"))
    status, event = sandbox.fire(
        {"event_type": "PAYMENT.CAPTURE.REVERSED", "capture_id": capture["id"], "value": "10.00"}
    )
    assert status == 201
    assert event["resource"]["amount"] == {"currency_code": "USD", "value": "10.00"}
    shown = sandbox.get(f"/v2/payments/captures/{capture['id']}")
    assert shown["status"] == "PARTIALLY_REFUNDED"
    answer = sandbox.paypal.call(
        "POST", f"/v2/payments/captures/{capture['id']}/refund", {}, request_id="rest"
    )
    assert answer.json()["amount"]["value"] == "20.00"
    sandbox.listener.next_of("PAYMENT.CAPTURE.REFUNDED")
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "REFUNDED"
    assert types_about(sandbox.emulator, capture["id"]).count("PAYMENT.CAPTURE.REVERSED") == 1
    status, refused = sandbox.fire(
        {"event_type": "PAYMENT.CAPTURE.REVERSED", "capture_id": capture["id"]}
    )
    assert status == 409
    assert "CAPTURE_FULLY_REFUNDED" in refused["error"]


def test_a_refund_made_at_paypal_is_sent_as_refunded(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay("WEBHOOK-REFUNDED"))
    fact = read_event(sandbox.next_step("PAYMENT.CAPTURE.REFUNDED"))
    assert isinstance(fact, CaptureRefunded)
    assert not fact.reversed
    assert fact.capture_id == capture["id"]
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "REFUNDED"


def test_a_reversal_asked_for_more_than_is_left_is_refused(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay(value="5.00"))
    status, refused = sandbox.fire(
        {"event_type": "PAYMENT.CAPTURE.REVERSED", "capture_id": capture["id"], "value": "5.01"}
    )
    assert status == 409
    assert "REFUND_AMOUNT_EXCEEDED" in refused["error"]
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "COMPLETED"


# -- disputes -------------------------------------------------------------------------


def test_a_dispute_is_created_updated_and_resolved_with_reason_and_due_date(
    sandbox: Sandbox,
) -> None:
    capture = capture_of(sandbox.pay("WEBHOOK-DISPUTE"))
    created = sandbox.next_step("CUSTOMER.DISPUTE.CREATED")
    fact = read_event(created)
    assert isinstance(fact, DisputeChanged)
    assert fact.capture_ids == (capture["id"],)
    assert (fact.reason, fact.status) == ("UNAUTHORISED", "WAITING_FOR_SELLER_RESPONSE")
    assert fact.seller_response_due_date is not None
    due = seconds_of(fact.seller_response_due_date) - seconds_of(created["resource"]["create_time"])
    assert due == SELLER_RESPONSE_DAYS * 86400
    updated = read_event(sandbox.next_step("CUSTOMER.DISPUTE.UPDATED"))
    assert isinstance(updated, DisputeChanged)
    assert (updated.dispute_id, updated.status) == (fact.dispute_id, "UNDER_REVIEW")
    resolved = read_event(sandbox.next_step("CUSTOMER.DISPUTE.RESOLVED"))
    assert isinstance(resolved, DisputeChanged)
    assert (resolved.status, resolved.outcome) == ("RESOLVED", "RESOLVED_SELLER_FAVOUR")
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "COMPLETED"


def test_a_dispute_lost_reverses_the_capture(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay("WEBHOOK-DISPUTE-LOST"))
    sandbox.next_step("CUSTOMER.DISPUTE.CREATED")
    sandbox.next_step("CUSTOMER.DISPUTE.UPDATED")
    resolved = read_event(sandbox.next_step("CUSTOMER.DISPUTE.RESOLVED"))
    assert isinstance(resolved, DisputeChanged)
    assert resolved.outcome == "RESOLVED_BUYER_FAVOUR"
    reversal = read_event(sandbox.listener.next_of("PAYMENT.CAPTURE.REVERSED").event)
    assert isinstance(reversal, CaptureRefunded)
    assert reversal.capture_id == capture["id"]
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "REFUNDED"


def test_a_dispute_fired_on_demand_takes_its_reason_and_amount(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay(value="40.00"))
    status, created = sandbox.fire(
        {
            "event_type": "CUSTOMER.DISPUTE.CREATED",
            "capture_id": capture["id"],
            "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
            "value": "15.00",
        }
    )
    assert status == 201
    assert created["resource"]["reason"] == "MERCHANDISE_OR_SERVICE_NOT_RECEIVED"
    assert created["resource"]["dispute_amount"]["value"] == "15.00"
    dispute_id = created["resource"]["dispute_id"]
    status, resolved = sandbox.fire(
        {
            "event_type": "CUSTOMER.DISPUTE.RESOLVED",
            "capture_id": capture["id"],
            "outcome": "RESOLVED_BUYER_FAVOUR",
        }
    )
    assert status == 201
    assert resolved["resource"]["dispute_id"] == dispute_id
    assert sandbox.get(f"/v2/payments/captures/{capture['id']}")["status"] == "PARTIALLY_REFUNDED"
    status, refused = sandbox.fire(
        {"event_type": "CUSTOMER.DISPUTE.UPDATED", "dispute_id": dispute_id}
    )
    assert (status, refused["error"]) == (409, f"dispute {dispute_id} is RESOLVED")


# -- authorizations and what the API sends --------------------------------------------


def test_an_authorization_sends_created_and_a_void_sends_voided(sandbox: Sandbox) -> None:
    auth = authorization_of(sandbox.pay(intent="AUTHORIZE"))
    created = read_event(sandbox.listener.next_of("PAYMENT.AUTHORIZATION.CREATED").event)
    assert isinstance(created, AuthorizationChanged)
    assert (created.authorization_id, created.status) == (auth["id"], "CREATED")
    void = sandbox.paypal.call("POST", f"/v2/payments/authorizations/{auth['id']}/void", None)
    assert void.status == 200
    voided = read_event(sandbox.listener.next_of("PAYMENT.AUTHORIZATION.VOIDED").event)
    assert isinstance(voided, AuthorizationChanged)
    assert voided.status == "VOIDED"


def test_an_authorization_voided_at_paypal(sandbox: Sandbox) -> None:
    auth = authorization_of(sandbox.pay("WEBHOOK-VOIDED", intent="AUTHORIZE"))
    sandbox.listener.next_of("PAYMENT.AUTHORIZATION.CREATED")
    voided = read_event(sandbox.next_step("PAYMENT.AUTHORIZATION.VOIDED"))
    assert isinstance(voided, AuthorizationChanged)
    assert voided.authorization_id == auth["id"]
    assert sandbox.get(f"/v2/payments/authorizations/{auth['id']}")["status"] == "VOIDED"
    capture = sandbox.paypal.call("POST", f"/v2/payments/authorizations/{auth['id']}/capture", {})
    assert capture.status == 422


def test_the_apis_own_actions_send_their_events_once(sandbox: Sandbox) -> None:
    body = order_body()
    first = sandbox.paypal.create_order(body, request_id="same-request")
    replay = sandbox.paypal.create_order(body, request_id="same-request")
    assert first.json()["id"] == replay.json()["id"]
    capture = capture_of(first.json())
    declined = capture_of(sandbox.pay("CCREJECT-REFUSED"))
    refund = sandbox.paypal.call(
        "POST", f"/v2/payments/captures/{capture['id']}/refund", {}, request_id="once"
    )
    sandbox.paypal.call(
        "POST", f"/v2/payments/captures/{capture['id']}/refund", {}, request_id="once"
    )
    assert types_about(sandbox.emulator, capture["id"]) == [
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.REFUNDED",
    ]
    assert types_about(sandbox.emulator, declined["id"]) == ["PAYMENT.CAPTURE.DECLINED"]
    assert types_about(sandbox.emulator, refund.json()["id"]) == ["PAYMENT.CAPTURE.REFUNDED"]


def test_a_restarted_emulator_sends_nothing_again(tmp_path: Path) -> None:
    state = tmp_path / "paypal.sqlite3"
    with Emulator(state_path=state) as first:
        paypal = PayPalHttp(first.base_url)
        capture = capture_of(paypal.create_order(order_body(value="9.00")).json())
        paypal.close()
        assert len(first.events()) == 1
    with Emulator(state_path=state) as second:
        paypal = PayPalHttp(second.base_url)
        refund = f"/v2/payments/captures/{capture['id']}/refund"
        paypal.call("POST", refund, {"amount": {"currency_code": "USD", "value": "1.00"}})
        paypal.close()
        assert [e["event_type"] for e in second.events()] == ["PAYMENT.CAPTURE.REFUNDED"]


# -- fire, its refusals and its command -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"event_type": "PAYMENT.CAPTURE.COMPLETED"}, 409),
        ({"event_type": "PAYMENT.CAPTURE.COMPLETED", "capture_id": "NOSUCHCAPTURE"}, 409),
        ({"event_type": "PAYMENT.SALE.COMPLETED", "capture_id": "X"}, 400),
        ({"event_type": "CUSTOMER.DISPUTE.CREATED", "capture_id": "X", "reason": "BORED"}, 400),
        ({"event_type": "PAYMENT.CAPTURE.REVERSED", "capture_id": 1}, 400),
        ({"event_type": "PAYMENT.CAPTURE.REVERSED", "amount": "1.00"}, 400),
        ({"event_type": "PAYMENT.AUTHORIZATION.VOIDED", "authorization_id": "NOPE"}, 409),
        ({"event_type": "CUSTOMER.DISPUTE.UPDATED", "capture_id": "NOPE"}, 409),
    ],
)
def test_a_fire_that_cannot_happen_is_refused_and_changes_nothing(
    sandbox: Sandbox, body: dict[str, Any], status: int
) -> None:
    assert sandbox.fire(body)[0] == status
    assert sandbox.emulator.events() == []


def test_completing_a_capture_that_is_not_pending_is_refused(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay())
    status, refused = sandbox.fire(
        {"event_type": "PAYMENT.CAPTURE.COMPLETED", "capture_id": capture["id"]}
    )
    assert (status, refused["error"]) == (409, f"capture {capture['id']} is COMPLETED, not PENDING")
    assert types_about(sandbox.emulator, capture["id"]) == ["PAYMENT.CAPTURE.COMPLETED"]


def test_a_completed_capture_fired_pending_then_completed(sandbox: Sandbox) -> None:
    capture = capture_of(sandbox.pay())
    for event_type in ("PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.COMPLETED"):
        status, event = sandbox.fire({"event_type": event_type, "capture_id": capture["id"]})
        assert status == 201
        shown = sandbox.get(f"/v2/payments/captures/{capture['id']}")
        assert shown["status"] == event["resource"]["status"]


def test_cardline_sandbox_fire_sends_the_event(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = capture_of(sandbox.pay())
    argv = ["sandbox", "fire", "PAYMENT.CAPTURE.REVERSED", "--capture", capture["id"]]
    assert cli.main([*argv, "--amount", "2.00", "--emulator", sandbox.emulator.base_url]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["event_type"] == "PAYMENT.CAPTURE.REVERSED"
    got = sandbox.listener.next_of("PAYMENT.CAPTURE.REVERSED")
    assert got.event == printed
    assert cli.main([*argv, "--amount", "99.00", "--emulator", sandbox.emulator.base_url]) == 1
    assert "REFUND_AMOUNT_EXCEEDED" in capsys.readouterr().err


def test_cardline_sandbox_fire_without_an_emulator_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sandbox", "fire", "PAYMENT.CAPTURE.COMPLETED", "--capture", "X"]
    assert cli.main([*argv, "--emulator", "http://127.0.0.1:9"]) == 1
    assert "no emulator at http://127.0.0.1:9" in capsys.readouterr().err


def test_fire_help_lists_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["sandbox", "fire", "--help"])
    text = capsys.readouterr().out
    assert set(FIRE_HELP) == set(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        assert event_type in text


def test_the_docs_table_is_the_trigger_table() -> None:
    rows = re.findall(
        r"^\| `(WEBHOOK-[A-Z-]+)` \| (.+?) \|$", DOCS.read_text("utf-8"), re.MULTILINE
    )
    assert dict(rows) == {name: trigger.says for name, trigger in TRIGGERS.items()}
