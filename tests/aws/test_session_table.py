"""What only the DynamoDB session store has to get right: the table's TTL, a session past
its lifetime, and items holding nothing of a card but its last four digits. (The store's
behaviour shared with SQLite is pinned in tests/ivr/test_session_stores.py.)"""

from __future__ import annotations

import json

from cardline.cde import audit
from cardline.ivr.session_table import EXPIRES_AT, LIFETIME, DynamoDbSessionStore
from tests.aws_support import Aws, load_template
from tests.cards import TEST_PANS
from tests.seeded import contact_id

TERMS: dict[str, str | None] = {
    "amount": "5.00",
    "currency": "USD",
    "reference": "order-3",
    "cardholder_name": "Grace Hopper",
}


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _Events:
    def emit(self, event: audit.AuditEvent) -> None:
        pass


def test_the_templates_table_expires_items_by_their_expires_at(aws: Aws) -> None:
    properties = load_template()["Resources"]["IvrSessionsTable"]["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": EXPIRES_AT, "Enabled": True}
    table = aws.sessions_table()
    described = aws.client("dynamodb").describe_time_to_live(TableName=table)
    assert described["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": EXPIRES_AT,
    }


def test_a_session_is_kept_a_day_then_reads_as_none_and_no_longer_changes(aws: Aws) -> None:
    clock = _Clock(1_800_000_000.0)
    client = aws.client("dynamodb")
    table = aws.sessions_table()
    store = DynamoDbSessionStore(table, _Events(), client, clock=clock)
    session = store.create(
        {"contact_id": contact_id(), **TERMS}, operator="agent-1", origin="192.0.2.1"
    )
    item = client.get_item(TableName=table, Key={"id": {"S": session.id}})["Item"]
    assert item[EXPIRES_AT] == {"N": str(1_800_000_000 + LIFETIME)}

    clock.now += LIFETIME - 1
    assert store.get(session.id) == session
    clock.now += 1  # expired: DynamoDB deletes it within days, the store at once
    assert store.get(session.id) is None
    store.record_progress(session.id, "charging")
    store.record_outcome(session.id, status="approved", payment_id="pay_late")
    item = client.get_item(TableName=table, Key={"id": {"S": session.id}})["Item"]
    assert (item["status"], item["progress"]) == ({"S": "waiting"}, {"S": "waiting"})
    assert "payment_id" not in item


def test_an_item_holds_brand_and_last_four_only(aws: Aws) -> None:
    client = aws.client("dynamodb")
    table = aws.sessions_table()
    store = DynamoDbSessionStore(table, _Events(), client)
    session = store.create(
        {"contact_id": contact_id(), **TERMS}, operator="agent-1", origin="192.0.2.1"
    )
    store.record_outcome(
        session.id, status="approved", payment_id="pay_1", brand="VISA", last4="1881"
    )
    item = client.get_item(TableName=table, Key={"id": {"S": session.id}})["Item"]
    text = json.dumps(item)
    assert not any(pan in text for pan in TEST_PANS)
    assert set(item) == {
        "id",
        "contact_id",
        "amount",
        "currency",
        "reference",
        "cardholder_name",
        "operator",
        "created_at",
        "status",
        "progress",
        "payment_id",
        "brand",
        "last4",
        "updated_at",
        EXPIRES_AT,
    }
