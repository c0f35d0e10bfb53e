"""The projector Lambda fed real CloudWatch Logs subscription payloads, into DynamoDB (moto)."""

from __future__ import annotations

import base64
import gzip
import io
import json

import pytest

from cardline.cde import audit
from cardline.ledger import lambda_projector
from cardline.ledger.dynamodb import DynamoDbLedger
from cardline.ledger.lambda_projector import project
from tests.aws_support import Aws, subscription_event


def _audit_lines(*events: audit.AuditEvent) -> list[str]:
    """The lines the functions' StreamSink writes to stdout, as CloudWatch Logs keeps them."""
    out = io.StringIO()
    sink = audit.StreamSink(out)
    for event in events:
        sink.emit(event)
    return out.getvalue().splitlines()


def _payment(resource: str, status: str = "approved") -> audit.AuditEvent:
    details = {"status": status, "amount": "20.00", "currency": "USD", "last4": "1881"}
    return audit.AuditEvent(
        audit.PAYMENT, "agent-ada", "success", "203.0.113.10", resource, details
    )


RUNTIME_LINES = [
    "START RequestId: 6f1e Version: $LATEST",
    "END RequestId: 6f1e",
    "REPORT RequestId: 6f1e\tDuration: 212.31 ms\tBilled Duration: 213 ms",
]


def test_audit_events_in_a_subscription_batch_reach_the_ledger_once(aws: Aws) -> None:
    ledger = DynamoDbLedger(aws.ledger_table(), aws.client("dynamodb"))
    lines = _audit_lines(_payment("pay_a"), _payment("pay_b", "declined"))
    batch = subscription_event([RUNTIME_LINES[0], *lines, *RUNTIME_LINES[1:]])
    assert project(ledger, batch).to_dict() == {"applied": 2, "already_applied": 0, "not_audit": 3}
    # CloudWatch Logs or Lambda retrying the same batch changes nothing.
    assert project(ledger, batch).to_dict() == {"applied": 0, "already_applied": 2, "not_audit": 3}
    assert [p["id"] for p in ledger.list_payments().items] == ["pay_b", "pay_a"]
    assert ledger.get_payment("pay_b")["status"] == "declined"  # type: ignore[index]


def test_a_control_message_changes_nothing(aws: Aws) -> None:
    ledger = DynamoDbLedger(aws.ledger_table(), aws.client("dynamodb"))
    control = {"messageType": "CONTROL_MESSAGE", "logEvents": [{"message": "CWL CONTROL"}]}
    data = base64.b64encode(gzip.compress(json.dumps(control).encode())).decode()
    assert project(ledger, {"awslogs": {"data": data}}).to_dict() == {
        "applied": 0,
        "already_applied": 0,
        "not_audit": 0,
    }


@pytest.mark.parametrize(
    "event",
    [{}, {"awslogs": {}}, {"awslogs": {"data": "not base64!"}}, {"awslogs": {"data": "aGVsbG8="}}],
)
def test_anything_but_a_subscription_payload_is_refused(aws: Aws, event: dict[str, object]) -> None:
    ledger = DynamoDbLedger(aws.ledger_table(), aws.client("dynamodb"))
    with pytest.raises(ValueError, match="not a CloudWatch Logs subscription event"):
        project(ledger, event)


def test_the_handler_projects_into_the_table_it_is_configured_with(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = aws.ledger_table()
    for name, value in aws.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CARDLINE_LEDGER_TABLE", table)
    monkeypatch.setattr(lambda_projector, "_ledger", None)
    answer = lambda_projector.handler(subscription_event(_audit_lines(_payment("pay_h"))), None)
    assert answer == {"applied": 1, "already_applied": 0, "not_audit": 0}
    stored = DynamoDbLedger(table, aws.client("dynamodb")).get_payment("pay_h")
    assert stored is not None
    assert (stored["status"], stored["last4"], stored["operator"]) == (
        "approved",
        "1881",
        "agent-ada",
    )
