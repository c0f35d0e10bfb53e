"""Reconciliation: compare the ledger with PayPal and repair the ledger from PayPal's truth.

PayPal is the truth for what was charged; the audit log is the truth for the ledger. So a
repair is an audit event (operator ``reconcile``), projected into the ledger like any
other, and a later ``cardline ledger rebuild`` keeps it.

How payments are found at PayPal: every order cardline makes carries its payment id as
``invoice_id``, so a payment whose create call never answered (no order id in the ledger)
is still found, through Transaction Search (``GET /v1/reporting/transactions``) over the
period. Orders the ledger already knows are re-read with ``GET /v2/checkout/orders/{id}``.
Transaction Search lists a transaction up to 3 hours late (``search_delay``): a ledger
payment younger than that which PayPal does not list is reported, never marked failed.

Reversals: Transaction Search lists money PayPal took back from a capture under event code
T1106, naming the capture (``paypal_reference_id``); each is added to its payment as a
refund row of kind ``reversal`` (under ``ref_`` + letters of its PayPal id, the id the
webhook route gives a ``PAYMENT.CAPTURE.REVERSED`` of the same id).

Refunds: the order PayPal returns lists every refund of its captures
(``purchase_units[].payments.refunds``). Each is matched to the ledger's refund row with
its PayPal refund id, else to a row of the same payment and amount that has none (an
attempt whose answer was lost); a refund the ledger lacks (made outside cardline, say) is
added under ``ref_`` + letters of its PayPal id, a wrong status or amount is corrected,
and a completed refund PayPal does not list is reported. A repair is kept only where the
ledger's state machine (:mod:`cardline.ledger.states`) takes it; elsewhere it is
reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cardline.cde import audit, ids
from cardline.cde.errors import NotFound
from cardline.cde.paypal import PayPalClient, interpret_order, order_id_of
from cardline.ledger import Ledger
from cardline.ledger.states import (
    REFUNDED,
    REVERSAL,
    current_id,
    fold_refund,
    payment_supersedes,
)

RECONCILER = "reconcile"
RECONCILE_RUN = "reconcile_run"  # the audit event of one scheduled run
SEARCH_DELAY = timedelta(hours=3)
# A scheduled run looks this far back: past Transaction Search's 3-hour lag, and long
# enough that a run missed (a deploy, an outage) is covered by the next.
SCHEDULED_LOOKBACK = timedelta(days=3)
_SEARCH_RANGE = timedelta(days=31)
_OPEN = frozenset({"unknown", "pending"})
_REFUNDED = frozenset({"partially_refunded", "refunded", "reversed"})
# Transaction Search's event code of a payment reversal (PayPal took the money back).
REVERSAL_CODE = "T1106"


@dataclass(frozen=True)
class Difference:
    """One way the ledger and PayPal disagreed, and whether the ledger was repaired."""

    payment_id: str
    # missing | status | not_at_paypal | not_listed_yet | ledger_only
    # | refund_missing | refund_status | refund_ledger_only | reversal_missing
    # | reversal_status
    kind: str
    ledger_status: str | None
    paypal_status: str | None
    repaired: bool
    note: str = ""

    def line(self) -> str:
        """One printable line: what differed and what was done."""
        action = "repaired" if self.repaired else "reported"
        text = (
            f"{self.payment_id}\t{self.kind}\tledger={self.ledger_status or '-'}\t"
            f"paypal={self.paypal_status or '-'}\t{action}"
        )
        return f"{text}\t{self.note}" if self.note else text


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ledger_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    start = since
    while start < until:
        end = min(start + _SEARCH_RANGE, until)
        yield start, end
        start = end


def _payment_facts(order: dict[str, Any]) -> dict[str, Any]:
    """A receipt-shaped view of a PayPal order: what the ledger row should say."""
    outcome = interpret_order(order)
    unit = order.get("purchase_units")
    first = unit[0] if isinstance(unit, list) and unit and isinstance(unit[0], dict) else {}
    facts: dict[str, Any] = {
        "status": outcome.status,
        "amount": outcome.amount,
        "currency": outcome.currency,
        "brand": outcome.brand,
        "last4": outcome.last_digits,
        "intent": order.get("intent"),
        "reference": first.get("description"),
        "decline_code": outcome.response_code if outcome.status != "approved" else None,
        "decline_reason": outcome.decline_reason if outcome.status != "approved" else None,
        "message": outcome.message,
        "paypal_order_id": outcome.order_id,
        "paypal_capture_id": outcome.capture_id,
        "paypal_authorization_id": outcome.authorization_id,
        "created_at": order.get("create_time"),
        "reconciled": True,
    }
    return {key: value for key, value in facts.items() if value is not None}


class Reconciler:
    """Walks PayPal's record of a period and the ledger's, and repairs the ledger."""

    def __init__(
        self,
        paypal: PayPalClient,
        ledger: Ledger,
        sink: audit.AuditSink,
        *,
        search_delay: timedelta = SEARCH_DELAY,
        dry_run: bool = False,
    ) -> None:
        self._paypal = paypal
        self._ledger = ledger
        self._sink = sink
        self._search_delay = search_delay
        self._dry_run = dry_run
        self.checked = 0  # payments the last run() compared, for its summary

    def run(self, since: datetime, until: datetime | None = None) -> list[Difference]:
        """Every difference found between ``since`` and ``until`` (default: now)."""
        now = datetime.now(UTC)
        until = until or now
        differences: list[Difference] = []
        seen: set[str] = set()
        for start, end in _windows(since, until):
            for info in self._paypal.search_transactions(_stamp(start), _stamp(end)):
                if info.get("transaction_event_code") == REVERSAL_CODE:
                    differences.extend(self._reversal(info))
                    continue
                invoice_id = info.get("invoice_id")
                if not isinstance(invoice_id, str) or not invoice_id.startswith("pay_"):
                    continue
                payment_id = current_id(invoice_id)
                if payment_id in seen:
                    continue
                order_id = order_id_of(info) or self._order_of_capture(info)
                if order_id is None:
                    continue
                seen.add(payment_id)
                differences.extend(self._check(payment_id, self._paypal.get_order(order_id)))
        for row in self._ledger_rows(since, until):
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            differences.extend(self._unlisted(row, now))
        self.checked = len(seen)
        return differences

    def _check(self, payment_id: str, order: dict[str, Any]) -> list[Difference]:
        """The payment's differences, then its refunds'."""
        found = self._compare(payment_id, order)
        return ([found] if found is not None else []) + self._compare_refunds(payment_id, order)

    def _order_of_capture(self, info: dict[str, Any]) -> str | None:
        transaction_id = info.get("transaction_id")
        if not isinstance(transaction_id, str):
            return None
        try:
            capture = self._paypal.get_capture(transaction_id)
        except NotFound:
            return None
        related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
        order_id = related.get("order_id")
        return order_id if isinstance(order_id, str) else None

    def _ledger_rows(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            page = self._ledger.list_payments(
                since=_ledger_time(since),
                # Ledger times have milliseconds and the bound is exclusive: the next
                # millisecond keeps a payment recorded in the very millisecond of ``until``.
                until=_ledger_time(until + timedelta(milliseconds=1)),
                limit=200,
                cursor=cursor,
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _compare(self, payment_id: str, order: dict[str, Any]) -> Difference | None:
        facts = _payment_facts(order)
        row = self._ledger.get_payment(payment_id)
        paypal_status = str(facts["status"])
        if row is None:
            self._repair(payment_id, facts)
            return Difference(payment_id, "missing", None, paypal_status, not self._dry_run)
        ledger_status = str(row["status"])
        if ledger_status == paypal_status:
            return None
        if ledger_status in _REFUNDED and paypal_status == "approved":
            return None  # a refund moved it on; the capture itself still reads approved
        settled_here = ledger_status in _REFUNDED
        if settled_here or not payment_supersedes(row, facts):
            return Difference(payment_id, "status", ledger_status, paypal_status, repaired=False)
        self._repair(payment_id, facts)
        return Difference(payment_id, "status", ledger_status, paypal_status, not self._dry_run)

    def _unlisted(self, row: dict[str, Any], now: datetime) -> list[Difference]:
        """A ledger payment PayPal's search did not list."""
        status = str(row["status"])
        order_id = row.get("paypal_order_id")
        if isinstance(order_id, str) and order_id:
            try:
                order = self._paypal.get_order(order_id)
            except NotFound:
                return [Difference(row["id"], "ledger_only", status, None, repaired=False)]
            return self._check(row["id"], order)
        if status not in _OPEN:
            return []  # a decline PayPal refused outright (422): no order, nothing listed
        created = datetime.fromisoformat(str(row["created_at"]).replace("Z", "+00:00"))
        if now - created < self._search_delay:
            note = "PayPal lists payments up to 3 hours late; run reconcile again later"
            return [Difference(row["id"], "not_listed_yet", status, None, False, note)]
        self._repair(
            row["id"],
            {
                "status": "failed",
                "message": "PayPal holds no payment for this attempt: the card was not charged.",
                "reconciled": True,
            },
        )
        return [Difference(row["id"], "not_at_paypal", status, None, not self._dry_run)]

    def _compare_refunds(self, payment_id: str, order: dict[str, Any]) -> list[Difference]:
        """Every refund PayPal lists for the order against the ledger's refunds."""
        rows = self._ledger.refunds_for(payment_id)
        by_paypal = {r["paypal_refund_id"]: r for r in rows if r.get("paypal_refund_id")}
        unanswered = [r for r in rows if not r.get("paypal_refund_id")]
        differences: list[Difference] = []
        listed: set[str] = set()
        for refund in _refunds_of(order):
            paypal_id = str(refund["id"])
            listed.add(paypal_id)
            amount = _money(refund.get("amount"))
            row = by_paypal.get(paypal_id)
            if row is None:
                row = next((r for r in unanswered if _same_amount(r, amount)), None)
                if row is not None:
                    unanswered.remove(row)
            elif row.get("status") == refund.get("status") and _same_amount(row, amount):
                continue
            refund_id = str(row["id"]) if row else outside_refund_id(paypal_id)
            facts = {
                "id": refund_id,
                "payment_id": payment_id,
                "status": refund.get("status"),
                "amount": amount[0],
                "currency": amount[1],
                "paypal_refund_id": paypal_id,
                "created_at": refund.get("create_time"),
                "reconciled": True,
            }
            facts = {key: value for key, value in facts.items() if value is not None}
            kind = "refund_missing" if row is None else "refund_status"
            ledger_status = str(row["status"]) if row else None
            paypal_status = str(refund.get("status"))
            if row is not None and not self._refund_repairable(refund_id, payment_id, facts):
                differences.append(
                    Difference(payment_id, kind, ledger_status, paypal_status, False, refund_id)
                )
                continue
            self._repair_refund(payment_id, facts)
            differences.append(
                Difference(
                    payment_id, kind, ledger_status, paypal_status, not self._dry_run, refund_id
                )
            )
        for kept in rows:
            kept_id = kept.get("paypal_refund_id")
            if kept.get("status") in REFUNDED and kept_id and kept_id not in listed:
                differences.append(
                    Difference(
                        payment_id,
                        "refund_ledger_only",
                        str(kept["status"]),
                        None,
                        False,
                        str(kept["id"]),
                    )
                )
        return differences

    def _reversal(self, info: dict[str, Any]) -> list[Difference]:
        """A reversal Transaction Search lists (money PayPal took back from a capture,
        ``paypal_reference_id``), added to its payment as a refund row of kind reversal."""
        reversal_id, capture_id = info.get("transaction_id"), info.get("paypal_reference_id")
        if not isinstance(reversal_id, str) or not isinstance(capture_id, str):
            return []
        payment = self._ledger.find_by_paypal_id(capture_id)
        if payment is None:
            return []
        value, currency = _money(info.get("transaction_amount"))
        amount = value.lstrip("-") if value is not None else None
        rows = self._ledger.refunds_for(payment["id"])
        row = next((r for r in rows if r.get("paypal_refund_id") == reversal_id), None)
        refund_id = str(row["id"]) if row else outside_refund_id(reversal_id)
        facts = {
            key: value
            for key, value in {
                "id": refund_id,
                "status": "COMPLETED",
                "amount": amount,
                "currency": currency,
                "paypal_refund_id": reversal_id,
                "kind": REVERSAL,
                "created_at": info.get("transaction_initiation_date"),
                "reconciled": True,
            }.items()
            if value is not None
        }
        if row is not None and row.get("status") == "COMPLETED" and row.get("kind") == REVERSAL:
            return []
        if not self._refund_repairable(refund_id, payment["id"], facts):
            return []
        self._repair_refund(payment["id"], facts)
        kind = "reversal_missing" if row is None else "reversal_status"
        return [
            Difference(
                payment["id"],
                kind,
                str(row["status"]) if row else None,
                "REVERSED",
                not self._dry_run,
                refund_id,
            )
        ]

    def _refund_repairable(self, refund_id: str, payment_id: str, facts: dict[str, Any]) -> bool:
        """Whether the ledger's state machine takes the repair (it never undoes a completed
        refund, for one)."""
        row = self._ledger.get_refund(refund_id)
        event = audit.AuditEvent(audit.REFUND, RECONCILER, "", RECONCILER, payment_id, facts)
        after = fold_refund(row, event)
        return after is not None and (
            row is None
            or (after["status"], after["amount"]) != (row.get("status"), row.get("amount"))
        )

    def _repair_refund(self, payment_id: str, facts: dict[str, Any]) -> None:
        if self._dry_run:
            return
        self._record(audit.REFUND, payment_id, facts, facts.get("status") in REFUNDED)

    def _repair(self, payment_id: str, facts: dict[str, Any]) -> None:
        if self._dry_run:
            return
        self._record(audit.PAYMENT, payment_id, facts, facts.get("status") == "approved")

    def _record(self, kind: str, payment_id: str, facts: dict[str, Any], success: bool) -> None:
        audit.record(
            self._sink,
            kind,
            operator=RECONCILER,
            outcome="success" if success else "failure",
            origin=RECONCILER,
            resource=payment_id,
            details=facts,
        )


def _refunds_of(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The refunds an order lists, across its purchase units."""
    found: list[dict[str, Any]] = []
    units = order.get("purchase_units")
    for unit in units if isinstance(units, list) else []:
        payments = unit.get("payments") if isinstance(unit, dict) else None
        refunds = payments.get("refunds") if isinstance(payments, dict) else None
        for refund in refunds if isinstance(refunds, list) else []:
            if isinstance(refund, dict) and isinstance(refund.get("id"), str):
                found.append(refund)
    return found


def _money(value: object) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    amount, currency = value.get("value"), value.get("currency_code")
    return (
        amount if isinstance(amount, str) else None,
        currency if isinstance(currency, str) else None,
    )


def _same_amount(row: dict[str, Any], amount: tuple[str | None, str | None]) -> bool:
    try:
        return amount[0] is not None and Decimal(str(row.get("amount"))) == Decimal(amount[0])
    except InvalidOperation:
        return False


def outside_refund_id(paypal_refund_id: str) -> str:
    """The id of a refund (or reversal) the ledger learns from PayPal, made outside
    cardline: reconcile and the webhook route name it alike."""
    return "ref_" + ids.digest("paypal-refund", paypal_refund_id)[:24]


def scheduled_run(
    paypal: PayPalClient,
    ledger: Ledger,
    sink: audit.AuditSink,
    *,
    lookback: timedelta = SCHEDULED_LOOKBACK,
    origin: str = "schedule",
) -> list[Difference]:
    """One reconcile run over the last ``lookback``, as the schedules run it (the
    EventBridge schedule on AWS, ``cardline serve --reconcile-every`` locally), recorded as
    one ``reconcile_run`` audit event with what it checked, found and repaired. A run
    that fails is recorded as failed (the error's class, never its message) and raises."""
    since = datetime.now(UTC) - lookback
    reconciler = Reconciler(paypal, ledger, sink)
    try:
        differences = reconciler.run(since)
    except Exception as error:
        audit.record(
            sink,
            RECONCILE_RUN,
            operator=RECONCILER,
            outcome="failure",
            origin=origin,
            resource="",
            details={"since": _stamp(since), "error": type(error).__name__},
        )
        raise
    audit.record(
        sink,
        RECONCILE_RUN,
        operator=RECONCILER,
        outcome="success",
        origin=origin,
        resource="",
        details={
            "since": _stamp(since),
            "checked": reconciler.checked,
            "differences": len(differences),
            "repaired": sum(1 for d in differences if d.repaired),
        },
    )
    return differences
