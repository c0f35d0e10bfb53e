"""The ledger as a state machine over audit events, written once for every backend.

Pure functions: a payment or refund row and one audit event in, the next row out. The
SQLite and DynamoDB ledgers only read the rows an event touches and store what these
functions return, so both follow the same rules.

Payments. Each payment event carries an *outcome*, ranked by how much it settles::

    attempt_failed < unknown < pending < failed < declined < approved

``attempt_failed`` is cardline's own word that one attempt never got an answer about the
order (PayPal unreachable, or it refused the request itself): it says nothing about an
earlier attempt with the same key. ``failed`` is PayPal's word about the order (or
reconcile's, which is PayPal's record). A row keeps the highest outcome it has seen, so
an approved payment is never re-recorded as failed by a retry that failed, and a retry
after a failure that PayPal approves supersedes the failure. The outcome's own fields
(decline code and reason, message) come from the winning event; the descriptive ones
(amount, card brand, PayPal ids, ...) are filled from any event that has them.

Refunds. Keyed by refund id, ranked the same way::

    attempt_failed < PENDING < FAILED, CANCELLED (PayPal's word) < COMPLETED

so a refund's later success supersedes its failure and a failed retry never undoes a
completed refund. A payment's refunded amount is the sum of its ``COMPLETED`` and
``PENDING`` refunds (one PayPal refund counted once, whatever rows name it), recomputed
from its refund rows whenever either changes, and its status follows: ``refunded``,
``partially_refunded`` or the outcome.

Reversals. Money PayPal took back (``PAYMENT.CAPTURE.REVERSED``, or a reversal reconcile
finds) is a refund row of ``kind`` ``reversal``, ranked like any refund; it counts in the
payment's ``refunded_amount`` (no refund can take it again) and alone in its
``reversed_amount``, and a payment with a reversal is ``reversed``.

Disputes. A payment shows one dispute (``dispute_*`` columns): the one whose latest event
ranks highest by (created < updated < resolved, the event's time, the dispute id), its
fields filled in from earlier events of the same dispute.

Webhooks. A verified PayPal webhook event is recorded as a ``webhook`` audit event naming
the payment it was matched to; :func:`ledger_event` reads it as the payment or refund event
it amounts to (a capture's new status, a refund or reversal, a dispute), folded by the same
rules.

Captures and voids of an authorization (``capture`` and ``void`` events), keyed by their
id and kept as rows of their own (``kind`` ``capture`` or ``void``), ranked::

    attempt_failed < PENDING < DECLINED, FAILED (PayPal's word) < COMPLETED, VOIDED

An approved authorization's status follows its rows: ``authorized`` (nothing captured),
``partially_captured``, ``captured`` (all of it, a final capture, or a void after a
partial capture: nothing more can be captured) or ``voided`` (voided before any capture);
its ``captured_amount`` is the sum of its ``COMPLETED`` and ``PENDING`` captures.

Every rule is a maximum, a minimum or a fill-in, so replaying the audit log, delivering an
event twice or delivering events out of order gives the same rows (for the events
cardline writes: two events of equal rank that disagree keep the first).

Legacy ids. Payment and refund ids were ``pay_``/``ref_`` + 24 hex digits until ids were
written in letters (:mod:`cardline.cde.ids`); an event naming an id in the old form is
projected under ``ids.from_hex`` of it, and a lookup by the old form finds the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cardline.cde import ids
from cardline.cde.audit import AuditEvent
from cardline.cde.confirmation import confirmation_code
from cardline.cde.paypal.codes import avs_words, cvv_words

__all__ = [
    "CAPTURED",
    "CAPTURE_COLUMNS",
    "DISPUTE_COLUMNS",
    "PAYMENT_COLUMNS",
    "PUBLIC_CAPTURE_COLUMNS",
    "PUBLIC_PAYMENT_COLUMNS",
    "PUBLIC_REFUND_COLUMNS",
    "REFUNDED",
    "REFUND_COLUMNS",
    "REVERSAL",
    "current_id",
    "fold_capture",
    "fold_payment",
    "fold_refund",
    "ledger_event",
    "payment_outcome",
    "public_capture",
    "public_payment",
    "public_refund",
    "refund_outcome",
    "refunded_total",
    "with_captures",
    "with_refunds",
]

PUBLIC_PAYMENT_COLUMNS = (
    "id",
    "status",
    "amount",
    "currency",
    "brand",
    "last4",
    "reference",
    "operator",
    "intent",
    "decline_code",
    "decline_reason",
    "message",
    "paypal_order_id",
    "paypal_capture_id",
    "paypal_authorization_id",
    "refunded_amount",
    "reversed_amount",
    "dispute_id",
    "dispute_status",
    "dispute_reason",
    "dispute_due_date",
    "dispute_outcome",
    "created_at",
    "updated_at",
    "captured_amount",
    "authorization_status",
    "authorization_expires_at",
    "reauthorization_id",
    "reauthorized_at",
    "avs_code",
    "cvv_code",
    "flags",
)
# ``outcome``: the ranked outcome the status came from; ``dispute_rank``: the order key of
# the dispute shown (both kept, never served).
PAYMENT_COLUMNS = (*PUBLIC_PAYMENT_COLUMNS, "outcome", "dispute_rank")
DISPUTE_COLUMNS = (
    "dispute_id",
    "dispute_status",
    "dispute_reason",
    "dispute_due_date",
    "dispute_outcome",
)

PUBLIC_REFUND_COLUMNS = (
    "id",
    "payment_id",
    "status",
    "amount",
    "currency",
    "operator",
    "paypal_refund_id",
    "kind",
    "created_at",
)
# ``fingerprint``: of the refund request, to refuse a key reused for another one;
# ``outcome``: the ranked outcome of the status; ``updated_at``: its latest event's time.
REFUND_COLUMNS = (*PUBLIC_REFUND_COLUMNS, "fingerprint", "outcome", "updated_at")

# A refund in these states has moved (or is moving) money back to the card.
REFUNDED = frozenset({"COMPLETED", "PENDING"})

PUBLIC_CAPTURE_COLUMNS = (
    "id",
    "payment_id",
    "kind",
    "status",
    "amount",
    "currency",
    "final_capture",
    "operator",
    "paypal_capture_id",
    "created_at",
)
CAPTURE_COLUMNS = (*PUBLIC_CAPTURE_COLUMNS, "fingerprint", "outcome", "updated_at")
# The audit events that make capture rows: captures, voids and reauthorizations of a
# payment's authorization (a row's ``kind``; ``paypal_capture_id`` holds the PayPal id of
# what the action made: a capture, or a reauthorization's new authorization).
AUTHORIZATION_ACTIONS = frozenset({"capture", "void", "reauthorization"})
# A capture in these states has taken (or is taking) money from the authorization.
CAPTURED = frozenset({"COMPLETED", "PENDING"})
_CAPTURE_RANK = {
    "attempt_failed": 0,
    "PENDING": 1,
    "DECLINED": 2,
    "FAILED": 2,
    "COMPLETED": 3,
    "VOIDED": 3,
    "CREATED": 3,  # a reauthorization PayPal made
}
_CAPTURE_FACTS = ("kind", "amount", "currency", "final_capture", "paypal_capture_id")
# PayPal's authorization periods: it honours the amount 3 days, may be captured 29 days.
HONOUR_DAYS = 3
VALID_DAYS = 29

_PAYMENT_RANK = {
    "attempt_failed": 1,
    "unknown": 2,
    "pending": 3,
    "failed": 4,
    "declined": 5,
    "approved": 6,
}
_REFUND_RANK = {"attempt_failed": 0, "PENDING": 1, "FAILED": 2, "CANCELLED": 2, "COMPLETED": 3}
_PAYMENT_OUTCOME_FIELDS = ("decline_code", "decline_reason", "message")
_PAYMENT_FACTS = tuple(
    column
    for column in PUBLIC_PAYMENT_COLUMNS
    if column
    not in {
        "id",
        "status",
        "operator",
        "refunded_amount",
        "reversed_amount",
        "created_at",
        "updated_at",
        "captured_amount",
        "authorization_status",
        *_PAYMENT_OUTCOME_FIELDS,
        *DISPUTE_COLUMNS,
    }
)
_REFUND_FACTS = ("amount", "currency", "paypal_refund_id", "kind")
REVERSAL = "reversal"
_RECONCILER = "reconcile"  # reconcile's operator: any agent's name is better
_LEGACY_ID = re.compile(r"(pay|ref)_([0-9a-f]{24})")
_LETTERS = frozenset(ids.ALPHABET)


def current_id(value: str) -> str:
    """The id as cardline writes it now: a legacy ``pay_``/``ref_`` + 24 hex digits id
    becomes ``ids.from_hex`` of it; any other text is returned as it is."""
    legacy = _LEGACY_ID.fullmatch(value)
    if legacy is None or set(legacy.group(2)) <= _LETTERS:
        return value
    return f"{legacy.group(1)}_{ids.from_hex(legacy.group(2))}"


def _reconciled(details: Mapping[str, Any]) -> bool:
    return details.get("reconciled") is True


def payment_outcome(details: Mapping[str, Any]) -> str | None:
    """The ranked outcome a payment event reports, or None when it changes nothing
    (``rejected``: a key reused for another request; a status this ledger does not know)."""
    status = details.get("status", "unknown")
    if status in ("partially_refunded", "refunded", "reversed"):
        return "approved"
    if status == "failed" and "error" in details and not _reconciled(details):
        return "attempt_failed"
    return status if status in _PAYMENT_RANK else None


def refund_outcome(details: Mapping[str, Any]) -> str | None:
    """The ranked outcome a refund event reports, or None when it changes nothing."""
    status = details.get("status")
    if status == "FAILED" and "error" in details and not _reconciled(details):
        return "attempt_failed"
    return status if isinstance(status, str) and status in _REFUND_RANK else None


def _payment_outcome_of(row: Mapping[str, Any]) -> str:
    outcome = row.get("outcome")
    if isinstance(outcome, str) and outcome in _PAYMENT_RANK:
        return outcome
    status = row.get("status")
    if status in ("partially_refunded", "refunded", "reversed"):
        return "approved"
    if status == "failed":
        return "attempt_failed"  # the weakest reading of a row written without an outcome
    return status if isinstance(status, str) and status in _PAYMENT_RANK else "unknown"


def payment_supersedes(row: Mapping[str, Any], details: Mapping[str, Any]) -> bool:
    """True when an event with ``details`` would settle the payment ``row`` further."""
    outcome = payment_outcome(details)
    return outcome is not None and (
        _PAYMENT_RANK[outcome] > _PAYMENT_RANK[_payment_outcome_of(row)]
    )


def _refund_outcome_of(row: Mapping[str, Any]) -> str:
    outcome = row.get("outcome")
    if isinstance(outcome, str) and outcome in _REFUND_RANK:
        return outcome
    status = row.get("status")
    if status == "FAILED" and not row.get("paypal_refund_id"):
        return "attempt_failed"
    return status if isinstance(status, str) and status in _REFUND_RANK else "attempt_failed"


def _instant(stamp: str) -> tuple[int, datetime | str]:
    """A time's sort key: the instant it names (PayPal writes whole seconds, cardline
    milliseconds, and as text "." sorts before "Z"); text that is no time sorts first."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return (0, stamp)
    return (1, moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _earliest(*stamps: object) -> str | None:
    found = [stamp for stamp in stamps if isinstance(stamp, str) and stamp]
    return min(found, key=_instant) if found else None


def _latest(*stamps: object) -> str | None:
    found = [stamp for stamp in stamps if isinstance(stamp, str) and stamp]
    return max(found, key=_instant) if found else None


def _operator(current: object, candidate: object) -> object:
    if current is None or (current == _RECONCILER and candidate not in (None, _RECONCILER)):
        return candidate
    return current


def fold_payment(existing: Mapping[str, Any] | None, event: AuditEvent) -> dict[str, Any] | None:
    """The payment row after payment ``event`` (its refunded amount and status still to be
    set by :func:`with_refunds`), or None when the event changes nothing."""
    details = event.details
    if "dispute_id" in details:
        return _fold_dispute(existing, event)
    outcome = payment_outcome(details)
    if outcome is None:
        return None
    row, wins = _with_facts(
        existing,
        PAYMENT_COLUMNS,
        _PAYMENT_FACTS,
        details,
        _PAYMENT_RANK,
        outcome,
        _payment_outcome_of,
    )
    if wins:
        row["outcome"] = outcome
        for column in _PAYMENT_OUTCOME_FIELDS:
            row[column] = details.get(column)
    row["id"] = current_id(event.resource)
    row["operator"] = _operator(row.get("operator"), details.get("operator") or event.operator)
    row["created_at"] = _earliest(
        (existing or {}).get("created_at"), details.get("created_at") or event.time
    )
    row["updated_at"] = _latest((existing or {}).get("updated_at"), event.time)
    return row


_DISPUTE_STAGE = {"created": 0, "updated": 1, "resolved": 2}


def _fold_dispute(existing: Mapping[str, Any] | None, event: AuditEvent) -> dict[str, Any] | None:
    """The payment row after a dispute event; None when there is no row yet (a dispute
    alone does not make a payment) or the event is not one."""
    details = event.details
    stage = _DISPUTE_STAGE.get(str(details.get("dispute_stage")))
    if existing is None or stage is None or not isinstance(details.get("dispute_id"), str):
        return None
    row = dict(existing)
    rank = f"{stage}|{details.get('event_time') or ''}|{details['dispute_id']}"
    same = row.get("dispute_id") == details["dispute_id"]
    if rank > str(row.get("dispute_rank") or ""):
        row["dispute_rank"] = rank
        for column in DISPUTE_COLUMNS:
            value = details.get(column)
            row[column] = value if value is not None or not same else row.get(column)
    elif same:
        for column in DISPUTE_COLUMNS:
            if row.get(column) is None:
                row[column] = details.get(column)
    row["updated_at"] = _latest(row.get("updated_at"), event.time)
    return row


def _with_facts(
    existing: Mapping[str, Any] | None,
    columns: Iterable[str],
    facts: Iterable[str],
    details: Mapping[str, Any],
    rank: Mapping[str, int],
    outcome: str,
    outcome_of: Callable[[Mapping[str, Any]], str],
) -> tuple[dict[str, Any], bool]:
    """A copy of the row ``existing`` (a new row of ``columns`` when there is none) with the
    event's ``facts`` written in: those the row lacks, and all of them when the event's
    ``outcome`` outranks the row's; and whether it did (then the event's outcome is the
    row's)."""
    row: dict[str, Any] = dict(existing) if existing else {column: None for column in columns}
    wins = existing is None or rank[outcome] > rank[outcome_of(row)]
    for column in facts:
        value = details.get(column)
        if value is not None and (wins or row.get(column) is None):
            row[column] = value
    return row, wins


def fold_refund(existing: Mapping[str, Any] | None, event: AuditEvent) -> dict[str, Any] | None:
    """The refund row after refund ``event``, or None when the event changes nothing (no
    refund id, a status that settles nothing, or a refund id that names another payment)."""
    details = event.details
    outcome = refund_outcome(details)
    refund_id = details.get("id")
    if outcome is None or not isinstance(refund_id, str) or not refund_id:
        return None
    payment_id = current_id(event.resource)
    if existing is not None and existing.get("payment_id") != payment_id:
        return None
    row, wins = _with_facts(
        existing, REFUND_COLUMNS, _REFUND_FACTS, details, _REFUND_RANK, outcome, _refund_outcome_of
    )
    if wins:
        row["status"] = details["status"]
        row["outcome"] = outcome
    row["id"] = current_id(refund_id)
    row["payment_id"] = payment_id
    row["fingerprint"] = row.get("fingerprint") or details.get("fingerprint")
    row["operator"] = _operator(row.get("operator"), event.operator)
    row["created_at"] = _earliest(
        (existing or {}).get("created_at"), details.get("created_at") or event.time
    )
    row["updated_at"] = _latest((existing or {}).get("updated_at"), event.time)
    return row


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def refunded_total(refunds: Iterable[Mapping[str, Any]]) -> Decimal:
    """What the refunds moved back to the card; a PayPal refund named by two rows counts once."""
    total = Decimal("0")
    counted: set[str] = set()
    for refund in refunds:
        amount = _amount(refund.get("amount"))
        if refund.get("status") not in REFUNDED or amount is None:
            continue
        paypal_id = refund.get("paypal_refund_id")
        if isinstance(paypal_id, str) and paypal_id:
            if paypal_id in counted:
                continue
            counted.add(paypal_id)
        total += amount
    return total


def with_refunds(
    payment: Mapping[str, Any], refunds: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The payment row with its refunded amount, status and ``updated_at`` computed from
    its refunds."""
    row = dict(payment)
    refunds = list(refunds)
    total = refunded_total(refunds)
    reversed_total = refunded_total(r for r in refunds if r.get("kind") == REVERSAL)
    row["refunded_amount"] = str(total) if total else "0"
    row["reversed_amount"] = str(reversed_total) if reversed_total else "0"
    outcome = _payment_outcome_of(row)
    row["outcome"] = outcome
    amount = _amount(row.get("amount"))
    if reversed_total > 0:
        row["status"] = "reversed"
    elif total > 0:
        row["status"] = (
            "refunded" if amount is not None and total >= amount else ("partially_refunded")
        )
    elif outcome == "approved" and row.get("intent") == "AUTHORIZE":
        row["status"] = row.get("authorization_status") or "authorized"
    else:
        row["status"] = "failed" if outcome == "attempt_failed" else outcome
    row["updated_at"] = _latest(row.get("updated_at"), *(r.get("updated_at") for r in refunds))
    return row


def capture_outcome(details: Mapping[str, Any]) -> str | None:
    """The ranked outcome a capture or void event reports, or None when it changes nothing."""
    status = details.get("status")
    if status in ("FAILED", "DECLINED") and "error" in details and not _reconciled(details):
        return "attempt_failed"
    return status if isinstance(status, str) and status in _CAPTURE_RANK else None


def _capture_outcome_of(row: Mapping[str, Any]) -> str:
    outcome = row.get("outcome")
    return outcome if isinstance(outcome, str) and outcome in _CAPTURE_RANK else "attempt_failed"


def fold_capture(existing: Mapping[str, Any] | None, event: AuditEvent) -> dict[str, Any] | None:
    """The capture (or void) row after ``event``, or None when it changes nothing (no id,
    a status that settles nothing, or an id that names another payment)."""
    details = event.details
    outcome = capture_outcome(details)
    capture_id = details.get("id")
    if outcome is None or not isinstance(capture_id, str) or not capture_id:
        return None
    payment_id = current_id(event.resource)
    if existing is not None and existing.get("payment_id") != payment_id:
        return None
    row, wins = _with_facts(
        existing,
        CAPTURE_COLUMNS,
        _CAPTURE_FACTS,
        details,
        _CAPTURE_RANK,
        outcome,
        _capture_outcome_of,
    )
    if wins:
        row["status"] = details["status"]
        row["outcome"] = outcome
    row["id"] = capture_id
    row["payment_id"] = payment_id
    row["kind"] = row.get("kind") or event.type
    row["fingerprint"] = row.get("fingerprint") or details.get("fingerprint")
    row["operator"] = _operator(row.get("operator"), event.operator)
    row["created_at"] = _earliest(
        (existing or {}).get("created_at"), details.get("created_at") or event.time
    )
    row["updated_at"] = _latest((existing or {}).get("updated_at"), event.time)
    return row


def with_captures(
    payment: Mapping[str, Any], captures: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The payment row with its captured amount and authorization status computed from its
    capture and void rows (:func:`with_refunds` then sets its status from them)."""
    row = dict(payment)
    total = Decimal("0")
    final = voided = False
    first: str | None = None
    for capture in captures:  # oldest first
        amount = _amount(capture.get("amount"))
        if capture.get("kind") == "reauthorization":
            if capture.get("status") == "CREATED" and capture.get("paypal_capture_id"):
                # The hold moved to PayPal's new authorization: captures go to it.
                row["reauthorization_id"] = capture["paypal_capture_id"]
                row["reauthorized_at"] = capture.get("created_at")
        elif capture.get("kind") == "void":
            voided = voided or capture.get("status") == "VOIDED"
        elif capture.get("status") in CAPTURED and amount is not None:
            total += amount
            final = final or bool(capture.get("final_capture"))
            first = first or capture.get("paypal_capture_id")
    if first is not None:
        # A refund needs a capture's PayPal id: the payment's first capture it is.
        row["paypal_capture_id"] = first
    row["captured_amount"] = str(total) if total else "0"
    authorized = _amount(row.get("amount"))
    if total == 0:
        state = "voided" if voided else "authorized"
    elif final or voided or (authorized is not None and total >= authorized):
        state = "captured"
    else:
        state = "partially_captured"
    row["authorization_status"] = state
    return row


def public_payment(row: Mapping[str, Any]) -> dict[str, Any]:
    """The payment as the API serves it, with the confirmation code its caller was given."""
    payment = {column: row.get(column) for column in PUBLIC_PAYMENT_COLUMNS}
    payment["confirmation_code"] = confirmation_code(str(payment["id"]))
    payment["avs_result"] = avs_words(payment.get("avs_code"))
    payment["cvv_result"] = cvv_words(payment.get("cvv_code"))
    payment["authorization_honoured_until"] = _days_after(
        payment, HONOUR_DAYS, since=payment.get("reauthorized_at")
    )
    if payment["authorization_expires_at"] is None:
        payment["authorization_expires_at"] = _days_after(payment, VALID_DAYS)
    return payment


def _days_after(payment: Mapping[str, Any], days: int, since: object = None) -> str | None:
    """``days`` after an authorization was made (or ``since``, its reauthorization): PayPal
    honours its amount 3 days (a later capture may be declined: reauthorize) and lets it be
    captured 29 days from the original."""
    if payment.get("intent") != "AUTHORIZE" or not payment.get("paypal_authorization_id"):
        return None
    created = since or payment.get("created_at")
    if not isinstance(created, str):
        return None
    try:
        made = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    later = made + timedelta(days=days)
    return later.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def public_capture(row: Mapping[str, Any]) -> dict[str, Any]:
    """The capture or void as the API serves it."""
    capture = {column: row.get(column) for column in PUBLIC_CAPTURE_COLUMNS}
    if capture["final_capture"] is not None:
        capture["final_capture"] = bool(capture["final_capture"])  # SQLite keeps an integer
    return capture


def public_refund(row: Mapping[str, Any]) -> dict[str, Any]:
    """The refund as the API serves it (``kind`` ``refund`` unless PayPal reversed it)."""
    refund = {column: row.get(column) for column in PUBLIC_REFUND_COLUMNS}
    refund["kind"] = refund["kind"] or "refund"
    return refund


# A capture's status in a webhook event, as the payment outcome it settles.
_CAPTURE_OUTCOMES = {
    "COMPLETED": "approved",
    "PARTIALLY_REFUNDED": "approved",
    "REFUNDED": "approved",
    "PENDING": "pending",
    "DECLINED": "declined",
    "FAILED": "declined",
}
_CAPTURE_WORDS = {
    "approved": "PayPal completed the capture.",
    "pending": "PayPal holds the capture as pending; cardline follows it to its end.",
    "declined": "PayPal declined the capture: the card was not charged.",
}


def ledger_event(event: AuditEvent) -> AuditEvent | None:
    """The payment or refund event a ``webhook`` audit event amounts to (same id, time and
    payment), or None when it changes no ledger row (an event matched to no payment, an
    authorization's news, a type cardline does not act on)."""
    details = event.details
    kind = details.get("kind")
    if not event.resource or details.get("matched") is not True:
        return None
    facts: dict[str, Any]
    if kind == "capture":
        outcome = _CAPTURE_OUTCOMES.get(str(details.get("status")))
        if outcome is None:
            return None
        facts = {
            "status": outcome,
            "message": _CAPTURE_WORDS[outcome],
            "decline_reason": details.get("reason") if outcome == "declined" else None,
            "paypal_capture_id": details.get("paypal_capture_id"),
            "paypal_order_id": details.get("paypal_order_id"),
            "paypal_authorization_id": details.get("paypal_authorization_id"),
        }
        event_type = "payment"
    elif kind in ("refund", REVERSAL):
        facts = {
            name: details.get(name)
            for name in ("id", "status", "amount", "currency", "paypal_refund_id")
        }
        facts["kind"] = kind
        event_type = "refund"
    elif kind == "dispute":
        facts = {name: details.get(name) for name in (*DISPUTE_COLUMNS, "event_time")}
        facts["dispute_stage"] = details.get("dispute_stage")
        event_type = "payment"
    else:
        return None
    facts = {name: value for name, value in facts.items() if value is not None}
    return AuditEvent(
        event_type,
        event.operator,
        event.outcome,
        event.origin,
        event.resource,
        facts,
        event_id=event.event_id,
        time=event.time,
    )
