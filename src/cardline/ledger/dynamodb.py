"""The DynamoDB ledger used on AWS: the same behaviour as the SQLite one, one table.

Items (``pk``, ``sk``):

- ``PAY#<id>``, ``PAYMENT``: a payment row, with ``by_time`` / ``by_status`` index keys
  (``PAYMENTS`` or ``STATUS#<status>``, then ``<created_at>#<id>``) so that listing walks
  newest first by ``created_at`` through a global secondary index, and a ``version``
  checked on every write (two projectors racing on one payment retry, never lose one).
  Written (without index keys or status) as soon as any event names the payment, so that
  every writer of one payment, refund writers included, goes through its ``version``.
- ``PAY#<id>``, ``REFUND#<refund id>``: a refund row.
- ``REFUND#<refund id>``, ``REFUND``: which payment the refund id belongs to (a refund id
  is global: it is made from the operator and the key).
- ``PAYPAL#<PayPal order, capture or authorization id>``, ``PAYPAL``: which payment the
  PayPal id belongs to (how a webhook event finds its payment), written with the payment.
- ``PAY#<id>``, ``CAPTURE#<capture id>`` and ``CAPTURE#<capture id>``, ``CAPTURE``: a
  capture or void row of an authorization and its owner, as for refunds.
- ``EVENT#<event id>``, ``EVENT``: the event was applied. Written in the same transaction
  as the rows it produced, on condition that it does not exist yet: a replayed event
  changes nothing, which makes the projection idempotent by event id.

The projection rules are the state machine of :mod:`cardline.ledger.states`, shared with
SQLite.
boto3 is imported when a ledger is made, never by the charge path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cardline.cde.audit import AuditEvent
from cardline.ledger import Page
from cardline.ledger.projector import projected
from cardline.ledger.search import Search
from cardline.ledger.sqlite import decode_cursor, encode_cursor
from cardline.ledger.states import (
    AUTHORIZATION_ACTIONS,
    CAPTURE_COLUMNS,
    PAYMENT_COLUMNS,
    REFUND_COLUMNS,
    current_id,
    fold_capture,
    fold_payment,
    fold_refund,
    public_capture,
    public_payment,
    public_refund,
    with_captures,
    with_refunds,
)

__all__ = ["BY_STATUS", "BY_TIME", "DynamoDbLedger"]

BY_TIME = "by_time"
BY_STATUS = "by_status"
_ALL_PAYMENTS = "PAYMENTS"
_MAX_RACES = 8
_PAYPAL_IDS = ("paypal_order_id", "paypal_capture_id", "paypal_authorization_id")
_SEARCH_READ = 200  # items per query page while a search skips what it does not match


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
        change = projected(event)
        if change is None:
            return self._transact([marker])
        event = change
        payment_id = current_id(event.resource)
        payment_item = self._item(f"PAY#{payment_id}", "PAYMENT")
        existing = _payment_of(payment_item)
        if event.type == "payment":
            row = fold_payment(existing, event)
            if row is None:
                return self._transact([marker])
            row = with_captures(row, self._children(payment_id, "CAPTURE#", CAPTURE_COLUMNS))
            row = with_refunds(row, self._refunds(payment_id))
            links = self._paypal_links(row, existing)
            return self._transact([marker, self._payment_put(row, payment_item), *links])
        if event.type in AUTHORIZATION_ACTIONS:
            return self._apply_capture(event, marker, payment_id, payment_item, existing)
        refund_id = event.details.get("id")
        earlier: dict[str, Any] | None = None
        if isinstance(refund_id, str):
            owner = self._item(f"REFUND#{current_id(refund_id)}", "REFUND")
            if owner is not None and owner.get("payment_id") != payment_id:
                return self._transact([marker])  # a refund id names one payment
            found = self._item(f"PAY#{payment_id}", f"REFUND#{current_id(refund_id)}")
            earlier = _row(found, REFUND_COLUMNS) if found else None
        refund = fold_refund(earlier, event)
        if refund is None:
            return self._transact([marker])
        refunds = [r for r in self._refunds(payment_id) if r["id"] != refund["id"]]
        refunds.append(refund)
        writes = [
            marker,
            self._put({"pk": f"PAY#{payment_id}", "sk": f"REFUND#{refund['id']}", **refund}),
            self._put({"pk": f"REFUND#{refund['id']}", "sk": "REFUND", "payment_id": payment_id}),
        ]
        if existing is not None:
            payment = with_refunds(existing, refunds)
            writes.append(self._payment_put(payment, payment_item))
        else:  # not projected yet: take the payment's version all the same
            writes.append(self._versioned_put({"pk": f"PAY#{payment_id}"}, payment_item))
        return self._transact(writes)

    def _apply_capture(
        self,
        event: AuditEvent,
        marker: dict[str, Any],
        payment_id: str,
        payment_item: dict[str, Any] | None,
        existing: dict[str, Any] | None,
    ) -> bool:
        capture_id = event.details.get("id")
        earlier: dict[str, Any] | None = None
        if isinstance(capture_id, str):
            owner = self._item(f"CAPTURE#{capture_id}", "CAPTURE")
            if owner is not None and owner.get("payment_id") != payment_id:
                return self._transact([marker])  # a capture id names one payment
            found = self._item(f"PAY#{payment_id}", f"CAPTURE#{capture_id}")
            earlier = _row(found, CAPTURE_COLUMNS) if found else None
        capture = fold_capture(earlier, event)
        if capture is None:
            return self._transact([marker])
        captures = [
            c
            for c in self._children(payment_id, "CAPTURE#", CAPTURE_COLUMNS)
            if c["id"] != capture["id"]
        ]
        captures.append(capture)
        writes = [
            marker,
            self._put({"pk": f"PAY#{payment_id}", "sk": f"CAPTURE#{capture['id']}", **capture}),
            self._put(
                {"pk": f"CAPTURE#{capture['id']}", "sk": "CAPTURE", "payment_id": payment_id}
            ),
        ]
        if existing is not None:
            payment = with_refunds(with_captures(existing, captures), self._refunds(payment_id))
            writes.append(self._payment_put(payment, payment_item))
        else:  # not projected yet: take the payment's version all the same
            writes.append(self._versioned_put({"pk": f"PAY#{payment_id}"}, payment_item))
        return self._transact(writes)

    def _payment_put(
        self, row: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        order = f"{row['created_at']}#{row['id']}"
        item = {
            **row,
            "pk": f"PAY#{row['id']}",
            "by_time_pk": _ALL_PAYMENTS,
            "by_time_sk": order,
            "by_status_pk": f"STATUS#{row['status']}",
            "by_status_sk": order,
        }
        return self._versioned_put(item, existing)

    def _paypal_links(
        self, row: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        """The ``PAYPAL#`` items for the PayPal ids ``row`` has and ``existing`` had not."""
        return [
            self._put({"pk": f"PAYPAL#{row[name]}", "sk": "PAYPAL", "payment_id": row["id"]})
            for name in _PAYPAL_IDS
            if row.get(name) and row.get(name) != (existing or {}).get(name)
        ]

    def _versioned_put(
        self, item: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The payment item ``item`` (``pk`` given), on condition that nobody wrote it since
        ``existing`` was read."""
        version = int(existing["version"]) if existing else 0
        written = {**item, "sk": "PAYMENT", "version": version + 1}
        if existing is None:
            return self._put(written, "attribute_not_exists(pk)")
        return self._put(written, "version = :seen", {":seen": version})

    def _put(
        self,
        item: Mapping[str, Any],
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": self._serialize(item)}
        if condition is not None:
            put["ConditionExpression"] = condition
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
        found = _payment_of(self._item(f"PAY#{current_id(payment_id)}", "PAYMENT"))
        return public_payment(found) if found is not None else None

    def find_by_paypal_id(self, paypal_id: str) -> dict[str, Any] | None:
        link = self._item(f"PAYPAL#{paypal_id}", "PAYPAL")
        return self.get_payment(str(link["payment_id"])) if link else None

    def get_refund(self, refund_id: str) -> dict[str, Any] | None:
        refund_id = current_id(refund_id)
        owner = self._item(f"REFUND#{refund_id}", "REFUND")
        if owner is None:
            return None
        found = self._item(f"PAY#{owner['payment_id']}", f"REFUND#{refund_id}")
        return _row(found, REFUND_COLUMNS) if found else None

    def list_payments(
        self,
        *,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
        operator: str | None = None,
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
        if operator is not None:
            # Read on the same index and kept server-side: DynamoDB counts Limit before the
            # filter, so the loop below reads on past what it drops, as a search does.
            query["FilterExpression"] = "#operator = :operator"
            query["ExpressionAttributeNames"] = {"#operator": "operator"}
            values[":operator"] = operator
            query["ExpressionAttributeValues"] = self._serialize(values)
        matcher = Search(search) if search is not None else None
        filtered = matcher is not None or operator is not None
        rows: list[dict[str, Any]] = []
        while len(rows) <= limit:
            # A search reads on past what it skips: whole query pages, not one row more.
            query["Limit"] = limit + 2 - len(rows) if not filtered else _SEARCH_READ
            answer = self._client.query(**query)
            for item in answer.get("Items", []):
                found = self._deserialize(item)
                if upper is not None and found[f"{index}_sk"] >= upper:
                    continue  # BETWEEN includes its upper bound; ours is exclusive
                if matcher is not None and not matcher.matches(found):
                    continue
                rows.append(public_payment(found))
                if len(rows) > limit:
                    break
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return Page(items=rows, next_cursor=next_cursor)

    def refunds_for(self, payment_id: str) -> list[dict[str, Any]]:
        return [public_refund(row) for row in self._refunds(current_id(payment_id))]

    def get_capture(self, capture_id: str) -> dict[str, Any] | None:
        owner = self._item(f"CAPTURE#{capture_id}", "CAPTURE")
        if owner is None:
            return None
        found = self._item(f"PAY#{owner['payment_id']}", f"CAPTURE#{capture_id}")
        return _row(found, CAPTURE_COLUMNS) if found else None

    def captures_for(self, payment_id: str) -> list[dict[str, Any]]:
        rows = self._children(current_id(payment_id), "CAPTURE#", CAPTURE_COLUMNS)
        return [public_capture(row) for row in rows]

    def _refunds(self, payment_id: str) -> list[dict[str, Any]]:
        """The payment's refund rows as kept, oldest first (read consistently)."""
        return self._children(payment_id, "REFUND#", REFUND_COLUMNS)

    def _children(
        self, payment_id: str, prefix: str, columns: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        """The payment's rows under ``prefix`` (refunds, captures) as kept, oldest first
        (read consistently)."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": self._serialize(
                {":pk": f"PAY#{payment_id}", ":prefix": prefix}
            ),
            "ConsistentRead": True,
        }
        rows: list[dict[str, Any]] = []
        while True:
            answer = self._client.query(**query)
            rows.extend(_row(self._deserialize(item), columns) for item in answer.get("Items", []))
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return sorted(rows, key=lambda row: (str(row["created_at"]), str(row["id"])))

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


def _payment_of(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The payment row of a payment item; None for none, or for one that holds only the
    version (written by a refund projected before its payment)."""
    return _row(item, PAYMENT_COLUMNS) if item and "status" in item else None


def _row(item: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The row as SQLite gives it: every column, None where the item has no attribute."""
    return {column: item.get(column) for column in columns}
