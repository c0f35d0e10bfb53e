"""The metrics cardline emits, named once: for the emitters (CloudWatch's embedded metric
format on Lambda, Prometheus text on the local host), the SAM template's alarms and
dashboard, and the runbook (docs/operations.md).

Every metric is in the namespace ``cardline`` and carries the ``service`` dimension (the
function or job that emits it: ``charge``, ``ivr``, ``backoffice``, ``projector``,
``reconcile``), as AWS Lambda Powertools writes it. Other dimensions are few and bounded
(an outcome, a brand, a currency, a field name): never an id, an amount or anything a
caller typed. No metric holds card data.

The functions report what happened to a :class:`Recorder`, as :class:`Observation` s
(the Charger, the PayPal client, the charge and Twilio routes, the IVR handler): on Lambda
an :class:`EmfRecorder` writes them as one EMF document per invocation on stdout (the
ivr function's scheduled key check writes its own through :func:`emf_document`); on the
local host the same observations feed the Prometheus counters of ``cardline serve``'s
``GET /metrics`` (cardline.local_metrics). The base class drops them.

Dimension values are bounded here, whoever reports them: letters, ``.``, ``_`` and ``-``
only (never a digit, so never a card number, an amount or an id), 64 characters at most,
else ``other``.

Standard library only: this module is in the charge path.
"""

from __future__ import annotations

import sys
import time

from cardline.cde.encoding import compact
from cardline.cde.values import FrozenValue

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import Any, TextIO

NAMESPACE = "cardline"
SERVICE = "service"

# The local host counts these from its audit events (cardline.local_metrics).
_FROM_AUDIT = "backoffice (cardline serve counts them from its audit events)"

# name: (unit, dimension sets, who emits it, what one count is)
CATALOGUE: dict[str, tuple[str, tuple[tuple[str, ...], ...], str, str]] = {
    "Payments": (
        "Count",
        ((SERVICE,), (SERVICE, "Outcome"), (SERVICE, "Brand"), (SERVICE, "Currency")),
        "charge, ivr",
        "a payment decided: Outcome approved, declined, failed, pending or unknown",
    ),
    "OutcomeUnknown": (
        "Count",
        ((SERVICE,),),
        "charge, ivr",
        "a payment PayPal did not confirm either way (the caller was told to wait)",
    ),
    "PayPalLatency": (
        "Milliseconds",
        ((SERVICE,),),
        "charge, ivr",
        "one PayPal call, every attempt and wait included",
    ),
    "PayPalRetries": (
        "Count",
        ((SERVICE,),),
        "charge, ivr",
        "a PayPal attempt retried (timeout, dropped connection, 5xx, 429)",
    ),
    "ValidationRefusals": (
        "Count",
        ((SERVICE, "Field"),),
        "charge, ivr",
        "a request refused before PayPal, by the field at fault (never its value)",
    ),
    "Refunds": (
        "Count",
        ((SERVICE,), (SERVICE, "Outcome")),
        _FROM_AUDIT,
        "a refund PayPal answered: Outcome its status in lower case (completed, pending, "
        "failed, rejected)",
    ),
    "WebhookEvents": (
        "Count",
        ((SERVICE,),),
        _FROM_AUDIT,
        "a PayPal webhook delivery PayPal verified, recorded as a webhook audit event",
    ),
    "WebhookVerificationFailures": (
        "Count",
        ((SERVICE,),),
        "backoffice",
        "a PayPal webhook delivery refused: its signature did not verify",
    ),
    "ReconcileDifferences": (
        "Count",
        ((SERVICE,),),
        "reconcile",
        "a difference between the ledger and PayPal's record found by reconcile",
    ),
    "ProjectedEvents": (
        "Count",
        ((SERVICE,),),
        "projector",
        "an audit event applied to the ledger",
    ),
    "IvrKeyDaysToExpiry": (
        "None",
        (("Stack",),),
        "ivr (scheduled key check)",
        "the fewest whole days any IVR encryption key has left",
    ),
}

PAYMENTS = "Payments"
OUTCOME_UNKNOWN = "OutcomeUnknown"
PAYPAL_LATENCY = "PayPalLatency"
PAYPAL_RETRIES = "PayPalRetries"
VALIDATION_REFUSALS = "ValidationRefusals"
REFUNDS = "Refunds"
WEBHOOK_EVENTS = "WebhookEvents"
WEBHOOK_VERIFICATION_FAILURES = "WebhookVerificationFailures"
OUTCOME = "Outcome"
BRAND = "Brand"
CURRENCY = "Currency"
FIELD = "Field"
# A payment's outcomes, as its receipt's status says them (``unknown``: PayPal did not say).
OUTCOMES = frozenset({"approved", "declined", "failed", "pending", "unknown"})
UNKNOWN = "unknown"
OTHER = "other"  # a dimension value that was not one
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NAME_CHARACTERS = frozenset(_LETTERS + "._-")  # a set, not a regex: no compile at import


def bounded(value: object) -> str:
    """``value`` as a dimension value: itself when it is a letter then letters, ``.``,
    ``_`` or ``-`` (64 at most), else ``other``. No digit passes: nothing a caller typed
    that matters (a card number, an amount, an id) can become a dimension."""
    if (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and value[0] in _LETTERS
        and _NAME_CHARACTERS.issuperset(value)
    ):
        return value
    return OTHER


class Observation(FrozenValue):
    """One thing a metric counts or measures: ``value`` of ``metric`` (a CATALOGUE name),
    with ``dimensions`` other than ``service`` as (name, bounded value) pairs."""

    metric: str
    value: float
    dimensions: tuple[tuple[str, str], ...] = ()


class Recorder:
    """Where a function reports what happened, for its ``service`` (the dimension's
    value: ``charge``, ``ivr``…). This base drops every observation (a host without
    metrics, the tests' chargers); :class:`EmfRecorder` and the local host's Prometheus
    recorder keep them. The helpers below are the only way observations are made."""

    __slots__ = ("service",)

    def __init__(self, service: str) -> None:
        self.service = bounded(service)

    def observe(self, observation: Observation) -> None:
        """Take one observation; the base drops it."""

    def payment(self, outcome: str, brand: str, currency: str) -> None:
        """A payment decided (or not confirmed: ``unknown``), with the card's brand and the
        currency. ``OutcomeUnknown`` is observed too, 0 when the outcome is known, so that
        its average is the rate of unknown outcomes."""
        outcome = outcome if outcome in OUTCOMES else OTHER
        dimensions = ((OUTCOME, outcome), (BRAND, bounded(brand)), (CURRENCY, bounded(currency)))
        self.observe(Observation(PAYMENTS, 1, dimensions))
        self.observe(Observation(OUTCOME_UNKNOWN, 1 if outcome == UNKNOWN else 0))

    def paypal_call(self, milliseconds: float) -> None:
        """One PayPal call took ``milliseconds``, every attempt and wait included."""
        self.observe(Observation(PAYPAL_LATENCY, round(milliseconds, 1)))

    def paypal_retry(self) -> None:
        """One PayPal attempt is retried."""
        self.observe(Observation(PAYPAL_RETRIES, 1))

    def validation_refusal(self, field: str | None) -> None:
        """A request refused before PayPal; ``field`` as the problem's ``field`` names it
        (``card.number``, ``amount``…; the body when it names none). Never its value."""
        self.observe(Observation(VALIDATION_REFUSALS, 1, ((FIELD, bounded(field or "body")),)))


def emf_document(
    values: dict[str, Any], dimensions: dict[str, str], *, timestamp_ms: int
) -> dict[str, Any]:
    """One document in CloudWatch's embedded metric format: each metric of ``values`` (a
    CATALOGUE name: a number, or a list of them) with its catalogue unit, under each of its
    catalogue dimension sets whose dimensions ``dimensions`` (the document's root members)
    all give."""
    directives: dict[tuple[tuple[str, ...], ...], list[dict[str, str]]] = {}
    for name in values:
        unit, dimension_sets, _emitters, _meaning = CATALOGUE[name]
        usable = tuple(s for s in dimension_sets if all(d in dimensions for d in s))
        directives.setdefault(usable, []).append({"Name": name, "Unit": unit})
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(s) for s in dimension_sets],
                    "Metrics": metrics,
                }
                for dimension_sets, metrics in directives.items()
            ],
        },
        **dimensions,
        **values,
    }


class EmfRecorder(Recorder):
    """A Lambda function's recorder: holds one invocation's observations, and
    :meth:`flush` writes them as one EMF document on stdout (CloudWatch Logs reads the
    metrics out of the function's log stream). Counts are summed; a measure observed more
    than once (two PayPal calls) is written as the list of its values. A second document
    is written only when two observations give one dimension two values (two payments'
    outcomes), which one invocation of the charge or ivr function never makes."""

    __slots__ = ("_held", "_stream")

    def __init__(self, service: str, stream: TextIO | None = None) -> None:
        super().__init__(service)
        self._held: list[Observation] = []
        self._stream = stream

    def observe(self, observation: Observation) -> None:
        self._held.append(observation)

    def documents(self, timestamp_ms: int) -> list[dict[str, Any]]:
        """The documents of the observations held (none when nothing was observed)."""
        made: list[dict[str, Any]] = []
        dimensions: dict[str, str] = {SERVICE: self.service}
        values: dict[str, Any] = {}
        for observation in self._held:
            if any(dimensions.get(k, v) != v for k, v in observation.dimensions):
                made.append(emf_document(values, dimensions, timestamp_ms=timestamp_ms))
                dimensions, values = {SERVICE: self.service}, {}
            dimensions.update(observation.dimensions)
            _add(values, observation)
        if values:
            made.append(emf_document(values, dimensions, timestamp_ms=timestamp_ms))
        return made

    def flush(self, timestamp_ms: int | None = None) -> int:
        """Write the documents of what was observed since the last flush, one line each,
        and forget it; the number of lines written."""
        documents = self.documents(
            int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        )
        self._held = []
        if documents:
            stream = self._stream or sys.stdout
            stream.write("".join(compact(document) + "\n" for document in documents))
            stream.flush()
        return len(documents)


def _add(values: dict[str, Any], observation: Observation) -> None:
    name, value = observation.metric, observation.value
    if CATALOGUE[name][0] == "Count":
        values[name] = values.get(name, 0) + value
    elif name not in values:
        values[name] = value
    else:
        held = values[name]
        values[name] = [*held, value] if isinstance(held, list) else [held, value]
