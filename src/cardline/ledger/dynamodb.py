"""The DynamoDB ledger used on AWS: the same behaviour as the SQLite one, one table.

Items (``pk``, ``sk``):

- ``PAY#<id>``, ``PAYMENT``: a payment row, with ``by_time`` / ``by_status`` index keys
  (``PAYMENTS`` or ``STATUS#<status>``, then ``<created_at>#<id>``) so that listing walks
  newest first by ``created_at`` through a global secondary index, and a ``version``
  checked on every write (two projectors racing on one payment retry, never lose one).
- ``PAY#<id>``, ``REFUND#<refund id>``: a refund row.
- ``EVENT#<event id>``, ``EVENT``: the event was applied. Written in the same transaction
  as the rows it produced, on condition that it does not exist yet: a replayed event
  changes nothing, which makes the projection idempotent by event id.

The projection rules are those of :mod:`cardline.ledger.projector`, shared with SQLite.
boto3 is imported when a ledger is made, never by the charge path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cardline.audit import AuditEvent
from cardline.ledger import Page
from cardline.ledger.projector import (
    PAYMENT_COLUMNS,
    REFUND_COLUMNS,
    is_projected,
    payment_row,
    refund_rows,
)
from cardline.ledger.sqlite import decode_cursor, encode_cursor

__all__ = ["BY_STATUS", "BY_TIME", "DynamoDbLedger"]

BY_TIME = "by_time"
BY_STATUS = "by_status"
_ALL_PAYMENTS = "PAYMENTS"
_MAX_RACES = 8


class _Race(Exception):
    """Another writer changed the payment between our read and our write."""


class DynamoDbLedger:
    """A ledger in one DynamoDB table (see the module docstring for the item layout)."""

    def __init__(self, table: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._table = table
        self._client = client
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    # ------------------------------------------------------------------ projection

    def apply(self, event: AuditEvent) -> bool:
        for _ in range(_MAX_RACES):
            try:
                return self._apply_once(event)
            except _Race:
                continue
        raise RuntimeError(f"payment {event.resource!r} kept changing while projecting")

    def _apply_once(self, event: AuditEvent) -> bool:
        marker = self._put(
            {"pk": f"EVENT#{event.event_id}", "sk": "EVENT", "applied_at": event.time},
            "attribute_not_exists(pk)",
        )
        if not is_projected(event):
            return self._transact([marker])
        existing_item = self._item(f"PAY#{event.resource}", "PAYMENT")
        existing = _row(existing_item, PAYMENT_COLUMNS) if existing_item else None
        writes = [marker]
        if event.type == "payment":
            row = payment_row(event, existing)
            if row is not None:
                writes.append(self._payment_put(row, existing_item))
            return self._transact(writes)
        refund, payment = refund_rows(event, existing)
        if refund.get("id") is None:
            return self._transact(writes)
        refund_key = (f"PAY#{event.resource}", f"REFUND#{refund['id']}")
        if self._item(*refund_key) is not None:
            return self._transact(writes)  # a retried refund: counted once
        refund_item = {"pk": refund_key[0], "sk": refund_key[1], **refund}
        writes.append(self._put(refund_item, "attribute_not_exists(pk)"))
        if payment is not None:
            writes.append(self._payment_put(payment, existing_item))
        return self._transact(writes)

    def _payment_put(
        self, row: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        version = int(existing["version"]) if existing else 0
        order = f"{row['created_at']}#{row['id']}"
        item = {
            **row,
            "pk": f"PAY#{row['id']}",
            "sk": "PAYMENT",
            "version": version + 1,
            "by_time_pk": _ALL_PAYMENTS,
            "by_time_sk": order,
            "by_status_pk": f"STATUS#{row['status']}",
            "by_status_sk": order,
        }
        if existing is None:
            return self._put(item, "attribute_not_exists(pk)")
        return self._put(item, "version = :seen", {":seen": version})

    def _put(
        self,
        item: Mapping[str, Any],
        condition: str,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": self._serialize(item),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = self._serialize(values)
        return {"Put": put}

    def _transact(self, writes: list[dict[str, Any]]) -> bool:
        """True when written; False when the event marker already existed."""
        from botocore.exceptions import ClientError

        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            codes = [reason.get("Code") for reason in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise _Race from None
            raise
        return True

    # ------------------------------------------------------------------ reading

    def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        item = self._item(f"PAY#{payment_id}", "PAYMENT")
        return _row(item, PAYMENT_COLUMNS) if item else None

    def list_payments(
        self,
        *,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        index, key = (BY_STATUS, f"STATUS#{status}") if status else (BY_TIME, _ALL_PAYMENTS)
        upper = until
        if cursor is not None:
            created_at, payment_id = decode_cursor(cursor)
            after = f"{created_at}#{payment_id}"
            upper = after if upper is None else min(upper, after)
        condition = f"{index}_pk = :key"
        values: dict[str, Any] = {":key": key}
        if since is not None and upper is not None:
            condition += f" AND {index}_sk BETWEEN :low AND :high"
            values.update({":low": since, ":high": upper})
        elif since is not None:
            condition += f" AND {index}_sk >= :low"
            values[":low"] = since
        elif upper is not None:
            condition += f" AND {index}_sk < :high"
            values[":high"] = upper
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": self._serialize(values),
            "ScanIndexForward": False,
        }
        rows: list[dict[str, Any]] = []
        while len(rows) <= limit:
            query["Limit"] = limit + 2 - len(rows)
            answer = self._client.query(**query)
            for item in answer.get("Items", []):
                found = self._deserialize(item)
                if upper is not None and found[f"{index}_sk"] >= upper:
                    continue  # BETWEEN includes its upper bound; ours is exclusive
                rows.append(_row(found, PAYMENT_COLUMNS))
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return Page(items=rows, next_cursor=next_cursor)

    def refunds_for(self, payment_id: str) -> list[dict[str, Any]]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :refund)",
            "ExpressionAttributeValues": self._serialize(
                {":pk": f"PAY#{payment_id}", ":refund": "REFUND#"}
            ),
            "ConsistentRead": True,
        }
        refunds: list[dict[str, Any]] = []
        while True:
            answer = self._client.query(**query)
            refunds.extend(
                _row(self._deserialize(item), REFUND_COLUMNS) for item in answer.get("Items", [])
            )
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return sorted(refunds, key=lambda refund: (str(refund["created_at"]), str(refund["id"])))

    def close(self) -> None:
        """Nothing to release: the client's connections close with the process."""

    # ------------------------------------------------------------------ items

    def _item(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key=self._serialize({"pk": pk, "sk": sk}),
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return self._deserialize(item) if item else None

    def _serialize(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: self._serializer.serialize(value)
            for name, value in values.items()
            if value is not None
        }

    def _deserialize(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._deserializer.deserialize(value) for name, value in item.items()}


def _row(item: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The row as SQLite gives it: every column, None where the item has no attribute."""
    return {column: item.get(column) for column in columns}
