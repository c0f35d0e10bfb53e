"""The metrics cardline emits, named once: for the emitters (CloudWatch's embedded metric
format on Lambda, Prometheus text on the local host), the SAM template's alarms and
dashboard, and the runbook (docs/operations.md).

Every metric is in the namespace ``cardline`` and carries the ``service`` dimension (the
function or job that emits it: ``charge``, ``ivr``, ``backoffice``, ``projector``,
``reconcile``), as AWS Lambda Powertools writes it. Other dimensions are few and bounded
(an outcome, a brand, a currency, a field name): never an id, an amount or anything a
caller typed. No metric holds card data.

Standard library only: this module is in the charge path.
"""

from __future__ import annotations

NAMESPACE = "cardline"
SERVICE = "service"

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
