"""A bare PayPal REST caller for tests against the sandbox emulator (http.client, keep-alive)."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from tests.cards import CVV, VISA
from tests.seeded import unique


def paypal_expiry(years: int = 3) -> str:
    """A future expiry in PayPal's YYYY-MM form."""
    return f"{date.today().year + years}-12"


def card(
    number: str = VISA,
    *,
    security_code: str | None = CVV,
    name: str | None = "Ada Lovelace",
    expiry: str | None = None,
) -> dict[str, Any]:
    """A ``payment_source.card`` object."""
    body: dict[str, Any] = {"number": number, "expiry": expiry or paypal_expiry()}
    if security_code is not None:
        body["security_code"] = security_code
    if name is not None:
        body["name"] = name
    return body


def order_body(
    *,
    intent: str = "CAPTURE",
    value: str = "12.50",
    currency: str = "USD",
    payment_card: dict[str, Any] | None = None,
    with_card: bool = True,
    **unit: Any,
) -> dict[str, Any]:
    """A create-order body with one purchase unit (and a card unless ``with_card=False``)."""
    body: dict[str, Any] = {
        "intent": intent,
        "purchase_units": [{"amount": {"currency_code": currency, "value": value}, **unit}],
    }
    if with_card:
        body["payment_source"] = {"card": payment_card or card()}
    return body


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class PayPalHttp:
    """Calls the emulator the way PayPal's REST API is called, on one kept-alive connection."""

    def __init__(
        self,
        base_url: str,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",  # noqa: S107 - the emulator's default
    ) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self._token: str | None = None

    def close(self) -> None:
        self.connection.close()

    def raw(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """One exchange; a transport error closes the connection (the next call reopens)."""
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        headers_in = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers_in, data)

    def fetch_token(self, basic: str | None = None) -> Answer:
        return self.raw(
            "POST",
            "/v1/oauth2/token",
            b"grant_type=client_credentials",
            {
                "Authorization": f"Basic {basic or self.basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )

    def token(self) -> str:
        if self._token is None:
            answer = self.fetch_token()
            assert answer.status == 200, answer.body
            self._token = answer.json()["access_token"]
        return self._token

    def forget_token(self) -> None:
        self._token = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        request_id: str | None = None,
        prefer: str | None = "return=representation",
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Answer:
        sent: dict[str, str] = {}
        if auth:
            sent["Authorization"] = f"Bearer {self.token()}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if request_id is not None:
            sent["PayPal-Request-Id"] = request_id
        if prefer is not None:
            sent["Prefer"] = prefer
        sent.update(headers or {})
        return self.raw(method, path, data, sent)

    def create_order(self, body: dict[str, Any] | None = None, **options: Any) -> Answer:
        """POST /v2/checkout/orders with a fresh PayPal-Request-Id unless one is given."""
        options.setdefault("request_id", unique("request-"))
        return self.call("POST", "/v2/checkout/orders", body or order_body(), **options)
