"""AWS Lambda entry point: audit events from a CloudWatch Logs subscription into the ledger.

CloudWatch Logs invokes the function asynchronously with ``{"awslogs": {"data": ...}}``,
the data being base64 of a gzip of JSON whose ``logEvents[].message`` are the lines the
charge and backoffice functions wrote to stdout. Lines that are not cardline audit events
(the runtime's START/END/REPORT lines, a stray print) are counted and skipped; an event
the ledger cannot take raises, so that Lambda retries the batch and then hands it to the
failure destination. Applying an event twice changes nothing, so a retried batch is safe.

Logs, metrics and traces go through Powertools (cardline.telemetry): each delivery counts
its events applied to the ledger as ``ProjectedEvents``.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cardline.cde.audit import AuditEvent
from cardline.ledger import Ledger
from cardline.telemetry import Telemetry

__all__ = ["Counts", "audit_events", "decode_subscription", "handler", "project"]

TABLE_VARIABLE = "CARDLINE_LEDGER_TABLE"
SERVICE = "projector"

_ledger: Ledger | None = None
telemetry = Telemetry(SERVICE)


@dataclass(frozen=True)
class Counts:
    applied: int = 0
    already_applied: int = 0
    not_audit: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "applied": self.applied,
            "already_applied": self.already_applied,
            "not_audit": self.not_audit,
        }


_NOT_A_SUBSCRIPTION = "not a CloudWatch Logs subscription event"


def decode_subscription(event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document inside a CloudWatch Logs subscription event; ValueError for junk."""
    try:
        data = event["awslogs"]["data"]
        document = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise ValueError(_NOT_A_SUBSCRIPTION) from error
    if not isinstance(document, dict):
        raise ValueError(_NOT_A_SUBSCRIPTION)
    return document


def audit_events(document: Mapping[str, Any]) -> Iterator[AuditEvent | None]:
    """Each log event as an AuditEvent, or None for a line that is not one."""
    for log_event in document.get("logEvents") or []:
        message = log_event.get("message") if isinstance(log_event, Mapping) else None
        try:
            yield AuditEvent.from_dict(json.loads(message)) if isinstance(message, str) else None
        except (ValueError, KeyError, TypeError):
            yield None


def project(ledger: Ledger, event: Mapping[str, Any]) -> Counts:
    """Apply every audit event of one subscription delivery to ``ledger``."""
    document = decode_subscription(event)
    if document.get("messageType") == "CONTROL_MESSAGE":
        return Counts()  # CloudWatch Logs checking that the destination is reachable
    applied = already = skipped = 0
    for audit_event in audit_events(document):
        if audit_event is None:
            skipped += 1
        elif ledger.apply(audit_event):
            applied += 1
        else:
            already += 1
    return Counts(applied, already, skipped)


def _handle(event: Any, context: Any) -> dict[str, int]:
    global _ledger
    if _ledger is None:
        from cardline.ledger.dynamodb import DynamoDbLedger

        _ledger = DynamoDbLedger(os.environ[TABLE_VARIABLE])
    counts = project(_ledger, event)
    telemetry.count("ProjectedEvents", counts.applied)
    return counts.to_dict()


# The PAN mask goes on the runtime's handler at the first invocation (cardline.telemetry).
handler = telemetry.entry_point(_handle)
