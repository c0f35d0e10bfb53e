"""The warm harness of `make bench` (benchmarks/peers/harness.py): the bare exchange that a
handler's time is paired with sends the handler's own order, so that what PayPal spends on
that order counts as PayPal's. No timing here."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.peers import harness

from cardline.sandbox import Emulator

EVENT = Path(__file__).resolve().parents[2] / "events" / "charge-rest-v1.json"
TEMPLATE: dict[str, Any] = json.loads(EVENT.read_text(encoding="utf-8"))


@pytest.fixture
def paypal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator() as emulator:
        monkeypatch.setenv("PAYPAL_BASE_URL", emulator.base_url)
        monkeypatch.setenv("PAYPAL_CLIENT_ID", emulator.client_id)
        monkeypatch.setenv("PAYPAL_CLIENT_SECRET", emulator.client_secret)
        yield emulator


def _handler_sending(order: dict[str, Any], token: str, base_url: str) -> harness.Handler:
    """A handler that posts ``order`` (plus a header of its own) and answers approved."""
    host, port = base_url.removeprefix("http://").split(":")

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
            "PayPal-Request-Id": "handler-" + event["headers"]["Idempotency-Key"],
            "Prefer": "return=representation",
            "PayPal-Partner-Attribution-Id": "cardline-test",
        }
        connection.request("POST", "/v2/checkout/orders", json.dumps(order).encode(), headers)
        assert connection.getresponse().read()
        connection.close()
        return {"statusCode": 201, "body": '{"status": "approved"}'}

    return handler


def test_the_bare_exchange_sends_the_order_the_handler_sent(paypal: Emulator) -> None:
    bare = harness._Bare(TEMPLATE)
    card = json.loads(TEMPLATE["body"])["card"]
    order = {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "amount": {"currency_code": "USD", "value": "12.50"},
                "invoice_id": "pay_handlers0own0invoice0id",
                "custom_id": "clfp1:the-handlers-fingerprint",
            }
        ],
        "payment_source": {
            "card": {
                "number": card["number"],
                "expiry": "2030-12",
                "security_code": card["security_code"],
                "name": card["name"],
            }
        },
    }
    handler = _handler_sending(order, bare.token, paypal.base_url)
    sent = harness._recorded_order(handler, harness._event(TEMPLATE, "key-1"))
    assert sent is not None
    bare.same_as(sent)
    bare.exchange("bench-bare-1")
    bare.exchange("bench-bare-2")  # a second invoice id: PayPal refuses one twice

    handlers, first, second = (
        paypal.captures_for(request_id)
        for request_id in ("handler-key-1", "bench-bare-1", "bench-bare-2")
    )
    assert [c["status"] for c in handlers + first + second] == ["COMPLETED"] * 3
    invoices = [c["invoice_id"] for c in handlers + first + second]
    assert len(set(invoices)) == 3
    assert {len(invoice) for invoice in invoices} == {len(order["purchase_units"][0]["invoice_id"])}
    assert {c["custom_id"] for c in first + second} == {"clfp1:the-handlers-fingerprint"}
    logged = {entry["request_id"]: entry for entry in paypal.request_log()}
    assert logged["bench-bare-1"]["headers"] == {
        name: value
        for name, value in logged["handler-key-1"]["headers"].items()
        if name.lower() != "paypal-request-id"
    } | {"PayPal-Request-Id": "bench-bare-1"}


def test_without_an_order_seen_the_bare_exchange_sends_its_own(paypal: Emulator) -> None:
    def silent(event: dict[str, Any], context: object) -> dict[str, Any]:
        return {"statusCode": 201, "body": '{"status": "approved"}'}

    bare = harness._Bare(TEMPLATE)
    bare.same_as(harness._recorded_order(silent, harness._event(TEMPLATE, "key-2")))
    bare.exchange("bench-bare-3")
    (capture,) = paypal.captures_for("bench-bare-3")
    assert capture["status"] == "COMPLETED"
    assert capture.get("invoice_id") is None
