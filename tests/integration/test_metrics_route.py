"""`cardline serve`'s GET /metrics: the counters of what the local host did, in
Prometheus' text format, for a supervisor's key only (every answer is kept for the leak
scan by the test client)."""

from __future__ import annotations

import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from cardline.local_metrics import prometheus_name
from tests.cards import MISTYPED_VISA, TEST_PANS, VISA, payment
from tests.conftest import Client, Running


def _samples(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = client.request("GET", "/metrics")
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    text = answer.body.decode()
    assert not any(pan in text for pan in TEST_PANS)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def test_after_payments_the_counters_show_them_by_outcome(running: Running) -> None:
    client = running.client
    assert client.pay(payment(VISA)).status == 201
    assert client.pay(payment(VISA, name="CCREJECT-IF")).status == 201
    paid = client.pay(payment(VISA, currency="EUR"))
    assert client.pay(payment(MISTYPED_VISA)).status == 422
    refunded = client.request(
        "POST",
        f"/v1/payments/{paid.json()['id']}/refunds",
        idempotency_key=str(uuid.uuid4()),
    )
    assert refunded.status == 201, refunded.body

    samples = _samples(client)
    payments = prometheus_name("Payments") + "_total"
    charge = {"service": "charge", "brand": "VISA"}
    assert samples[(payments, _labels(**charge, outcome="approved", currency="USD"))] == 1
    assert samples[(payments, _labels(**charge, outcome="declined", currency="USD"))] == 1
    assert samples[(payments, _labels(**charge, outcome="approved", currency="EUR"))] == 1
    assert samples[("cardline_outcome_unknown_total", _labels(service="charge"))] == 0
    refusals = _labels(service="charge", field="card.number")
    assert samples[("cardline_validation_refusals_total", refusals)] == 1
    # Three payments, three PayPal calls (the refund is the backoffice's own client).
    assert samples[("cardline_paypal_latency_seconds_count", _labels(service="charge"))] == 3
    assert samples[("cardline_paypal_retries_total", _labels(service="charge"))] == 0
    completed = _labels(service="backoffice", outcome="completed")
    assert samples[("cardline_refunds_total", completed)] == 1


def test_the_counters_need_a_supervisors_key(running: Running, artifacts: Path) -> None:
    anonymous = Client(running.url, None, artifacts / "http-answers.log")
    assert anonymous.request("GET", "/metrics").status == 401
    _operator, key = running.stack.operators.add("metrics-agent", role="agent")
    agent = Client(running.url, key, artifacts / "http-answers.log")
    refused = agent.request("GET", "/metrics")
    assert refused.status == 403
    assert refused.json()["role"] == "supervisor"
