"""The local host's metrics: what the charge path, the IVR and the backoffice routes
observe (cardline.cde.metrics), kept as Prometheus counters and a latency histogram for
``cardline serve``'s ``GET /metrics`` (cardline.http.metrics_route), so that a team
running it on EC2 can scrape what CloudWatch shows of the Lambda functions.

The catalogue names the metrics and their dimensions; here each becomes
``cardline_<name in snake case>`` with the catalogue's dimensions as lower-case labels:
``Payments`` is ``cardline_payments_total{service, outcome, brand, currency}``,
``PayPalLatency`` ``cardline_paypal_latency_seconds`` (a histogram, in seconds as
Prometheus has it). The charge route reports as ``service="charge"``, the IVR as
``"ivr"``, refunds and webhooks as ``"backoffice"``: counted from the audit events the
local host writes (:class:`AuditCounts`) and the webhook refusals it reports
(:class:`WebhookRefusalsCounted`), with no change to the backoffice's code.

Exposed through prometheus_client (its text format, or OpenMetrics when the scraper asks
for it). Never imported by the charge path.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder

from cardline.cde import audit
from cardline.cde.http.failure_audit import FailureAudit
from cardline.cde.metrics import (
    CATALOGUE,
    OUTCOME,
    OUTCOME_UNKNOWN,
    PAYMENTS,
    PAYPAL_LATENCY,
    PAYPAL_RETRIES,
    REFUNDS,
    SERVICE,
    VALIDATION_REFUSALS,
    WEBHOOK_EVENTS,
    WEBHOOK_VERIFICATION_FAILURES,
    Observation,
    Recorder,
    bounded,
)

__all__ = [
    "LATENCY_BUCKETS",
    "LOCAL",
    "AuditCounts",
    "LocalMetrics",
    "PrometheusRecorder",
    "WebhookRefusalsCounted",
    "prometheus_name",
]

# The catalogue's metrics the local host has something to say about.
LOCAL = (
    PAYMENTS,
    OUTCOME_UNKNOWN,
    PAYPAL_LATENCY,
    PAYPAL_RETRIES,
    VALIDATION_REFUSALS,
    REFUNDS,
    WEBHOOK_EVENTS,
    WEBHOOK_VERIFICATION_FAILURES,
)
# Seconds: PayPal answers in a few hundred milliseconds; its deadline is tens of seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The services the local host reports as: a service-only counter shows a series at 0 from
# the start for each service its catalogue entry names as an emitter.
SERVICES = ("charge", "ivr", "backoffice")
BACKOFFICE = "backoffice"


def prometheus_name(metric: str) -> str:
    """``cardline_`` and the catalogue name in snake case (PayPal as one word)."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", metric.replace("PayPal", "Paypal"))
    return "cardline_" + words.lower()


class LocalMetrics:
    """The counters of one local host, in a registry of their own (never the process's
    default one), each taking the observations of its catalogue metric. The ``_created``
    series (each series' start time) are left out: prometheus_client decides that for the
    whole process, and cardline is its only user in ``cardline serve``."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.registry = CollectorRegistry()
        self._labels: dict[str, tuple[str, ...]] = {}
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        for name in LOCAL:
            unit, dimension_sets, _emitters, meaning = CATALOGUE[name]
            labels = tuple(dict.fromkeys(d for s in dimension_sets for d in s))
            self._labels[name] = labels
            label_names = [label.lower() for label in labels]
            if unit == "Milliseconds":
                self._histograms[name] = Histogram(
                    prometheus_name(name) + "_seconds",
                    meaning,
                    label_names,
                    registry=self.registry,
                    buckets=LATENCY_BUCKETS,
                )
            else:
                self._counters[name] = Counter(
                    prometheus_name(name), meaning, label_names, registry=self.registry
                )
        for name, counter in self._counters.items():
            if self._labels[name] == (SERVICE,):
                for service in SERVICES:
                    if service in CATALOGUE[name][2]:  # an emitter of it
                        counter.labels(service)

    def recorder(self, service: str) -> PrometheusRecorder:
        """The recorder ``service``'s parts report to."""
        return PrometheusRecorder(service, self)

    def observe(self, service: str, observation: Observation) -> None:
        """Count (or time) one observation for ``service``."""
        name = observation.metric
        given = dict(observation.dimensions)
        given[SERVICE] = service
        values = [given.get(label, "") for label in self._labels[name]]
        histogram = self._histograms.get(name)
        if histogram is not None:
            histogram.labels(*values).observe(observation.value / 1000)
        else:
            self._counters[name].labels(*values).inc(observation.value)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper's ``Accept`` asks for, and its type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class PrometheusRecorder(Recorder):
    """A service's recorder on the local host: each observation goes to the counters."""

    __slots__ = ("_metrics",)

    def __init__(self, service: str, metrics: LocalMetrics) -> None:
        super().__init__(service)
        self._metrics = metrics

    def observe(self, observation: Observation) -> None:
        self._metrics.observe(self.service, observation)


class AuditCounts:
    """An audit sink that hands each event on to ``sink``, then counts the refunds and the
    verified webhook deliveries among them (the backoffice's, on the local host)."""

    def __init__(self, sink: audit.AuditSink, metrics: LocalMetrics) -> None:
        self._sink = sink
        self._recorder = metrics.recorder(BACKOFFICE)

    def emit(self, event: audit.AuditEvent) -> None:
        self._sink.emit(event)
        if event.type == audit.REFUND:
            status = event.details.get("status")
            outcome = bounded(status.lower() if isinstance(status, str) else None)
            self._recorder.observe(Observation(REFUNDS, 1, ((OUTCOME, outcome),)))
        elif event.type == audit.WEBHOOK and event.outcome == "success":
            self._recorder.observe(Observation(WEBHOOK_EVENTS, 1))


class WebhookRefusalsCounted:
    """The webhook route's refusals, reported to ``failures`` (the App's) as before and
    counted as ``WebhookVerificationFailures``."""

    def __init__(self, failures: FailureAudit, metrics: LocalMetrics) -> None:
        self._failures = failures
        self._recorder = metrics.recorder(BACKOFFICE)

    def record(
        self, source: str, route: str, reason: str, *, delay: float = 0.0, refused: bool = False
    ) -> None:
        self._recorder.observe(Observation(WEBHOOK_VERIFICATION_FAILURES, 1))
        self._failures.record(source, route, reason, delay=delay, refused=refused)

    def flush(self) -> None:
        self._failures.flush()

    def close(self) -> None:
        self._failures.close()
