"""AWS Lambda entry point of the scheduled reconcile (an EventBridge schedule in the SAM
template). Runs in the backoffice role and never sees card data: it reads PayPal's record
of the last days and the DynamoDB ledger, and writes its repairs as audit events to stdout,
which the projector folds into the ledger like every other event. Each run counts the
differences it found as ``ReconcileDifferences`` (none found: a zero, so the metric is
there every run); logs, metrics and traces go through Powertools (cardline.telemetry)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from cardline.cde import audit
from cardline.telemetry import Telemetry

SERVICE = "reconcile"

_sink = audit.StreamSink()
telemetry = Telemetry(SERVICE)


def _handle(event: Any, context: Any) -> dict[str, int]:
    """One run; its counts. ``CARDLINE_RECONCILE_HOURS`` sets how far back (default 72)."""
    from cardline.cde.paypal import PayPalClient, PayPalConfig
    from cardline.cde.paypal.config import NOT_CONFIGURED
    from cardline.cde.secrets import settings
    from cardline.ledger.dynamodb import DynamoDbLedger
    from cardline.reconcile import scheduled_run

    environ = settings(os.environ)
    config = PayPalConfig.from_env(environ)
    if config is None:
        raise RuntimeError(NOT_CONFIGURED)
    hours = int(environ.get("CARDLINE_RECONCILE_HOURS", "72"))
    paypal = PayPalClient(config)
    try:
        differences = scheduled_run(
            paypal,
            DynamoDbLedger(environ["CARDLINE_LEDGER_TABLE"]),
            _sink,
            lookback=timedelta(hours=hours),
        )
    finally:
        paypal.close()
    telemetry.count("ReconcileDifferences", len(differences))
    return {
        "differences": len(differences),
        "repaired": sum(1 for d in differences if d.repaired),
    }


# The PAN mask goes on the runtime's handler at the first invocation (cardline.telemetry).
handler = telemetry.entry_point(_handle)
