"""``POST /v1/webhooks/paypal``: PayPal's webhook deliveries, verified before they are believed.

No operator key: PayPal is the caller, and what vouches for a delivery is PayPal's own
answer to ``POST /v1/notifications/verify-webhook-signature`` about its exact bytes and the
configured webhook id (``PAYPAL_WEBHOOK_ID``). So:

- a delivery whose headers or body are not PayPal's shape, or that PayPal does not verify,
  is refused with 400 ``webhook_not_verified`` and reported like a failed authentication
  (aggregated per source on a long-running host: a flood costs no I/O per request);
- when PayPal cannot say (unreachable, 5xx, timeout), the answer is 503: PayPal delivers
  the event again later, and nothing is recorded as verified;
- a verified event is recorded as one ``webhook`` audit event naming the payment it
  belongs to (found by its PayPal capture, order or authorization id), which the ledger
  folds by its state machine (:func:`cardline.ledger.states.ledger_event`): a delivery
  replayed or delivered out of order changes nothing twice;
- a verified event cardline cannot read (a shape PayPal's documents do not give) is
  recorded as a failed ``webhook`` audit event and refused with 400.

Webhook events carry PayPal ids and amounts, never card data; the reader refuses a card
number where an id should be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cardline.cde import audit, ids, roles
from cardline.cde.errors import CardlineError, GatewayError, GatewayUnavailable, InvalidRequest
from cardline.cde.http.app import Call, Route
from cardline.cde.http.failure_audit import FailureAudit
from cardline.cde.http.messages import Response, json_response
from cardline.cde.paypal import PayPalClient
from cardline.ledger import Ledger
from cardline.reconcile import outside_refund_id
from cardline.webhooks.events import (
    AuthorizationChanged,
    CaptureChanged,
    CaptureRefunded,
    DisputeChanged,
    Fact,
    read_event,
)
from cardline.webhooks.notification import PAYPAL_CERT_HOSTS, read_delivery

__all__ = ["PATH", "WEBHOOK_OPERATOR", "WebhookNotVerified", "webhook_route"]

PATH = "/v1/webhooks/paypal"
WEBHOOK_OPERATOR = "paypal"  # the audit events' operator: PayPal said it
_ATTEMPT = f"POST {PATH}"
_NOT_VERIFIED = "PayPal did not verify this webhook delivery"

log = logging.getLogger("cardline.webhooks")


class WebhookNotVerified(CardlineError):
    status = 400
    code = "webhook_not_verified"
    title = "The webhook delivery is not verified"


def _money(details: dict[str, Any], amount: Any, prefix: str = "") -> None:
    details[f"{prefix}amount"] = amount.value
    details[f"{prefix}currency"] = amount.currency


def fact_details(fact: Fact) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What the audit event records of ``fact`` (for :func:`ledger_event`), and the PayPal
    ids that may find its payment, best first."""
    details: dict[str, Any] = {"paypal_event_id": fact.event_id, "event_type": fact.event_type}
    ids: tuple[str | None, ...]
    if isinstance(fact, CaptureChanged):
        details.update(
            kind="capture",
            status=fact.status,
            paypal_capture_id=fact.capture_id,
            paypal_order_id=fact.order_id,
            paypal_authorization_id=fact.authorization_id,
            reason=fact.reason,
            update_time=fact.update_time,
        )
        _money(details, fact.amount)
        ids = (fact.capture_id, fact.order_id, fact.authorization_id)
    elif isinstance(fact, CaptureRefunded):
        details.update(
            kind="reversal" if fact.reversed else "refund",
            status=fact.status,
            paypal_refund_id=fact.refund_id,
            paypal_capture_id=fact.capture_id,
            update_time=fact.update_time,
        )
        _money(details, fact.amount)
        ids = (fact.capture_id,)
    elif isinstance(fact, AuthorizationChanged):
        details.update(
            kind="authorization",
            status=fact.status,
            paypal_authorization_id=fact.authorization_id,
            paypal_order_id=fact.order_id,
            expiration_time=fact.expiration_time,
        )
        _money(details, fact.amount)
        ids = (fact.authorization_id, fact.order_id)
    elif isinstance(fact, DisputeChanged):
        details.update(
            kind="dispute",
            dispute_stage=fact.event_type.rsplit(".", 1)[1].lower(),
            dispute_id=fact.dispute_id,
            dispute_status=fact.status,
            dispute_reason=fact.reason,
            dispute_due_date=fact.seller_response_due_date,
            dispute_outcome=fact.outcome,
            paypal_capture_ids=list(fact.capture_ids),
        )
        if fact.amount is not None:
            _money(details, fact.amount, "dispute_")
        ids = fact.capture_ids
    else:
        details["kind"] = "ignored"
        ids = ()
    return {k: v for k, v in details.items() if v is not None}, tuple(i for i in ids if i)


def webhook_route(
    paypal: Callable[[], PayPalClient],
    ledger: Callable[[], Ledger],
    sink: audit.AuditSink,
    webhook_id: Callable[[], str | None],
    failures: Callable[[], FailureAudit],
    *,
    cert_hosts: frozenset[str] = PAYPAL_CERT_HOSTS,
    not_verified: Callable[[], None] = lambda: None,
) -> Route:
    """The webhook route. ``webhook_id`` is the id PayPal gave the subscription (None:
    not configured, and every delivery is refused); ``failures`` is where refusals are
    reported (the App's own, aggregated like failed authentication); ``cert_hosts`` the
    hosts a delivery's certificate may come from (PayPal's; the local emulator's too);
    ``not_verified`` is called once per delivery refused as not verified (a host's
    ``WebhookVerificationFailures`` count), never for one PayPal could not judge (503)."""

    def refuse(call: Call, reason: str) -> WebhookNotVerified:
        failures().record(call.request.source_ip, _ATTEMPT, reason)
        not_verified()
        return WebhookNotVerified(_NOT_VERIFIED)

    def receive(call: Call) -> Response:
        request = call.request
        configured = webhook_id()
        if not configured:
            raise refuse(call, "no PAYPAL_WEBHOOK_ID is configured")
        try:
            delivery = read_delivery(request.headers, request.body, cert_hosts)
        except InvalidRequest as error:
            raise refuse(call, error.detail) from None
        try:
            genuine = paypal().verify_webhook_signature(delivery.verification_request(configured))
        except GatewayError as error:
            log.warning(
                "PayPal could not verify webhook delivery %s (%s); PayPal delivers it again",
                delivery.transmission.transmission_id,
                error.code,
            )
            raise GatewayUnavailable(
                "PayPal could not verify this webhook delivery now; nothing was recorded"
            ) from None
        if not genuine:
            raise refuse(call, "PayPal answered FAILURE")
        try:
            fact = read_event(delivery.event)
        except InvalidRequest as error:
            audit.record(
                sink,
                audit.WEBHOOK,
                operator=WEBHOOK_OPERATOR,
                outcome="failure",
                origin=request.source_ip,
                resource="",
                details={
                    "paypal_event_id": delivery.event_id,
                    "event_type": delivery.event_type,
                    "kind": "unreadable",
                    "error": error.detail,
                },
            )
            raise WebhookNotVerified(
                "The verified webhook event is not what PayPal's documents give it",
                field=error.field,
            ) from None
        details, paypal_ids = fact_details(fact)
        payment = next(
            (found for i in paypal_ids if (found := ledger().find_by_paypal_id(i)) is not None),
            None,
        )
        details["matched"] = payment is not None
        if payment is not None and isinstance(fact, CaptureRefunded):
            # cardline's own refund row when it made this refund; else one of its own.
            known = next(
                (
                    row["id"]
                    for row in ledger().refunds_for(payment["id"])
                    if row.get("paypal_refund_id") == fact.refund_id
                ),
                None,
            )
            details["id"] = known or outside_refund_id(fact.refund_id)
        details["transmission_id"] = delivery.transmission.transmission_id
        payment_id = payment["id"] if payment is not None else ""
        audit.record(
            sink,
            audit.WEBHOOK,
            operator=WEBHOOK_OPERATOR,
            outcome="success",
            origin=request.source_ip,
            resource=payment_id,
            details=details,
            # One PayPal event, one id, however often PayPal delivers it: the ledger
            # applies it once (once more if it later finds its payment).
            event_id=ids.digest("paypal-webhook", delivery.event_id, payment_id)[:32],
        )
        return json_response(200, {"event_id": delivery.event_id, "matched": payment is not None})

    return Route("POST", PATH, receive, role=roles.PUBLIC)
