"""Every ledger backend (SQLite, DynamoDB on moto's server): projection idempotent by event
id, settled outcomes kept, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cardline.cde import audit
from cardline.ledger import Ledger
from cardline.ledger.sqlite import SqliteLedger
from tests.aws_support import Aws


@pytest.fixture(params=["sqlite", "dynamodb"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    made: Ledger
    if request.param == "sqlite":
        made = SqliteLedger(":memory:")
    else:
        from cardline.ledger.dynamodb import DynamoDbLedger

        aws: Aws = request.getfixturevalue("aws")
        made = DynamoDbLedger(aws.ledger_table(), aws.client("dynamodb"))
    yield made
    made.close()


def _payment(
    resource: str, status: str, time: str = "2026-11-28T10:00:00.000Z", **more: Any
) -> audit.AuditEvent:
    details = {
        "status": status,
        "amount": "20.00",
        "currency": "USD",
        "brand": "VISA",
        "last4": "1881",
        **more,
    }
    return audit.AuditEvent(audit.PAYMENT, "op", "success", "ip", resource, details, time=time)


def _refund(resource: str, refund_id: str, amount: str) -> audit.AuditEvent:
    details = {"id": refund_id, "status": "COMPLETED", "amount": amount, "currency": "USD"}
    return audit.AuditEvent(audit.REFUND, "op", "success", "ip", resource, details)


def test_an_event_is_applied_once(ledger: Ledger) -> None:
    event = _payment("pay_1", "approved")
    assert ledger.apply(event) is True
    assert ledger.apply(event) is False
    assert len(ledger.list_payments().items) == 1


def test_an_unknown_outcome_never_overwrites_a_settled_one_but_is_settled_later(
    ledger: Ledger,
) -> None:
    ledger.apply(_payment("pay_1", "approved"))
    ledger.apply(_payment("pay_1", "unknown"))
    assert ledger.get_payment("pay_1")["status"] == "approved"  # type: ignore[index]
    ledger.apply(_payment("pay_2", "unknown"))
    ledger.apply(_payment("pay_2", "declined", decline_code="5120"))
    settled = ledger.get_payment("pay_2")
    assert settled is not None
    assert (settled["status"], settled["decline_code"]) == ("declined", "5120")


def test_refunds_move_the_status_and_a_replayed_refund_counts_once(ledger: Ledger) -> None:
    ledger.apply(_payment("pay_1", "approved"))
    ledger.apply(_refund("pay_1", "ref_a", "5.00"))
    ledger.apply(_refund("pay_1", "ref_a", "5.00"))  # a retry: new event, same refund
    payment = ledger.get_payment("pay_1")
    assert payment is not None
    assert (payment["status"], payment["refunded_amount"]) == ("partially_refunded", "5.00")
    ledger.apply(_refund("pay_1", "ref_b", "15.00"))
    assert ledger.get_payment("pay_1")["status"] == "refunded"  # type: ignore[index]
    # A replayed payment event after refunds keeps the refunded state.
    ledger.apply(_payment("pay_1", "approved"))
    assert ledger.get_payment("pay_1")["status"] == "refunded"  # type: ignore[index]
    assert [r["id"] for r in ledger.refunds_for("pay_1")] == ["ref_a", "ref_b"]


def test_paging_walks_every_payment_once_newest_first(ledger: Ledger) -> None:
    for n in range(7):
        ledger.apply(_payment(f"pay_{n}", "approved", time=f"2026-11-28T10:00:0{n}.000Z"))
    seen: list[str] = []
    cursor = None
    while True:
        page = ledger.list_payments(limit=3, cursor=cursor)
        seen.extend(p["id"] for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"pay_{n}" for n in reversed(range(7))]
    window = ledger.list_payments(
        since="2026-11-28T10:00:02.000Z", until="2026-11-28T10:00:04.000Z"
    )
    assert [p["id"] for p in window.items] == ["pay_3", "pay_2"]


def test_status_filter_pages_newest_first_within_a_window(ledger: Ledger) -> None:
    for n in range(8):
        status = "approved" if n % 2 == 0 else "declined"
        ledger.apply(_payment(f"pay_{n}", status, time=f"2026-11-28T10:00:0{n}.000Z"))
    seen: list[str] = []
    cursor = None
    while True:
        page = ledger.list_payments(
            status="approved",
            since="2026-11-28T10:00:01.000Z",
            until="2026-11-28T10:00:07.000Z",
            limit=1,
            cursor=cursor,
        )
        seen.extend(p["id"] for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["pay_6", "pay_4", "pay_2"]
    assert ledger.list_payments(status="refunded").items == []


def _failed_retry(resource: str, error: str) -> audit.AuditEvent:
    details = {"status": "failed", "amount": "20.00", "currency": "USD", "error": error}
    return audit.AuditEvent(audit.PAYMENT, "op", "failure", "ip", resource, details)


def _refund_attempt(resource: str, refund_id: str, status: str, **more: Any) -> audit.AuditEvent:
    details = {"id": refund_id, "status": status, "amount": "5.00", "currency": "USD", **more}
    outcome = "success" if status == "COMPLETED" else "failure"
    return audit.AuditEvent(audit.REFUND, "op", outcome, "ip", resource, details)


@pytest.mark.parametrize("error", ["gateway_unavailable", "gateway_rejected"])
def test_a_failed_retry_never_regresses_an_approved_payment(ledger: Ledger, error: str) -> None:
    ledger.apply(_payment("pay_1", "approved", paypal_capture_id="CAP1"))
    ledger.apply(_failed_retry("pay_1", error))
    row = ledger.get_payment("pay_1")
    assert row is not None
    assert (row["status"], row["paypal_capture_id"]) == ("approved", "CAP1")
    # Delivered the other way round, the ledger ends the same.
    ledger.apply(_failed_retry("pay_2", error))
    ledger.apply(_payment("pay_2", "approved", paypal_capture_id="CAP2"))
    assert ledger.get_payment("pay_2")["status"] == "approved"  # type: ignore[index]


def test_a_refunds_later_success_supersedes_its_failure(ledger: Ledger) -> None:
    ledger.apply(_payment("pay_1", "approved"))
    ledger.apply(_refund_attempt("pay_1", "ref_a", "FAILED", error="outcome_unknown"))
    ledger.apply(_refund_attempt("pay_1", "ref_a", "COMPLETED", paypal_refund_id="R1"))
    row = ledger.get_payment("pay_1")
    assert row is not None
    assert (row["status"], row["refunded_amount"]) == ("partially_refunded", "5.00")
    assert [(r["id"], r["status"]) for r in ledger.refunds_for("pay_1")] == [("ref_a", "COMPLETED")]
    # A later failed retry of the same refund changes nothing.
    ledger.apply(_refund_attempt("pay_1", "ref_a", "FAILED", error="gateway_unavailable"))
    assert [r["status"] for r in ledger.refunds_for("pay_1")] == ["COMPLETED"]
    assert ledger.get_payment("pay_1")["refunded_amount"] == "5.00"  # type: ignore[index]


def test_a_refund_delivered_before_its_payment_is_counted(ledger: Ledger) -> None:
    ledger.apply(_refund("pay_1", "ref_a", "5.00"))
    assert ledger.get_payment("pay_1") is None
    ledger.apply(_payment("pay_1", "approved"))
    row = ledger.get_payment("pay_1")
    assert row is not None
    assert (row["status"], row["refunded_amount"]) == ("partially_refunded", "5.00")


def test_a_sqlite_ledger_of_an_older_schema_is_dropped_for_a_rebuild(tmp_path: Any) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite3"
    old = sqlite3.connect(str(path))
    old.executescript(
        "CREATE TABLE applied_events (event_id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);"
        "INSERT INTO applied_events VALUES ('ev1', 'then');"
        "CREATE TABLE payments (id TEXT PRIMARY KEY, status TEXT NOT NULL);"
        "INSERT INTO payments VALUES ('pay_0123456789abcdef01234567', 'approved');"
    )
    old.commit()
    old.close()
    ledger = SqliteLedger(path)
    try:
        assert ledger.list_payments().items == []
        event = _payment("pay_1", "approved")
        event = audit.AuditEvent(
            event.type, "op", "success", "ip", "pay_1", event.details, event_id="ev1"
        )
        assert ledger.apply(event) is True  # the applied-event marks went with the rows
        assert ledger.get_payment("pay_1")["status"] == "approved"  # type: ignore[index]
    finally:
        ledger.close()


def _searched(ledger: Ledger, text: str, limit: int) -> list[str]:
    """Every page of a search, followed to its end: the ids in order."""
    found: list[str] = []
    cursor = None
    while True:
        page = ledger.list_payments(search=text, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        found += [item["id"] for item in page.items]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_search_matches_reference_last4_amount_id_or_code_across_pages(ledger: Ledger) -> None:
    from cardline.cde import ids
    from cardline.cde.confirmation import confirmation_code
    from cardline.ledger.search import Search

    made = []
    for n in range(23):
        resource = "pay_" + ids.digest("search", str(n))[:24]
        made.append(resource)
        ledger.apply(
            _payment(
                resource,
                "approved",
                time=f"2026-11-28T10:{n:02d}:00.000Z",
                amount=f"{n % 5 + 1}.50",
                last4=f"{n % 3:04d}",
                reference=f"Order-{n}",
            )
        )
    everything = [item for item in ledger.list_payments(limit=100).items]
    target = made[7]
    for text in ("order-1", "0002", "3.5", "3.50", target, confirmation_code(target).lower()):
        expected = [item["id"] for item in everything if Search(text).matches(item)]
        assert expected, text
        # Paged in threes, the search gives every match once, newest first, none skipped.
        assert _searched(ledger, text, 3) == expected, text
    assert _searched(ledger, "0011", 3) == []  # a last 4 nobody has, never the amount 11
    assert _searched(ledger, target, 3) == [target]
    assert [i["confirmation_code"] for i in everything] == [
        confirmation_code(i["id"]) for i in everything
    ]


def test_a_list_by_operator_keeps_that_operators_payments_across_pages(ledger: Ledger) -> None:
    for n in range(7):
        operator = "op_ada" if n % 3 == 0 else "op_grace"
        when = f"2026-11-28T10:0{n}:00.000Z"
        ledger.apply(_payment(f"pay_{'abcdefg'[n]}", "approved", when, operator=operator))
    seen: list[str] = []
    cursor = None
    while True:
        page = ledger.list_payments(operator="op_ada", limit=1, cursor=cursor)
        seen.extend(item["id"] for item in page.items)
        assert all(item["operator"] == "op_ada" for item in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["pay_g", "pay_d", "pay_a"]
    assert ledger.list_payments(operator="op_nobody").items == []
    assert len(ledger.list_payments().items) == 7
