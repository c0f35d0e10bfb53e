"""AWS Lambda entry point for POST /v1/payments, the only function in the CDE.

Imports the standard library and cardline's charge path only: no AWS SDK, no database
client, no validation framework. Everything is built on the first invocation and kept
for the life of the instance (the PayPal token and connection included).
"""

from __future__ import annotations

import os

from cardline.cde import audit
from cardline.cde.http.app import App
from cardline.cde.http.charge_route import payment_route
from cardline.cde.http.lambda_events import LambdaFunction

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import Any

_sink = audit.StreamSink()


def _build() -> App:
    from cardline.cde.charge import charger_from_environment

    charger = charger_from_environment(os.environ, _sink)
    return App.on_lambda([payment_route(charger)], _sink)


_function = LambdaFunction(_build)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return _function(event, context)
