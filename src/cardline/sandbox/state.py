"""The emulator's memory on disk, so that a restarted emulator knows yesterday's payments.

One SQLite file holds the orders, authorizations, captures and refunds, the
PayPal-Request-Ids that made them and the invoice ids already paid: what PayPal itself
remembers. Each answered request writes the records it touched in one transaction before
its answer leaves, so a crash loses nothing that was answered. A card is kept as the
records keep it: brand, last digits, expiry and name, never its number or security code.
Access tokens are not kept: a client fetches a new one after a restart, as after expiry.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cardline.sandbox.amounts import Amount
from cardline.sandbox.records import Authorization, Capture, CardSummary, Order, Processor, Refund
from cardline.sqlite_files import open_sqlite

Record = Order | Authorization | Capture | Refund
_KINDS: dict[type[Any], str] = {
    Order: "order",
    Authorization: "authorization",
    Capture: "capture",
    Refund: "refund",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS request_ids (
    operation TEXT NOT NULL, request_id TEXT NOT NULL, resource_id TEXT NOT NULL,
    PRIMARY KEY (operation, request_id)
);
CREATE TABLE IF NOT EXISTS paid_invoices (invoice_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signing_key (id INTEGER PRIMARY KEY CHECK (id = 1),
    key_pem TEXT NOT NULL, cert_pem TEXT NOT NULL);
"""


def _setup(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)


class Loaded:
    """What a state file held: records by kind (oldest first), request ids, paid invoices."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.authorizations: dict[str, Authorization] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.request_ids: dict[tuple[str, str], str] = {}
        self.paid_invoices: set[str] = set()


class StateFile:
    """The emulator's SQLite state file; a damaged file is moved aside and started afresh.

    One connection, opened on first use and again after :meth:`close` (closing the last
    connection checkpoints the WAL, which is what makes a connection per write slow).
    ``synchronous=NORMAL``: in WAL mode a commit survives the process crashing, which is
    the crash an emulator must survive; a power cut may lose the last commits.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db: sqlite3.Connection | None
        self._db, self.replaced = open_sqlite(
            path,
            _setup,
            what="the PayPal emulator's state",
            check_same_thread=False,
            isolation_level=None,
        )
        self._lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                _setup(self._db)
            yield self._db

    def close(self) -> None:
        """Close the connection (the next use opens it again)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def load(self) -> Loaded:
        """Everything the file holds, in the order it was first written."""
        loaded = Loaded()
        tables: dict[str, dict[str, Any]] = {
            "order": loaded.orders,
            "authorization": loaded.authorizations,
            "capture": loaded.captures,
            "refund": loaded.refunds,
        }
        with self._connect() as db:
            rows = db.execute("SELECT kind, body FROM records ORDER BY rowid").fetchall()
            ids = db.execute("SELECT * FROM request_ids ORDER BY rowid").fetchall()
            invoices = db.execute("SELECT invoice_id FROM paid_invoices").fetchall()
        for kind, body in rows:
            record = _decode(kind, json.loads(body))
            tables[kind][record.id] = record
        loaded.request_ids = {(operation, request): made for operation, request, made in ids}
        loaded.paid_invoices = {invoice for (invoice,) in invoices}
        return loaded

    def save(
        self,
        records: Iterable[Record],
        request_ids: Iterable[tuple[str, str, str]] = (),
        paid_invoices: Iterable[str] = (),
    ) -> None:
        """Write ``records`` (replacing earlier versions), request ids and paid invoices
        in one transaction."""
        encoded = [(_KINDS[type(r)], r.id, json.dumps(asdict(r), sort_keys=True)) for r in records]
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                # An upsert keeps the row's first rowid: the load order stays the creation order.
                db.executemany(
                    "INSERT INTO records VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
                    encoded,
                )
                db.executemany("INSERT OR IGNORE INTO request_ids VALUES (?, ?, ?)", request_ids)
                db.executemany(
                    "INSERT OR IGNORE INTO paid_invoices VALUES (?)", [(i,) for i in paid_invoices]
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def forget_request_ids(self) -> None:
        """Drop every kept PayPal-Request-Id."""
        with self._connect() as db:
            db.execute("DELETE FROM request_ids")

    # -- webhooks (cardline.sandbox.webhooks) ---------------------------------------

    def load_webhooks(self) -> list[dict[str, Any]]:
        """The webhook subscriptions kept, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT body FROM webhooks ORDER BY rowid").fetchall()
        return [json.loads(body) for (body,) in rows]

    def save_webhook(self, webhook_id: str, body: dict[str, Any]) -> None:
        """Keep (or replace) one webhook subscription."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO webhooks VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = "
                "excluded.body",
                (webhook_id, json.dumps(body, sort_keys=True)),
            )

    def delete_webhook(self, webhook_id: str) -> None:
        """Forget one webhook subscription."""
        with self._connect() as db:
            db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))

    def load_signing_key(self) -> tuple[bytes, bytes] | None:
        """The webhook signing key and its certificate (PEM), if one was kept."""
        with self._connect() as db:
            row = db.execute("SELECT key_pem, cert_pem FROM signing_key").fetchone()
        return None if row is None else (row[0].encode(), row[1].encode())

    def save_signing_key(self, key_pem: bytes, cert_pem: bytes) -> None:
        """Keep the webhook signing key and its certificate (the first kept one stays)."""
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO signing_key VALUES (1, ?, ?)",
                (key_pem.decode(), cert_pem.decode()),
            )


def _amount(data: dict[str, Any]) -> Amount:
    return Amount(currency=str(data["currency"]), minor=int(data["minor"]))


def _processor(data: dict[str, Any] | None) -> Processor | None:
    return None if data is None else Processor(**data)


def _decode(kind: str, data: dict[str, Any]) -> Record:
    data = dict(data, amount=_amount(data["amount"]))
    if kind == "order":
        card = data.get("card")
        data["card"] = None if card is None else CardSummary(**card)
        return Order(**data)
    if kind == "authorization":
        processor = _processor(data["processor"])
        assert processor is not None
        return Authorization(**dict(data, processor=processor))
    if kind == "capture":
        return Capture(**dict(data, processor=_processor(data.get("processor"))))
    return Refund(**data)


def tree(
    orders: dict[str, Order],
    authorizations: dict[str, Authorization],
    captures: dict[str, Capture],
    refunds: dict[str, Refund],
    resource_ids: Iterable[str],
) -> Iterator[Record]:
    """The records of every order that one of ``resource_ids`` (an order, authorization,
    capture or refund id) belongs to: what one request can have changed."""
    seen: set[str] = set()
    for resource_id in resource_ids:
        order_id: str | None = None
        if resource_id in orders:
            order_id = resource_id
        elif resource_id in captures:
            order_id = captures[resource_id].order_id
        elif resource_id in authorizations:
            order_id = authorizations[resource_id].order_id
        elif resource_id in refunds:
            capture = captures.get(refunds[resource_id].capture_id)
            order_id = capture.order_id if capture is not None else None
        if order_id is None or order_id in seen or order_id not in orders:
            continue
        seen.add(order_id)
        order = orders[order_id]
        yield order
        yield from (authorizations[i] for i in order.authorization_ids if i in authorizations)
        for capture_id in order.capture_ids:
            capture = captures.get(capture_id)
            if capture is None:
                continue
            yield capture
            yield from (refunds[i] for i in capture.refund_ids if i in refunds)
