"""Agent-assisted IVR payments: the agent sets up the payment, the caller keys the card.

An agent creates a session for the caller's Connect contact (amount, currency, reference,
cardholder name), puts its id on the contact as the ``cardline_session_id`` attribute and
transfers the caller to the payment flow. The ``ivr`` function takes the terms from the
session, charges, and records the outcome here; the agent reads the session back. No card
data is ever part of a session: only brand and last four digits of the outcome.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from cardline.cde import audit, ids
from cardline.cde.confirmation import confirmation_code
from cardline.cde.errors import InvalidRequest
from cardline.cde.money import parse_money
from cardline.cde.request_rules import MAX_NAME_LENGTH, MAX_REFERENCE, NOT_AN_OBJECT, reject_unknown
from cardline.sqlite_files import open_sqlite

SESSIONS_FILE = "ivr-sessions.sqlite3"
SESSION_ATTRIBUTE = "cardline_session_id"
SESSION_FIELDS = frozenset({"contact_id", "amount", "currency", "reference", "cardholder_name"})
NO_SESSION = "No IVR payment session with this id"
WAITING = "waiting"
# Where the caller is in the secure capture, for the agent who waits on the line: which
# fields have been keyed (never what), then charging. A re-prompt moves it back to the
# field asked again. The outcome itself is the session's ``status``.
PROGRESS = (
    "waiting",
    "card_number_entered",
    "expiry_entered",
    "security_code_entered",
    "charging",
)


@dataclass(frozen=True)
class Session:
    id: str
    contact_id: str
    amount: str
    currency: str
    reference: str | None
    cardholder_name: str
    operator: str
    created_at: str
    status: str = WAITING
    progress: str = WAITING
    payment_id: str | None = None
    brand: str | None = None
    last4: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The session as served; a decided one carries its payment's confirmation code."""
        answer = asdict(self)
        if self.payment_id:
            answer["confirmation_code"] = confirmation_code(self.payment_id)
        return answer


def parse_session_request(body: object) -> dict[str, str | None]:
    """Validate a session request body (no card data may be in it)."""
    if not isinstance(body, dict):
        raise InvalidRequest(NOT_AN_OBJECT, field="body")
    reject_unknown(body, SESSION_FIELDS, "body")
    contact_id = body.get("contact_id")
    if not ids.is_uuid(contact_id):
        # A UUID, as Connect writes it: the PAN mask leaves a UUID whole, so nothing else
        # may be kept where one is.
        raise InvalidRequest(
            "contact_id must be the caller's Amazon Connect contact id (a UUID)",
            field="contact_id",
        )
    if "amount" not in body or "currency" not in body:
        raise InvalidRequest("amount and currency are required", field="amount")
    money = parse_money(body["amount"], body["currency"])
    reference = check_reference(body.get("reference"), "reference")
    name = check_cardholder_name(body.get("cardholder_name"), "cardholder_name")
    return {
        "contact_id": contact_id,
        "amount": money.value,
        "currency": money.currency,
        "reference": reference,
        "cardholder_name": name,
    }


def check_reference(reference: object, field: str) -> str | None:
    """A payment's reference as the IVR takes it (absent, or printable text of at most
    MAX_REFERENCE characters without a card number); raises InvalidRequest naming ``field``."""
    if reference is None:
        return None
    if (
        not isinstance(reference, str)
        or not 1 <= len(reference) <= MAX_REFERENCE
        or not reference.isprintable()
        or audit.contains_pan(reference)
    ):
        raise InvalidRequest(
            f"{field} must be printable text of 1 to {MAX_REFERENCE} characters, "
            "without a card number",
            field=field,
        )
    return reference


def check_cardholder_name(name: object, field: str) -> str:
    """The name for the card, stripped (text, without a card number); raises InvalidRequest
    naming ``field``. The card's own check (cardline.cde.card) runs again when it is charged."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name.strip()) <= MAX_NAME_LENGTH
        or not name.isprintable()
        or audit.contains_pan(name)
    ):
        raise InvalidRequest(f"{field} must be the name on the card, as text", field=field)
    return name.strip()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT,
    cardholder_name TEXT NOT NULL,
    operator TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT 'waiting',
    payment_id TEXT,
    brand TEXT,
    last4 TEXT,
    updated_at TEXT
)
"""


def _create_schema(db: sqlite3.Connection) -> None:
    with db:
        db.execute(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
        if "progress" not in columns:  # a file from before progress was kept
            db.execute("ALTER TABLE sessions ADD COLUMN progress TEXT NOT NULL DEFAULT 'waiting'")


_COLUMNS = tuple(Session.__dataclass_fields__)
_INSERT = "INSERT INTO sessions ({}) VALUES ({})".format(  # noqa: S608 - fixed column names
    ", ".join(_COLUMNS), ", ".join("?" * len(_COLUMNS))
)


def check_progress(stage: str) -> str:
    """``stage`` if it is one of PROGRESS; raises InvalidRequest otherwise."""
    if stage not in PROGRESS:
        raise InvalidRequest("progress must be one of " + ", ".join(PROGRESS), field="progress")
    return stage


def new_session(terms: Mapping[str, str | None], operator: str) -> Session:
    """A new waiting session for ``terms`` (as parse_session_request gives them), with a
    fresh id; not yet kept anywhere."""
    return Session(
        id="ivs_" + ids.random_id(24),
        contact_id=str(terms["contact_id"]),
        amount=str(terms["amount"]),
        currency=str(terms["currency"]),
        reference=terms.get("reference"),
        cardholder_name=str(terms["cardholder_name"]),
        operator=operator,
        created_at=audit.utc_now(),
    )


def audit_created(sink: audit.AuditSink, session: Session, origin: str) -> None:
    """The ``ivr_session`` audit event of a session just kept."""
    audit.record(
        sink,
        "ivr_session",
        operator=session.operator,
        outcome="success",
        origin=origin,
        resource=session.id,
        details={
            "contact_id": session.contact_id,
            "amount": session.amount,
            "currency": session.currency,
            "reference": session.reference,
        },
    )


DECISIONS = frozenset({"approved", "declined"})


class SessionStore(Protocol):
    """Where agent-assisted sessions are kept: SQLite locally, DynamoDB on AWS."""

    def create(self, terms: Mapping[str, str | None], *, operator: str, origin: str) -> Session:
        """A new waiting session for ``terms`` (audited as ``ivr_session``)."""
        ...

    def get(self, session_id: str) -> Session | None:
        """The session, or None when there is none with this id."""
        ...

    def record_progress(self, session_id: str, stage: str) -> None:
        """Where the caller has got to (one of PROGRESS), while the session is waiting;
        a decided session is left as it is."""
        ...

    def record_outcome(
        self,
        session_id: str,
        *,
        status: str,
        payment_id: str | None = None,
        brand: str | None = None,
        last4: str | None = None,
    ) -> None:
        """What an attempt came to; a decision (approved, declined) is never undone, and an
        unknown outcome gives way only to a decision."""
        ...


class SqliteSessionStore:
    """Sessions in SQLite (local host), one short connection per operation."""

    def __init__(self, path: Path, sink: audit.AuditSink) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._sink = sink
        # A damaged file is moved aside and a new one started: sessions live for one call,
        # and the payments they led to are in the audit log and the ledger.
        db, _aside = open_sqlite(path, _create_schema, what="the IVR sessions database", timeout=10)
        db.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def create(self, terms: Mapping[str, str | None], *, operator: str, origin: str) -> Session:
        session = new_session(terms, operator)
        row = session.to_dict()
        with self._connect() as db:
            db.execute(_INSERT, [row[column] for column in _COLUMNS])
        audit_created(self._sink, session, origin)
        return session

    def get(self, session_id: str) -> Session | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return Session(**dict(row)) if row is not None else None

    def record_progress(self, session_id: str, stage: str) -> None:
        check_progress(stage)
        with self._connect() as db:
            db.execute(
                "UPDATE sessions SET progress = ?, updated_at = ? WHERE id = ? AND status = ?",
                (stage, audit.utc_now(), session_id, WAITING),
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
        """Record what an attempt for the session's contact came to.

        Attempts share the contact's idempotency key, so a later one never undoes an
        earlier: PayPal's decision (approved, declined) stands, and an unknown outcome (the
        card may have been charged) gives way only to such a decision, never to a later
        attempt that failed or was abandoned.
        """
        with self._connect() as db:
            db.execute(
                "UPDATE sessions SET status = ?, payment_id = ?, brand = ?, last4 = ?, "
                "updated_at = ? WHERE id = ? AND status NOT IN ('approved', 'declined') "
                "AND (status != 'unknown' OR ? IN ('approved', 'declined'))",
                (status, payment_id, brand, last4, audit.utc_now(), session_id, status),
            )
