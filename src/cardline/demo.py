"""`cardline demo`: a scripted call-centre shift driven over HTTP, printing masked receipts."""

from __future__ import annotations

import http.client
import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cardline.cde.roles import SUPERVISOR, allows


class DemoError(Exception):
    """The shift cannot go on: the service is unreachable, is not cardline, or refused the
    key. The message is one line for the person who ran the demo."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


def _checked_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise DemoError(
            f"--url wants http://HOST:PORT or https://HOST (such as http://127.0.0.1:8080), "
            f"not {url!r}",
            exit_code=2,
        )
    return url.rstrip("/")


class ApiClient:
    """A minimal HTTP client for cardline's API (the demo needs no more).

    Every answer must be cardline's JSON; anything else (nothing listening, another web
    server, a connection lost) raises :class:`DemoError` instead of being read as a result.
    """

    def __init__(self, url: str, key: str) -> None:
        self.url = _checked_url(url)
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        auth: bool = True,
    ) -> Answer:
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(  # noqa: S310 - an http(s) URL checked above
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return Answer(response.status, self._json(response.status, response.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, self._json(error.code, error.read()))
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            raise DemoError(f"cannot reach {self.url}: {reason}") from None

    def _json(self, status: int, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise DemoError(
                f"{self.url} answered HTTP {status} with something other than cardline's "
                "JSON: is it a cardline service (`cardline serve`)?"
            )
        return body

    def check(self) -> None:
        """Fail early, in one line, unless ``url`` is cardline and takes the key."""
        health = self.call("GET", "/health", auth=False)
        if health.status != 200 or "paypal" not in health.body:
            raise DemoError(
                f"{self.url}/health answered HTTP {health.status}, not cardline's health "
                "document: is it a cardline service (`cardline serve`)?"
            )
        listed = self.call("GET", "/v1/payments?limit=1")
        if listed.status in (401, 403):
            raise DemoError(
                f"{self.url} refused the key (HTTP {listed.status} {listed.body.get('code')}): "
                "give the key `cardline serve` printed, or make one with "
                "`cardline operators add NAME`"
            )
        if listed.status != 200:
            raise DemoError(
                f"{self.url}/v1/payments answered HTTP {listed.status} "
                f"{listed.body.get('code')}: {listed.body.get('detail')}"
            )
        role = self.call("GET", "/v1/operator").body.get("role")
        if not allows(str(role), SUPERVISOR):
            raise DemoError(
                f"the key's role is {role}, and the demo refunds: give a supervisor's key "
                "(`cardline operators add NAME --role supervisor`)"
            )


@contextmanager
def local_service() -> Iterator[tuple[str, str]]:
    """A cardline of the demo's own on a free loopback port, in a throw-away data directory."""
    from cardline.local import build_local, serve_in_background

    with tempfile.TemporaryDirectory(prefix="cardline-demo-") as folder:
        stack = build_local(Path(folder), environ={})
        _operator, key = stack.operators.add("demo-agent", role=SUPERVISOR, origin="demo")
        server = serve_in_background(stack.app)
        try:
            yield server.url, key
        finally:
            server.stop()
            stack.close()


def _expiry() -> str:
    return f"12/{(date.today().year + 3) % 100:02d}"


def _payment(amount: str, number: str, code: str, name: str, reference: str) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "USD",
        "reference": reference,
        "card": {"number": number, "expiry": _expiry(), "security_code": code, "name": name},
    }


def _receipt_line(title: str, answer: Answer) -> str:
    body = answer.body
    if answer.status >= 400:
        return f"{title:<34} HTTP {answer.status}  {body.get('code')}: {body.get('detail')}"
    card = f"{body['brand']} •••• {body['last4']}" if body.get("last4") else ""
    money = f"{body.get('amount')} {body.get('currency')}"
    status = str(body.get("status"))
    line = f"{title:<34} HTTP {answer.status}  {status:<9} {money:<12} {card:<20} {body.get('id')}"
    if body.get("decline_code"):
        line += (
            f"\n{'':<45}{body['decline_code']} {body.get('decline_reason')}: {body.get('message')}"
        )
    return line


def shift(client: ApiClient) -> list[str]:
    """Drive the scripted shift; returns the problems found (empty when all went as expected)."""
    problems: list[str] = []

    def expect(condition: bool, what: str) -> None:
        if not condition:
            problems.append(what)

    visa_key = f"demo-{uuid.uuid4()}"
    visa = client.call(
        "POST",
        "/v1/payments",
        _payment("12.50", "4012 8888 8888 1881", "123", "Ada Lovelace", "order-1001"),
        idempotency_key=visa_key,
    )
    print(_receipt_line("1. Visa, phone order", visa))
    expect(visa.status == 201 and visa.body.get("status") == "approved", "Visa payment approved")

    amex = client.call(
        "POST",
        "/v1/payments",
        _payment("249.00", "3714-496353-98431", "1234", "Grace Hopper", "order-1002"),
        idempotency_key=f"demo-{uuid.uuid4()}",
    )
    print(_receipt_line("2. Amex, phone order", amex))
    expect(amex.status == 201 and amex.body.get("status") == "approved", "Amex payment approved")

    declined = client.call(
        "POST",
        "/v1/payments",
        _payment("80.00", "4012888888881881", "123", "CCREJECT-IF", "order-1003"),
        idempotency_key=f"demo-{uuid.uuid4()}",
    )
    print(_receipt_line("3. Visa, insufficient funds", declined))
    expect(
        declined.body.get("status") == "declined" and declined.body.get("decline_code") == "5120",
        "decline 5120",
    )

    if visa.status == 201:
        refund = client.call(
            "POST",
            f"/v1/payments/{visa.body['id']}/refunds",
            {"amount": "5.00"},
            idempotency_key=f"demo-{uuid.uuid4()}",
        )
        print(_receipt_line("4. Partial refund of payment 1", refund))
        expect(
            refund.status == 201 and refund.body.get("status") == "COMPLETED",
            "partial refund completed",
        )

    retry = client.call(
        "POST",
        "/v1/payments",
        _payment("12.50", "4012 8888 8888 1881", "123", "Ada Lovelace", "order-1001"),
        idempotency_key=visa_key,
    )
    print(_receipt_line("5. Agent retries payment 1", retry))
    # The same payment only if both answers are one: two missing ids are no proof.
    same = (
        visa.status == 201
        and retry.status in (200, 201)
        and bool(visa.body.get("id"))
        and retry.body.get("id") == visa.body.get("id")
        and retry.body.get("paypal_capture_id") == visa.body.get("paypal_capture_id")
    )
    print(f"{'':<45}{'same payment, charged once' if same else 'A DIFFERENT PAYMENT'}")
    expect(same, "retry returns the same payment")

    mistyped = client.call(
        "POST",
        "/v1/payments",
        _payment("30.00", "4012 8888 8888 1882", "123", "Alan Turing", "order-1004"),
        idempotency_key=f"demo-{uuid.uuid4()}",
    )
    print(_receipt_line("6. Mistyped card number", mistyped))
    expect(
        mistyped.status == 422 and mistyped.body.get("code") == "invalid_card",
        "mistyped card refused",
    )

    listing = client.call("GET", "/v1/payments?limit=10")
    print(f"\nLedger: {len(listing.body.get('items', []))} payments recorded")
    for item in listing.body.get("items", []):
        print(
            f"  {item['id']}  {item['status']:<18} {item['amount']:>8} {item['currency']}"
            f"  {item['brand']} •••• {item['last4']}"
        )
    return problems


def run_demo(*, url: str | None = None, key: str | None = None) -> int:
    """Run the shift against ``url`` or a service of the demo's own; 0 when all went as
    expected. Raises :class:`DemoError` when ``url`` is not a cardline taking ``key``."""
    if url is not None and key is not None:
        client = ApiClient(url, key)
        client.check()
        problems = shift(client)
    else:
        with local_service() as (own_url, own_key):
            print(f"cardline demo: local service at {own_url} with the PayPal emulator\n")
            problems = shift(ApiClient(own_url, own_key))
    if problems:
        print("\nNot as expected: " + "; ".join(problems))
        return 1
    print("\nEvery step went as expected.")
    return 0
