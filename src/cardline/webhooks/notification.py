"""One webhook delivery as PayPal sends it: five transmission headers and a raw JSON body.

PayPal verifies a delivery itself when asked (``POST /v1/notifications/verify-webhook-
signature``), but only if the event is passed exactly as it arrived: users who decode and
re-encode the body get ``FAILURE`` for genuine events. So the verification request is built
around the raw bytes, never from a decoded copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cardline.cde.encoding import compact
from cardline.cde.errors import InvalidRequest

__all__ = [
    "MAX_EVENT_BYTES",
    "PAYPAL_CERT_HOSTS",
    "Delivery",
    "Transmission",
    "read_delivery",
]

# PayPal's events are a few KiB; a megabyte-sized "event" is not PayPal.
MAX_EVENT_BYTES = 64 * 1024
# Where PayPal serves the certificates it signs deliveries with. A delivery naming another
# host is refused before anything is fetched or forwarded.
PAYPAL_CERT_HOSTS = frozenset(
    {"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}
)
# The shapes notifications_webhooks_v1.json gives the verify request's fields.
_ID = re.compile(r"(?!\d+$)\w+\S+")
_ALGO = re.compile(r"[A-Za-z0-9]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_TOKEN = re.compile(r"\S+")
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class Transmission:
    """The ``PAYPAL-*`` headers of one delivery."""

    transmission_id: str
    transmission_time: str
    transmission_sig: str
    cert_url: str
    auth_algo: str


@dataclass(frozen=True)
class Delivery:
    """A delivery whose headers and body have the shapes PayPal's contract gives them;
    not yet verified."""

    transmission: Transmission
    body: bytes
    event: Mapping[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.event["id"])

    @property
    def event_type(self) -> str:
        return str(self.event["event_type"])

    def verification_request(self, webhook_id: str) -> bytes:
        """The body of ``POST /v1/notifications/verify-webhook-signature``: the header
        values, the configured webhook id, and the event exactly as it arrived."""
        fields = {
            "auth_algo": self.transmission.auth_algo,
            "cert_url": self.transmission.cert_url,
            "transmission_id": self.transmission.transmission_id,
            "transmission_sig": self.transmission.transmission_sig,
            "transmission_time": self.transmission.transmission_time,
            "webhook_id": webhook_id,
        }
        head = compact(fields)[:-1]
        return head.encode() + b',"webhook_event":' + self.body + b"}"


def _refuse(message: str, field: str) -> InvalidRequest:
    return InvalidRequest(message, field=field)


def _header(headers: Mapping[str, str], name: str, limit: int, shape: re.Pattern[str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    if value is None or not 1 <= len(value) <= limit or not shape.fullmatch(value):
        raise _refuse(f"The {name} header is missing or not what PayPal sends", name)
    return value


def _cert_url(value: str, cert_hosts: frozenset[str]) -> str:
    parts = urlsplit(value)
    # Plain http only for the local emulator, on the loopback interface.
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or parts.hostname not in cert_hosts or parts.username or parts.password:
        raise _refuse("The PAYPAL-CERT-URL header names no PayPal host", "PAYPAL-CERT-URL")
    return value


def _transmission_time(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(
            "The PAYPAL-TRANSMISSION-TIME header is not a date-time", "PAYPAL-TRANSMISSION-TIME"
        ) from None
    return value


def _event(body: bytes) -> Mapping[str, Any]:
    if len(body) > MAX_EVENT_BYTES:
        raise _refuse(f"A webhook event is at most {MAX_EVENT_BYTES} bytes", "body")
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse("The webhook event is not JSON", "body") from None
    if not isinstance(event, dict):
        raise _refuse("The webhook event is not a JSON object", "body")
    for name in ("id", "event_type"):
        value = event.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= 100 or not value.isprintable():
            raise _refuse(f"The webhook event has no {name}", name)
    return event


def read_delivery(
    headers: Mapping[str, str], body: bytes, cert_hosts: frozenset[str] = PAYPAL_CERT_HOSTS
) -> Delivery:
    """A delivery's headers and body checked against PayPal's contract; raises
    ``InvalidRequest`` naming the first part that is not. ``cert_hosts`` adds the hosts
    a certificate may come from (the local emulator's); PayPal's own are the default."""
    transmission = Transmission(
        transmission_id=_header(headers, "PAYPAL-TRANSMISSION-ID", 50, _ID),
        transmission_time=_transmission_time(
            _header(headers, "PAYPAL-TRANSMISSION-TIME", 100, _TOKEN)
        ),
        transmission_sig=_header(headers, "PAYPAL-TRANSMISSION-SIG", 500, _BASE64),
        cert_url=_cert_url(_header(headers, "PAYPAL-CERT-URL", 500, _TOKEN), cert_hosts),
        auth_algo=_header(headers, "PAYPAL-AUTH-ALGO", 100, _ALGO),
    )
    return Delivery(transmission=transmission, body=body, event=_event(body))
