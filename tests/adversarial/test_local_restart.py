"""Finding 11: restarting `cardline serve` (what `make run` starts) keeps PayPal's side too.

The embedded emulator keeps its orders, captures, refunds and PayPal-Request-Ids in the
data directory, so yesterday's payments can be refunded and retried after a restart, and
it keeps of a card only what PayPal shows (brand, last digits).
"""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path

import pytest

from tests.cards import CVV, TEST_PANS, VISA, payment
from tests.conftest import Client
from tests.serve_process import Served

pytestmark = pytest.mark.slow


def _stats(served: Served) -> dict[str, int]:
    host, _, port = served.emulator_url().removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/_emulator/stats")
        stats: dict[str, int] = json.loads(connection.getresponse().read())
        return stats
    finally:
        connection.close()


def test_a_restarted_serve_refunds_and_replays_payments_taken_before(
    data_dir: Path, artifacts: Path
) -> None:
    log = artifacts / f"serve-restart-{data_dir.name}.log"
    first = Served(data_dir, log)
    key = first.key()
    retry_key = f"restart-{uuid.uuid4()}"
    try:
        client = Client(first.url, key, artifacts / "http-answers.log")
        paid = client.pay(payment(VISA, amount="20.00"))
        assert paid.status == 201
        payment_id = paid.json()["id"]
        assert (
            client.request(
                "POST",
                f"/v1/payments/{payment_id}/refunds",
                {"amount": "5.00"},
                idempotency_key=str(uuid.uuid4()),
            ).status
            == 201
        )
        original = client.pay(payment(VISA, amount="7.00"), key=retry_key)
        assert original.status == 201
    finally:
        first.stop()

    second = Served(data_dir, log)
    try:
        client = Client(second.url, key, artifacts / "http-answers.log")
        refunded = client.request(
            "POST",
            f"/v1/payments/{payment_id}/refunds",
            {"amount": "15.00"},
            idempotency_key=str(uuid.uuid4()),
        )
        assert refunded.status == 201, refunded.body
        assert refunded.json()["status"] == "COMPLETED"
        shown = client.request("GET", f"/v1/payments/{payment_id}").json()
        assert shown["status"] == "refunded"
        assert [r["status"] for r in shown["refunds"]] == ["COMPLETED", "COMPLETED"]
        # The same Idempotency-Key after the restart replays PayPal's first answer.
        replayed = client.pay(payment(VISA, amount="7.00"), key=retry_key)
        assert replayed.status == 201
        assert replayed.json()["id"] == original.json()["id"]
        assert replayed.json()["paypal_capture_id"] == original.json()["paypal_capture_id"]
        assert _stats(second)["captures"] == 2
    finally:
        second.stop()

    kept = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    for number in TEST_PANS:
        assert number.encode() not in kept
    assert b'"security_code"' not in kept
    assert f'"{CVV}"'.encode() not in kept
