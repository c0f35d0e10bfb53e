"""The ledger state machine under hostile delivery: hypothesis drives a ledger with the
audit events of a small world (charges retried through failures, refunds retried after
failures, reconcile repairs, events written before ids were letters), delivered in any
order, any number of times (replays) and as retries that repeat an event under a new id.

The invariants are the promises in words, not the code's rules restated: an approval
delivered is never lost; a refund delivered as completed stays completed and counts once;
the refunded amount is what the completed refunds add up to; and the rows do not depend
on the order the events came in. Both ledgers (SQLite, DynamoDB on moto) end the same.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cardline.cde import audit, ids
from cardline.ledger import Ledger
from cardline.ledger.sqlite import SqliteLedger
from tests.aws_support import Aws

_HEX = hashlib.sha256(b"a payment from before ids were letters").hexdigest()[:24]
LEGACY = "pay_" + _HEX
LEGACY_AS_NOW = "pay_" + ids.from_hex(_HEX)
APPROVED, DECLINED, NEVER = "pay_approved", "pay_declined", "pay_never"
SETTLED_APPROVED = {"approved", "partially_refunded", "refunded"}
_T = "2026-11-28T10:00:{:02d}.000Z"


def _event(kind: str, resource: str, n: int, operator: str = "op", **details: Any) -> Any:
    return audit.AuditEvent(
        kind, operator, "x", "ip", resource, details, event_id=f"ev{n:03d}", time=_T.format(n)
    )


def _world() -> list[audit.AuditEvent]:
    """Every event cardline (and reconcile) could write for four payments, in the order
    they happened; each is then delivered in any order, any number of times."""
    card = {"currency": "USD", "brand": "VISA", "last4": "1881"}
    approved = {**card, "amount": "20.00", "status": "approved", "paypal_capture_id": "CAP1"}
    legacy = {**card, "amount": "10.00", "status": "approved", "paypal_capture_id": "CAP2"}

    def failed(amount: str, error: str = "gateway_unavailable") -> dict[str, Any]:
        return {**card, "amount": amount, "status": "failed", "error": error}

    def refund(rid: str, status: str, amount: str, **more: Any) -> dict[str, Any]:
        return {"id": rid, "status": status, "amount": amount, "currency": "USD", **more}

    events = [
        _event(audit.PAYMENT, APPROVED, 1, **failed("20.00")),
        _event(audit.PAYMENT, APPROVED, 2, **approved),
        _event(audit.PAYMENT, APPROVED, 3, **failed("20.00", "gateway_rejected")),
        _event(audit.PAYMENT, APPROVED, 4, **approved),  # a replayed receipt
        _event(audit.PAYMENT, DECLINED, 5, **{**card, "amount": "9.00", "status": "unknown"}),
        _event(audit.PAYMENT, DECLINED, 6, **{**card, "amount": "9.00", "status": "declined"}),
        _event(audit.PAYMENT, DECLINED, 7, **failed("9.00")),
        _event(audit.PAYMENT, NEVER, 8, **failed("5.00")),
        _event(audit.PAYMENT, NEVER, 9, **{**card, "amount": "5.00", "status": "unknown"}),
        _event(
            audit.PAYMENT, NEVER, 10, "reconcile", status="failed", reconciled=True, amount="5.00"
        ),
        _event(audit.PAYMENT, LEGACY, 11, **legacy),
        _event(audit.REFUND, APPROVED, 12, **refund("ref_one", "FAILED", "5.00", error="e")),
        _event(
            audit.REFUND,
            APPROVED,
            13,
            **refund("ref_one", "COMPLETED", "5.00", paypal_refund_id="R1"),
        ),
        _event(audit.REFUND, APPROVED, 14, **refund("ref_one", "FAILED", "5.00", error="e")),
        _event(
            audit.REFUND,
            APPROVED,
            15,
            **refund("ref_one", "COMPLETED", "5.00", paypal_refund_id="R1"),
        ),
        _event(audit.REFUND, APPROVED, 16, **refund("ref_two", "FAILED", "15.00", error="e")),
        _event(
            audit.REFUND,
            APPROVED,
            17,
            "reconcile",
            **refund("ref_two", "COMPLETED", "15.00", paypal_refund_id="R2", reconciled=True),
        ),
        _event(audit.REFUND, DECLINED, 18, id="ref_no", status="rejected", error="conflict"),
        _event(
            audit.REFUND,
            LEGACY,
            19,
            **refund("ref_" + _HEX, "COMPLETED", "4.00", paypal_refund_id="R3"),
        ),
    ]
    return events


WORLD = _world()
DECLINED_AT = next(i for i, e in enumerate(WORLD) if e.details.get("status") == "declined")


def _state(ledger: Ledger) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for payment_id in (APPROVED, DECLINED, NEVER, LEGACY_AS_NOW):
        rows[payment_id] = (ledger.get_payment(payment_id), ledger.refunds_for(payment_id))
    return rows


def _completed(delivered: set[int], payment_id: str) -> dict[str, Decimal]:
    """Refund id -> amount, for the refunds of ``payment_id`` delivered as completed."""
    done: dict[str, Decimal] = {}
    for event in (WORLD[i] for i in delivered):
        same = event.resource == payment_id or (
            payment_id == LEGACY_AS_NOW and event.resource == LEGACY
        )
        if event.type == audit.REFUND and same and event.details["status"] == "COMPLETED":
            done[str(event.details["id"])] = Decimal(str(event.details["amount"]))
    return done


class DeliveredInAnyOrder(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = SqliteLedger(":memory:")
        self.order: list[int] = []  # every delivery, retries included
        self.originals: set[int] = set()  # the events delivered under their own id
        self.approved: set[str] = set()

    @rule(index=st.integers(0, len(WORLD) - 1))
    def deliver(self, index: int) -> None:
        first = index not in self.originals
        assert self.ledger.apply(WORLD[index]) is first  # a replay changes nothing
        self.originals.add(index)
        self.order.append(index)
        details = WORLD[index].details
        if WORLD[index].type == audit.PAYMENT and details.get("status") == "approved":
            self.approved.add(WORLD[index].resource)

    @rule(index=st.integers(0, len(WORLD) - 1), copy=st.integers(0, 3))
    def deliver_as_a_retry(self, index: int, copy: int) -> None:
        """The same facts under a new event id (a retried request writes a new event)."""
        event = WORLD[index]
        again = audit.AuditEvent(
            event.type,
            event.operator,
            event.outcome,
            event.origin,
            event.resource,
            event.details,
            event_id=f"{event.event_id}-retry{copy}",
            time=event.time,
        )
        self.ledger.apply(again)
        self.order.append(index)
        if event.type == audit.PAYMENT and event.details.get("status") == "approved":
            self.approved.add(event.resource)

    @invariant()
    def an_approval_is_never_lost(self) -> None:
        for resource in self.approved:
            row = self.ledger.get_payment(resource)
            assert row is not None
            assert row["status"] in SETTLED_APPROVED, (resource, row["status"])

    @invariant()
    def a_decline_is_never_re_recorded_as_failed(self) -> None:
        if DECLINED_AT in self.order:
            assert self.ledger.get_payment(DECLINED)["status"] == "declined"  # type: ignore[index]

    @invariant()
    def completed_refunds_stay_completed_and_count_once(self) -> None:
        delivered = set(self.order)
        for payment_id in (APPROVED, LEGACY_AS_NOW):
            done = _completed(delivered, payment_id)
            refunds = {r["id"]: r for r in self.ledger.refunds_for(payment_id)}
            for refund_id in done:
                shown = refunds.get(refund_id) or refunds.get(
                    "ref_" + ids.from_hex(refund_id.removeprefix("ref_"))
                )
                assert shown is not None, refund_id
                assert shown["status"] == "COMPLETED"
            row = self.ledger.get_payment(payment_id)
            if row is None:
                continue
            total = sum(done.values(), Decimal("0"))
            assert Decimal(row["refunded_amount"]) == total
            if total == Decimal(row["amount"]):
                assert row["status"] == "refunded"
            elif total:
                assert row["status"] == "partially_refunded"
        assert self.ledger.refunds_for(DECLINED) == []  # a rejected reuse refunds nothing

    @invariant()
    def the_rows_do_not_depend_on_the_order(self) -> None:
        backwards = SqliteLedger(":memory:")
        for index in reversed(sorted(set(self.order))):
            backwards.apply(WORLD[index])
        assert _state(backwards) == _state(self.ledger)
        backwards.close()

    def teardown(self) -> None:
        self.ledger.close()


DeliveredInAnyOrder.TestCase.settings = settings(
    max_examples=120, stateful_step_count=30, deadline=None, derandomize=True
)
test_the_ledger_state_machine_under_any_delivery = DeliveredInAnyOrder.TestCase


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.lists(st.integers(0, len(WORLD) - 1), min_size=1, max_size=40))
def test_both_ledgers_follow_the_same_state_machine(aws: Aws, order: list[int]) -> None:
    from cardline.ledger.dynamodb import DynamoDbLedger

    dynamodb = DynamoDbLedger(aws.ledger_table(), aws.client("dynamodb"))
    sqlite = SqliteLedger(":memory:")
    for index in order:
        assert dynamodb.apply(WORLD[index]) == sqlite.apply(WORLD[index])
    assert _state(dynamodb) == _state(sqlite)
    sqlite.close()
