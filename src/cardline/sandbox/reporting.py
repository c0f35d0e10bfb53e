"""Transaction Search (``GET /v1/reporting/transactions``) over the emulator's captures.

Shaped after PayPal's Transaction Search v1: ``start_date`` and ``end_date`` are required
RFC 3339 times at most 31 days apart; each capture is one ``transaction_info`` with the
capture as ``transaction_id``, its order as ``paypal_reference_id`` (type ``ODR``), the
``invoice_id`` and ``custom_id`` (as ``custom_field``) it was made with, and a one-letter
``transaction_status`` (S success, P pending, D denied, V reversed). Like PayPal, it lists
a transaction only once ``search_delay`` seconds have passed since it was made.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from cardline.sandbox.clock import stamp
from cardline.sandbox.errors import ApiError, Issue
from cardline.sandbox.records import Capture
from cardline.sandbox.store import Store

PATH = "/v1/reporting/transactions"
MAX_RANGE = timedelta(days=31)
MAX_PAGE_SIZE = 500
_RFC3339 = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_STATUS = {
    "COMPLETED": "S",
    "PENDING": "P",
    "DECLINED": "D",
    "FAILED": "D",
    "REFUNDED": "V",
    "PARTIALLY_REFUNDED": "S",
}


def _moment(params: dict[str, list[str]], name: str) -> datetime:
    values = params.get(name)
    if not values or not _RFC3339.match(values[0]):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", name, "query"))
    return datetime.fromisoformat(values[0].replace("z", "Z").replace("Z", "+00:00"))


def _number(params: dict[str, list[str]], name: str, default: int, ceiling: int) -> int:
    values = params.get(name)
    if not values:
        return default
    if not values[0].isdigit() or not 1 <= int(values[0]) <= ceiling:
        raise ApiError(400, Issue("INVALID_PARAMETER_VALUE", name, "query"))
    return int(values[0])


def _paypal_time(stamp: str) -> str:
    """2025-01-31T12:00:00Z as the reporting API writes it: 2025-01-31T12:00:00+0000."""
    return stamp.removesuffix("Z") + "+0000"


def _info(capture: Capture) -> dict[str, Any]:
    info: dict[str, Any] = {
        "transaction_id": capture.id,
        "paypal_reference_id": capture.order_id,
        "paypal_reference_id_type": "ODR",
        "transaction_event_code": "T0006",
        "transaction_initiation_date": _paypal_time(capture.create_time),
        "transaction_updated_date": _paypal_time(capture.update_time),
        "transaction_amount": capture.amount.json(),
        "transaction_status": _STATUS.get(capture.status, "P"),
    }
    if capture.invoice_id is not None:
        info["invoice_id"] = capture.invoice_id
    if capture.custom_id is not None:
        info["custom_field"] = capture.custom_id
    return info


def search(store: Store, params: dict[str, list[str]], delay: float) -> dict[str, Any]:
    """The ``search_response`` for a query; the caller holds the store lock."""
    start, end = _moment(params, "start_date"), _moment(params, "end_date")
    if end < start or end - start > MAX_RANGE:
        raise ApiError(400, Issue("INVALID_PARAMETER_VALUE", "end_date", "query"))
    page_size = _number(params, "page_size", 100, MAX_PAGE_SIZE)
    page = _number(params, "page", 1, 10_000_000)
    listed_before = store.clock.now() - delay
    matching = []
    for capture in store.captures.values():
        made = datetime.fromisoformat(capture.create_time.replace("Z", "+00:00"))
        if start <= made <= end and made.timestamp() <= listed_before:
            matching.append(capture)
    total_pages = max(1, -(-len(matching) // page_size))
    chosen = matching[(page - 1) * page_size : page * page_size]
    return {
        "transaction_details": [{"transaction_info": _info(c)} for c in chosen],
        "account_number": "EMULATOR0000",
        "start_date": params["start_date"][0],
        "end_date": params["end_date"][0],
        "last_refreshed_datetime": _paypal_time(stamp(listed_before)),
        "page": page,
        "total_items": len(matching),
        "total_pages": total_pages,
        "links": [],
    }
