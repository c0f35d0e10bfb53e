"""Card numbers sent where they do not belong are refused and never echoed or stored."""

from __future__ import annotations

import json

import pytest

from tests.cards import AMEX, CVV, TEST_PANS, VISA, payment
from tests.conftest import Answer, Running
from tests.seeded import unique

pytestmark = pytest.mark.slow


def _clean(answer: Answer) -> None:
    text = answer.body.decode("utf-8", "replace") + json.dumps(dict(answer.headers))
    for pan in TEST_PANS:
        assert pan not in text.replace(" ", "").replace("-", "")


def test_a_pan_in_free_text_fields_is_refused(running: Running) -> None:
    client = running.client
    in_reference = client.pay(payment(VISA, reference=f"order {AMEX}"))
    assert in_reference.status == 422
    assert in_reference.json()["field"] == "reference"
    in_name = client.pay(payment(VISA, name=f"Ada {VISA}"))
    assert in_name.status == 422
    as_key = client.pay(payment(VISA), key=VISA)
    assert as_key.status == 422
    assert as_key.json()["field"] == "Idempotency-Key"
    paid = client.pay(payment(VISA)).json()
    note = client.request(
        "POST", f"/v1/payments/{paid['id']}/refunds", {"note": f"card {VISA}"}, idempotency_key="n1"
    )
    assert note.status == 422
    for answer in (in_reference, in_name, as_key, note):
        _clean(answer)


def test_malformed_requests_holding_card_data_never_echo_it(running: Running) -> None:
    client = running.client
    body = json.dumps(payment(VISA))
    answers = [
        client.request(
            "POST",
            "/v1/payments",
            raw=body[:-5].encode(),
            headers={"Content-Type": "application/json"},
            idempotency_key=unique("key-"),
        ),
        client.request(
            "POST",
            "/v1/payments",
            raw=body.encode(),
            headers={"Content-Type": "text/plain"},
            idempotency_key=unique("key-"),
        ),
        client.pay({**payment(VISA), VISA: "as a field name"}),
        client.pay({"amount": VISA, "currency": "USD", "card": payment(VISA)["card"]}),
        client.pay({**payment(VISA), "currency": VISA}),
        client.pay(payment(VISA, code="12345")),
        client.pay(payment(VISA, expiry=VISA)),
        client.pay(payment(f"{VISA}0")),
        client.pay(
            {**payment(VISA), "card": {**payment(VISA)["card"], "number": 4012888888881881}}
        ),  # type: ignore[dict-item]
        client.request("GET", f"/v1/payments/{VISA}"),
        client.request("GET", f"/v1/payments?status={VISA}"),
        client.request("GET", f"/v1/payments?{VISA}=1"),
        client.request("GET", f"/v1/payments?cursor={VISA}"),
        client.request(
            "GET", "/v1/payments", auth=False, headers={"Authorization": f"Bearer {VISA}"}
        ),
        client.request(
            "POST", f"/v1/{VISA}", raw=body.encode(), headers={"Content-Type": "application/json"}
        ),
    ]
    for answer in answers:
        assert answer.status >= 400
        assert answer.headers["Content-Type"] == "application/problem+json"
        _clean(answer)
        assert f'"{CVV}"' not in answer.body.decode()
    audit_text = (running.stack.data_dir / "audit.jsonl").read_text()
    for pan in TEST_PANS:
        assert pan not in audit_text
