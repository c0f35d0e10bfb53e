"""One PayPal order over a kept-alive http.client connection, token cached: the standard
library way every stdlib-based peer (the floor, FastAPI, Powertools) charges a card."""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl  # noqa: F401 - a real handler talks TLS to PayPal; the import is part of the cost
import urllib.parse

_connection: http.client.HTTPConnection | None = None
_token: str | None = None
_FORM = "application/x-www-form-urlencoded"


def _connect() -> http.client.HTTPConnection:
    global _connection
    if _connection is None:
        url = urllib.parse.urlsplit(os.environ["PAYPAL_BASE_URL"])
        _connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=20)
    return _connection


def _access_token() -> str:
    global _token
    if _token is None:
        basic = base64.b64encode(
            (os.environ["PAYPAL_CLIENT_ID"] + ":" + os.environ["PAYPAL_CLIENT_SECRET"]).encode()
        ).decode()
        connection = _connect()
        connection.request(
            "POST",
            "/v1/oauth2/token",
            "grant_type=client_credentials",
            {
                "Authorization": "Basic " + basic,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        _token = json.loads(connection.getresponse().read())["access_token"]
    return _token


def charge(amount: str, currency: str, card: dict[str, str], request_id: str) -> str:
    """The first capture's status (COMPLETED, DECLINED, ...)."""
    month, year = card["expiry"].split("/")
    order = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": currency, "value": amount}}],
        "payment_source": {
            "card": {
                "number": card["number"],
                "expiry": "20" + year + "-" + month,
                "security_code": card["security_code"],
                "name": card["name"],
            }
        },
    }
    token = _access_token()
    connection = _connect()
    connection.request(
        "POST",
        "/v2/checkout/orders",
        json.dumps(order),
        {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
            "PayPal-Request-Id": request_id,
            "Prefer": "return=representation",
        },
    )
    answer = json.loads(connection.getresponse().read())
    status: str = answer["purchase_units"][0]["payments"]["captures"][0]["status"]
    return status
