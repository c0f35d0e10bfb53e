"""AWS Lambda entry point for POST /v1/payments, the only function in the CDE.

Imports the standard library and cardline's charge path only: no AWS SDK, no database
client, no validation framework. Everything is built on the first invocation and kept
for the life of the instance (the PayPal token and connection included).
"""

from __future__ import annotations

import os

from cardline.cde import audit
from cardline.cde.http.app import App, GatewayAuthenticator
from cardline.cde.http.charge_route import payment_route
from cardline.cde.http.failure_audit import EachFailure
from cardline.cde.http.lambda_events import handle_event
from cardline.cde.http.throttle import FailureThrottle

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import Any

_sink = audit.StreamSink()
_app: App | None = None


def _build() -> App:
    from cardline.cde.charge import charger_from_environment

    charger = charger_from_environment(os.environ, _sink)
    return App(
        [payment_route(lambda: charger)],
        GatewayAuthenticator(),
        _sink,
        # Counted, never slept (a Lambda instance serves one request at a time), and
        # written at once: a frozen instance cannot be trusted to flush later.
        throttle=FailureThrottle(max_delay=0.0),
        failures=EachFailure(_sink),
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    global _app
    if _app is None:
        audit.install_log_filter()  # the runtime's handler, before anything can log
        _app = _build()
    return handle_event(_app, event)
