"""Refunds: need only the PayPal capture id from the ledger, never card data.

Keyed like charges. The operator's Idempotency-Key names one refund: its id is derived
from the operator and the key (:func:`refund_id_for`), and so is its PayPal-Request-Id
(unchanged since the first release: PayPal replays a refund request id for 45 days, so a
retry after a deploy is answered with the first refund instead of refunding twice). A
fingerprint of the request (operator, payment, amount, note) is kept in the refund's
audit event; a key reused with another payment, amount or note is refused with
``409 idempotency_conflict``, whether the ledger already holds the first refund or only
PayPal does (its replayed answer is checked against the request: capture and amount).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cardline import paypal_actions
from cardline.cde import audit, ids
from cardline.cde.encoding import canonical
from cardline.cde.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
)
from cardline.cde.money import Money, parse_money
from cardline.cde.request_rules import (
    NOT_AN_OBJECT,
    paypal_request_id_for,
    reject_unknown,
    validate_idempotency_key,
)
from cardline.ledger.states import REFUNDED
from cardline.paypal_actions import decimal_or_none, paypal_words

if TYPE_CHECKING:
    from cardline.cde.paypal import PayPalClient
    from cardline.ledger import Ledger

REFUND_FIELDS = frozenset({"amount", "note"})
MAX_NOTE = 255
REFUND_FINGERPRINT_PREFIX = "clrf1:"
# An authorization once captured is refunded like a payment captured at once (its first
# capture: PayPal refunds one capture at a time).
_REFUNDABLE = frozenset({"approved", "partially_refunded", "captured", "partially_captured"})
_VIEW = ("id", "payment_id", "status", "amount", "currency", "paypal_refund_id", "created_at")


def refund_id_for(operator: str, idempotency_key: str) -> str:
    """The refund id: ``ref_`` + letters 24 to 47 of ``ids.digest("refund", operator, key)``.

    The hex id it replaced, written in letters: that was the last 24 hex digits of the
    refund's PayPal-Request-Id, whose 48 are the digest's first 48 (the ledger holds an old
    refund under ``ids.from_hex`` of its id, and a retry must find it there)."""
    return "ref_" + ids.digest("refund", operator, idempotency_key)[24:48]


def refund_fingerprint(
    operator: str, payment_id: str, money: Money | None, note: str | None
) -> str:
    """A digest of everything the refund request says (no amount: the rest of the payment).

    Its bytes must never change: a retry after a deploy must still match its first request.
    """
    text = canonical(
        {
            "amount": money.value if money is not None else None,
            "currency": money.currency if money is not None else None,
            "note": note,
            "operator": operator,
            "payment": payment_id,
        }
    )
    return REFUND_FINGERPRINT_PREFIX + ids.digest("refund-fingerprint", text)[:40]


def parse_refund_request(body: object, currency: str) -> tuple[Money | None, str | None]:
    """(amount or None for the rest, note) from a decoded JSON body."""
    if body is None:
        return None, None
    if not isinstance(body, dict):
        raise InvalidRequest(NOT_AN_OBJECT, field="body")
    reject_unknown(body, REFUND_FIELDS, "body")
    money = parse_money(body["amount"], currency) if "amount" in body else None
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or not 1 <= len(note) <= MAX_NOTE):
        raise InvalidRequest(f"note must be a string of 1 to {MAX_NOTE} characters", field="note")
    if note is not None and audit.contains_pan(note):
        raise InvalidRequest("note must not contain a card number", field="note")
    return money, note


class Refunder:
    """Refunds a captured payment, fully or in part, through PayPal."""

    def __init__(self, paypal: PayPalClient, ledger: Ledger, sink: audit.AuditSink) -> None:
        self._paypal = paypal
        self._ledger = ledger
        self._sink = sink

    def refund(
        self,
        payment_id: str,
        body: object,
        *,
        operator: str,
        idempotency_key: str | None,
        origin: str,
    ) -> dict[str, Any]:
        key = validate_idempotency_key(idempotency_key)
        payment = self._ledger.get_payment(payment_id)
        if payment is None:
            raise NotFound("No payment with this id")
        payment_id = str(payment["id"])  # the current form of a legacy id
        money, note = parse_refund_request(body, str(payment["currency"]))
        refund_id = refund_id_for(operator, key)
        fingerprint = refund_fingerprint(operator, payment_id, money, note)
        earlier = self._ledger.get_refund(refund_id)
        if earlier is not None:
            if not _same_request(earlier, payment_id, money, fingerprint):
                self._refuse_reuse(operator, origin, payment_id, refund_id)
            if earlier.get("status") in REFUNDED:
                return {name: earlier.get(name) for name in _VIEW}  # a replay
        capture_id = payment.get("paypal_capture_id")
        if payment["status"] not in _REFUNDABLE or not capture_id:
            raise InvalidRequest(
                f"Only captured payments can be refunded; this one is {payment['status']}",
                field="payment",
            )
        remaining = _check_remaining(payment, money)
        asked = money.value if money is not None else str(remaining)
        facts = {
            "id": refund_id,
            "payment_id": payment_id,
            "amount": asked,
            "currency": str(payment["currency"]),
            "fingerprint": fingerprint,
        }
        try:
            answer = self._paypal.refund_capture(
                str(capture_id),
                request_id=paypal_request_id_for(operator, key, "refund"),
                money=money,
                note=note,
            )
        except GatewayError as error:
            failed = {**facts, "status": "FAILED", "error": error.code, **paypal_words(error)}
            self._emit(operator, origin, payment_id, failed)
            raise _in_words(error) from None
        if not _answers(answer, str(capture_id), asked, str(payment["currency"])):
            # PayPal replayed a refund this key made of another capture or amount.
            self._refuse_reuse(operator, origin, payment_id, refund_id)
        refund = _refund_view(refund_id, payment, answer, asked)
        self._emit(operator, origin, payment_id, {**refund, "fingerprint": fingerprint})
        return refund

    def _refuse_reuse(self, operator: str, origin: str, payment_id: str, refund_id: str) -> None:
        paypal_actions.refuse_reuse(
            self._sink,
            audit.REFUND,
            operator=operator,
            origin=origin,
            payment_id=payment_id,
            action_id=refund_id,
        )

    def _emit(
        self, operator: str, origin: str, payment_id: str, details: Mapping[str, Any]
    ) -> None:
        paypal_actions.record(
            self._sink,
            audit.REFUND,
            REFUNDED,
            operator=operator,
            origin=origin,
            payment_id=payment_id,
            details=details,
        )


def _in_words(error: GatewayError) -> GatewayError:
    """The gateway error as the agent reads it: what happened to the refund, what to do."""
    return paypal_actions.in_words(
        error,
        noun="refund",
        done="refunded",
        maybe="it may have been made",
        never="a retry never refunds twice",
    )


def _same_request(
    earlier: Mapping[str, Any], payment_id: str, money: Money | None, fingerprint: str
) -> bool:
    """Whether the refund row ``earlier`` was made by this very request."""
    if earlier.get("payment_id") != payment_id:
        return False
    if earlier.get("fingerprint"):
        return bool(earlier["fingerprint"] == fingerprint)
    # Recorded before fingerprints were: only the amount can be compared.
    return money is None or decimal_or_none(earlier.get("amount")) == money.amount


def _answers(answer: Mapping[str, Any], capture_id: str, amount: str, currency: str) -> bool:
    """Whether PayPal's refund is of this capture and amount (a replayed answer may be the
    refund a reused key made elsewhere)."""
    links = answer.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "up":
            continue
        href = link.get("href")
        if isinstance(href, str) and href.rstrip("/").rsplit("/", 1)[-1] != capture_id:
            return False
    money = answer.get("amount")
    if isinstance(money, dict) and money.get("value") is not None:
        if decimal_or_none(money.get("value")) != Decimal(amount):
            return False
        if money.get("currency_code") not in (None, currency):
            return False
    return True


def _check_remaining(payment: Mapping[str, Any], money: Money | None) -> Decimal:
    """What is left to refund; InvalidRequest when ``money`` asks for more."""
    remaining = Decimal(str(payment["amount"])) - Decimal(str(payment.get("refunded_amount") or 0))
    if money is not None and money.amount > remaining:
        raise InvalidRequest(
            f"The refund exceeds what is left to refund ({remaining} {payment['currency']})",
            field="amount",
        )
    return remaining


def _refund_view(
    refund_id: str, payment: Mapping[str, Any], answer: Mapping[str, Any], asked: str
) -> dict[str, Any]:
    amount = answer.get("amount") or {}
    return {
        "id": refund_id,
        "payment_id": payment["id"],
        "status": str(answer.get("status", "PENDING")),
        "amount": asked,
        "currency": str(amount.get("currency_code") or payment["currency"]),
        "paypal_refund_id": answer.get("id"),
        "created_at": answer.get("create_time") or audit.utc_now(),
    }
