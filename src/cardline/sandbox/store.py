"""The emulator's state: resources, idempotency keys, access tokens and the request log.

One re-entrant lock guards the data; each (operation, PayPal-Request-Id) pair also has
its own lock, held for the whole request, so two concurrent requests with one id are
processed one after the other and the second replays the first.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from cardline.sandbox.clock import Clock
from cardline.sandbox.records import Authorization, Capture, Order, Refund
from cardline.sandbox.state import StateFile, tree

_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_ID_LETTERS = _ID_ALPHABET[10:]
# Letters at these places, as in PayPal's own ids ("5O190127TN364715T"): no run of more
# than 8 digits, so no id can hold a card number (the leak scan reads every id we keep).
_ID_LETTER_PLACES = frozenset({1, 8})


class Store:
    """Thread-safe in-memory state of one emulator, kept in ``state`` too when given."""

    def __init__(self, state: StateFile | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.orders: dict[str, Order] = {}
        self.authorizations: dict[str, Authorization] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.paid_invoices: set[str] = set()  # invoice ids PayPal refuses to take again
        self.requests = 0
        self.token_requests = 0
        self._idempotency: dict[tuple[str, str], str] = {}
        self._state = state
        if state is not None:
            loaded = state.load()
            self.orders, self.authorizations = loaded.orders, loaded.authorizations
            self.captures, self.refunds = loaded.captures, loaded.refunds
            self.paid_invoices = loaded.paid_invoices
            self._idempotency = loaded.request_ids
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._log: list[dict[str, Any]] = []

    # -- ids and idempotency -------------------------------------------------------

    def new_id(self) -> str:
        """A fresh 17-character PayPal-style id, unique across all resources; it never holds
        more than 8 digits in a row."""
        with self.lock:
            while True:
                candidate = "".join(
                    secrets.choice(_ID_LETTERS if place in _ID_LETTER_PLACES else _ID_ALPHABET)
                    for place in range(17)
                )
                if not any(
                    candidate in table
                    for table in (self.orders, self.authorizations, self.captures, self.refunds)
                ):
                    return candidate

    @contextmanager
    def request_key(self, operation: str, request_id: str | None) -> Iterator[None]:
        """Serialise requests that share ``operation`` and PayPal-Request-Id."""
        if request_id is None:
            yield
            return
        key = (operation, request_id)
        with self.lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            yield

    def replayed(self, operation: str, request_id: str | None) -> str | None:
        """The resource id an earlier request with this id created, if any."""
        if request_id is None:
            return None
        with self.lock:
            return self._idempotency.get((operation, request_id))

    def remember(self, operation: str, request_id: str | None, resource_id: str) -> None:
        """Record that ``request_id`` created ``resource_id``."""
        if request_id is not None:
            with self.lock:
                self._idempotency[(operation, request_id)] = resource_id

    def forget_request_ids(self) -> None:
        """Drop every remembered PayPal-Request-Id (its window has passed)."""
        with self.lock:
            self._idempotency.clear()
            if self._state is not None:
                self._state.forget_request_ids()

    def close_state(self) -> None:
        """Close the state file, if any, until the next write."""
        if self._state is not None:
            self._state.close()

    def persist(self, resource_ids: Iterable[str], operation: str, request_id: str | None) -> None:
        """Write what one request may have changed to the state file, if there is one:
        every record of the orders ``resource_ids`` belong to, and the request id."""
        if self._state is None:
            return
        with self.lock:
            made = self.replayed(operation, request_id)
            ids = [*resource_ids, *([made] if made is not None else [])]
            records = list(tree(self.orders, self.authorizations, self.captures, self.refunds, ids))
            request_ids = (
                [] if made is None or request_id is None else [(operation, request_id, made)]
            )
            invoices = [
                r.invoice_id
                for r in records
                if isinstance(r, Order) and r.invoice_id in self.paid_invoices
            ]
            if records or request_ids:
                self._state.save(records, request_ids, [i for i in invoices if i is not None])

    # -- OAuth ---------------------------------------------------------------------

    def issue_token(self, ttl: float) -> str:
        """A new access token valid for ``ttl`` seconds."""
        token = "A21AA" + secrets.token_urlsafe(48)
        with self.lock:
            self._tokens[token] = time.monotonic() + ttl
        return token

    def token_valid(self, token: str) -> bool:
        """True for a token this emulator issued that has not expired."""
        with self.lock:
            expiry = self._tokens.get(token)
            if expiry is None:
                return False
            if time.monotonic() >= expiry:
                del self._tokens[token]
                return False
            return True

    def expire_tokens(self) -> None:
        """Expire every token issued so far."""
        with self.lock:
            self._tokens.clear()

    # -- inspection ----------------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        """Append one request (method, path, chosen headers, status; never a body)."""
        with self.lock:
            self._log.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        """Copies of the logged requests, oldest first."""
        with self.lock:
            return [dict(entry, headers=dict(entry["headers"])) for entry in self._log]
