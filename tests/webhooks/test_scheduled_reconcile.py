"""The scheduled reconcile: reversals made outside cardline are repaired from Transaction
Search, every run is audited, and `cardline serve`'s schedule never stops for a failure."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.errors import GatewayUnavailable, NotFound
from cardline.cli import _interval
from cardline.local import LocalStack, ReconcileSchedule
from cardline.reconcile import RECONCILE_RUN, outside_refund_id, scheduled_run
from tests.webhooks import samples
from tests.webhooks.receiver import PAYMENT_ID, Receiver, receiver

REVERSAL_ID = "4RV00000000000000"


class PayPalRecord:
    """PayPal's record as reconcile reads it: one reversal of the sample capture."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def search_transactions(self, start: str, end: str) -> list[dict[str, Any]]:
        if self.fail:
            raise GatewayUnavailable("PayPal could not be reached")
        return [
            {
                "transaction_id": REVERSAL_ID,
                "transaction_event_code": "T1106",
                "paypal_reference_id": samples.CAPTURE_ID,
                "transaction_amount": {"currency_code": "USD", "value": "-25.00"},
                "transaction_initiation_date": "2026-12-04T10:00:00Z",
            }
        ]

    def get_order(self, order_id: str) -> dict[str, Any]:
        raise NotFound("PayPal has no such order")


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Receiver]:
    yield from receiver(tmp_path)


def test_a_reversal_paypal_lists_is_added_once_and_the_run_audited(hooks: Receiver) -> None:
    hooks.record_payment("approved")
    paypal: Any = PayPalRecord()
    found = scheduled_run(paypal, hooks.ledger, hooks.sink)
    assert [(d.kind, d.repaired) for d in found if d.kind.startswith("reversal")] == [
        ("reversal_missing", True)
    ]
    payment = hooks.payment()
    assert (payment["status"], payment["reversed_amount"]) == ("reversed", "25.00")
    (row,) = payment["refunds"]
    assert (row["id"], row["kind"]) == (outside_refund_id(REVERSAL_ID), "reversal")
    again = scheduled_run(paypal, hooks.ledger, hooks.sink)
    assert [d for d in again if d.kind.startswith("reversal")] == []
    assert hooks.payment() == payment
    runs = hooks.events(RECONCILE_RUN)
    assert [(r.outcome, r.details["repaired"]) for r in runs] == [("success", 1), ("success", 0)]


def test_the_reversal_reconcile_finds_is_the_one_the_webhook_recorded(hooks: Receiver) -> None:
    hooks.deliver(samples.event("PAYMENT.CAPTURE.COMPLETED", 1))
    reversed_event = samples.event(
        "PAYMENT.CAPTURE.REVERSED",
        2,
        id=REVERSAL_ID,
        amount={"currency_code": "USD", "value": "25.00"},
    )
    hooks.deliver(reversed_event)
    before = hooks.payment()
    paypal: Any = PayPalRecord()
    scheduled_run(paypal, hooks.ledger, hooks.sink)
    assert hooks.payment() == before


def test_a_failed_run_is_audited_logged_in_one_line_and_serve_goes_on(
    hooks: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    stack: Any = LocalStack.__new__(LocalStack)
    stack.paypal, stack.ledger, stack.sink = PayPalRecord(fail=True), hooks.ledger, hooks.sink
    schedule = ReconcileSchedule(stack, 3600)
    with caplog.at_level(logging.ERROR, "cardline.local"):
        schedule.run_once()  # does not raise
    (line,) = [r.getMessage() for r in caplog.records]
    assert "\n" not in line
    assert line.startswith("scheduled reconcile failed: GatewayUnavailable")
    (run,) = hooks.events(RECONCILE_RUN)
    assert (run.outcome, run.details["error"]) == ("failure", "GatewayUnavailable")
    assert hooks.payment()["id"] == PAYMENT_ID


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30.0), ("15m", 900.0), ("1h", 3600.0)])
def test_reconcile_every_reads_an_interval(text: str, seconds: float) -> None:
    assert _interval(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "5s", "m", "-1m", "1.5h", "15 m"])
def test_reconcile_every_refuses_what_is_not_an_interval(text: str) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        _interval(text)


def test_audit_types_of_the_schedule_are_not_projected() -> None:
    from cardline.ledger.projector import is_projected

    event = audit.AuditEvent(RECONCILE_RUN, "reconcile", "success", "serve", "", {})
    assert not is_projected(event)
