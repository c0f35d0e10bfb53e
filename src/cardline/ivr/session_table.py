"""Agent-assisted IVR sessions in DynamoDB (AWS): the same store as SQLite, one table.

One item per session, keyed by ``id``, holding the :class:`~cardline.ivr.sessions.Session`
fields (an absent attribute is None) and ``expires_at``: epoch seconds, the table's TTL
attribute, ``LIFETIME`` after creation. DynamoDB deletes expired items within days, not
at once, so a session past ``expires_at`` is read as none at all and no longer changes.

The rules SQLite keeps with ``UPDATE ... WHERE`` are condition expressions here: a session
is created only once (``attribute_not_exists``), an update never creates an item, progress
moves only while the session waits, a decision (approved, declined) is never undone and
an unknown outcome gives way only to a decision. A refused condition is a no-op, as an
``UPDATE`` that matched no row is. Strongly consistent reads: the agent polls for
progress, and the ivr function reads the status it must not charge twice against.

boto3 is imported when a store is made (the backoffice and ivr zips hold it), never by
the charge path. Nothing of a card but brand and last four digits is ever written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from cardline.cde import audit
from cardline.ivr.sessions import (
    DECISIONS,
    WAITING,
    Session,
    audit_created,
    check_progress,
    new_session,
)

__all__ = ["EXPIRES_AT", "KEY", "LIFETIME", "DynamoDbSessionStore"]

KEY = "id"
EXPIRES_AT = "expires_at"  # the table's TimeToLiveSpecification.AttributeName
LIFETIME = 24 * 60 * 60  # seconds: a session serves one call
_FIELDS = tuple(Session.__dataclass_fields__)
_OUTCOME_FIELDS = ("status", "payment_id", "brand", "last4")
_LIVE = "attribute_exists(#id) AND #expires_at > :now"


class DynamoDbSessionStore:
    """A :class:`~cardline.ivr.sessions.SessionStore` in one DynamoDB table (see the
    module docstring). ``clock`` gives epoch seconds (tests move it)."""

    def __init__(
        self,
        table: str,
        sink: audit.AuditSink,
        client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._table = table
        self._sink = sink
        self._client = client
        self._clock = clock
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def create(self, terms: Mapping[str, str | None], *, operator: str, origin: str) -> Session:
        session = new_session(terms, operator)
        item = {**session.to_dict(), EXPIRES_AT: self._now() + LIFETIME}
        item.pop("confirmation_code", None)  # derived from payment_id when served
        self._client.put_item(
            TableName=self._table,
            Item=self._serialize(item),
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": KEY},
        )
        audit_created(self._sink, session, origin)
        return session

    def get(self, session_id: str) -> Session | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key=self._serialize({KEY: session_id}),
            ConsistentRead=True,
        )
        found = answer.get("Item")
        if not found:
            return None
        item = {name: self._deserializer.deserialize(value) for name, value in found.items()}
        if int(item.get(EXPIRES_AT, 0)) <= self._now():
            return None  # expired, not yet deleted by TTL
        # An attribute not written is None (a session's optional fields are kept absent).
        fields: dict[str, Any] = {name: item.get(name) for name in _FIELDS}
        return Session(**fields)

    def record_progress(self, session_id: str, stage: str) -> None:
        check_progress(stage)
        self._update(
            session_id,
            {"progress": stage},
            "#status = :waiting",
            {":waiting": WAITING},
        )

    def record_outcome(
        self,
        session_id: str,
        *,
        status: str,
        payment_id: str | None = None,
        brand: str | None = None,
        last4: str | None = None,
    ) -> None:
        """What an attempt came to, under the rules of SqliteSessionStore.record_outcome."""
        # A decision replaces anything but a decision; anything else replaces neither a
        # decision nor an unknown outcome (the card may have been charged).
        kept = sorted(DECISIONS) if status in DECISIONS else [*sorted(DECISIONS), "unknown"]
        names = {f":kept{n}": value for n, value in enumerate(kept)}
        self._update(
            session_id,
            dict(zip(_OUTCOME_FIELDS, (status, payment_id, brand, last4), strict=True)),
            f"NOT (#status IN ({', '.join(names)}))",
            names,
        )

    def _update(
        self,
        session_id: str,
        values: Mapping[str, str | None],
        condition: str,
        condition_values: Mapping[str, str],
    ) -> None:
        """Set ``values`` (a None removes the attribute) and ``updated_at`` on a live
        session meeting ``condition``; nothing when it does not."""
        from botocore.exceptions import ClientError

        changes = {**values, "updated_at": audit.utc_now()}
        names = {"#id": KEY, "#expires_at": EXPIRES_AT, "#status": "status"}
        bound: dict[str, Any] = {":now": self._now(), **condition_values}
        sets: list[str] = []
        removes: list[str] = []
        for n, (name, value) in enumerate(changes.items()):
            names[f"#f{n}"] = name
            if value is None:
                removes.append(f"#f{n}")
            else:
                sets.append(f"#f{n} = :v{n}")
                bound[f":v{n}"] = value
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._serialize({KEY: session_id}),
                UpdateExpression=expression,
                ConditionExpression=f"{_LIVE} AND {condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=self._serialize(bound),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def _now(self) -> int:
        return int(self._clock())

    def _serialize(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: self._serializer.serialize(value)
            for name, value in values.items()
            if value is not None
        }
