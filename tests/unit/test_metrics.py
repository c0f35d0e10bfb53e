"""The metrics recorder of the charge path (cardline.cde.metrics) and the local host's
counters (cardline.local_metrics): dimensions bounded whatever is reported, one EMF
document per invocation, and the same observations counted by Prometheus."""

from __future__ import annotations

import io

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cardline.cde import audit
from cardline.cde.metrics import (
    CATALOGUE,
    OTHER,
    PAYPAL_LATENCY,
    SERVICE,
    EmfRecorder,
    Recorder,
    bounded,
)
from cardline.local_metrics import AuditCounts, LocalMetrics, WebhookRefusalsCounted
from tests.cards import TEST_PANS, VISA
from tests.emf import emf_documents


@pytest.mark.parametrize(
    "value",
    [VISA, "4012 8888 8888 1881", "12.50", "", "pay_abc123", "a" * 65, None, "card number"],
)
def test_a_dimension_value_is_never_anything_a_caller_typed(value: object) -> None:
    assert bounded(value) == OTHER


@pytest.mark.parametrize("value", ["card.number", "Idempotency-Key", "CHINA_UNION_PAY", "EUR"])
def test_field_brand_and_currency_names_pass_as_they_are(value: str) -> None:
    assert bounded(value) == value


def test_every_metric_of_the_functions_carries_the_service_dimension() -> None:
    for name, (_unit, dimension_sets, emitters, _meaning) in CATALOGUE.items():
        if "scheduled" in emitters:  # the key check: per stack
            continue
        assert all(s[0] == SERVICE for s in dimension_sets), name


def test_one_invocation_is_one_document_and_a_flush_forgets_it() -> None:
    out = io.StringIO()
    recorder = EmfRecorder("charge", out)
    recorder.paypal_call(120.04)
    recorder.paypal_call(35)
    recorder.payment("approved", "VISA", "USD")
    assert recorder.flush(timestamp_ms=1_796_191_200_000) == 1
    (document,) = emf_documents(out.getvalue())
    assert document[PAYPAL_LATENCY] == [120.0, 35]
    assert document["_aws"]["Timestamp"] == 1_796_191_200_000
    assert recorder.flush() == 0
    assert out.getvalue().count("\n") == 1


def test_two_values_of_one_dimension_are_two_documents() -> None:
    out = io.StringIO()
    recorder = EmfRecorder("ivr", out)
    recorder.payment("approved", "VISA", "USD")
    recorder.payment("gone wrong", VISA, "USD")
    assert recorder.flush(timestamp_ms=1) == 2
    first, second = emf_documents(out.getvalue())
    assert (first["Outcome"], second["Outcome"]) == ("approved", OTHER)
    assert second["Brand"] == OTHER
    assert not any(pan in out.getvalue() for pan in TEST_PANS)


def test_the_base_recorder_drops_what_it_is_told() -> None:
    recorder = Recorder("charge")
    recorder.payment("approved", "VISA", "USD")
    assert not hasattr(recorder, "__dict__")  # slots only: nowhere to keep an observation


def _samples(metrics: LocalMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.exposition(None)
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_the_local_counters_take_the_same_observations() -> None:
    metrics = LocalMetrics()
    recorder = metrics.recorder("charge")
    recorder.payment("unknown", "AMEX", "GBP")
    recorder.paypal_call(250)
    recorder.paypal_retry()
    recorder.validation_refusal(None)
    samples = _samples(metrics)
    labels = {"service": "charge", "outcome": "unknown", "brand": "AMEX", "currency": "GBP"}
    assert samples[("cardline_payments_total", frozenset(labels.items()))] == 1
    charge = frozenset({("service", "charge")})
    assert samples[("cardline_outcome_unknown_total", charge)] == 1
    assert samples[("cardline_paypal_retries_total", charge)] == 1
    assert samples[("cardline_paypal_latency_seconds_sum", charge)] == 0.25
    body = frozenset({("service", "charge"), ("field", "body")})
    assert samples[("cardline_validation_refusals_total", body)] == 1


class _Kept:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []
        self.failures: list[str] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)

    def record(
        self, source: str, route: str, reason: str, *, delay: float = 0.0, refused: bool = False
    ) -> None:
        self.failures.append(reason)

    def flush(self) -> None:
        pass


def test_refunds_and_webhooks_are_counted_from_what_the_host_already_reports() -> None:
    metrics = LocalMetrics()
    kept = _Kept()
    sink = AuditCounts(kept, metrics)
    for kind, outcome, details in (
        (audit.REFUND, "success", {"status": "COMPLETED"}),
        (audit.REFUND, "failure", {"status": "FAILED"}),
        (audit.WEBHOOK, "success", {"kind": "capture"}),
        (audit.WEBHOOK, "failure", {"kind": "unreadable"}),
        (audit.PAYMENT, "success", {"status": "approved"}),
    ):
        sink.emit(audit.AuditEvent(kind, "op", outcome, "origin", "pay_x", details))
    WebhookRefusalsCounted(kept, metrics).record("192.0.2.1", "POST /v1/webhooks/paypal", "no")
    assert len(kept.events) == 5
    assert kept.failures == ["no"]
    samples = _samples(metrics)
    backoffice = ("service", "backoffice")
    for outcome in ("completed", "failed"):
        key = ("cardline_refunds_total", frozenset({backoffice, ("outcome", outcome)}))
        assert samples[key] == 1
    assert samples[("cardline_webhook_events_total", frozenset({backoffice}))] == 1
    failures = ("cardline_webhook_verification_failures_total", frozenset({backoffice}))
    assert samples[failures] == 1
    assert not any(name == "cardline_payments_total" for name, _labels in samples)
