"""The SQLite ledger used by the local host."""

from __future__ import annotations

import base64
import sqlite3
import threading
from pathlib import Path
from typing import Any

from cardline.cde.audit import AuditEvent
from cardline.ledger import Page
from cardline.ledger.projector import projected
from cardline.ledger.search import Search
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
from cardline.sqlite_files import open_sqlite

# Bumped when a column is added: an older file is dropped and rebuilt from the audit log
# (the ledger is a view of it; `cardline serve` replays the audit file at start).
_SCHEMA_VERSION = 5
_DROP = """
DROP TABLE IF EXISTS applied_events;
DROP TABLE IF EXISTS payments;
DROP TABLE IF EXISTS refunds;
DROP TABLE IF EXISTS captures;
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS applied_events (event_id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, amount TEXT, currency TEXT, brand TEXT,
    last4 TEXT, reference TEXT, operator TEXT, intent TEXT, decline_code TEXT,
    decline_reason TEXT, message TEXT, paypal_order_id TEXT, paypal_capture_id TEXT,
    paypal_authorization_id TEXT, refunded_amount TEXT, reversed_amount TEXT, dispute_id TEXT,
    dispute_status TEXT, dispute_reason TEXT, dispute_due_date TEXT, dispute_outcome TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, outcome TEXT, dispute_rank TEXT,
    captured_amount TEXT, authorization_status TEXT, authorization_expires_at TEXT,
    avs_code TEXT, cvv_code TEXT, flags TEXT, reauthorization_id TEXT,
    reauthorized_at TEXT
);
CREATE INDEX IF NOT EXISTS payments_by_time ON payments (created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, status TEXT, amount TEXT, currency TEXT,
    operator TEXT, paypal_refund_id TEXT, kind TEXT, created_at TEXT NOT NULL,
    fingerprint TEXT, outcome TEXT, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS refunds_by_payment ON refunds (payment_id, created_at);
CREATE INDEX IF NOT EXISTS payments_by_capture ON payments (paypal_capture_id);
CREATE INDEX IF NOT EXISTS payments_by_order ON payments (paypal_order_id);
CREATE INDEX IF NOT EXISTS payments_by_authorization ON payments (paypal_authorization_id);
CREATE TABLE IF NOT EXISTS captures (
    id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, kind TEXT, status TEXT, amount TEXT,
    currency TEXT, final_capture INTEGER, operator TEXT, paypal_capture_id TEXT,
    created_at TEXT NOT NULL, fingerprint TEXT, outcome TEXT, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS captures_by_payment ON captures (payment_id, created_at);
"""


def _setup(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    if db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
        db.executescript(_DROP)
    db.executescript(_SCHEMA)
    db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")


def encode_cursor(created_at: str, payment_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{payment_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Raises ValueError for a cursor we did not make."""
    try:
        created_at, payment_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
    except (ValueError, UnicodeError) as error:
        raise ValueError("bad cursor") from error
    return created_at, payment_id


class LedgerClosed(Exception):
    """The ledger was closed: nothing more is projected into it."""


class SqliteLedger:
    """Thread-safe SQLite ledger; every projection runs in one transaction."""

    def __init__(self, path: Path | str) -> None:
        """Opens (or creates) the ledger at ``path``. A damaged file is moved aside and an
        empty ledger started: ``replaced`` then names the damaged copy, and the caller
        rebuilds the ledger from the audit log."""
        if isinstance(path, str) and path != ":memory:":
            path = Path(path)
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db, self.replaced = open_sqlite(
                path, _setup, what="the ledger", check_same_thread=False, isolation_level=None
            )
        else:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.replaced = None
            _setup(self._db)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._closed = False

    def apply(self, event: AuditEvent) -> bool:
        """Project ``event`` (once: an event already applied is skipped, False);
        :class:`LedgerClosed` after :meth:`close`."""
        with self._lock:
            if self._closed:
                raise LedgerClosed(f"the ledger is closed: audit event {event.event_id}")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                inserted = self._db.execute(
                    "INSERT OR IGNORE INTO applied_events VALUES (?, ?)",
                    (event.event_id, event.time),
                ).rowcount
                change = projected(event) if inserted else None
                if change is not None:
                    self._project(change)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return bool(inserted)

    def _project(self, event: AuditEvent) -> None:
        payment_id = current_id(event.resource)
        existing = self._payment(payment_id)
        if event.type == "payment":
            row = fold_payment(existing, event)
            if row is not None:
                row = with_captures(row, self._captures(payment_id))
                row = with_refunds(row, self._refunds(payment_id))
                self._upsert("payments", PAYMENT_COLUMNS, row)
            return
        if event.type in AUTHORIZATION_ACTIONS:
            capture_id = event.details.get("id")
            earlier = self._capture(capture_id) if isinstance(capture_id, str) else None
            capture = fold_capture(earlier, event)
            if capture is None:
                return
            self._upsert("captures", CAPTURE_COLUMNS, capture)
            if existing is not None:
                payment = with_captures(existing, self._captures(payment_id))
                payment = with_refunds(payment, self._refunds(payment_id))
                self._upsert("payments", PAYMENT_COLUMNS, payment)
            return
        refund_id = event.details.get("id")
        earlier = self._refund(current_id(refund_id)) if isinstance(refund_id, str) else None
        refund = fold_refund(earlier, event)
        if refund is None:
            return
        self._upsert("refunds", REFUND_COLUMNS, refund)
        if existing is not None:
            payment = with_refunds(existing, self._refunds(payment_id))
            self._upsert("payments", PAYMENT_COLUMNS, payment)

    def _upsert(self, table: str, columns: tuple[str, ...], row: dict[str, Any]) -> None:
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        self._db.execute(
            f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 - fixed names
            [row.get(column) for column in columns],
        )

    def _payment(self, payment_id: str) -> dict[str, Any] | None:
        found = self._db.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
        return dict(found) if found is not None else None

    def _refund(self, refund_id: str) -> dict[str, Any] | None:
        found = self._db.execute("SELECT * FROM refunds WHERE id = ?", (refund_id,)).fetchone()
        return dict(found) if found is not None else None

    def _capture(self, capture_id: str) -> dict[str, Any] | None:
        found = self._db.execute("SELECT * FROM captures WHERE id = ?", (capture_id,)).fetchone()
        return dict(found) if found is not None else None

    def _captures(self, payment_id: str) -> list[dict[str, Any]]:
        found = self._db.execute(
            "SELECT * FROM captures WHERE payment_id = ? ORDER BY created_at, rowid",
            (payment_id,),
        )
        return [dict(row) for row in found]

    def get_capture(self, capture_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._capture(capture_id)

    def captures_for(self, payment_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [public_capture(row) for row in self._captures(current_id(payment_id))]

    def _refunds(self, payment_id: str) -> list[dict[str, Any]]:
        found = self._db.execute(
            "SELECT * FROM refunds WHERE payment_id = ? ORDER BY created_at, rowid",
            (payment_id,),
        )
        return [dict(row) for row in found]

    def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._payment(current_id(payment_id))
        return public_payment(found) if found is not None else None

    def find_by_paypal_id(self, paypal_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._db.execute(
                "SELECT * FROM payments WHERE paypal_capture_id = ? OR paypal_order_id = ?"
                " OR paypal_authorization_id = ? ORDER BY created_at LIMIT 1",
                (paypal_id, paypal_id, paypal_id),
            ).fetchone()
        return public_payment(dict(found)) if found is not None else None

    def get_refund(self, refund_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._refund(current_id(refund_id))

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
        clauses: list[str] = []
        params: list[Any] = []
        if operator is not None:
            clauses.append("operator = ?")
            params.append(operator)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("created_at < ?")
            params.append(until)
        if cursor is not None:
            created_at, payment_id = decode_cursor(cursor)
            clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([created_at, created_at, payment_id])
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        query = f"SELECT * FROM payments {where} ORDER BY created_at DESC, id DESC"  # noqa: S608
        matcher = Search(search) if search is not None else None
        if matcher is None:
            query += " LIMIT ?"
            params.append(limit + 1)
        rows: list[dict[str, Any]] = []
        with self._lock:
            # The cursor reads lazily: a search stops at the first match past the page.
            for found in self._db.execute(query, params):
                row = dict(found)
                if matcher is None or matcher.matches(row):
                    rows.append(public_payment(row))
                    if len(rows) > limit:
                        break
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return Page(items=rows, next_cursor=next_cursor)

    def refunds_for(self, payment_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [public_refund(row) for row in self._refunds(current_id(payment_id))]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()
