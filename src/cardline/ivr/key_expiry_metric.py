"""The ivr function's scheduled key check: days to expiry as a CloudWatch metric.

An EventBridge schedule (``infra/serverless/template.yaml``, ``IvrKeyCheckSchedule``)
invokes the ``ivr`` function with the constant event ``{"cardline": "ivr-key-check",
"stack": "<stack name>"}``, never a Connect event. The function reads its keys secret (it
may already), checks every entry (:mod:`cardline.ivr.key_check`) and writes one line in
CloudWatch's embedded metric format (EMF) to stdout: namespace ``cardline``, metric
``IvrKeyDaysToExpiry`` (the fewest whole days any key has left; a key whose private half
cannot decrypt counts as 0), dimension ``Stack`` only. The alarm ``IvrKeyExpiryAlarm``
fires below 30 and when no value arrives: when an entry has no certificate, the secret
cannot be read, or the check does not run, no line is written, so a broken check alarms
too. Only key ids, dates and verdicts are logged; the answer holds no card data.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from cardline.cde.encoding import compact
from cardline.cde.metrics import NAMESPACE as NAMESPACE  # the tests and the alarm read it here
from cardline.cde.metrics import emf_document
from cardline.ivr.key_check import OK, check_key_pairs, days_to_expiry

SCHEDULED_KEY = "cardline"  # a Connect event has no such member: it names our own events
KEY_CHECK = "ivr-key-check"
METRIC = "IvrKeyDaysToExpiry"
DIMENSION = "Stack"
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")  # CloudFormation's stack names

log = logging.getLogger("cardline.ivr")


class NotAKeyCheck(ValueError):
    """A scheduled event that is not the key check, or names no stack."""


def emf_line(days: int, *, stack: str, now: datetime) -> str:
    """One EMF document: ``days`` as ``IvrKeyDaysToExpiry`` for ``stack``, at ``now``."""
    document = emf_document(
        {METRIC: days}, {DIMENSION: stack}, timestamp_ms=int(now.timestamp() * 1000)
    )
    return compact(document)


def stack_of(event: Mapping[str, Any]) -> str:
    """The stack a key-check event names; :class:`NotAKeyCheck` for any other event."""
    if event.get(SCHEDULED_KEY) != KEY_CHECK:
        raise NotAKeyCheck(f"not a scheduled event this function knows ({SCHEDULED_KEY!r})")
    stack = event.get("stack")
    if not isinstance(stack, str) or not _STACK_NAME.fullmatch(stack):
        raise NotAKeyCheck("the key-check event names no stack")
    return stack


def run_key_check(
    event: Mapping[str, Any],
    secret_id: str,
    *,
    client: Any = None,
    stream: TextIO | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Check the keys in ``secret_id`` and write the metric line; answers what it found."""
    from cardline.ivr.keys import (
        KEYS_SECRET_UNNAMED,
        KeyConfigError,
        key_pairs_from_secrets_manager,
    )

    stack = stack_of(event)
    if not secret_id:
        raise KeyConfigError(KEYS_SECRET_UNNAMED)
    moment = now or datetime.now(UTC)
    statuses = check_key_pairs(key_pairs_from_secrets_manager(secret_id, client), now=moment)
    for status in statuses:
        level = logging.INFO if status.status == OK else logging.WARNING
        log.log(
            level,
            "ivr key check: key id %s: %s, %s days left%s",
            status.key_id,
            status.status,
            "unknown" if status.days_left is None else status.days_left,
            f" ({status.advice})" if status.advice else "",
        )
    days = days_to_expiry(statuses)
    if days is None:
        log.error(
            "ivr key check: no %s written: an entry's expiry is unknown, so the alarm's "
            "missing data fires it",
            METRIC,
        )
        return {"check": KEY_CHECK, "keys": str(len(statuses)), "days_to_expiry": "unknown"}
    out = stream or sys.stdout
    out.write(emf_line(days, stack=stack, now=moment) + "\n")
    out.flush()
    return {"check": KEY_CHECK, "keys": str(len(statuses)), "days_to_expiry": str(days)}
