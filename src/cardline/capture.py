"""Capturing and voiding authorizations: need only the PayPal authorization id from the
ledger, never card data.

Keyed like refunds (:mod:`cardline.refund`). The operator's Idempotency-Key names one
capture or one void: its id is derived from the operator and the key, and so is its
PayPal-Request-Id (PayPal's Payments API keeps request ids 45 days, so a retry is answered
with the first capture instead of capturing twice). A fingerprint of the request
(operator, payment, amount, final-capture flag) is kept in the audit event; a key reused
for another request is refused with ``409 idempotency_conflict``.

An authorization may be captured in several parts until a capture says it is the final
one (or the whole amount is taken); a void releases what is left. PayPal honours an
authorization's amount for 3 days and lets it be captured for 29: between the two, before
anything is captured, it may be reauthorized once for its amount, which honours it 3 days
more (PayPal's new authorization then takes the captures; a void still goes to the
original, and releases both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from cardline.ledger.states import CAPTURED, public_capture
from cardline.paypal_actions import decimal_or_none, paypal_words

if TYPE_CHECKING:
    from cardline.cde.paypal import PayPalClient
    from cardline.ledger import Ledger

CAPTURE_FIELDS = frozenset({"amount", "final_capture"})
CAPTURE_FINGERPRINT_PREFIX = "clcp1:"
VOID_FINGERPRINT_PREFIX = "clvd1:"
REAUTHORIZE_FINGERPRINT_PREFIX = "clra1:"
# The payment states an authorization can still be captured or voided in.
OPEN = frozenset({"authorized", "partially_captured"})

# The statuses of a capture or void that did what it was asked.
_SUCCEEDED = frozenset({"COMPLETED", "PENDING", "VOIDED", "CREATED"})


def capture_id_for(operator: str, idempotency_key: str) -> str:
    """The capture id: ``cap_`` + 24 letters of ``ids.digest("capture", operator, key)``."""
    return "cap_" + ids.digest("capture", operator, idempotency_key)[:24]


def void_id_for(operator: str, idempotency_key: str) -> str:
    """The void id: ``void_`` + 24 letters of ``ids.digest("void", operator, key)``."""
    return "void_" + ids.digest("void", operator, idempotency_key)[:24]


def reauthorization_id_for(operator: str, idempotency_key: str) -> str:
    """The reauthorization id: ``reauth_`` + 24 letters of
    ``ids.digest("reauthorize", operator, key)``."""
    return "reauth_" + ids.digest("reauthorize", operator, idempotency_key)[:24]


def capture_fingerprint(
    operator: str, payment_id: str, money: Money | None, final_capture: bool
) -> str:
    """A digest of everything the capture request says (no amount: the rest). Its bytes
    must never change: a retry after a deploy must still match its first request."""
    text = canonical(
        {
            "amount": money.value if money is not None else None,
            "currency": money.currency if money is not None else None,
            "final_capture": final_capture,
            "operator": operator,
            "payment": payment_id,
        }
    )
    return CAPTURE_FINGERPRINT_PREFIX + ids.digest("capture-fingerprint", text)[:40]


def void_fingerprint(operator: str, payment_id: str) -> str:
    """A digest of the void request (operator and payment)."""
    text = canonical({"operator": operator, "payment": payment_id})
    return VOID_FINGERPRINT_PREFIX + ids.digest("void-fingerprint", text)[:40]


def reauthorize_fingerprint(operator: str, payment_id: str) -> str:
    """A digest of the reauthorization request (operator and payment)."""
    text = canonical({"operator": operator, "payment": payment_id})
    return REAUTHORIZE_FINGERPRINT_PREFIX + ids.digest("reauthorize-fingerprint", text)[:40]


def _no_body(body: object) -> None:
    """A void or reauthorization takes no fields: an empty object or no body."""
    if body is not None:
        if not isinstance(body, dict):
            raise InvalidRequest(NOT_AN_OBJECT, field="body")
        reject_unknown(body, frozenset(), "body")


def parse_capture_request(body: object, currency: str) -> tuple[Money | None, bool]:
    """(amount or None for the rest, final capture) from a decoded JSON body. Capturing
    the rest is final; a part is not, unless ``final_capture`` says so."""
    if body is None:
        return None, True
    if not isinstance(body, dict):
        raise InvalidRequest(NOT_AN_OBJECT, field="body")
    reject_unknown(body, CAPTURE_FIELDS, "body")
    money = parse_money(body["amount"], currency) if "amount" in body else None
    final = body.get("final_capture", money is None)
    if not isinstance(final, bool):
        raise InvalidRequest("final_capture must be true or false", field="final_capture")
    return money, final


class Authorizations:
    """Captures (in full or in part) and voids a payment's authorization through PayPal."""

    def __init__(self, paypal: PayPalClient, ledger: Ledger, sink: audit.AuditSink) -> None:
        self._paypal = paypal
        self._ledger = ledger
        self._sink = sink

    def capture(
        self,
        payment_id: str,
        body: object,
        *,
        operator: str,
        idempotency_key: str | None,
        origin: str,
    ) -> dict[str, Any]:
        """Capture ``body``'s amount (the rest when none) of the payment's authorization."""
        key = validate_idempotency_key(idempotency_key)
        payment = self._payment(payment_id)
        payment_id = str(payment["id"])
        money, final = parse_capture_request(body, str(payment["currency"]))
        capture_id = capture_id_for(operator, key)
        fingerprint = capture_fingerprint(operator, payment_id, money, final)
        earlier = self._ledger.get_capture(capture_id)
        if earlier is not None:
            if earlier.get("payment_id") != payment_id or earlier.get("fingerprint") != fingerprint:
                self._refuse_reuse(audit.CAPTURE, operator, origin, payment_id, capture_id)
            if earlier.get("status") in CAPTURED:
                return _view(earlier, operator)  # a replay
        # After a reauthorization its new authorization holds the amount: capture that.
        authorization_id = payment.get("reauthorization_id") or _open_authorization(
            payment, "captured"
        )
        remaining = Decimal(str(payment["amount"])) - Decimal(
            str(payment.get("captured_amount") or 0)
        )
        if money is not None and money.amount > remaining:
            raise InvalidRequest(
                f"The capture exceeds what is left to capture ({remaining} {payment['currency']})",
                field="amount",
            )
        asked = money if money is not None else Money(remaining, str(payment["currency"]))
        facts = {
            "id": capture_id,
            "kind": "capture",
            "payment_id": payment_id,
            "amount": asked.value,
            "currency": asked.currency,
            "final_capture": final,
            "fingerprint": fingerprint,
        }
        try:
            # The amount always goes with the call: after a part, PayPal's "all of it"
            # would mean the authorized amount, not what is left.
            answer = self._paypal.capture_authorization(
                authorization_id,
                request_id=paypal_request_id_for(operator, key, "capture"),
                money=asked,
                final_capture=final,
            )
        except GatewayError as error:
            failed = {**facts, "status": "FAILED", "error": error.code, **paypal_words(error)}
            self._emit(audit.CAPTURE, operator, origin, payment_id, failed)
            raise _in_words(error, "capture", "captured") from None
        amount = answer.get("amount")
        if isinstance(amount, dict) and decimal_or_none(amount.get("value")) not in (
            None,
            asked.amount,
        ):
            # PayPal replayed a capture this key made of another amount.
            self._refuse_reuse(audit.CAPTURE, operator, origin, payment_id, capture_id)
        status = answer.get("status")
        capture = {
            **facts,
            "status": status if isinstance(status, str) else "PENDING",
            "paypal_capture_id": answer.get("id") if isinstance(answer.get("id"), str) else None,
            "created_at": answer.get("create_time") or audit.utc_now(),
        }
        self._emit(audit.CAPTURE, operator, origin, payment_id, capture)
        return _view(capture, operator)

    def void(
        self,
        payment_id: str,
        body: object,
        *,
        operator: str,
        idempotency_key: str | None,
        origin: str,
    ) -> dict[str, Any]:
        """Void what is left of the payment's authorization (and its reauthorization)."""

        def void(authorization_id: str, request_id: str) -> dict[str, Any]:
            self._paypal.void_authorization(authorization_id, request_id=request_id)
            return {"status": "VOIDED", "created_at": audit.utc_now()}

        key = validate_idempotency_key(idempotency_key)
        _no_body(body)
        payment = self._payment(payment_id)
        return self._once(
            audit.VOID,
            payment,
            action_id=void_id_for(operator, key),
            fingerprint=void_fingerprint(operator, str(payment["id"])),
            operator=operator,
            key=key,
            origin=origin,
            opened=lambda: _open_authorization(payment, "voided"),
            act=void,
            words=("void", "voided"),
        )

    def reauthorize(
        self,
        payment_id: str,
        body: object,
        *,
        operator: str,
        idempotency_key: str | None,
        origin: str,
    ) -> dict[str, Any]:
        """Reauthorize the payment's authorization for its amount: PayPal allows it once,
        from day 4 to day 29, before anything is captured."""

        def reauthorize(authorization_id: str, request_id: str) -> dict[str, Any]:
            answer = self._paypal.reauthorize_authorization(authorization_id, request_id=request_id)
            status, made = answer.get("status"), answer.get("id")
            return {
                "status": status if isinstance(status, str) else "CREATED",
                "paypal_capture_id": made if isinstance(made, str) else None,
                "amount": str(payment["amount"]),
                "created_at": answer.get("create_time") or audit.utc_now(),
            }

        key = validate_idempotency_key(idempotency_key)
        _no_body(body)
        payment = self._payment(payment_id)
        return self._once(
            audit.REAUTHORIZATION,
            payment,
            action_id=reauthorization_id_for(operator, key),
            fingerprint=reauthorize_fingerprint(operator, str(payment["id"])),
            operator=operator,
            key=key,
            origin=origin,
            opened=lambda: _reauthorizable(payment),
            act=reauthorize,
            words=("reauthorization", "reauthorized"),
        )

    def _once(
        self,
        kind: str,
        payment: Mapping[str, Any],
        *,
        action_id: str,
        fingerprint: str,
        operator: str,
        key: str,
        origin: str,
        opened: Callable[[], str],
        act: Callable[[str, str], dict[str, Any]],
        words: tuple[str, str],
    ) -> dict[str, Any]:
        """A void or reauthorization made once per key: a replay answers the first, a key
        reused for another request is refused, and every attempt is audited."""
        payment_id = str(payment["id"])
        earlier = self._ledger.get_capture(action_id)
        if earlier is not None:
            if earlier.get("payment_id") != payment_id or earlier.get("fingerprint") != fingerprint:
                self._refuse_reuse(kind, operator, origin, payment_id, action_id)
            if earlier.get("status") in _SUCCEEDED:
                return _view(earlier, operator)  # a replay
        authorization_id = opened()
        facts = {
            "id": action_id,
            "kind": kind,
            "payment_id": payment_id,
            "currency": str(payment["currency"]),
            "fingerprint": fingerprint,
        }
        try:
            made = act(authorization_id, paypal_request_id_for(operator, key, kind))
        except GatewayError as error:
            failed = {**facts, "status": "FAILED", "error": error.code, **paypal_words(error)}
            self._emit(kind, operator, origin, payment_id, failed)
            raise _in_words(error, *words) from None
        row = {**facts, **made}
        self._emit(kind, operator, origin, payment_id, row)
        return _view(row, operator)

    def _payment(self, payment_id: str) -> dict[str, Any]:
        payment = self._ledger.get_payment(payment_id)
        if payment is None:
            raise NotFound("No payment with this id")
        return payment

    def _refuse_reuse(
        self, kind: str, operator: str, origin: str, payment_id: str, action_id: str
    ) -> None:
        paypal_actions.refuse_reuse(
            self._sink,
            kind,
            operator=operator,
            origin=origin,
            payment_id=payment_id,
            action_id=action_id,
        )

    def _emit(
        self, kind: str, operator: str, origin: str, payment_id: str, details: Mapping[str, Any]
    ) -> None:
        paypal_actions.record(
            self._sink,
            kind,
            _SUCCEEDED,
            operator=operator,
            origin=origin,
            payment_id=payment_id,
            details=details,
        )


def _open_authorization(payment: Mapping[str, Any], verb: str) -> str:
    """The PayPal id of the payment's authorization, if it can still be ``verb``."""
    authorization_id = payment.get("paypal_authorization_id")
    if payment.get("intent") != "AUTHORIZE" or not authorization_id:
        raise InvalidRequest(
            f"Only an authorization can be {verb}; this payment was taken at once",
            field="payment",
        )
    if payment.get("status") not in OPEN:
        raise InvalidRequest(
            f"This authorization can no longer be {verb}: it is {payment.get('status')}",
            field="payment",
        )
    return str(authorization_id)


def _reauthorizable(payment: Mapping[str, Any]) -> str:
    """The PayPal id of the payment's authorization, if it may be reauthorized."""
    authorization_id = _open_authorization(payment, "reauthorized")
    if payment.get("reauthorization_id"):
        raise InvalidRequest(
            "This authorization was reauthorized already, and PayPal allows it once",
            field="payment",
        )
    if payment.get("status") != "authorized":
        raise InvalidRequest(
            "Only an authorization nothing was captured from can be reauthorized",
            field="payment",
        )
    return authorization_id


def _view(row: Mapping[str, Any], operator: str) -> dict[str, Any]:
    """The capture or void as answered: as the ledger serves it (public_capture)."""
    return public_capture({**row, "operator": row.get("operator") or operator})


def _in_words(error: GatewayError, noun: str, done: str) -> GatewayError:
    """The gateway error as the agent reads it: what happened to the capture or void and
    what to do."""
    return paypal_actions.in_words(
        error,
        noun=noun,
        done=done,
        maybe=f"the authorization may have been {done}",
        never="a retry never does it twice",
    )
