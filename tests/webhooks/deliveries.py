"""Signed webhook deliveries as PayPal makes them, and the verdict PayPal's
verify-webhook-signature gives on them, for the suite's fake PayPal.

PayPal signs ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>``
with its certificate's key; here an HMAC with a key only the fake knows stands in for the
RSA signature. The verdict is read from the verify request's raw ``webhook_event`` bytes,
so a receiver that re-encoded the event would get FAILURE, as it does from PayPal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from typing import Any

WEBHOOK_ID = "8PT597110X687430LK"
CERT_URL = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594"
_KEY = b"the fake PayPal's signing key"
_MARK = b',"webhook_event":'


def _signature(transmission_id: str, time: str, webhook_id: str, body: bytes) -> str:
    message = f"{transmission_id}|{time}|{webhook_id}|{zlib.crc32(body)}".encode()
    return base64.b64encode(hmac.new(_KEY, message, hashlib.sha256).digest()).decode()


def deliver(
    event: dict[str, Any] | bytes, number: int = 1, webhook_id: str = WEBHOOK_ID
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one delivery of ``event``, signed for ``webhook_id``."""
    body = event if isinstance(event, bytes) else json.dumps(event, indent=1).encode()
    transmission_id = f"b2384410-f8d2-11e4-8bf3-{number:012d}"
    time = "2026-12-01T10:05:02Z"
    headers = {
        "paypal-transmission-id": transmission_id,
        "paypal-transmission-time": time,
        "paypal-transmission-sig": _signature(transmission_id, time, webhook_id, body),
        "paypal-cert-url": CERT_URL,
        "paypal-auth-algo": "SHA256withRSA",
        "content-type": "application/json",
    }
    return headers, body


def verdict(request: bytes) -> str:
    """What verify-webhook-signature answers to ``request``: SUCCESS or FAILURE."""
    head, mark, rest = request.partition(_MARK)
    if not mark or not rest.endswith(b"}"):
        return "FAILURE"
    fields = json.loads(head + b"}")
    body = rest[:-1]
    expected = _signature(
        fields["transmission_id"], fields["transmission_time"], fields["webhook_id"], body
    )
    good = fields["webhook_id"] == WEBHOOK_ID and hmac.compare_digest(
        expected, fields["transmission_sig"]
    )
    return "SUCCESS" if good else "FAILURE"
