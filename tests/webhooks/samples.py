"""Webhook events shaped as PayPal sends them; each resource is checked against PayPal's own
OpenAPI documents (tests/webhooks/test_samples.py), so the samples cannot drift from the
contract the reader is tested on."""

from __future__ import annotations

import copy
from typing import Any

CAPTURE_ID = "2GG279541U471931P"
ORDER_ID = "5O190127TN364715T"
AUTHORIZATION_ID = "0VF52814937998046"
REFUND_ID = "1JU08902781691411"
DISPUTE_ID = "PP-D-27803"
API = "https://api-m.sandbox.paypal.com"

_CAPTURE: dict[str, Any] = {
    "id": CAPTURE_ID,
    "status": "COMPLETED",
    "amount": {"currency_code": "USD", "value": "25.00"},
    "final_capture": True,
    "seller_protection": {"status": "NOT_ELIGIBLE"},
    "supplementary_data": {"related_ids": {"order_id": ORDER_ID}},
    "create_time": "2026-12-01T10:00:00Z",
    "update_time": "2026-12-01T10:05:00Z",
    "links": [
        {"href": f"{API}/v2/payments/captures/{CAPTURE_ID}", "rel": "self", "method": "GET"},
        {"href": f"{API}/v2/checkout/orders/{ORDER_ID}", "rel": "up", "method": "GET"},
    ],
}
_REFUND: dict[str, Any] = {
    "id": REFUND_ID,
    "status": "COMPLETED",
    "amount": {"currency_code": "USD", "value": "10.00"},
    "create_time": "2026-12-02T09:00:00Z",
    "update_time": "2026-12-02T09:00:00Z",
    "links": [
        {"href": f"{API}/v2/payments/refunds/{REFUND_ID}", "rel": "self", "method": "GET"},
        {"href": f"{API}/v2/payments/captures/{CAPTURE_ID}", "rel": "up", "method": "GET"},
    ],
}
_AUTHORIZATION: dict[str, Any] = {
    "id": AUTHORIZATION_ID,
    "status": "CREATED",
    "amount": {"currency_code": "EUR", "value": "40.00"},
    "supplementary_data": {"related_ids": {"order_id": ORDER_ID}},
    "expiration_time": "2026-12-30T10:00:00Z",
    "create_time": "2026-12-01T10:00:00Z",
}
_DISPUTE: dict[str, Any] = {
    "dispute_id": DISPUTE_ID,
    "create_time": "2026-12-03T08:00:00.000Z",
    "update_time": "2026-12-03T08:00:00.000Z",
    "disputed_transactions": [{"seller_transaction_id": CAPTURE_ID}],
    "reason": "UNAUTHORISED",
    "status": "WAITING_FOR_SELLER_RESPONSE",
    "dispute_amount": {"currency_code": "USD", "value": "25.00"},
    "seller_response_due_date": "2026-12-13T08:00:00.000Z",
}
_PAYMENTS = "payments_payment_v2.json"
RESOURCES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # event type: (document, schema, resource)
    "PAYMENT.CAPTURE.COMPLETED": (_PAYMENTS, "capture-2", _CAPTURE),
    "PAYMENT.CAPTURE.REFUNDED": (_PAYMENTS, "refund", _REFUND),
    "PAYMENT.AUTHORIZATION.CREATED": (
        "payments_payment_v2.json",
        "authorization-2",
        _AUTHORIZATION,
    ),
    "CUSTOMER.DISPUTE.CREATED": ("customer_disputes_v1.json", "dispute", _DISPUTE),
}


def event(event_type: str, number: int = 1, **changes: Any) -> dict[str, Any]:
    """An event of ``event_type`` (its resource from the sample of the same family), with
    ``changes`` applied to the resource."""
    family = {
        "PAYMENT.CAPTURE": "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.AUTHORIZATION": "PAYMENT.AUTHORIZATION.CREATED",
        "CUSTOMER.DISPUTE": "CUSTOMER.DISPUTE.CREATED",
    }
    if event_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
        sample = "PAYMENT.CAPTURE.REFUNDED"
    else:
        sample = family.get(event_type.rsplit(".", 1)[0], "PAYMENT.CAPTURE.COMPLETED")
    resource = copy.deepcopy(RESOURCES[sample][2])
    resource.update(changes)
    return {
        "id": f"WH-{number:04d}WEBHOOKEVENT",
        "event_version": "1.0",
        "create_time": "2026-12-01T10:05:01.000Z",
        "resource_type": sample.split(".")[1].lower(),
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": "sample",
        "resource": resource,
    }
