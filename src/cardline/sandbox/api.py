"""PayPal's Orders v2 and Payments v2 operations, as the sandbox performs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cardline.sandbox import lifecycle, views
from cardline.sandbox.amounts import requested_amount, within
from cardline.sandbox.errors import ApiError, Issue
from cardline.sandbox.lifecycles import record_refund
from cardline.sandbox.records import (
    APPROVED,
    Authorization,
    Capture,
    CardSummary,
    Order,
    Processor,
    declined,
)
from cardline.sandbox.store import Store
from cardline.sandbox.triggers import first_capture_status
from cardline.sandbox.validation import (
    CardInput,
    card_in,
    check_payment_instruction,
    optional_string,
    parse_order_request,
    parse_payment_source,
    require_object,
)


@dataclass(frozen=True)
class Call:
    """What an operation needs from the HTTP request."""

    body: object = None  # parsed JSON, None when the body was empty
    request_id: str | None = None
    representation: bool = False  # Prefer: return=representation


@dataclass
class Reply:
    """An operation's answer."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Api:
    """The emulated operations over one :class:`Store`; ``base`` prefixes HATEOAS links."""

    def __init__(self, store: Store, base: str) -> None:
        self.store = store
        self.base = base

    # -- orders --------------------------------------------------------------------

    def create_order(self, call: Call) -> Reply:
        """POST /v2/checkout/orders (single-step when it carries a card)."""
        body = require_object(call.body, required=True)
        if card_in(body) is not None and call.request_id is None:
            raise ApiError(400, Issue("PAYPAL_REQUEST_ID_REQUIRED", "PayPal-Request-Id", None))
        with self.store.request_key("orders.create", call.request_id):
            earlier = self.store.replayed("orders.create", call.request_id)
            if earlier is not None:
                return self._order_reply(200, earlier, call)
            request = parse_order_request(body)
            if request.invoice_id is not None and self._invoice_paid(request.invoice_id):
                raise ApiError(422, Issue("DUPLICATE_INVOICE_ID"))
            assessed = request.card.assess(self.store.clock.today()) if request.card else None
            stamp = self.store.clock.iso()
            with self.store.lock:
                order = Order(
                    id=self.store.new_id(),
                    intent=request.intent,
                    status="CREATED",
                    amount=request.amount,
                    request_id=call.request_id,
                    create_time=stamp,
                    update_time=stamp,
                    reference_id=request.reference_id,
                    invoice_id=request.invoice_id,
                    custom_id=request.custom_id,
                    description=request.description,
                    soft_descriptor=request.soft_descriptor,
                )
                self.store.orders[order.id] = order
                if assessed is not None and request.card is not None:
                    self._settle(
                        order, *assessed, request.card.approval(), request_id=call.request_id
                    )
                self.store.remember("orders.create", call.request_id, order.id)
            return self._order_reply(201, order.id, call)

    def _invoice_paid(self, invoice_id: str) -> bool:
        """True when an earlier payment with this invoice id moved (or holds) money."""
        with self.store.lock:
            return invoice_id in self.store.paid_invoices

    def get_order(self, order_id: str) -> Reply:
        """GET /v2/checkout/orders/{id}."""
        with self.store.lock:
            return Reply(200, views.order(self.store, self._order(order_id), self.base))

    def capture_order(self, order_id: str, call: Call) -> Reply:
        """POST /v2/checkout/orders/{id}/capture: pay a CREATED order with a card."""
        return self._complete_order(order_id, call, "CAPTURE")

    def authorize_order(self, order_id: str, call: Call) -> Reply:
        """POST /v2/checkout/orders/{id}/authorize: authorize a CREATED order with a card."""
        return self._complete_order(order_id, call, "AUTHORIZE")

    def _complete_order(self, order_id: str, call: Call, action: str) -> Reply:
        operation = "orders.capture" if action == "CAPTURE" else "orders.authorize"
        body = require_object(call.body, required=False)
        with self.store.request_key(operation, call.request_id):
            earlier = self.store.replayed(operation, call.request_id)
            if earlier is not None:
                return self._order_reply(200, earlier, call)
            with self.store.lock:
                order = self._order(order_id)
            done = "ORDER_ALREADY_CAPTURED" if action == "CAPTURE" else "ORDER_ALREADY_AUTHORIZED"
            if order.intent != action:
                raise ApiError(422, Issue("ACTION_DOES_NOT_MATCH_INTENT"))
            if order.status == "COMPLETED":
                raise ApiError(422, Issue(done))
            card: CardInput | None = parse_payment_source(body)
            if card is None:
                raise ApiError(422, Issue("ORDER_NOT_APPROVED"))
            summary, trigger = card.assess(self.store.clock.today())
            with self.store.lock:
                if order.status == "COMPLETED":  # completed meanwhile under another id
                    raise ApiError(422, Issue(done))
                self._settle(order, summary, trigger, card.approval(), request_id=call.request_id)
                self.store.remember(operation, call.request_id, order.id)
            return self._order_reply(201, order.id, call)

    def _settle(
        self,
        order: Order,
        card: CardSummary,
        trigger: str | None,
        approval: Processor = APPROVED,
        *,
        request_id: str | None,
    ) -> None:
        """Charge or authorize ``card`` for ``order``, answering ``approval`` unless a
        decline ``trigger`` fires; the caller holds the store lock."""
        stamp = self.store.clock.iso()
        processor = declined(trigger) if trigger else approval
        order.card = card
        order.status = "COMPLETED"
        order.update_time = stamp
        if order.intent == "CAPTURE":
            capture = Capture(
                id=self.store.new_id(),
                status="DECLINED" if trigger else first_capture_status(card.name),
                amount=order.amount,
                order_id=order.id,
                request_id=request_id,
                create_time=stamp,
                update_time=stamp,
                processor=processor,
                invoice_id=order.invoice_id,
                custom_id=order.custom_id,
            )
            self.store.captures[capture.id] = capture
            order.capture_ids.append(capture.id)
            if order.invoice_id is not None and capture.moved_money:
                self.store.paid_invoices.add(order.invoice_id)
        else:
            authorization = Authorization(
                id=self.store.new_id(),
                status="DENIED" if trigger else "CREATED",
                amount=order.amount,
                order_id=order.id,
                request_id=request_id,
                processor=processor,
                create_time=stamp,
                update_time=stamp,
                expiration_time=self.store.clock.iso(lifecycle.VALID_DAYS * lifecycle.DAY),
                invoice_id=order.invoice_id,
                custom_id=order.custom_id,
            )
            self.store.authorizations[authorization.id] = authorization
            order.authorization_ids.append(authorization.id)
            if order.invoice_id is not None and not trigger:
                self.store.paid_invoices.add(order.invoice_id)

    def _order_reply(self, status: int, order_id: str, call: Call) -> Reply:
        with self.store.lock:
            order = self.store.orders[order_id]
            if call.representation:
                return Reply(status, views.order(self.store, order, self.base))
            return Reply(
                status, views.minimal(order.id, order.status, views.order_links(order, self.base))
            )

    def _order(self, order_id: str) -> Order:
        order = self.store.orders.get(order_id)
        if order is None:
            raise ApiError(404, Issue("INVALID_RESOURCE_ID", "id", "path"))
        return order

    # -- authorizations ------------------------------------------------------------

    def get_authorization(self, authorization_id: str) -> Reply:
        """GET /v2/payments/authorizations/{id}."""
        with self.store.lock:
            return Reply(200, self._authorization_view(self._authorization(authorization_id)))

    def _authorization_view(self, record: Authorization) -> dict[str, Any]:
        return views.authorization(self.store, record, self.base)

    def _authorization_reply(self, authorization_id: str, call: Call) -> Reply:
        # Payments v2 documents only 201 for a reauthorization, replays included.
        with self.store.lock:
            record = self.store.authorizations[authorization_id]
            if call.representation:
                return Reply(201, self._authorization_view(record))
            links = views.authorization_links(self.store, record, self.base)
            return Reply(201, views.minimal(record.id, record.status, links))

    def capture_authorization(self, authorization_id: str, call: Call) -> Reply:
        """POST /v2/payments/authorizations/{id}/capture (optionally partial)."""
        operation = "authorizations.capture"
        body = require_object(call.body, required=False)
        with self.store.request_key(operation, call.request_id):
            earlier = self.store.replayed(operation, call.request_id)
            if earlier is not None:
                return self._capture_reply(201, earlier, call)
            final = body.get("final_capture", False)
            if not isinstance(final, bool):
                raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", "/final_capture"))
            invoice_id = optional_string(body, "invoice_id", "", max_length=127)
            optional_string(body, "note_to_payer", "", max_length=255)
            optional_string(body, "soft_descriptor", "", max_length=22)
            check_payment_instruction(body)
            requested = requested_amount(body)
            with self.store.lock:
                auth = self._authorization(authorization_id)
                _refuse(lifecycle.capture_refusal(auth, self.store.clock.now()))
                # PayPal may allow up to 115 % over-capture by agreement; the sandbox does not.
                amount = within(
                    requested,
                    auth.amount.with_minor(auth.amount.minor - auth.captured),
                    mismatch="AUTH_CAPTURE_CURRENCY_MISMATCH",
                    exceeded="MAX_CAPTURE_AMOUNT_EXCEEDED",
                )
                stamp = self.store.clock.iso()
                capture = Capture(
                    id=self.store.new_id(),
                    status="COMPLETED",
                    amount=amount,
                    order_id=auth.order_id,
                    request_id=call.request_id,
                    create_time=stamp,
                    update_time=stamp,
                    final_capture=final,
                    authorization_id=auth.id,
                    processor=APPROVED,
                    invoice_id=invoice_id or auth.invoice_id,
                    custom_id=auth.custom_id,
                )
                self.store.captures[capture.id] = capture
                self.store.orders[auth.order_id].capture_ids.append(capture.id)
                auth.captured += amount.minor
                auth.capture_ids.append(capture.id)
                full = final or auth.captured >= auth.amount.minor
                auth.status = "CAPTURED" if full else "PARTIALLY_CAPTURED"
                auth.update_time = stamp
                self.store.remember(operation, call.request_id, capture.id)
            return self._capture_reply(201, capture.id, call)

    def reauthorize_authorization(self, authorization_id: str, call: Call) -> Reply:
        """POST /v2/payments/authorizations/{id}/reauthorize: after the honour period and
        before expiry, once, for up to 115 % of the original amount (and, in USD, no more
        than 75.00 above it); 201 with the new authorization."""
        operation = "authorizations.reauthorize"
        body = require_object(call.body, required=False)
        with self.store.request_key(operation, call.request_id):
            earlier = self.store.replayed(operation, call.request_id)
            if earlier is not None:
                return self._authorization_reply(earlier, call)
            requested = requested_amount(body)
            with self.store.lock:
                original = self._authorization(authorization_id)
                _refuse(lifecycle.reauthorize_refusal(original, self.store.clock.now()))
                amount = within(
                    requested,
                    lifecycle.reauthorization_limit(original.amount),
                    default=original.amount,
                    mismatch="AUTH_CURRENCY_MISMATCH",
                    exceeded="AUTHORIZATION_AMOUNT_EXCEEDED",
                )
                stamp = self.store.clock.iso()
                renewed = Authorization(
                    id=self.store.new_id(),
                    status="CREATED",
                    amount=amount,
                    order_id=original.order_id,
                    request_id=call.request_id,
                    processor=APPROVED,
                    create_time=stamp,
                    update_time=stamp,
                    expiration_time=original.expiration_time,  # 29 days from the original
                    invoice_id=original.invoice_id,
                    custom_id=original.custom_id,
                    parent_id=original.id,
                )
                self.store.authorizations[renewed.id] = renewed
                self.store.orders[original.order_id].authorization_ids.append(renewed.id)
                original.reauthorization_id = renewed.id
                original.update_time = stamp
                self.store.remember(operation, call.request_id, renewed.id)
            return self._authorization_reply(renewed.id, call)

    def void_authorization(self, authorization_id: str, call: Call) -> Reply:
        """POST /v2/payments/authorizations/{id}/void: 204, or 200 with the representation.
        Voiding an original also voids its reauthorization (the hold is one)."""
        operation = "authorizations.void"
        with self.store.request_key(operation, call.request_id), self.store.lock:
            auth = self._authorization(authorization_id)
            if self.store.replayed(operation, call.request_id) is None:
                _refuse(lifecycle.void_refusal(auth))
                stamp = self.store.clock.iso()
                renewed = self.store.authorizations.get(auth.reauthorization_id or "")
                for record in (auth, renewed):
                    if record is not None and record.status in ("CREATED", "PARTIALLY_CAPTURED"):
                        record.status = "VOIDED"
                        record.update_time = stamp
                self.store.remember(operation, call.request_id, auth.id)
            if call.representation:
                return Reply(200, self._authorization_view(auth))
            return Reply(204)

    def _authorization(self, authorization_id: str) -> Authorization:
        record = self.store.authorizations.get(authorization_id)
        if record is None:
            raise ApiError(404, Issue("INVALID_RESOURCE_ID", "authorization_id", "path"))
        return record

    # -- captures and refunds ------------------------------------------------------

    def get_capture(self, capture_id: str) -> Reply:
        """GET /v2/payments/captures/{id}."""
        with self.store.lock:
            return Reply(200, views.capture(self.store, self._capture(capture_id), self.base))

    def refund_capture(self, capture_id: str, call: Call) -> Reply:
        """POST /v2/payments/captures/{id}/refund: the rest when no amount is given."""
        operation = "captures.refund"
        body = require_object(call.body, required=False)
        with self.store.request_key(operation, call.request_id):
            earlier = self.store.replayed(operation, call.request_id)
            if earlier is not None:
                return self._refund_reply(earlier, call)
            invoice_id = optional_string(body, "invoice_id", "", max_length=127)
            # The refund response narrows custom_id to this pattern; accept only what it can echo.
            custom_id = optional_string(
                body, "custom_id", "", max_length=127, pattern=r"^[A-Za-z0-9-_.,]*$"
            )
            note = optional_string(body, "note_to_payer", "", max_length=255)
            check_payment_instruction(body)
            requested = requested_amount(body)
            with self.store.lock:
                capture = self._capture(capture_id)
                _refuse(lifecycle.refund_refusal(capture))
                amount = within(
                    requested,
                    capture.amount.with_minor(capture.amount.minor - capture.refunded),
                    mismatch="REFUND_CAPTURE_CURRENCY_MISMATCH",
                    exceeded="REFUND_AMOUNT_EXCEEDED",
                )
                refund = record_refund(
                    self.store,
                    capture,
                    amount,
                    request_id=call.request_id,
                    invoice_id=invoice_id,
                    custom_id=custom_id,
                    note_to_payer=note,
                )
                self.store.remember(operation, call.request_id, refund.id)
            return self._refund_reply(refund.id, call)

    def get_refund(self, refund_id: str) -> Reply:
        """GET /v2/payments/refunds/{id}."""
        with self.store.lock:
            record = self.store.refunds.get(refund_id)
            if record is None:
                raise ApiError(404, Issue("INVALID_RESOURCE_ID", "refund_id", "path"))
            return Reply(200, views.refund(record, self.base))

    def _capture(self, capture_id: str) -> Capture:
        record = self.store.captures.get(capture_id)
        if record is None:
            raise ApiError(404, Issue("INVALID_RESOURCE_ID", "capture_id", "path"))
        return record

    def _capture_reply(self, status: int, capture_id: str, call: Call) -> Reply:
        with self.store.lock:
            record = self.store.captures[capture_id]
            if call.representation:
                return Reply(status, views.capture(self.store, record, self.base))
            links = views.capture_links(record, self.base)
            return Reply(status, views.minimal(record.id, record.status, links))

    def _refund_reply(self, refund_id: str, call: Call) -> Reply:
        # Payments v2 documents only 201 for refunds, replays included.
        with self.store.lock:
            record = self.store.refunds[refund_id]
            if call.representation:
                return Reply(201, views.refund(record, self.base))
            links = views.refund_links(record, self.base)
            return Reply(201, views.minimal(record.id, record.status, links))


def _refuse(issue: Issue | None) -> None:
    """Raise PayPal's 422 for a refused action."""
    if issue is not None:
        raise ApiError(422, issue)
