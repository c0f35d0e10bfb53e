"""AWS Lambda entry point for POST /v1/payments and Twilio's POST /v1/twilio/pay, the only
function in the CDE.

Imports the standard library and cardline's charge path only: no AWS SDK, no database
client, no validation framework. Everything is built on the first invocation and kept
for the life of the instance (the PayPal token and connection included). Each
invocation's metrics (payments by outcome, PayPal's latency and retries, refusals by
field: cardline.cde.metrics) are written after its answer as one EMF line on stdout.
"""

from __future__ import annotations

import os

from cardline.cde import audit
from cardline.cde.http.app import App
from cardline.cde.http.charge_route import payment_route
from cardline.cde.http.lambda_events import LambdaFunction
from cardline.cde.metrics import EmfRecorder

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import Any

_sink = audit.StreamSink()
_metrics = EmfRecorder("charge")


def _build() -> App:
    from cardline.cde.charge import charger_from_environment
    from cardline.cde.http.twilio_route import twilio_route
    from cardline.cde.secrets import settings
    from cardline.cde.twilio_pay import ConnectorCredentials

    charger = charger_from_environment(os.environ, _sink, _metrics)
    # Twilio's Generic Pay Connector: its basic-auth credentials live in the same secret
    # (read once per instance; without them the route refuses every request).
    twilio = ConnectorCredentials.from_settings(settings(os.environ))
    holder: list[App] = []
    routes = [
        payment_route(charger),
        twilio_route(charger, twilio, _sink, lambda: holder[0].failures),
    ]
    holder.append(App.on_lambda(routes, _sink))
    return holder[0]


_function = LambdaFunction(_build, _metrics)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return _function(event, context)
