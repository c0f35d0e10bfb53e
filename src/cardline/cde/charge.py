"""The charging use case: validate, make one PayPal order, answer with a masked receipt.

Idempotency without a database: the client's Idempotency-Key, together with the operator,
derives the PayPal-Request-Id, so a retry makes PayPal replay its first answer instead of
charging twice. PayPal keeps order request ids for 6 hours: that is our window. A keyed
fingerprint of the request travels in the order's ``custom_id``; a replayed order whose
fingerprint differs means the key was reused for another request, which is refused.

This module is in the charge path: standard library only, plus cardline's own domain.
"""

from __future__ import annotations

import hmac
import logging

from cardline.cde import audit
from cardline.cde.billing import BillingAddress, parse_billing_address
from cardline.cde.card import Card
from cardline.cde.encoding import canonical, compact
from cardline.cde.errors import (
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    IdempotencyConflict,
    InvalidRequest,
)
from cardline.cde.metrics import UNKNOWN, Recorder
from cardline.cde.money import Money, parse_money
from cardline.cde.request_rules import (
    INTENT_RULE,
    INTENTS,
    MAX_REFERENCE,
    NOT_AN_OBJECT,
    payment_id_for,
    paypal_request_id_for,
    reject_unknown,
)
from cardline.cde.values import FrozenValue, Value

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, ClassVar

    from cardline.cde.paypal import ChargeOutcome, PayPalClient
    from cardline.cde.rules import MerchantRules

_log = logging.getLogger("cardline.cde.charge")

PAYMENT_FIELDS = frozenset({"amount", "currency", "reference", "intent", "card"})
CARD_FIELDS = frozenset({"number", "expiry", "security_code", "name", "billing_address"})
FINGERPRINT_PREFIX = "clfp1:"
# PayPal refuses a second order with one invoice id; ours is the payment id.
DUPLICATE_INVOICE = "DUPLICATE_INVOICE_ID"


class PaymentRequest(Value):
    """A validated request to charge a card. Holds the Card only for this request's life."""

    money: Money
    card: Card
    reference: str | None
    intent: str = "CAPTURE"
    billing: BillingAddress | None = None
    _hidden = frozenset({"billing"})  # the caller's address: not for a repr


class Receipt(FrozenValue):
    """What the agent sees: masked card, outcome, PayPal's ids. Never the PAN or CVV.

    Immutable; every field is a str, a bool or None."""

    id: str
    status: str
    amount: str
    currency: str
    brand: str
    last4: str
    operator: str
    created_at: str
    reference: str | None = None
    decline_code: str | None = None
    decline_reason: str | None = None
    message: str | None = None
    retryable: bool = False
    intent: str = "CAPTURE"
    paypal_order_id: str | None = None
    paypal_capture_id: str | None = None
    paypal_authorization_id: str | None = None
    authorization_expires_at: str | None = None
    avs_code: str | None = None
    avs_result: str | None = None
    cvv_code: str | None = None
    cvv_result: str | None = None
    flags: str | None = None
    # The encoded receipt, made once (the API's answer and the audit event's details are
    # the same bytes) and kept on the instance; not a field.
    _json: ClassVar[str | None] = None

    def to_dict(self) -> dict[str, Any]:
        """The receipt as a new dict, fields in order (the API's answer, the audit details)."""
        return dict(zip(self._fields, self._values(), strict=True))

    def to_json(self, as_dict: dict[str, Any] | None = None) -> str:
        """``to_dict()`` (or ``as_dict``, a ``to_dict()`` the caller already made) as
        compact JSON (ASCII), encoded on the first call and kept."""
        encoded: str | None = self._json
        if encoded is None:
            encoded = compact(self.to_dict() if as_dict is None else as_dict)
            object.__setattr__(self, "_json", encoded)
        return encoded


def _require_string(body: Mapping[str, Any], key: str, field: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} is required and must be a string", field=field)
    return value


def parse_payment_request(body: object) -> PaymentRequest:
    """Validate a decoded JSON body into a PaymentRequest; raises InvalidRequest subclasses."""
    if not isinstance(body, dict):
        raise InvalidRequest(NOT_AN_OBJECT, field="body")
    reject_unknown(body, PAYMENT_FIELDS, "body")
    if "amount" not in body:
        raise InvalidRequest("amount is required", field="amount")
    if "currency" not in body:
        raise InvalidRequest("currency is required", field="currency")
    money = parse_money(body["amount"], body["currency"])
    reference = body.get("reference")
    if reference is not None:
        if not isinstance(reference, str) or not 1 <= len(reference) <= MAX_REFERENCE:
            raise InvalidRequest(
                f"reference must be a string of 1 to {MAX_REFERENCE} characters", field="reference"
            )
        if not reference.isprintable():
            raise InvalidRequest("reference must be printable text", field="reference")
        if audit.contains_pan(reference):
            raise InvalidRequest("reference must not contain a card number", field="reference")
    intent = body.get("intent", "CAPTURE")
    if intent not in INTENTS:
        raise InvalidRequest(INTENT_RULE, field="intent")
    card_body = body.get("card")
    if not isinstance(card_body, dict):
        raise InvalidRequest("card is required and must be an object", field="card")
    reject_unknown(card_body, CARD_FIELDS, "card")
    card = Card.parse(
        number=_require_string(card_body, "number", "card.number"),
        expiry=_require_string(card_body, "expiry", "card.expiry"),
        security_code=_require_string(card_body, "security_code", "card.security_code"),
        name=_require_string(card_body, "name", "card.name"),
    )
    billing = parse_billing_address(card_body.get("billing_address"))
    return PaymentRequest(
        money=money, card=card, reference=reference, intent=intent, billing=billing
    )


def fingerprint(request: PaymentRequest, operator: str, key: bytes) -> str:
    """Keyed fingerprint of the whole request; card data enters only through an HMAC.
    Its bytes must never change: a retry after a deploy must still match its first order."""
    facts = {
        "amount": request.money.value,
        "currency": request.money.currency,
        "reference": request.reference,
        "intent": request.intent,
        "operator": operator,
        "card": request.card.keyed_digest(key),
        "expiry": request.card.expiry.paypal,
        "name": hmac.digest(key, request.card.name.encode(), "sha256").hex(),
    }
    if request.billing is not None:
        # Only when given, so that a request without one keeps the bytes it always had.
        address = canonical(request.billing.paypal()).encode()
        facts["billing"] = hmac.digest(key, address, "sha256").hex()
    text = canonical(facts)
    return FINGERPRINT_PREFIX + hmac.digest(key, text.encode(), "sha256").hex()[:40]


class Charger:
    """Takes one card payment through PayPal and records one audit event for it, and
    reports each payment's outcome (and a refusal by the merchant rules) to ``metrics``,
    by default its PayPal client's recorder; the routes report their own refusals there."""

    def __init__(
        self,
        paypal: PayPalClient,
        sink: audit.AuditSink,
        fingerprint_key: bytes,
        rules: MerchantRules | None = None,
        metrics: Recorder | None = None,
    ) -> None:
        self._paypal = paypal
        self._sink = sink
        self._key = fingerprint_key
        self._rules = rules
        found = getattr(paypal, "metrics", None)  # a test's stand-in client may have none
        self.metrics: Recorder = metrics or found or Recorder("charge")

    def charge(
        self,
        request: PaymentRequest,
        *,
        operator: str,
        idempotency_key: str,
        origin: str,
        mock_response: str | None = None,
        role: str | None = None,
    ) -> Receipt:
        """Charge (or authorize) the card of ``request`` for ``operator`` (whose ``role``
        the merchant rules' caps read; ``agent`` when None)."""
        payment_id = payment_id_for(operator, idempotency_key)
        card = request.card
        expected = fingerprint(request, operator, self._key)
        facts: dict[str, Any] = {
            "amount": request.money.value,
            "currency": request.money.currency,
            "brand": card.brand.value,
            "last4": card.last4,
            "reference": request.reference,
            "intent": request.intent,
        }
        rules = self._rules
        flags: list[str] = []
        if rules is not None:
            try:
                flags = rules.check_amount(request.money, role)
            except InvalidRequest as refused:
                card.wipe()
                self.metrics.validation_refusal(refused.field)
                details = {**facts, "status": "rejected", "error": refused.code}
                self._record(operator, "failure", origin, payment_id, details)
                raise
        # With rules on the card is authorized first: captured only once PayPal's checks pass.
        sent_intent = "AUTHORIZE" if rules is not None and rules.authorize_first else request.intent
        # Once create_order is called the order may have been sent: from here on, any
        # failure at all is an unknown outcome, never "failed" or a generic 500.
        failure: GatewayError | None = None
        try:
            try:
                outcome, order = self._paypal.create_order(
                    request_id=paypal_request_id_for(operator, idempotency_key),
                    money=request.money,
                    card=card,
                    intent=sent_intent,
                    billing_address=request.billing.paypal() if request.billing else None,
                    invoice_id=payment_id,
                    custom_id=expected,
                    description=request.reference,
                    mock_response=mock_response,
                )
            except GatewayRejected as error:
                if error.issue != DUPLICATE_INVOICE:
                    raise
                from cardline.cde.paypal import interpret_order

                order = self._existing_order(payment_id)
                outcome = interpret_order(order)
        except GatewayError as error:
            failure = error
        except Exception as error:  # noqa: BLE001 - see above
            failure = GatewayOutcomeUnknown(
                f"The call to PayPal failed after the order may have been sent "
                f"({type(error).__name__})"
            )
        finally:
            card.wipe()
        if failure is None and outcome.status == "unknown":
            failure = GatewayOutcomeUnknown(
                "PayPal's answer holds no capture or authorization", issue=outcome.decline_reason
            )
            facts["paypal_order_id"] = outcome.order_id
        if failure is not None:
            unknown = isinstance(failure, GatewayOutcomeUnknown)
            self._count(UNKNOWN if unknown else "failed", facts)
            self._record(
                operator,
                "unknown" if unknown else "failure",
                origin,
                payment_id,
                {
                    **facts,
                    "status": "unknown" if unknown else "failed",
                    "error": failure.code,
                    "paypal_debug_id": failure.debug_id,
                },
            )
            raise _for_the_agent(failure, payment_id)

        if outcome.custom_id is not None and outcome.custom_id != expected:
            self._record(
                operator,
                "failure",
                origin,
                payment_id,
                {"status": "rejected", "error": IdempotencyConflict.code},
            )
            raise IdempotencyConflict(
                "This Idempotency-Key was already used for a different payment request; "
                "use a new key for a new payment",
                field="Idempotency-Key",
            )
        # A replay finds the authorization the rules voided on the first attempt VOIDED.
        voided = outcome.decline_reason == "VOIDED" and outcome.authorization_id is not None
        if sent_intent != request.intent and (outcome.status == "approved" or voided):
            assert rules is not None
            outcome = self._by_the_rules(
                rules, outcome, request, operator, idempotency_key, origin, payment_id, facts, flags
            )
        receipt = _receipt(payment_id, operator, facts, outcome, order, flags)
        details = receipt.to_dict()
        recorded = self._record(
            operator,
            "success" if receipt.status == "approved" else "failure",
            origin,
            payment_id,
            details,
            # The receipt is encoded once, for this event and for the API's answer.
            receipt.to_json(details),
        )
        # What the agent is told: unknown when the books do not say what PayPal answered.
        self._count(receipt.status if recorded else UNKNOWN, facts)
        if not recorded:
            # PayPal answered, but the books do not say so: the agent must not take the card
            # again, and a retry with the same key replays PayPal's answer and records it.
            raise GatewayOutcomeUnknown(
                f"PayPal answered for payment {payment_id}, but its record could not be "
                f"written: {_MAY_HAVE_BEEN_CHARGED}"
            )
        return receipt

    def _by_the_rules(
        self,
        rules: MerchantRules,
        outcome: ChargeOutcome,
        request: PaymentRequest,
        operator: str,
        key: str,
        origin: str,
        payment_id: str,
        facts: Mapping[str, Any],
        flags: list[str],
    ) -> ChargeOutcome:
        """The outcome of an authorization the rules settle: voided when they refuse the
        card, captured when the payment asked for a capture, kept as it is otherwise.
        ``flags`` gains the rules' flags. The void and the capture carry request ids of
        their own, so a retry with the same Idempotency-Key replays them."""
        authorization_id = outcome.authorization_id
        if authorization_id is None:
            return outcome  # captured at once by an attempt made before the rules were on
        checked = rules.check_answer(outcome.avs_code, outcome.cvv_code)
        flags.extend(checked.flags)
        if checked.refusals:
            return _with(
                outcome,
                status="declined",
                response_code=None,
                decline_reason="MERCHANT_RULES",
                message=". ".join(checked.refusals)
                + ". "
                + self._void(authorization_id, operator, key),
                retryable=False,
            )
        if request.intent != "CAPTURE":
            return outcome
        try:
            capture = self._paypal.capture_authorization(
                authorization_id,
                request_id=paypal_request_id_for(operator, key, "rules-capture"),
                final_capture=True,
            )
        except Exception as error:  # noqa: BLE001 - a retry captures with the same request id
            failure = GatewayOutcomeUnknown(
                "PayPal authorized the card but did not confirm its capture "
                f"({type(error).__name__})",
                issue=error.issue if isinstance(error, GatewayError) else None,
            )
            self._record(
                operator,
                "unknown",
                origin,
                payment_id,
                {
                    **facts,
                    "status": "unknown",
                    "error": failure.code,
                    "paypal_authorization_id": authorization_id,
                },
            )
            self._count(UNKNOWN, facts)
            raise _for_the_agent(failure, payment_id) from None
        state = capture.get("status")
        captured_id = capture.get("id") if isinstance(capture.get("id"), str) else None
        if state == "COMPLETED":
            return _with(outcome, capture_id=captured_id)
        if state == "PENDING":
            return _with(
                outcome,
                status="pending",
                capture_id=captured_id,
                message="PayPal is holding the payment; it is not confirmed yet.",
            )
        return _with(
            outcome,
            status="declined",
            capture_id=captured_id,
            decline_reason=str(state) if isinstance(state, str) else None,
            message="PayPal authorized the card but declined its capture. Ask for another card.",
        )

    def _void(self, authorization_id: str, operator: str, key: str) -> str:
        """Void the authorization the rules refused; what the agent is told of it."""
        from cardline.cde.rules import VOIDED

        try:
            self._paypal.void_authorization(
                authorization_id, request_id=paypal_request_id_for(operator, key, "rules-void")
            )
        except GatewayError as error:
            if error.issue != "PREVIOUSLY_VOIDED":
                _log.warning(
                    "the rules could not void authorization %s: %s", authorization_id, error.code
                )
                return (
                    "cardline's rules refuse such a card: it was not charged, but PayPal did not "
                    "confirm the void, so the hold stays on the card until it lapses. Retry "
                    "with the same Idempotency-Key to void it."
                )
        return VOIDED

    def _count(self, outcome: str, facts: Mapping[str, Any]) -> None:
        """The payment's outcome for the metrics: with the card's brand (ours, not PayPal's
        spelling of it) and the currency."""
        self.metrics.payment(outcome, facts["brand"], facts["currency"])

    def _record(
        self,
        operator: str,
        outcome: str,
        origin: str,
        payment_id: str,
        details: Mapping[str, Any],
        details_json: str | None = None,
    ) -> bool:
        """Write the payment's audit event; False (logged at error level, naming the
        payment) when the sink fails, so that the caller answers truthfully instead of
        with a generic error."""
        try:
            audit.record(
                self._sink,
                audit.PAYMENT,
                operator=operator,
                outcome=outcome,
                origin=origin,
                resource=payment_id,
                details=details,
                details_json=details_json,
            )
        except Exception as error:  # noqa: BLE001 - the answer must still be true
            # The type only: a sink's message could quote what it was handed.
            _log.error(
                "the audit event for payment %s (status %s) could not be written: %s; "
                "the payment's outcome is not in the audit log",
                payment_id,
                details.get("status"),
                type(error).__name__,
            )
            return False
        return True

    def _existing_order(self, payment_id: str) -> dict[str, Any]:
        """The order PayPal already holds for this payment: its invoice id is the payment id,
        and PayPal refused a second one. Reached when a retry comes after PayPal forgot the
        request id (6 hours), so the search below lists it (its lag is at most 3 hours)."""
        order = self._paypal.find_order_by_invoice(payment_id)
        if order is None:
            raise GatewayOutcomeUnknown(
                "PayPal already holds a payment for this Idempotency-Key but does not list it yet",
                issue=DUPLICATE_INVOICE,
            )
        return order


def charger_from_environment(
    environ: Mapping[str, str], sink: audit.AuditSink, metrics: Recorder | None = None
) -> Charger:
    """The Charger a Lambda function builds once per instance, reporting to ``metrics``
    (its PayPal client too). On AWS the PayPal credentials and the fingerprint key come
    from Secrets Manager through the extension (``CARDLINE_PAYPAL_SECRET_ID``); elsewhere
    from the environment. The merchant rules come from ``CARDLINE_RULES`` or
    ``CARDLINE_RULES_FILE`` (cardline.cde.rules)."""
    from cardline.cde.paypal import PayPalClient, PayPalConfig
    from cardline.cde.paypal.config import NOT_CONFIGURED
    from cardline.cde.secrets import settings

    values = settings(environ)
    config = PayPalConfig.from_env(values)
    if config is None:
        raise RuntimeError(NOT_CONFIGURED)
    key = values.get("CARDLINE_FINGERPRINT_KEY", "")
    if len(key) < 32:
        raise RuntimeError("CARDLINE_FINGERPRINT_KEY must hold at least 32 characters")
    from cardline.cde.rules import rules_from_environment

    return Charger(
        PayPalClient(config, metrics=metrics),
        sink,
        key.encode(),
        rules_from_environment(values),
        metrics,
    )


# What the agent is told whenever the card may have been charged: the same words for a
# lost answer and for an answer whose record was lost (the retry records it too).
_RETRY_IS_SAFE = "Retry with the same Idempotency-Key: a retry never charges twice."
_MAY_HAVE_BEEN_CHARGED = (
    "the card may have been charged. Retry with the same Idempotency-Key to learn the "
    "outcome; a retry never charges twice. Do not take the payment again with a new key."
)
# PayPal can only speak for the attempt it refused: an earlier one with the same key (a
# lost answer, a "Confirm again") may have been approved, and that payment stands.
_EARLIER_ATTEMPTS = (
    "This attempt charged nothing; if an earlier attempt with this Idempotency-Key was "
    "approved, that payment stands: look up payment {payment_id} before taking the card again."
)


def _for_the_agent(error: GatewayError, payment_id: str) -> GatewayError:
    """The gateway error in words for the agent: what happened to the card, what to do."""
    if isinstance(error, GatewayOutcomeUnknown):
        detail = f"PayPal did not confirm payment {payment_id} in time: {_MAY_HAVE_BEEN_CHARGED}"
    elif isinstance(error, GatewayUnavailable):
        detail = (
            "PayPal could not be reached. "
            + _EARLIER_ATTEMPTS.format(payment_id=payment_id)
            + " Trying again in a moment with the same Idempotency-Key is safe."
        )
    else:
        from cardline.cde.paypal.codes import refusal_words

        words = refusal_words(error.issue, error.http_status)
        if isinstance(error, GatewayRejected):
            detail = "PayPal refused the payment. " + words + " "
            detail += _EARLIER_ATTEMPTS.format(payment_id=payment_id)
        else:
            detail = (
                f"PayPal gave no usable answer about payment {payment_id}. {words} {_RETRY_IS_SAFE}"
            )
    return error.in_words(detail)


def _with(outcome: ChargeOutcome, **changes: Any) -> ChargeOutcome:
    """``outcome`` with ``changes``."""
    from cardline.cde.paypal import ChargeOutcome

    fields = {name: getattr(outcome, name) for name in outcome._fields}
    fields.update(changes)
    return ChargeOutcome(**fields)


def _receipt(
    payment_id: str,
    operator: str,
    facts: Mapping[str, Any],
    outcome: ChargeOutcome,
    order: Mapping[str, Any],
    flags: list[str] | None = None,
) -> Receipt:
    from cardline.cde.paypal.codes import avs_words, cvv_words

    return Receipt(
        id=payment_id,
        status=outcome.status,
        amount=outcome.amount or facts["amount"],
        currency=outcome.currency or facts["currency"],
        brand=outcome.brand or facts["brand"],
        last4=outcome.last_digits or facts["last4"],
        operator=operator,
        created_at=_created_at(order),
        reference=facts["reference"],
        decline_code=outcome.response_code if outcome.status != "approved" else None,
        decline_reason=outcome.decline_reason if outcome.status != "approved" else None,
        message=outcome.message,
        retryable=outcome.retryable,
        intent=facts["intent"],
        paypal_order_id=outcome.order_id,
        paypal_capture_id=outcome.capture_id,
        paypal_authorization_id=outcome.authorization_id,
        authorization_expires_at=outcome.authorization_expires_at,
        avs_code=outcome.avs_code,
        avs_result=avs_words(outcome.avs_code),
        cvv_code=outcome.cvv_code,
        cvv_result=cvv_words(outcome.cvv_code),
        flags="; ".join(flags) if flags else None,
    )


def _created_at(order: Mapping[str, Any]) -> str:
    """PayPal's creation time, so that a replayed order yields the identical receipt."""
    created = order.get("create_time")
    return created if isinstance(created, str) and created else audit.utc_now()
