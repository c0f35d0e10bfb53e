"""JSON representations of stored resources, shaped by the official response schemas."""

from __future__ import annotations

from typing import Any

from cardline.sandbox import lifecycle
from cardline.sandbox.amounts import fee
from cardline.sandbox.records import Authorization, Capture, Order, Refund
from cardline.sandbox.store import Store


def _link(href: str, rel: str, method: str = "GET") -> dict[str, str]:
    return {"href": href, "rel": rel, "method": method}


def minimal(resource_id: str, status: str, links: list[dict[str, str]]) -> dict[str, Any]:
    """The ``Prefer: return=minimal`` answer: id, status and links only."""
    return {"id": resource_id, "status": status, "links": links}


def order_links(order: Order, base: str) -> list[dict[str, str]]:
    """HATEOAS links of an order."""
    href = f"{base}/v2/checkout/orders/{order.id}"
    links = [_link(href, "self")]
    if order.status == "CREATED":
        action = "capture" if order.intent == "CAPTURE" else "authorize"
        links.append(_link(f"{href}/{action}", action, "POST"))
    return links


def order(store: Store, record: Order, base: str) -> dict[str, Any]:
    """The full ``order`` representation."""
    unit: dict[str, Any] = {"reference_id": record.reference_id, "amount": record.amount.json()}
    for name in ("description", "custom_id", "invoice_id", "soft_descriptor"):
        value = getattr(record, name)
        if value is not None:
            unit[name] = value
    payments: dict[str, Any] = {}
    if record.authorization_ids:
        payments["authorizations"] = [
            authorization(store, store.authorizations[i], base, embedded=True)
            for i in record.authorization_ids
        ]
    captures = [store.captures[i] for i in record.capture_ids]
    if captures:
        payments["captures"] = [capture(store, c, base, embedded=True) for c in captures]
    refunds = [store.refunds[r] for c in captures for r in c.refund_ids]
    if refunds:
        payments["refunds"] = [refund(r, base) for r in refunds]
    if payments:
        unit["payments"] = payments
    body: dict[str, Any] = {
        "id": record.id,
        "intent": record.intent,
        "status": record.status,
    }
    if record.card is not None:
        body["payment_source"] = {"card": record.card.json()}
    body.update(
        purchase_units=[unit],
        create_time=record.create_time,
        update_time=record.update_time,
        links=order_links(record, base),
    )
    return body


def capture_links(record: Capture, base: str) -> list[dict[str, str]]:
    """HATEOAS links of a capture."""
    href = f"{base}/v2/payments/captures/{record.id}"
    links = [_link(href, "self")]
    if lifecycle.refund_refusal(record) is None:
        links.append(_link(f"{href}/refund", "refund", "POST"))
    if record.authorization_id is not None:
        links.append(_link(f"{base}/v2/payments/authorizations/{record.authorization_id}", "up"))
    else:
        links.append(_link(f"{base}/v2/checkout/orders/{record.order_id}", "up"))
    return links


def capture(store: Store, record: Capture, base: str, *, embedded: bool = False) -> dict[str, Any]:
    """The ``capture`` (inside an order) or ``capture-2`` (Payments API) representation."""
    body: dict[str, Any] = {
        "id": record.id,
        "status": record.status,
        "amount": record.amount.json(),
        "final_capture": record.final_capture,
        "seller_protection": {"status": "NOT_ELIGIBLE"},
    }
    if record.status == "PENDING":  # why, as PayPal says it (cardline.sandbox.triggers)
        body["status_details"] = {"reason": "PENDING_REVIEW"}
    if record.invoice_id is not None:
        body["invoice_id"] = record.invoice_id
    if record.custom_id is not None:
        body["custom_id"] = record.custom_id
    if record.moved_money:
        paypal_fee = fee(record.amount)
        body["seller_receivable_breakdown"] = {
            "gross_amount": record.amount.json(),
            "paypal_fee": paypal_fee.json(),
            "net_amount": record.amount.with_minor(record.amount.minor - paypal_fee.minor).json(),
        }
    if record.processor is not None:
        body["processor_response"] = record.processor.json()
    if not embedded:
        related = {"order_id": record.order_id}
        if record.authorization_id is not None:
            related["authorization_id"] = record.authorization_id
        body["supplementary_data"] = {"related_ids": related}
    body.update(
        links=capture_links(record, base),
        create_time=record.create_time,
        update_time=record.update_time,
    )
    return body


def authorization_links(store: Store, record: Authorization, base: str) -> list[dict[str, str]]:
    """HATEOAS links of an authorization: each action only while it would be allowed."""
    href = f"{base}/v2/payments/authorizations/{record.id}"
    now = store.clock.now()
    links = [_link(href, "self")]
    if lifecycle.capture_refusal(record, now) is None:
        links.append(_link(f"{href}/capture", "capture", "POST"))
    if lifecycle.void_refusal(record) is None:
        links.append(_link(f"{href}/void", "void", "POST"))
    if lifecycle.reauthorize_refusal(record, now) is None:
        links.append(_link(f"{href}/reauthorize", "reauthorize", "POST"))
    links.append(_link(f"{base}/v2/checkout/orders/{record.order_id}", "up"))
    return links


def authorization(
    store: Store, record: Authorization, base: str, *, embedded: bool = False
) -> dict[str, Any]:
    """``authorization_with_additional_data`` (in an order) or ``authorization-2``."""
    body: dict[str, Any] = {
        "id": record.id,
        "status": record.status,
        "amount": record.amount.json(),
        "seller_protection": {"status": "NOT_ELIGIBLE"},
        "expiration_time": record.expiration_time,
    }
    if record.invoice_id is not None:
        body["invoice_id"] = record.invoice_id
    if record.custom_id is not None:
        body["custom_id"] = record.custom_id
    if embedded:
        body["processor_response"] = record.processor.json()
    else:
        body["supplementary_data"] = {"related_ids": {"order_id": record.order_id}}
    body.update(
        links=authorization_links(store, record, base),
        create_time=record.create_time,
        update_time=record.update_time,
    )
    return body


def refund_links(record: Refund, base: str) -> list[dict[str, str]]:
    """HATEOAS links of a refund."""
    return [
        _link(f"{base}/v2/payments/refunds/{record.id}", "self"),
        _link(f"{base}/v2/payments/captures/{record.capture_id}", "up"),
    ]


def refund(record: Refund, base: str) -> dict[str, Any]:
    """The ``refund`` representation."""
    body: dict[str, Any] = {
        "id": record.id,
        "status": record.status,
        "amount": record.amount.json(),
    }
    for name in ("invoice_id", "custom_id", "note_to_payer"):
        value = getattr(record, name)
        if value is not None:
            body[name] = value
    body["seller_payable_breakdown"] = {
        "gross_amount": record.amount.json(),
        "paypal_fee": record.amount.with_minor(0).json(),
        "net_amount": record.amount.json(),
        "total_refunded_amount": record.amount.with_minor(record.total_refunded).json(),
    }
    body.update(
        links=refund_links(record, base),
        create_time=record.create_time,
        update_time=record.update_time,
    )
    return body
