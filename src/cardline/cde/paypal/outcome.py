"""What a card payment came to: :class:`ChargeOutcome`, read from PayPal's order by
:func:`interpret_order`."""

from __future__ import annotations

from cardline.cde.paypal.codes import (
    APPROVED,
    CARD_ISSUES,
    GENERIC_DECLINE,
    NO_RETRY_ADVICE,
    RESPONSE_CODES,
    RETRYABLE_RESPONSE_CODES,
    THREE_DS_REQUIRED,
)
from cardline.cde.values import FrozenValue

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Literal

    Status = Literal["approved", "declined", "failed", "pending", "unknown"]

__all__ = ["ChargeOutcome", "interpret_order", "order_id_of", "refused_card"]


class ChargeOutcome(FrozenValue):
    """What a card payment came to, in terms the agent and the ledger can use. Immutable."""

    status: Status
    order_id: str | None = None
    capture_id: str | None = None
    authorization_id: str | None = None
    response_code: str | None = None
    decline_reason: str | None = None
    message: str | None = None
    retryable: bool = False
    brand: str | None = None
    last_digits: str | None = None
    custom_id: str | None = None
    amount: str | None = None
    currency: str | None = None
    avs_code: str | None = None
    cvv_code: str | None = None
    authorization_expires_at: str | None = None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _code(value: object) -> str | None:
    """A processor code as PayPal spells them (``Y``, ``Null``, ``All others``): short
    printable ASCII, or None (nothing longer is kept: it could only be noise)."""
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isprintable():
        return value
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: object) -> dict[str, Any]:
    return _dict(value[0]) if isinstance(value, list) and value else {}


def order_id_of(info: Mapping[str, Any]) -> str | None:
    """The order id a Transaction Search ``transaction_info`` names, if it names one."""
    if info.get("paypal_reference_id_type") == "ODR":
        return _text(info.get("paypal_reference_id"))
    return None


def refused_card(
    issue: str | None,
    *,
    brand: str,
    last_digits: str,
    amount: str,
    currency: str,
    custom_id: str | None,
) -> ChargeOutcome:
    """The outcome of a card PayPal refused when asked to create its order (HTTP 422 with a
    card issue such as ``INSTRUMENT_DECLINED``, or 3-D Secure required): no order exists,
    so ``order_id`` is None and the card, amount and ``custom_id`` are those we sent."""
    reason = issue or "UNPROCESSABLE_ENTITY"
    status, message = CARD_ISSUES.get(reason, ("declined", GENERIC_DECLINE))
    return ChargeOutcome(
        status=status,
        decline_reason=reason,
        message=message,
        brand=brand,
        last_digits=last_digits,
        custom_id=custom_id,
        amount=amount,
        currency=currency,
    )


def interpret_order(order: Mapping[str, Any]) -> ChargeOutcome:
    """The outcome of a single-step order, from its first capture or authorization.

    An order can be ``COMPLETED`` and still be a decline: what counts is
    ``purchase_units[0].payments.captures[0].status`` (or ``authorizations[0]``) and its
    ``processor_response``. (A card PayPal refused outright, with a 422 and no order, is
    :func:`refused_card`.)

    An answer with neither a capture nor an authorization (``{}``, an order still
    ``CREATED``, a minimal representation) says nothing about the card: its status is
    ``unknown``, never ``failed``. Read the order back, or retry with the same request id.
    """
    unit = _first(order.get("purchase_units"))
    payments = _dict(unit.get("payments"))
    capture = _first(payments.get("captures"))
    authorization = _first(payments.get("authorizations"))
    # An authorization's order speaks through its authorization (its captures came later,
    # from the Payments API); any other order through its capture.
    if order.get("intent") != "AUTHORIZE" and capture:
        authorization = {}
    payment = authorization or capture
    card = _dict(_dict(order.get("payment_source")).get("card"))
    amount = _dict(payment.get("amount")) or _dict(unit.get("amount"))
    processor = _dict(payment.get("processor_response"))
    base: dict[str, Any] = {
        "order_id": _text(order.get("id")),
        "capture_id": _text(capture.get("id")),
        "authorization_id": _text(authorization.get("id")),
        "brand": _text(card.get("brand")),
        "last_digits": _text(card.get("last_digits")),
        "custom_id": _text(payment.get("custom_id")) or _text(unit.get("custom_id")),
        "amount": _text(amount.get("value")),
        "currency": _text(amount.get("currency_code")),
        "avs_code": _code(processor.get("avs_code")),
        "cvv_code": _code(processor.get("cvv_code")),
        "authorization_expires_at": _text(authorization.get("expiration_time")),
    }

    if order.get("status") == "PAYER_ACTION_REQUIRED":
        return ChargeOutcome(
            status="failed",
            decline_reason="PAYER_ACTION_REQUIRED",
            message=THREE_DS_REQUIRED,
            **base,
        )

    if not payment:
        return ChargeOutcome(
            status="unknown",
            decline_reason=None,
            message="PayPal's answer holds no capture or authorization, so it does not say "
            "whether the card was charged; read the order back to confirm.",
            **base,
        )

    state = payment.get("status")
    code = _text(processor.get("response_code"))
    reason = _text(_dict(payment.get("status_details")).get("reason"))

    # An authorization captured or voided since was approved all the same: what followed
    # is the ledger's to tell (its captures and voids), as a refund is for a capture.
    approved = (
        ("CREATED", "CAPTURED", "PARTIALLY_CAPTURED", "VOIDED")
        if authorization
        else ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
    )
    if state in approved:
        return ChargeOutcome(status="approved", response_code=code, message=APPROVED, **base)
    if state == "PENDING":
        why = f" ({reason})" if reason else ""
        return ChargeOutcome(
            status="pending",
            response_code=code,
            decline_reason=reason,
            message=f"PayPal is holding the payment{why}; it is not confirmed yet.",
            **base,
        )
    if state in ("DECLINED", "FAILED", "DENIED"):
        if code is None:
            return ChargeOutcome(
                status="failed",
                decline_reason=_text(state),
                message="PayPal did not complete the payment and gave no reason.",
                **base,
            )
        known = RESPONSE_CODES.get(code)
        advice = _text(processor.get("payment_advice_code"))
        return ChargeOutcome(
            status="declined",
            response_code=code,
            decline_reason=known[0] if known else None,
            message=known[1] if known else f"The card issuer declined the payment (code {code}).",
            retryable=code in RETRYABLE_RESPONSE_CODES and advice not in NO_RETRY_ADVICE,
            **base,
        )
    return ChargeOutcome(
        status="failed",
        decline_reason=_text(state),
        message="PayPal answered with a payment state this service does not expect.",
        **base,
    )
