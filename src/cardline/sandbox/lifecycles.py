"""What happens to a payment after the first answer, and the webhook event each change sends.

Three ways in, one way out. After every PayPal API call that changed something,
:meth:`Lifecycles.observe` compares the records it touched with the events already sent
and sends what PayPal would (a capture completed or declined, a refund, an authorization
created or voided), and starts the lifecycle a trigger name asks for
(:mod:`cardline.sandbox.triggers`). :meth:`Lifecycles.fire` makes one change on demand
(``cardline sandbox fire``, ``POST /_emulator/webhooks/fire``), and each step of a
triggered lifecycle is a ``fire`` run later by the scheduler. Every change is made to the
stored records first, so ``GET`` on a capture or authorization says what its event said:
a reversal is a refund of the capture (REFUNDED or PARTIALLY_REFUNDED, the reversal among
its refunds, as PayPal shows one), a pending capture that completes reads COMPLETED.

Disputes (Disputes v1's ``dispute``) are kept in memory only.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cardline.sandbox import lifecycle, views
from cardline.sandbox.amounts import Amount, parse_amount, within
from cardline.sandbox.errors import ApiError
from cardline.sandbox.events import EVENT_TYPES, envelope, event_id
from cardline.sandbox.records import Authorization, Capture, Refund
from cardline.sandbox.scheduler import Scheduler
from cardline.sandbox.state import Record, tree
from cardline.sandbox.store import Store
from cardline.sandbox.triggers import (
    AUTHORIZATION_CREATED,
    AUTHORIZATION_VOIDED,
    BUYER_FAVOUR,
    CAPTURE_COMPLETED,
    CAPTURE_DECLINED,
    CAPTURE_DENIED,
    CAPTURE_PENDING,
    CAPTURE_REFUNDED,
    CAPTURE_REVERSED,
    DISPUTE_CREATED,
    DISPUTE_RESOLVED,
    DISPUTE_UPDATED,
    SELLER_FAVOUR,
    STEP,
    trigger_for,
)

SELLER_RESPONSE_DAYS = 10  # PayPal gives the seller about ten days to answer a chargeback
DISPUTE_REASONS = (
    "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
    "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED",
    "UNAUTHORISED",
    "CREDIT_NOT_PROCESSED",
    "DUPLICATE_TRANSACTION",
    "INCORRECT_AMOUNT",
    "PAYMENT_BY_OTHER_MEANS",
    "CANCELED_RECURRING_BILLING",
    "PROBLEM_WITH_REMITTANCE",
    "OTHER",
)
OUTCOMES = (SELLER_FAVOUR, BUYER_FAVOUR)
# What firing each event does (``cardline sandbox fire --help`` lists it).
FIRE_HELP: Mapping[str, str] = {
    CAPTURE_COMPLETED: "a PENDING capture completes (capture_id)",
    CAPTURE_PENDING: "a COMPLETED capture with nothing refunded goes PENDING (capture_id)",
    CAPTURE_DECLINED: "a PENDING capture is declined (capture_id)",
    CAPTURE_DENIED: "a PENDING capture is denied: status DECLINED (capture_id)",
    CAPTURE_REFUNDED: "a refund made at PayPal, not by cardline: the rest, or value (capture_id)",
    CAPTURE_REVERSED: "PayPal reverses the capture: the rest, or value (capture_id)",
    AUTHORIZATION_CREATED: "the CREATED event of a CREATED authorization, sent again "
    "(authorization_id)",
    AUTHORIZATION_VOIDED: "the authorization is voided at PayPal (authorization_id)",
    DISPUTE_CREATED: "the cardholder disputes the capture: reason (default UNAUTHORISED), "
    "value (default all of it), due in 10 days (capture_id)",
    DISPUTE_UPDATED: "the dispute goes UNDER_REVIEW (dispute_id, or capture_id of an open one)",
    DISPUTE_RESOLVED: "the dispute is resolved: outcome (default RESOLVED_SELLER_FAVOUR; "
    "RESOLVED_BUYER_FAVOUR also reverses the capture) (dispute_id, or capture_id)",
}
Publish = Callable[[Mapping[str, Any]], None]
_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9:\-|]+")


class FireRefused(Exception):
    """The change asked for cannot happen to that resource now; the message says why."""


def record_refund(
    store: Store,
    capture: Capture,
    amount: Amount,
    *,
    request_id: str | None = None,
    invoice_id: str | None = None,
    custom_id: str | None = None,
    note_to_payer: str | None = None,
) -> Refund:
    """Money back from ``capture`` (a refund, or PayPal's reversal): the refund record, and
    the capture's refunded total and status; the caller holds the store lock."""
    stamp = store.clock.iso()
    capture.refunded += amount.minor
    full = capture.refunded >= capture.amount.minor
    capture.status = "REFUNDED" if full else "PARTIALLY_REFUNDED"
    capture.update_time = stamp
    refund = Refund(
        id=store.new_id(),
        status="COMPLETED",
        amount=amount,
        capture_id=capture.id,
        request_id=request_id,
        create_time=stamp,
        update_time=stamp,
        total_refunded=capture.refunded,
        invoice_id=invoice_id,
        custom_id=custom_id,
        note_to_payer=note_to_payer,
    )
    store.refunds[refund.id] = refund
    capture.refund_ids.append(refund.id)
    return refund


@dataclass
class Dispute:
    """A buyer's dispute (a chargeback, for a card) of one capture."""

    id: str
    capture_id: str
    reason: str
    status: str
    amount: Amount
    create_time: str
    update_time: str
    seller_response_due_date: str
    outcome: str | None = None

    def json(self, capture: Capture) -> dict[str, Any]:
        """Disputes v1's ``dispute``."""
        transaction: dict[str, Any] = {
            "seller_transaction_id": self.capture_id,
            "create_time": capture.create_time,
            "transaction_status": capture.status,
            "gross_amount": capture.amount.json(),
        }
        # Disputes v1 narrows invoice_number; an invoice id it cannot hold is left out.
        if capture.invoice_id is not None and _INVOICE_NUMBER.fullmatch(capture.invoice_id):
            transaction["invoice_number"] = capture.invoice_id
        body: dict[str, Any] = {
            "dispute_id": self.id,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "disputed_transactions": [transaction],
            "reason": self.reason,
            "status": self.status,
            "dispute_amount": self.amount.json(),
            "dispute_life_cycle_stage": "CHARGEBACK",
            "dispute_channel": "EXTERNAL",
        }
        if self.status == "WAITING_FOR_SELLER_RESPONSE":
            body["seller_response_due_date"] = self.seller_response_due_date
        if self.outcome is not None:
            outcome: dict[str, Any] = {"outcome_code": self.outcome}
            if self.outcome == BUYER_FAVOUR:
                outcome["amount_refunded"] = self.amount.json()
            body["dispute_outcome"] = outcome
        return body


@dataclass(frozen=True)
class Fire:
    """One change asked for: the event to send and the resource it is about."""

    event_type: str
    capture_id: str | None = None
    authorization_id: str | None = None
    dispute_id: str | None = None
    value: str | None = None  # an amount for a refund, reversal or dispute (else all of it)
    reason: str | None = None  # a dispute's reason
    outcome: str | None = None  # a resolved dispute's outcome

    @classmethod
    def from_json(cls, data: object) -> Fire:
        """A fire request's JSON body; ValueError says what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("send a JSON object with event_type")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        if not all(isinstance(v, str) for v in data.values()):
            raise ValueError("every field is a string")
        if data.get("event_type") not in EVENT_TYPES:
            raise ValueError(f"event_type is one of: {', '.join(EVENT_TYPES)}")
        if data.get("reason") is not None and data["reason"] not in DISPUTE_REASONS:
            raise ValueError(f"reason is one of: {', '.join(DISPUTE_REASONS)}")
        if data.get("outcome") is not None and data["outcome"] not in OUTCOMES:
            raise ValueError(f"outcome is one of: {', '.join(OUTCOMES)}")
        return cls(**data)


class Lifecycles:
    """The changes after the first answer, and the events they send through ``publish``."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        publish: Publish,
        base: Callable[[], str],
        *,
        seed: int | None = None,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._publish = publish
        self._base = base
        self._random = random.Random(seed)
        self.disputes: dict[str, Dispute] = {}
        self._events: list[dict[str, Any]] = []  # every event sent, oldest first
        # (resource id, event type) already sent; what a loaded state file already holds
        # counts as sent, so a restart repeats nothing.
        self._sent: set[tuple[str, str]] = set()
        with store.lock:
            for record in self._records(self._all_ids()):
                self._sent.update(self._implied(record))
                self._sent.add((record.id, "trigger"))

    # -- after an API call ----------------------------------------------------------

    def observe(self, resource_ids: Iterable[str]) -> None:
        """Send the events the records of ``resource_ids``' orders now imply and have not
        sent yet, and start any triggered lifecycle."""
        events: list[dict[str, Any]] = []
        with self._store.lock:
            for record in self._records(resource_ids):
                for key in self._implied(record):
                    if key not in self._sent:
                        self._sent.add(key)
                        events.append(self._event(key[1], record))
                if (record.id, "trigger") not in self._sent:
                    self._sent.add((record.id, "trigger"))
                    self._start_trigger(record)
        for event in events:
            self._send(event)

    def events(self) -> list[dict[str, Any]]:
        """Every event sent so far (to every subscription wanting it), oldest first."""
        with self._store.lock:
            return list(self._events)

    def _send(self, event: dict[str, Any]) -> None:
        with self._store.lock:
            self._events.append(event)
        self._publish(event)

    def _all_ids(self) -> list[str]:
        return list(self._store.orders)

    def _records(self, resource_ids: Iterable[str]) -> list[Record]:
        store = self._store
        return list(
            tree(store.orders, store.authorizations, store.captures, store.refunds, resource_ids)
        )

    @staticmethod
    def _implied(record: Record) -> list[tuple[str, str]]:
        """The events a record's state implies PayPal has sent."""
        if isinstance(record, Capture):
            by_status = {"PENDING": CAPTURE_PENDING, "DECLINED": CAPTURE_DECLINED}
            return [(record.id, by_status.get(record.status, CAPTURE_COMPLETED))]
        if isinstance(record, Refund):
            return [(record.id, CAPTURE_REFUNDED)]
        if isinstance(record, Authorization) and record.status != "DENIED":
            implied = [(record.id, AUTHORIZATION_CREATED)]
            if record.status == "VOIDED":
                implied.append((record.id, AUTHORIZATION_VOIDED))
            return implied
        return []

    def _start_trigger(self, record: Record) -> None:
        if isinstance(record, Capture) and record.moved_money:
            order, kind = self._store.orders[record.order_id], "capture_id"
        elif isinstance(record, Authorization) and record.status == "CREATED":
            order, kind = self._store.orders[record.order_id], "authorization_id"
        else:
            return
        trigger = trigger_for(order.card.name if order.card is not None else None)
        if trigger is None:
            return
        for step, event_type in enumerate(trigger.then, start=1):
            about = EVENT_TYPES[event_type].resource_type
            if (kind == "authorization_id") != (about == "authorization"):
                continue
            outcome = trigger.outcome if event_type == DISPUTE_RESOLVED else None
            fire = Fire(event_type, **{kind: record.id}, outcome=outcome)
            self._scheduler.after(step * STEP, self._later(fire))

    def _later(self, fire: Fire) -> Callable[[], None]:
        def step() -> None:
            # Refused when the payment moved on meanwhile (refunded by cardline, say).
            with contextlib.suppress(FireRefused, ApiError):
                self.fire(fire)

        return step

    # -- on demand ------------------------------------------------------------------

    def fire(self, fire: Fire) -> dict[str, Any]:
        """Make the change ``fire`` names and send its event; the event sent (the first,
        when a dispute lost also reverses the capture). Raises FireRefused."""
        with self._store.lock:
            events, changed = self._change(fire)
            # What the change implies is sent now (a reversal is a refund: no REFUNDED too).
            for record in self._records(changed):
                self._sent.update(self._implied(record))
        self._store.persist(changed, "emulator.fire", None)
        for event in events:
            self._send(event)
        return events[0]

    def _change(self, fire: Fire) -> tuple[list[dict[str, Any]], list[str]]:
        kind = fire.event_type
        if kind in (AUTHORIZATION_CREATED, AUTHORIZATION_VOIDED):
            auth = self._authorization(fire.authorization_id)
            if kind == AUTHORIZATION_VOIDED:
                self._void(auth)
            elif auth.status != "CREATED":
                raise FireRefused(f"authorization {auth.id} is {auth.status}, not CREATED")
            return [self._event(kind, auth)], [auth.id]
        if kind.startswith("CUSTOMER.DISPUTE."):
            return self._dispute(fire)
        capture = self._capture(fire.capture_id)
        if kind in (CAPTURE_COMPLETED, CAPTURE_DECLINED, CAPTURE_DENIED):
            if capture.status != "PENDING":
                raise FireRefused(f"capture {capture.id} is {capture.status}, not PENDING")
            capture.status = "COMPLETED" if kind == CAPTURE_COMPLETED else "DECLINED"
            capture.update_time = self._store.clock.iso()
            return [self._event(kind, capture)], [capture.id]
        if kind == CAPTURE_PENDING:
            if capture.status != "COMPLETED":
                raise FireRefused(f"capture {capture.id} is {capture.status}, not COMPLETED")
            capture.status = "PENDING"
            capture.update_time = self._store.clock.iso()
            return [self._event(kind, capture)], [capture.id]
        refund = self._money_back(capture, fire.value)
        return [self._event(kind, refund)], [refund.id]

    def _money_back(self, capture: Capture, value: str | None) -> Refund:
        refusal = lifecycle.refund_refusal(capture)
        if refusal is not None:
            raise FireRefused(f"capture {capture.id} cannot give money back: {refusal.issue}")
        rest = capture.amount.with_minor(capture.amount.minor - capture.refunded)
        amount = within(
            self._amount(value, capture.amount),
            rest,
            mismatch="REFUND_CAPTURE_CURRENCY_MISMATCH",
            exceeded="REFUND_AMOUNT_EXCEEDED",
        )
        return record_refund(self._store, capture, amount)

    def _void(self, auth: Authorization) -> None:
        refusal = lifecycle.void_refusal(auth)
        if refusal is not None:
            raise FireRefused(f"authorization {auth.id} cannot be voided: {refusal.issue}")
        stamp = self._store.clock.iso()
        renewed = self._store.authorizations.get(auth.reauthorization_id or "")
        for record in (auth, renewed):
            if record is not None and record.status in ("CREATED", "PARTIALLY_CAPTURED"):
                record.status = "VOIDED"
                record.update_time = stamp

    def _dispute(self, fire: Fire) -> tuple[list[dict[str, Any]], list[str]]:
        clock = self._store.clock
        if fire.event_type == DISPUTE_CREATED:
            capture = self._capture(fire.capture_id)
            if not capture.moved_money:
                raise FireRefused(f"capture {capture.id} is {capture.status}: nothing to dispute")
            dispute = Dispute(
                id=self._dispute_id(),
                capture_id=capture.id,
                reason=fire.reason or "UNAUTHORISED",
                status="WAITING_FOR_SELLER_RESPONSE",
                amount=self._amount(fire.value, capture.amount) or capture.amount,
                create_time=clock.iso(),
                update_time=clock.iso(),
                seller_response_due_date=clock.iso(SELLER_RESPONSE_DAYS * lifecycle.DAY),
            )
            self.disputes[dispute.id] = dispute
            return [self._event(DISPUTE_CREATED, dispute)], []
        dispute = self._find_dispute(fire)
        if dispute.status == "RESOLVED":
            raise FireRefused(f"dispute {dispute.id} is RESOLVED")
        dispute.update_time = clock.iso()
        if fire.event_type == DISPUTE_UPDATED:
            dispute.status = "UNDER_REVIEW"  # the seller answered; PayPal is deciding
            return [self._event(DISPUTE_UPDATED, dispute)], []
        dispute.status = "RESOLVED"
        dispute.outcome = fire.outcome or SELLER_FAVOUR
        events = [self._event(DISPUTE_RESOLVED, dispute)]
        if dispute.outcome == BUYER_FAVOUR:  # the chargeback stands: PayPal reverses
            capture = self._capture(dispute.capture_id)
            rest = capture.amount.minor - capture.refunded
            amount = dispute.amount.with_minor(min(dispute.amount.minor, rest))
            if amount.minor > 0 and lifecycle.refund_refusal(capture) is None:
                refund = record_refund(self._store, capture, amount)
                events.append(self._event(CAPTURE_REVERSED, refund))
                return events, [refund.id]
        return events, []

    def _find_dispute(self, fire: Fire) -> Dispute:
        if fire.dispute_id is not None:
            dispute = self.disputes.get(fire.dispute_id)
            if dispute is None:
                raise FireRefused(f"no dispute {fire.dispute_id}")
            return dispute
        open_ones = [
            d
            for d in self.disputes.values()
            if d.capture_id == fire.capture_id and d.status != "RESOLVED"
        ]
        if not open_ones:
            raise FireRefused(
                "give dispute_id, or the capture_id of a capture with an open dispute"
            )
        return open_ones[-1]

    def _dispute_id(self) -> str:
        while True:
            candidate = f"PP-D-{self._random.randrange(10000, 100000)}"
            if candidate not in self.disputes:
                return candidate

    def _amount(self, value: str | None, like: Amount) -> Amount | None:
        if value is None:
            return None
        raw = {"currency_code": like.currency, "value": value}
        return parse_amount(raw, "/amount", payments_api=True)

    def _capture(self, capture_id: str | None) -> Capture:
        capture = self._store.captures.get(capture_id or "")
        if capture is None:
            raise FireRefused(f"no capture {capture_id}" if capture_id else "give capture_id")
        return capture

    def _authorization(self, authorization_id: str | None) -> Authorization:
        auth = self._store.authorizations.get(authorization_id or "")
        if auth is None:
            what = f"no authorization {authorization_id}"
            raise FireRefused(what if authorization_id else "give authorization_id")
        return auth

    # -- events ---------------------------------------------------------------------

    def _event(self, event_type: str, record: Any) -> dict[str, Any]:
        base = self._base()
        if isinstance(record, Capture):
            resource = views.capture(self._store, record, base)
        elif isinstance(record, Refund):
            resource = views.refund(record, base)
        elif isinstance(record, Authorization):
            resource = views.authorization(self._store, record, base)
        else:
            resource = record.json(self._store.captures[record.capture_id])
        # A copy that no later change to the records can alter: the event is what was sent.
        frozen = json.loads(json.dumps(resource))
        return envelope(
            event_type,
            frozen,
            event_id=event_id(self._store.new_id),
            create_time=self._store.clock.iso(),
        )
