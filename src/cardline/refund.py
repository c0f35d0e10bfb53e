"""Refunds: need only the PayPal capture id from the ledger, never card data."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cardline import audit
from cardline.charge import paypal_request_id_for, reject_unknown, validate_idempotency_key
from cardline.errors import (
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    InvalidRequest,
    NotFound,
)
from cardline.money import Money, parse_money
from cardline.paypal.codes import refusal_words

if TYPE_CHECKING:
    from cardline.ledger import Ledger
    from cardline.paypal import PayPalClient

REFUND_FIELDS = frozenset({"amount", "note"})
MAX_NOTE = 255


def parse_refund_request(body: object, currency: str) -> tuple[Money | None, str | None]:
    """(amount or None for the rest, note) from a decoded JSON body."""
    if body is None:
        return None, None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object", field="body")
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
        money, note = parse_refund_request(body, str(payment["currency"]))
        capture_id = payment.get("paypal_capture_id")
        if payment["status"] not in {"approved", "partially_refunded"} or not capture_id:
            raise InvalidRequest(
                f"Only captured payments can be refunded; this one is {payment['status']}",
                field="payment",
            )
        _check_remaining(payment, money)
        refund_id = "ref_" + paypal_request_id_for(operator, key, "refund")[-24:]
        try:
            answer = self._paypal.refund_capture(
                str(capture_id),
                request_id=paypal_request_id_for(operator, key, "refund"),
                money=money,
                note=note,
            )
        except GatewayError as error:
            self._emit(
                operator,
                origin,
                payment_id,
                {"id": refund_id, "status": "FAILED", "error": error.code},
            )
            raise _in_words(error) from None
        refund = _refund_view(refund_id, payment, answer, money)
        self._emit(operator, origin, payment_id, refund)
        return refund

    def _emit(
        self, operator: str, origin: str, payment_id: str, details: Mapping[str, Any]
    ) -> None:
        succeeded = details.get("status") in {"COMPLETED", "PENDING"}
        self._sink.emit(
            audit.AuditEvent(
                type=audit.REFUND,
                operator=operator,
                outcome="success" if succeeded else "failure",
                origin=origin,
                resource=payment_id,
                details=details,
            )
        )


def _in_words(error: GatewayError) -> GatewayError:
    """The gateway error as the agent reads it: what happened to the refund, what to do,
    never PayPal's own names (the same class, so its code and status stay)."""
    if isinstance(error, GatewayOutcomeUnknown):
        detail = (
            "PayPal did not confirm the refund in time: it may have been made. Retry with the "
            "same Idempotency-Key to learn the outcome; a retry never refunds twice."
        )
    elif isinstance(error, GatewayUnavailable):
        detail = (
            "PayPal could not be reached and nothing was refunded. Try again in a moment "
            "(the same Idempotency-Key is safe to reuse)."
        )
    else:
        words = refusal_words(error.issue, error.http_status)
        if isinstance(error, GatewayRejected):
            detail = f"PayPal refused the refund and nothing was refunded. {words}"
        else:
            detail = (
                f"PayPal gave no usable answer about the refund. {words} Retry with the same "
                "Idempotency-Key: a retry never refunds twice."
            )
    return type(error)(
        detail,
        http_status=error.http_status,
        name=error.name,
        issue=error.issue,
        debug_id=error.debug_id,
    )


def _check_remaining(payment: Mapping[str, Any], money: Money | None) -> None:
    if money is None:
        return
    remaining = Decimal(str(payment["amount"])) - Decimal(str(payment.get("refunded_amount") or 0))
    if money.amount > remaining:
        raise InvalidRequest(
            f"The refund exceeds what is left to refund ({remaining} {payment['currency']})",
            field="amount",
        )


def _refund_view(
    refund_id: str, payment: Mapping[str, Any], answer: Mapping[str, Any], money: Money | None
) -> dict[str, Any]:
    amount = answer.get("amount") or {}
    if money is not None:
        value = money.value
    else:
        remaining = Decimal(str(payment["amount"])) - Decimal(
            str(payment.get("refunded_amount") or 0)
        )
        value = str(amount.get("value") or remaining)
    return {
        "id": refund_id,
        "payment_id": payment["id"],
        "status": str(answer.get("status", "PENDING")),
        "amount": value,
        "currency": str(amount.get("currency_code") or payment["currency"]),
        "paypal_refund_id": answer.get("id"),
        "created_at": answer.get("create_time") or audit.utc_now(),
    }
