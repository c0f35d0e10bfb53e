"""What only the DynamoDB ledger has to get right: two projectors racing on one payment."""

from __future__ import annotations

from typing import Any

from cardline.cde import audit
from cardline.ledger.dynamodb import DynamoDbLedger
from tests.aws_support import Aws


def _event(kind: str, details: dict[str, Any]) -> audit.AuditEvent:
    return audit.AuditEvent(kind, "op", "success", "ip", "pay_r", details)


def test_a_write_racing_another_projector_is_retried_not_lost(aws: Aws) -> None:
    table = aws.ledger_table()
    first = DynamoDbLedger(table, aws.client("dynamodb"))
    other = DynamoDbLedger(table, aws.client("dynamodb"))
    payment = {"status": "approved", "amount": "20.00", "currency": "USD"}
    first.apply(_event(audit.PAYMENT, payment))
    refund = {"id": "ref_1", "status": "COMPLETED", "amount": "5.00", "currency": "USD"}

    reads = 0
    original = first._item

    def read_then_lose_the_race(pk: str, sk: str) -> dict[str, Any] | None:
        nonlocal reads
        found = original(pk, sk)
        if sk == "PAYMENT":
            reads += 1
            if reads == 1:  # another projector lands a refund between our read and write
                other.apply(_event(audit.REFUND, refund))
        return found

    first._item = read_then_lose_the_race  # type: ignore[method-assign]
    second_refund = {**refund, "id": "ref_2", "amount": "15.00"}
    assert first.apply(_event(audit.REFUND, second_refund)) is True
    assert reads == 2
    stored = first.get_payment("pay_r")
    assert stored is not None
    assert (stored["status"], stored["refunded_amount"]) == ("refunded", "20.00")
    assert sorted(r["id"] for r in first.refunds_for("pay_r")) == ["ref_1", "ref_2"]
